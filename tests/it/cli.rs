//! The `kodekort` binary: the demo session driven line by line in JSON
//! mode, login against the real server, verification and exit codes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use kodekort_tests::{workspace_bin, Harness};
use serde_json::Value;

struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Session {
    fn start(args: &[&str]) -> Session {
        let mut child = Command::new(workspace_bin("kodekort"))
            .args(args)
            .env("KODEKORT_LANG", "en")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Session {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next JSON line on stdout.
    fn next(&mut self) -> Value {
        let mut line = String::new();
        assert!(
            self.stdout.read_line(&mut line).unwrap() > 0,
            "output ended"
        );
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// Reads lines until one has `key`.
    fn until(&mut self, key: &str) -> Value {
        loop {
            let v = self.next();
            if v.get(key).is_some() {
                return v;
            }
            assert!(
                v.get("error").is_none(),
                "error while waiting for {key}: {v}"
            );
        }
    }
}

#[test]
fn the_demo_session_logs_in_signs_and_resets_through_the_binary() {
    let mut s = Session::start(&["--json", "demo", "--accounts", "2"]);
    let accounts = s.until("accounts");
    assert_eq!(accounts["demo"], true);
    assert_eq!(accounts["accounts"][0]["username"], "demo1");
    let password = accounts["accounts"][0]["password"]
        .as_str()
        .unwrap()
        .to_owned();

    s.send("login demo1");
    s.send(&password);
    let ch = s.until("challenge");
    let key = ch["challenge"]["key"].as_str().unwrap().to_owned();
    let hint = s.until("demo_card");
    assert_eq!(hint["demo_card"]["key"], key.as_str());
    // A wrong code first: an error line, and the same prompt again.
    s.send("000000");
    let err = s.until("error");
    assert_eq!(err["error"]["code"], "invalid_code");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("4 attempts left"));
    s.until("challenge");
    s.until("demo_card");
    s.send(hint["demo_card"]["code"].as_str().unwrap());
    let logged_in = s.until("user");
    assert_eq!(logged_in["user"]["name"], "Anna Testesen");
    assert_eq!(logged_in["card"]["remaining"], 147);

    s.send("documents");
    let docs = s.next();
    assert_eq!(docs.as_array().unwrap().len(), 3);
    s.send("sign 1");
    s.until("challenge");
    let hint = s.until("demo_card");
    s.send(hint["demo_card"]["code"].as_str().unwrap());
    let signed = s.until("verdict");
    assert_eq!(signed["verdict"], "demo");
    assert!(signed["message"]
        .as_str()
        .unwrap()
        .starts_with("Demo signature, not legally valid."));

    s.send("card");
    assert_eq!(s.until("remaining")["remaining"], 146);
    s.send("scenario demo2 locked");
    s.until("scenario");
    s.send("reset");
    s.until("reset");
    s.send("quit");
    let status = s.child.wait().unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn login_against_the_real_server_and_exit_codes() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø").await;
    let url = format!("https://localhost:{}", h.addr.port());
    let ca = h.data_dir().join("ca.pem");
    let trust = h.data_dir().join("trust.json");
    let (url2, ca2) = (url.clone(), ca.clone());
    let anna2 = anna.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut s = Session::start(&[
            "--json",
            "--server",
            &url2,
            "--ca",
            ca2.to_str().unwrap(),
            "login",
            "--username",
            "anna",
        ]);
        s.send(&anna2.password);
        let ch = s.until("challenge");
        s.send(&anna2.code(ch["challenge"]["key"].as_str().unwrap()));
        let done = s.until("user");
        let status = s.child.wait().unwrap();
        (done, status.code())
    })
    .await
    .unwrap();
    assert_eq!(out.0["user"]["username"], "anna");
    assert_eq!(out.1, Some(0));

    // A wrong password: exit 3, the message in the language asked for.
    let run = |args: Vec<String>, stdin: &str| {
        let mut child = Command::new(workspace_bin("kodekort"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    };
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--server".into(),
            url.clone(),
            "--ca".into(),
            ca.to_str().unwrap().into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let wrong = run(
        base(&["--lang", "da", "login", "--username", "anna"]),
        "not the password\n",
    );
    assert_eq!(wrong.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("Brugernavnet eller adgangskoden er forkert."),
        "{stderr}"
    );

    // Pinning another CA: exit 5 and plain words, no TLS jargon.
    let other = Harness::start().await;
    let mut args = vec![
        "--lang".to_string(),
        "en".into(),
        "--server".into(),
        url.clone(),
        "--ca".into(),
    ];
    args.push(other.data_dir().join("ca.pem").to_str().unwrap().into());
    args.extend(["login".to_string(), "--username".into(), "anna".into()]);
    let refused = run(args, "x\n");
    assert_eq!(refused.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("The server's identity could not be verified."),
        "{stderr}"
    );
    assert!(
        !stderr.contains("rustls") && !stderr.contains("InvalidCertificate"),
        "{stderr}"
    );

    // Verify an envelope offline: valid with the pinned root, exit 6 without it.
    let token = h.login(&anna).await;
    let doc = h
        .with_service(|s| s.add_document("anna", "Kommunen", "Samtykke", "Ja tak.\n"))
        .await
        .unwrap();
    let (_, ch) = h
        .post(
            &format!("/documents/{}/sign", doc.id),
            Some(&token),
            serde_json::json!({"sha256": doc.sha256}),
        )
        .await;
    let (_, signed) = h
        .post(
            &format!("/signatures/{}/code", ch["sign_id"].as_str().unwrap()),
            Some(&token),
            serde_json::json!({"code": anna.code(ch["key"].as_str().unwrap())}),
        )
        .await;
    let env_path = h.data_dir().join("envelope.json");
    std::fs::write(&env_path, serde_json::to_vec(&signed).unwrap()).unwrap();
    let ok = run(
        vec![
            "--lang".into(),
            "en".into(),
            "--trust".into(),
            trust.to_str().unwrap().into(),
            "verify".into(),
            env_path.to_str().unwrap().into(),
        ],
        "",
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("Valid signature. Signed by Anna Ærø"));
    let unknown = run(
        vec![
            "--lang".into(),
            "en".into(),
            "verify".into(),
            env_path.to_str().unwrap().into(),
        ],
        "",
    );
    assert_eq!(unknown.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&unknown.stdout).contains("unknown issuer"));
    let not_signed = run(vec!["verify".into(), trust.to_str().unwrap().into()], "");
    assert_eq!(not_signed.status.code(), Some(1));
    let usage = run(vec!["sign".into()], "");
    assert_eq!(usage.status.code(), Some(2));
}

//! The `kodekort` binary: the demo session driven line by line in JSON
//! mode, login against the real server, verification and exit codes.

use std::process::Command;

use kodekort_tests::{run_bin, CliSession as Session, Harness, Keyring};
use serde_json::Value;

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
    let docs = s.next_value();
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
    s.send("scenario demo2 card-locked");
    s.until("scenario");
    // The lock holds: demo2's login stops before any code is asked.
    s.send("login demo2");
    s.send("kodekort-demo-2");
    let err = s.until("error");
    assert_eq!(err["error"]["code"], "too_many_attempts");
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
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_bin(
            "kodekort",
            &args,
            &[("KODEKORT_CONFIG", "/nonexistent/kodekort.toml")],
            stdin,
        )
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
    let signed = h.sign(&anna, &token, &doc.id, &doc.sha256).await;
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
    // A file that holds no signature is read, and is not a valid signature.
    let not_signed = run(vec!["verify".into(), trust.to_str().unwrap().into()], "");
    assert_eq!(not_signed.status.code(), Some(6));
    let usage = run(vec!["sign".into()], "");
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_os_keyring_login_sign_export_and_verify_are_separate_commands() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø Παπαδοπούλου").await;
    h.with_service(|s| {
        s.add_document(
            "anna",
            "Boligselskabet",
            "Samtykke",
            "Jeg giver samtykke.\n",
        )
    })
    .await
    .unwrap();
    let url = format!("https://localhost:{}", h.addr.port());
    let ca = h.data_dir().join("ca.pem").to_str().unwrap().to_owned();
    let trust = h.data_dir().join("trust.json").to_str().unwrap().to_owned();
    let pdf = h.data_dir().join("signed.pdf").to_str().unwrap().to_owned();
    let other = Harness::start().await;
    let other_trust = other
        .data_dir()
        .join("trust.json")
        .to_str()
        .unwrap()
        .to_owned();
    let done = tokio::task::spawn_blocking(move || {
        let keyring = Keyring::start();
        let mut env = keyring.env();
        env.extend([
            ("KODEKORT_SERVER", url.as_str()),
            ("KODEKORT_CA", ca.as_str()),
            ("KODEKORT_TRUST", trust.as_str()),
        ]);
        let run = |args: &[&str]| {
            let mut s = Session::start_with(args, &env);
            let mut stdout = String::new();
            std::io::Read::read_to_string(&mut s.stdout, &mut stdout).unwrap();
            let out = s.child.wait_with_output().unwrap();
            (
                out.status.code(),
                stdout,
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let mut login = Session::start_with(&["--json", "login", "--username", "anna"], &env);
        login.send(&anna.password);
        let ch = login.until("challenge");
        login.send(&anna.code(ch["challenge"]["key"].as_str().unwrap()));
        // The keyring took the session, and the citizen is told so.
        let notice = login.until("notice");
        assert_eq!(notice["notice"]["code"], "session_kept", "{notice}");
        login.until("user");
        let status = login.child.wait_with_output().unwrap();
        assert_eq!(status.status.code(), Some(0));
        assert!(
            !String::from_utf8_lossy(&status.stderr).contains("only until"),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );

        let (code, docs, err) = run(&["--json", "documents"]);
        assert_eq!(code, Some(0), "{docs} {err}");
        let docs: Value = serde_json::from_str(&docs).unwrap();
        let id = docs[0]["id"].as_str().unwrap().to_owned();
        // With no root pinned, or another server's, no code is asked for,
        // none is spent, and no prompt is left open to count as a failure.
        let (_, card_before, _) = run(&["--json", "card"]);
        let unpinned: Vec<(&str, &str)> = env
            .iter()
            .filter(|(name, _)| *name != "KODEKORT_TRUST")
            .copied()
            .collect();
        let mut other_root = unpinned.clone();
        other_root.push(("KODEKORT_TRUST", other_trust.as_str()));
        for env in [&unpinned, &other_root] {
            let session = Session::start_with(&["sign", &id], env);
            // No answer will come: a prompt would meet the end of input.
            drop(session.stdin);
            let refused = session.child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&refused.stderr);
            assert_eq!(refused.status.code(), Some(5), "{err}");
            assert!(
                err.contains("No code was asked for") && err.contains("--trust FILE"),
                "{err}"
            );
            assert!(!err.contains("Code for key"), "{err}");
        }
        let (_, card_after, _) = run(&["--json", "card"]);
        assert_eq!(card_before, card_after);

        let mut sign = Session::start_with(&["--json", "sign", &id], &env);
        let ch = sign.until("challenge");
        assert_eq!(ch["challenge"]["attempts_left"], 5, "{ch}");
        sign.send(&anna.code(ch["challenge"]["key"].as_str().unwrap()));
        assert_eq!(sign.until("verdict")["verdict"], "valid");
        assert_eq!(sign.child.wait().unwrap().code(), Some(0));
        let (code, out, err) = run(&["export", &id, "-o", &pdf]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("Valid signature."));
        let (code, out, _) = run(&["verify", &pdf]);
        assert_eq!(code, Some(0));
        assert!(
            out.starts_with("Valid signature. Signed by Anna Ærø Παπαδοπούλου"),
            "{out}"
        );
        let (code, _, _) = run(&["logout"]);
        assert_eq!(code, Some(0));
        let (code, _, err) = run(&["card"]);
        assert_eq!(code, Some(3));
        assert!(err.contains("You are not logged in."), "{err}");
    });
    done.await.unwrap();
}

#[test]
fn without_a_keyring_the_session_is_memory_only_and_the_citizen_is_told() {
    let mut s = Session::start_with(
        &[
            "--server",
            "https://localhost:1",
            "--ca",
            "/nonexistent/ca.pem",
            "login",
            "--username",
            "anna",
        ],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    s.send("whatever");
    let out = s.child.wait_with_output().unwrap();
    // The CA cannot be read: a clear error naming the file, exit 2 (usage).
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/ca.pem"));
}

/// `kodekort demo kit` writes the class kit without starting a demo (the
/// cards are fixed), and an unwritable path is a clear error, exit 1.
#[test]
fn the_class_kit_is_printed_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("kit.pdf");
    let env = [
        ("KODEKORT_CONFIG", "/nonexistent/kodekort.toml"),
        ("KODEKORT_LANG", "en"),
    ];
    let args = ["--json", "demo", "--accounts", "2", "kit", "--large", "-o"];
    let out = run_bin(
        "kodekort",
        &[&args[..], &[pdf.to_str().unwrap()]].concat(),
        &env,
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let told: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (told["accounts"].as_u64(), told["large"].as_bool()),
        (Some(2), Some(true))
    );
    let text = Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8(text.stdout).unwrap();
    for needle in [
        "demo1",
        "kodekort-demo-1",
        "demo2",
        "kodekort-demo-2",
        "DEMO-0002",
    ] {
        assert!(text.contains(needle), "{needle}");
    }

    let out = run_bin(
        "kodekort",
        &["demo", "kit", "-o", "/nonexistent/dir/kit.pdf"],
        &env,
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dir/kit.pdf"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_piped_demo_reads_as_a_transcript_quits_a_code_prompt_and_gives_local_times() {
    let input = "login demo1\nkodekort-demo-1\nquit\ndocuments\n\
                 scenario demo2 card-locked\nlogin demo2\nkodekort-demo-2\nquit\n";
    let out = run_bin(
        "kodekort",
        &["--lang", "en", "demo"],
        &[
            ("KODEKORT_CONFIG", "/nonexistent/kodekort.toml"),
            // No summer time, so the zone's name is the same all year.
            ("TZ", "Asia/Tokyo"),
        ],
        input,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // Every question and command is on a line of its own, in order.
    let lines: Vec<&str> = err.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{err}"))
    };
    let order = [
        at("demo> login demo1"),
        at("Password:"),
        at("Code for key"),
        at("Stopped without a code."),
        at("demo> documents"),
        at("You are not logged in."),
        at("demo> login demo2"),
        at("Too many failed attempts."),
        at("demo> quit"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{err}");
    // `quit` left the prompt and was not sent as a code.
    assert!(!err.contains("A code has 6 digits"), "{err}");
    // Times in the computer's zone, named.
    let answer = lines[at("Answer before")];
    let wait = lines[at("Too many failed attempts.")];
    for line in [answer, wait] {
        assert!(line.contains(" JST") && !line.contains("UTC"), "{line}");
    }
}

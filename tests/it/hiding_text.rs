//! Text that could hide what is signed: control characters and bidi
//! controls are refused at submission with the character and its place,
//! what is allowed reaches the terminal as sent, and a document stored
//! before the rule is shown with visible escapes in the CLI and the PDF.

use kodekort_tests::{assert_error, poppler, CliSession as Session, Harness, Keyring};
use serde_json::{json, Value};

fn submit(title: &str, content: &str) -> Value {
    json!({"recipient": "anna", "title": title, "content_type": "text/plain", "content": content})
}

#[tokio::test(flavor = "multi_thread")]
async fn controls_that_could_hide_text_are_refused_with_their_place() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna").await;
    let provider = h.add_provider("Boligselskabet").await;
    let refused = [
        (
            "T",
            "Jeg giver samtykke.\n\x1b[8mI also agree to pay 100000 DKK.\x1b[0m",
            "U+001B at line 2, column 1 of the content",
        ),
        ("T", "a\0b", "U+0000 at line 1, column 2 of the content"),
        ("T", "del\x7f", "U+007F at line 1, column 4 of the content"),
        (
            "T",
            "csi \u{9b}8m",
            "U+009B at line 1, column 5 of the content",
        ),
        (
            "T",
            "next line\u{85}",
            "U+0085 at line 1, column 10 of the content",
        ),
        (
            "T",
            "overwrite\rthis",
            "U+000D at line 1, column 10 of the content",
        ),
        ("T", "ends\r", "U+000D at line 1, column 5 of the content"),
        (
            "T",
            "pay \u{202e}0001",
            "U+202E at line 1, column 5 of the content",
        ),
        (
            "T",
            "\u{202a}x",
            "U+202A at line 1, column 1 of the content",
        ),
        (
            "T",
            "x\n\u{2066}y\u{2069}",
            "U+2066 at line 2, column 1 of the content",
        ),
        ("Two\nlines", "c", "U+000A at line 1, column 4 of the title"),
        ("Tab\there", "c", "U+0009 at line 1, column 4 of the title"),
        (
            "\x1b]0;x\x07",
            "c",
            "U+001B at line 1, column 1 of the title",
        ),
        (
            "Pay \u{2067}x",
            "c",
            "U+2067 at line 1, column 5 of the title",
        ),
    ];
    for (title, content, detail) in refused {
        let (s, b) = h
            .post(
                "/provider/documents",
                Some(&provider),
                submit(title, content),
            )
            .await;
        assert_error(s, &b, 422, "hiding_character");
        assert_eq!(b["error"]["detail"], detail, "{title:?} {content:?}");
    }
    // Nothing was stored.
    let token = h.login(&anna).await;
    let (_, docs) = h.get("/documents", Some(&token)).await;
    assert_eq!(docs, json!([]));

    // Line feeds, tabs, CRLF, joiners and right-to-left text are text.
    let allowed = "Linje 1\r\nLinje 2\n\tindrykket\nمرحبا\u{200f} 👩\u{200d}💻";
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("Samtykke", allowed),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

/// A document stored before the rule (or signed elsewhere) still never
/// reaches a terminal or a PDF raw.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_and_the_signed_copy_show_what_is_allowed_and_escape_the_rest() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna").await;
    let provider = h.add_provider("Boligselskabet").await;
    let allowed = "Linje 1\r\nLinje 2\n\tindrykket\nمرحبا 👩\u{200d}💻\n";
    let (_, ok) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("Samtykke", allowed),
        )
        .await;
    let (_, old) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("Gammel", "x"),
        )
        .await;
    // As a server without the rule would have stored it.
    let hidden = "Jeg giver samtykke.\n\x1b[8mI also agree to pay 100000 DKK.\x1b[0m\n";
    let sha = kodekort_proto::signing::sha256_hex(hidden.as_bytes());
    let changed = kodekort_tests::store::execute(
        h.data_dir(),
        "UPDATE documents SET title = ?1, content = ?2, sha256 = ?3 WHERE id = ?4",
        &["Gammel\u{202e}", hidden, &sha, old["id"].as_str().unwrap()],
    );
    assert_eq!(changed, 1);

    let url = format!("https://localhost:{}", h.addr.port());
    let ca = h.data_dir().join("ca.pem").to_str().unwrap().to_owned();
    let trust = h.data_dir().join("trust.json").to_str().unwrap().to_owned();
    let pdf = h.data_dir().join("signed.pdf").to_str().unwrap().to_owned();
    let (ok_id, old_id) = (
        ok["id"].as_str().unwrap().to_owned(),
        old["id"].as_str().unwrap().to_owned(),
    );
    tokio::task::spawn_blocking(move || {
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
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert!(out.status.success(), "{args:?}: {stdout} {stderr}");
            (stdout, stderr)
        };
        let mut login = Session::start_with(&["--json", "login", "--username", "anna"], &env);
        login.send(&anna.password);
        let ch = login.until("challenge");
        login.send(&anna.code(ch["challenge"]["key"].as_str().unwrap()));
        login.until("user");
        assert!(login.child.wait().unwrap().success());

        // What is allowed is printed as sent (lines split at LF and CRLF).
        let (shown, _) = run(&["show", &ok_id]);
        let body: Vec<&str> = shown.lines().skip(5).collect();
        assert_eq!(
            body,
            ["Linje 1", "Linje 2", "\tindrykket", "مرحبا 👩\u{200d}💻"],
            "{shown}"
        );

        // What could hide text is escaped, in the list, in show and in sign.
        let (list, _) = run(&["documents"]);
        assert!(list.contains("Gammel[U+202E]"), "{list}");
        let (shown, _) = run(&["show", &old_id]);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\u{202e}'),
            "{shown:?}"
        );
        assert!(
            shown.contains("[U+001B][8mI also agree to pay 100000 DKK.[U+001B][0m"),
            "{shown}"
        );
        // Without --json the text and the prompt go to stderr, the text first.
        let mut sign = Session::start_with(&["sign", &old_id], &env);
        let mut stderr = std::io::BufReader::new(sign.child.stderr.take().unwrap());
        let mut shown = String::new();
        let key = loop {
            let mut line = String::new();
            assert!(
                std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0,
                "no prompt after {shown:?}"
            );
            if let Some((_, key)) = line.trim_end().split_once(": key ") {
                break key.to_owned();
            }
            shown.push_str(&line);
        };
        assert!(
            !shown.contains('\x1b') && !shown.contains('\u{202e}'),
            "{shown:?}"
        );
        assert!(shown.starts_with("Gammel[U+202E]\n"), "{shown}");
        assert!(shown.contains("[U+001B][8mI also agree"), "{shown}");
        sign.send(&anna.code(&key));
        assert!(sign.child.wait().unwrap().success());

        run(&["export", &old_id, "-o", &pdf]);
        let text = poppler("pdftotext", &[&pdf, "-"]);
        assert!(
            text.contains("[U+001B][8mI also agree to pay 100000 DKK.[U+001B][0m"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        // The bytes signed are the bytes stored, escapes or not.
        let (verified, _) = run(&["verify", &pdf]);
        assert!(verified.starts_with("Valid signature."), "{verified}");
    })
    .await
    .unwrap();
}

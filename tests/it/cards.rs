//! Code-card rules: one success per code under concurrency, double-clicks,
//! unanswered challenges, and the replacement card at 20 codes left.

use kodekort_tests::{assert_error, Harness};
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_uses_of_one_code_succeed_exactly_once() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    for round in 0..5 {
        let (id, key) = h.begin_login(&anna).await;
        let code = anna.code(&key);
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (http, url, code) = (
                h.http.clone(),
                h.url(&format!("/login/{id}/code")),
                code.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let resp = http
                    .post(url)
                    .json(&json!({"code": code}))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let body: serde_json::Value = resp.json().await.unwrap();
                (status, body)
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            if status == StatusCode::OK {
                ok += 1;
            } else {
                // Every loser is told the prompt was already answered: no failure.
                assert_error(status, &body, 409, "challenge_used");
            }
        }
        assert_eq!(ok, 1, "round {round}: {ok} successes");
    }
    // Five codes used, no failures counted by the 155 losers.
    let token = h.login(&anna).await;
    let (_, card) = h.get("/card", Some(&token)).await;
    assert_eq!(card["remaining"], 148 - 6);
    let (_, ch) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": anna.password}),
        )
        .await;
    assert_eq!(ch["attempts_left"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_click_is_not_a_failure_but_an_unanswered_prompt_is() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let (id, key) = h.begin_login(&anna).await;
    let code = anna.code(&key);
    let path = format!("/login/{id}/code");
    let (first, _) = h.post(&path, None, json!({"code": code})).await;
    assert_eq!(first, StatusCode::OK);
    let (status, body) = h.post(&path, None, json!({"code": code})).await;
    assert_error(status, &body, 409, "challenge_used");

    // Asking again replaces the open prompt: that counts as a failure.
    let (_, first) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": anna.password}),
        )
        .await;
    assert_eq!(first["attempts_left"], 5);
    let (_, second) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": anna.password}),
        )
        .await;
    assert_eq!(second["attempts_left"], 4, "{second}");
    // The replaced prompt is closed: answering it now is refused, at no extra cost.
    let old = first["login_id"].as_str().unwrap();
    let (status, body) = h
        .post(
            &format!("/login/{old}/code"),
            None,
            json!({"code": anna.code(first["key"].as_str().unwrap())}),
        )
        .await;
    assert_error(status, &body, 410, "challenge_expired");

    // A prompt left to expire counts once, when it is found expired.
    h.clock.advance(Duration::minutes(6));
    let (status, body) = h
        .post(
            &format!("/login/{}/code", second["login_id"].as_str().unwrap()),
            None,
            json!({"code": anna.code(second["key"].as_str().unwrap())}),
        )
        .await;
    assert_error(status, &body, 410, "challenge_expired");
    assert_eq!(body["error"]["attempts_left"], 3, "{body}");

    // A typo counts, but the prompt stays open so the right code still works.
    let (id, key) = h.begin_login(&anna).await;
    let (status, body) = h
        .post(
            &format!("/login/{id}/code"),
            None,
            json!({"code": anna.wrong_code(&key)}),
        )
        .await;
    assert_error(status, &body, 401, "invalid_code");
    assert_eq!(body["error"]["attempts_left"], 2);
    let (status, _) = h
        .post(
            &format!("/login/{id}/code"),
            None,
            json!({"code": anna.code(&key)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Success resets the count.
    let (_, again) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": anna.password}),
        )
        .await;
    assert_eq!(again["attempts_left"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn at_twenty_codes_left_a_replacement_is_issued_and_activates_at_first_use() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    // 148 - 128 = 20 left.
    let mut token = String::new();
    for _ in 0..127 {
        token = h.login(&anna).await;
    }
    let (_, card) = h.get("/card", Some(&token)).await;
    assert_eq!(card["remaining"], 21);
    assert!(card["replacement"].is_null());
    token = h.login(&anna).await;
    let (_, card) = h.get("/card", Some(&token)).await;
    assert_eq!(card["remaining"], 20);
    let replacement = card["replacement"]["serial"].as_str().unwrap().to_owned();
    assert_ne!(replacement, anna.serial);
    assert_eq!(card["status"], "active");

    // Its printable PDF is in the outbox, readable by the owner only.
    let pdf = h
        .data_dir()
        .join("outbox")
        .join(format!("{replacement}.pdf"));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Read the new card's codes back from the PDF, as the citizen would.
    let text = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&replacement));
    let new_codes = parse_card_text(&text);
    assert_eq!(new_codes.len(), 148);

    // The old card keeps working until the new one is first used.
    let token = h.login(&anna).await;
    let (_, card) = h.get("/card", Some(&token)).await;
    assert_eq!(card["serial"], anna.serial.as_str());
    assert_eq!(card["remaining"], 19);

    // The citizen asks for the new card; using it makes it the active card.
    let (status, ch) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": anna.password, "use_replacement_card": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ch["card_serial"], replacement.as_str());
    let code = new_codes[ch["key"].as_str().unwrap()].clone();
    let (status, session) = h
        .post(
            &format!("/login/{}/code", ch["login_id"].as_str().unwrap()),
            None,
            json!({"code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["card"]["serial"], replacement.as_str());
    assert_eq!(session["card"]["remaining"], 147);
    assert!(session["card"]["replacement"].is_null());
    // The old card is retired: the server now asks only the new one.
    let (_, ch) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": anna.password}),
        )
        .await;
    assert_eq!(ch["card_serial"], replacement.as_str());
}

/// Reads `key code` pairs from `pdftotext -layout` output of a card.
pub fn parse_card_text(text: &str) -> std::collections::HashMap<String, String> {
    let mut pairs = std::collections::HashMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.chunks(2) {
            if let [key, code] = pair {
                if key.len() == 4
                    && code.len() == 6
                    && key.bytes().all(|b| b.is_ascii_digit())
                    && code.bytes().all(|b| b.is_ascii_digit())
                {
                    pairs.insert(key.to_string(), code.to_string());
                }
            }
        }
    }
    pairs
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_that_cannot_be_printed_is_withdrawn_and_issued_again() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    for _ in 0..127 {
        h.login(&anna).await;
    }
    // The outbox cannot take files: the replacement cannot be printed.
    let outbox = h.data_dir().join("outbox");
    std::fs::remove_dir_all(&outbox).unwrap();
    std::fs::write(&outbox, b"not a directory").unwrap();
    let token = h.login(&anna).await;
    let (_, card) = h.get("/card", Some(&token)).await;
    assert_eq!(card["remaining"], 20);
    assert!(
        card["replacement"].is_null(),
        "an unprintable card was kept: {card}"
    );

    // Once the outbox works again, the next use issues and prints one.
    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir(&outbox).unwrap();
    let token = h.login(&anna).await;
    let (_, card) = h.get("/card", Some(&token)).await;
    let serial = card["replacement"]["serial"]
        .as_str()
        .expect("a replacement now");
    assert!(outbox.join(format!("{serial}.pdf")).is_file());
}

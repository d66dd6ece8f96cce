//! The failure policy, driven by the manual clock: 5 free failures, then
//! waits from 15 minutes doubling to 24 hours, and a lock at 20 that only
//! an operator lifts. Counted per username, known or not.

use kodekort_tests::{assert_error, Harness};
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn failures_progress_from_waits_to_a_lock_and_the_operator_unlocks() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let wrong = json!({"username": "anna", "password": "not the password"});

    for left in (1..=5).rev() {
        let (status, body) = h.post("/login", None, wrong.clone()).await;
        assert_error(status, &body, 401, "invalid_credentials");
        // Before the first wait: failures left until it; then until the lock.
        let expected = if left == 1 { 15 } else { left - 1 };
        assert_eq!(body["error"]["attempts_left"], expected);
    }
    // The fifth failure started a 15-minute wait; even the right password waits.
    let right = json!({"username": "anna", "password": anna.password});
    let (status, body) = h.post("/login", None, right.clone()).await;
    assert_error(status, &body, 429, "too_many_attempts");
    let until = body["error"]["locked_until"].as_str().unwrap().to_owned();
    let now = h.clock_now();
    assert_eq!(parse(&until) - now, Duration::minutes(15));

    // Each later failure doubles the wait: 30 min, 1 h, 2 h, ... capped at 24 h.
    let mut expected = Duration::minutes(15);
    for failures in 6..20 {
        h.clock.advance(expected);
        expected = std::cmp::min(expected * 2i32, Duration::hours(24));
        let (status, body) = h.post("/login", None, wrong.clone()).await;
        assert_error(status, &body, 401, "invalid_credentials");
        let until = parse(body["error"]["locked_until"].as_str().unwrap());
        assert_eq!(until - h.clock_now(), expected, "after failure {failures}");
        // The card status a citizen would see shows the wait too.
        let (status, _) = h.post("/login", None, right.clone()).await;
        assert_eq!(status.as_u16(), 429);
    }
    assert_eq!(expected, Duration::hours(24));

    // The 20th failure locks the card; no amount of waiting lifts it.
    h.clock.advance(expected);
    let (status, body) = h.post("/login", None, wrong.clone()).await;
    assert_error(status, &body, 401, "invalid_credentials");
    assert_eq!(body["error"]["attempts_left"], 0);
    h.clock.advance(Duration::days(30));
    let (status, body) = h.post("/login", None, right.clone()).await;
    assert_error(status, &body, 423, "card_locked");

    // The operator unlocks; the right password and code work again.
    h.with_service(|s| s.unlock_card("anna")).await.unwrap();
    let token = h.login(&anna).await;
    let (_, card) = h.get("/card", Some(&token)).await;
    assert_eq!(card["status"], "active");
    assert!(card["locked_until"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn code_stage_errors_tell_attempts_left_and_locked_until() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let (id, key) = h.begin_login(&anna).await;
    let path = format!("/login/{id}/code");
    for left in (0..5).rev() {
        let (status, body) = h
            .post(&path, None, json!({"code": anna.wrong_code(&key)}))
            .await;
        assert_error(status, &body, 401, "invalid_code");
        assert_eq!(
            body["error"]["attempts_left"],
            if left == 0 { 15 } else { left }
        );
    }
    // Now waiting: even the right code is refused until the wait ends.
    let (status, body) = h.post(&path, None, json!({"code": anna.code(&key)})).await;
    assert_error(status, &body, 429, "too_many_attempts");
    assert!(body["error"]["locked_until"].is_string());
    h.clock.advance(Duration::minutes(15));
    // The prompt expired meanwhile; it already cost its failure, so no more.
    let (status, body) = h.post(&path, None, json!({"code": anna.code(&key)})).await;
    assert_error(status, &body, 410, "challenge_expired");
    let (id, key) = h.begin_login(&anna).await;
    let (status, body) = h
        .post(
            &format!("/login/{id}/code"),
            None,
            json!({"code": anna.code(&key)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_card_lifts_the_lock() {
    let h = Harness::start().await;
    h.add_user("anna", "Anna A").await;
    let wrong = json!({"username": "anna", "password": "not the password"});
    for _ in 0..20 {
        h.clock.advance(Duration::hours(24));
        h.post("/login", None, wrong.clone()).await;
    }
    let (status, body) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": kodekort_tests::PASSWORD}),
        )
        .await;
    assert_error(status, &body, 423, "card_locked");
    let (_, card) = h.with_service(|s| s.issue_card("anna")).await.unwrap();
    let (status, body) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": kodekort_tests::PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["card_serial"], card.serial.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_user_and_wrong_password_answer_byte_for_byte_alike() {
    let h = Harness::start().await;
    h.add_user("anna", "Anna A").await;
    let before = h.service.argon2_runs();
    let wrong_password = h
        .http
        .post(h.url("/login"))
        .json(&json!({"username": "anna", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    let unknown_user = h
        .http
        .post(h.url("/login"))
        .json(&json!({"username": "nobody", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    // Both ran argon2: one verification each.
    assert_eq!(h.service.argon2_runs() - before, 2);
    assert_eq!(wrong_password.status(), unknown_user.status());
    let (a, b) = (
        wrong_password.bytes().await.unwrap(),
        unknown_user.bytes().await.unwrap(),
    );
    assert_eq!(
        a,
        b,
        "{} vs {}",
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b)
    );

    // And the unknown name is counted and throttled just like a real one.
    for _ in 0..4 {
        h.post(
            "/login",
            None,
            json!({"username": "nobody", "password": "x"}),
        )
        .await;
        h.post("/login", None, json!({"username": "anna", "password": "x"}))
            .await;
    }
    let (s1, b1) = h
        .post(
            "/login",
            None,
            json!({"username": "nobody", "password": "x"}),
        )
        .await;
    let (s2, b2) = h
        .post("/login", None, json!({"username": "anna", "password": "x"}))
        .await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_error(s1, &b1, 429, "too_many_attempts");
}

fn parse(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

trait ClockNow {
    fn clock_now(&self) -> time::OffsetDateTime;
}

impl ClockNow for Harness {
    fn clock_now(&self) -> time::OffsetDateTime {
        use kodekort_server::Clock;
        self.clock.now()
    }
}

/// Issue 11: a username longer than any account can have is refused before
/// anything is counted or stored, so huge names cannot grow the database.
#[tokio::test(flavor = "multi_thread")]
async fn an_overlong_username_is_refused_and_counts_nothing() {
    let h = Harness::start().await;
    let huge = "a".repeat(2_500_000);
    let db = h.data_dir().join("kodekort.sqlite3");
    let size = |p: &std::path::Path| {
        std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(p.with_extension("sqlite3-wal"))
                .map(|m| m.len())
                .unwrap_or(0)
    };
    let before = size(&db);
    for _ in 0..4 {
        let (status, body) = h
            .post(
                "/login",
                None,
                json!({"username": huge, "password": "whatever it is"}),
            )
            .await;
        assert_error(status, &body, 422, "invalid_username");
        assert!(body["error"].get("attempts_left").is_none(), "{body}");
    }
    // Longest possible name: still counted as any other.
    let longest = "b".repeat(64);
    let (status, body) = h
        .post(
            "/login",
            None,
            json!({"username": longest, "password": "whatever it is"}),
        )
        .await;
    assert_error(status, &body, 401, "invalid_credentials");
    assert_eq!(body["error"]["attempts_left"], 4);
    assert!(
        size(&db) < before + 1_000_000,
        "the database grew from {before} to {} bytes",
        size(&db)
    );
}

/// Issue 11: failures counted against a name before its account existed do
/// not follow the new account.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_starts_with_a_clean_count() {
    let h = Harness::start().await;
    let wrong = json!({"username": "newbie", "password": "not the password"});
    for _ in 0..5 {
        let (status, body) = h.post("/login", None, wrong.clone()).await;
        assert_error(status, &body, 401, "invalid_credentials");
    }
    let (status, _) = h.post("/login", None, wrong.clone()).await;
    assert_eq!(status, 429, "the burst reached the first wait");
    let newbie = h.add_user("newbie", "Ny Bruger").await;
    let right = json!({"username": "newbie", "password": newbie.password});
    let (status, body) = h.post("/login", None, right).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempts_left"], 5);
}

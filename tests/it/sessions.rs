//! Sessions: 30 minutes idle, 12 hours in all, revoked by logout.

use kodekort_tests::{assert_error, Harness};
use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_after_thirty_idle_minutes() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let token = h.login(&anna).await;
    h.clock.advance(Duration::minutes(29));
    let (status, _) = h.get("/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    // That request counted as activity: another 29 minutes are fine.
    h.clock.advance(Duration::minutes(29));
    let (status, _) = h.get("/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    h.clock.advance(Duration::minutes(31));
    let (status, body) = h.get("/me", Some(&token)).await;
    assert_error(status, &body, 401, "session_expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_twelve_hours_after_login_however_busy() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let token = h.login(&anna).await;
    for _ in 0..(12 * 3) {
        h.clock.advance(Duration::minutes(20));
        let (status, _) = h.get("/documents", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
    }
    h.clock.advance(Duration::minutes(1));
    let (status, body) = h.get("/documents", Some(&token)).await;
    assert_error(status, &body, 401, "session_expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_and_each_login_has_its_own_token() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let first = h.login(&anna).await;
    let second = h.login(&anna).await;
    assert_ne!(first, second);
    assert!(first.len() >= 43, "256-bit token, base64url");
    let (status, body) = h.post("/logout", Some(&first), Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = h.get("/me", Some(&first)).await;
    assert_error(status, &body, 401, "session_expired");
    let (status, _) = h.get("/me", Some(&second)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = h.get("/me", None).await;
    assert_error(status, &body, 401, "unauthenticated");
    let (status, body) = h.get("/me", Some("made-up-token")).await;
    assert_error(status, &body, 401, "unauthenticated");
}

/// The trainer's "session about to expire": the account's sessions count
/// 28 of their 30 idle minutes as gone, so three minutes later they are over,
/// where an untouched session would still be alive.
#[tokio::test(flavor = "multi_thread")]
async fn the_training_shortcut_ages_a_session_to_two_minutes_left() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let token = h.login(&anna).await;
    h.clock.advance(Duration::minutes(3));
    let (status, _) = h.get("/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "3 idle minutes are fine");
    h.with_service(|s| s.training_idle_sessions("anna", Duration::minutes(28)))
        .await
        .unwrap();
    let (status, _) = h.get("/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "still two minutes left");
    h.with_service(|s| s.training_idle_sessions("anna", Duration::minutes(28)))
        .await
        .unwrap();
    h.clock.advance(Duration::minutes(3));
    let (status, body) = h.get("/me", Some(&token)).await;
    assert_error(status, &body, 401, "session_expired");
}

//! Bad input gets a 4xx with the JSON error body and a stable code; never
//! axum's plain-text rejection, never a panic.

use kodekort_tests::{assert_error, Harness};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn raw(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    bearer: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = h.http.request(method, h.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_request_gets_a_json_error_with_a_stable_code() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let provider = h.add_provider("P").await;
    let token = h.login(&anna).await;
    let post = reqwest::Method::POST;
    let json_ct = Some("application/json");

    // Malformed JSON.
    let (s, b) = raw(
        &h,
        post.clone(),
        "/login",
        json_ct,
        b"{\"username\": ".to_vec(),
        None,
    )
    .await;
    assert_error(s, &b, 400, "malformed_json");
    // Wrong types.
    let (s, b) = raw(
        &h,
        post.clone(),
        "/login",
        json_ct,
        br#"{"username": 7, "password": []}"#.to_vec(),
        None,
    )
    .await;
    assert_error(s, &b, 400, "invalid_request");
    // Missing field.
    let (s, b) = raw(
        &h,
        post.clone(),
        "/login",
        json_ct,
        br#"{"username": "anna"}"#.to_vec(),
        None,
    )
    .await;
    assert_error(s, &b, 400, "invalid_request");
    // Unknown field.
    let (s, b) = h
        .post(
            "/login",
            None,
            json!({"username": "anna", "password": "x", "admin": true}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_request");
    // Wrong content type.
    let (s, b) = raw(
        &h,
        post.clone(),
        "/login",
        Some("text/plain"),
        b"{}".to_vec(),
        None,
    )
    .await;
    assert_error(s, &b, 415, "unsupported_media_type");
    let (s, b) = raw(&h, post.clone(), "/login", None, b"{}".to_vec(), None).await;
    assert_error(s, &b, 415, "unsupported_media_type");
    // Bad ids.
    let (s, b) = h.get("/documents/..%2F..%2Fetc", Some(&token)).await;
    assert_error(s, &b, 400, "invalid_id");
    let (s, b) = h
        .get(&format!("/documents/{}", "a".repeat(65)), Some(&token))
        .await;
    assert_error(s, &b, 400, "invalid_id");
    let (s, b) = h.get("/documents/doc_0000", Some(&token)).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = h
        .post("/login/n%C3%B8pe/code", None, json!({"code": "123456"}))
        .await;
    assert_error(s, &b, 400, "invalid_id");
    let (s, b) = h
        .post("/login/login_unknown/code", None, json!({"code": "123456"}))
        .await;
    assert_error(s, &b, 404, "challenge_not_found");
    // A code that is not six digits is refused before it can count.
    let (id, _) = h.begin_login(&anna).await;
    let (s, b) = h
        .post(
            &format!("/login/{id}/code"),
            None,
            json!({"code": "12a456"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_request");
    // A sha256 that is not 64 lowercase hex digits.
    let (_, docs) = h.get("/documents", Some(&token)).await;
    assert_eq!(docs, json!([]));
    let (s, b) = h
        .post(
            "/documents/doc_x/sign",
            Some(&token),
            json!({"sha256": "ABC"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_request");
    // Unknown route and wrong method.
    let (s, b) = h.get("/nothing/here", None).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = raw(
        &h,
        reqwest::Method::DELETE,
        "/me",
        None,
        vec![],
        Some(&token),
    )
    .await;
    assert_error(s, &b, 405, "method_not_allowed");
    // Missing or wrong credentials.
    let (s, b) = h.get("/documents", None).await;
    assert_error(s, &b, 401, "unauthenticated");
    let (s, b) = raw(&h, reqwest::Method::GET, "/documents", None, vec![], None).await;
    assert_error(s, &b, 401, "unauthenticated");
    let (s, b) = h
        .post("/provider/documents", Some("kkp_wrong"), json!({"recipient": "anna", "title": "t", "content_type": "text/plain", "content": "c"}))
        .await;
    assert_error(s, &b, 401, "invalid_provider_key");

    // Provider input.
    let submit = |recipient: &str, title: &str, ct: &str, content: &str| json!({"recipient": recipient, "title": title, "content_type": ct, "content": content});
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("anna", "T", "text/html", "<p>"),
        )
        .await;
    assert_error(s, &b, 422, "unsupported_content_type");
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("nobody", "T", "text/plain", "c"),
        )
        .await;
    assert_error(s, &b, 404, "unknown_recipient");
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("anna", "  ", "text/plain", "c"),
        )
        .await;
    assert_error(s, &b, 422, "invalid_document");
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("anna", "T", "text/plain", ""),
        )
        .await;
    assert_error(s, &b, 422, "invalid_document");
    let just_over = "x".repeat(1024 * 1024 + 1);
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("anna", "T", "text/plain", &just_over),
        )
        .await;
    assert_error(s, &b, 422, "invalid_document");
    let (s, b) = h
        .post(
            "/provider/documents",
            Some(&provider),
            submit("anna", "T", "text/plain; charset=utf-8", "ok"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Nothing was lost along the way: the server still works for Anna.
    let (s, _) = h.get("/me", Some(&token)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_gets_payload_too_large() {
    // Its own server and client: the server answers before reading the whole
    // body and closes that connection, which a pooled client must not reuse.
    let h = Harness::start().await;
    let big = format!(
        r#"{{"username": "anna", "password": "{}"}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    // The server answers before the body is in and then reads and discards
    // the rest (a lingering close), so every attempt gets the answer rather
    // than a reset connection.
    for attempt in 0..4 {
        let resp = h
            .http
            .post(h.url("/login"))
            .header("content-type", "application/json")
            .body(big.clone().into_bytes())
            .send()
            .await
            .unwrap_or_else(|e| panic!("attempt {attempt} got no answer: {e:?}"));
        let status = resp.status();
        let body: Value = resp.json().await.expect("a JSON error body");
        assert_error(status, &body, 413, "payload_too_large");
    }
    let (s, _) = h.get("/trust", None).await;
    assert_eq!(s, StatusCode::OK);
}

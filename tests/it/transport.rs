//! HTTPS only: a plain-HTTP request on the port fails, a client that pins
//! another CA refuses the server, and the OpenAPI document is served.

use std::io::{Read, Write};

use kodekort_tests::{pinned_client, Harness};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_on_the_port_gets_no_http_answer() {
    let h = Harness::start().await;
    let port = h.addr.port();
    let reply = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /api/v1/trust HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        buf
    })
    .await
    .unwrap();
    assert!(
        !reply.starts_with(b"HTTP/"),
        "plain HTTP was answered: {reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_pinning_another_ca_refuses_the_server() {
    let h = Harness::start().await;
    let other = Harness::start().await;
    let stranger = pinned_client(&other.data_dir().join("ca.pem"));
    let err = stranger.get(h.url("/trust")).send().await.unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    // The right CA works.
    let (status, _) = h.get("/trust", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_lists_every_route() {
    let h = Harness::start().await;
    let (status, doc) = h.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/login",
        "/login/{login_id}/code",
        "/logout",
        "/me",
        "/card",
        "/documents",
        "/documents/{id}",
        "/documents/{id}/sign",
        "/signatures/{sign_id}/code",
        "/documents/{id}/decline",
        "/documents/{id}/signature",
        "/trust",
        "/provider/documents",
        "/provider/documents/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} missing from OpenAPI");
    }
    assert!(doc["components"]["schemas"]["ErrorCode"].is_object());
}

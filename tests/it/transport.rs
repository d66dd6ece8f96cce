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

    // Every id in a path, and the fields with a fixed shape, state it, so a
    // client (and Schemathesis) knows what is valid before sending it.
    const ID: &str = "^[A-Za-z0-9_-]{1,64}$";
    const USERNAME: &str = "^[A-Za-z0-9._-]{1,64}$";
    for (path, item) in paths {
        for op in item.as_object().unwrap().values() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    assert_eq!(param["schema"]["pattern"], ID, "{path} {param}");
                    assert_eq!(param["schema"]["maxLength"], 64, "{path} {param}");
                }
            }
        }
    }
    let field =
        |schema: &str, name: &str| doc["components"]["schemas"][schema]["properties"][name].clone();
    assert_eq!(field("LoginRequest", "username")["pattern"], USERNAME);
    assert_eq!(field("SubmitDocument", "recipient")["pattern"], USERNAME);
    assert_eq!(
        field("CodeRequest", "code")["pattern"],
        "^[ -]*(?:[0-9][ -]*){6}$"
    );
    assert_eq!(field("SignRequest", "sha256")["pattern"], "^[0-9a-f]{64}$");
    assert_eq!(field("SubmitDocument", "title")["maxLength"], 300);
    assert_eq!(field("SubmitDocument", "content")["maxLength"], 262_144);
    for name in ["title", "content"] {
        let pattern = field("SubmitDocument", name)["pattern"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            pattern.contains(r"\u202A-\u202E\u2066-\u2069"),
            "{name}: {pattern}"
        );
    }
}

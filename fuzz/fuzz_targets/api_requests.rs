//! The API's extractors and JSON bodies, through the real router over a
//! real service (SQLite in a temp dir): any method, path, id, bearer and
//! body. Beyond "no panic": no answer is a 5xx, and every refusal is the
//! JSON error with a code the API documents.
//!
//! `POST /login` runs Argon2 (tens of milliseconds), which would slow the
//! fuzzer to a crawl, so its body goes through the same `ApiJson`
//! extractor alone. `POST /logout` is never sent with the live session, so
//! the session stays valid for the inputs that follow.

#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use http_body_util::BodyExt;
use kodekort_proto::wire::LoginRequest;
use kodekort_proto::{ErrorCode, Password};
use kodekort_server::api::{router, ApiJson};
use kodekort_server::{Service, SystemClock};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    router: Router,
    token: String,
    provider_key: String,
    document_id: String,
    sha256: String,
    _dir: tempfile::TempDir,
}

async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("a body").to_bytes();
    (status, body.to_vec())
}

fn post_json(path: &str, json: serde_json::Value) -> Request<Body> {
    Request::post(format!("/api/v1{path}"))
        .header("content-type", "application/json")
        .body(Body::from(json.to_string()))
        .unwrap()
}

/// A citizen with a live session and a pending document, and a provider.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let password = "bumpy lantern orchard";
        let (_, card) = service
            .add_user("anna", "Anna Ærø", &Password::new(password))
            .unwrap();
        let (_, provider_key) = service.add_provider("Kommunen").unwrap();
        let doc = service
            .add_document("anna", "Kommunen", "Samtykke", "Jeg giver samtykke.\n")
            .unwrap();
        let router = router(Arc::new(service));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let token = runtime.block_on(async {
            let login = post_json(
                "/login",
                serde_json::json!({"username": "anna", "password": password}),
            );
            let (status, body) = call(&router, login).await;
            assert_eq!(status, StatusCode::OK);
            let challenge: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let key = challenge["key"].as_str().unwrap();
            let code = &card.pairs.iter().find(|p| p.key == key).unwrap().code;
            let path = format!("/login/{}/code", challenge["login_id"].as_str().unwrap());
            let (status, body) =
                call(&router, post_json(&path, serde_json::json!({"code": code}))).await;
            assert_eq!(status, StatusCode::OK);
            let session: serde_json::Value = serde_json::from_slice(&body).unwrap();
            session["token"].as_str().unwrap().to_owned()
        });
        World {
            runtime,
            router,
            token,
            provider_key: provider_key.expose().to_owned(),
            document_id: doc.id,
            sha256: doc.sha256,
            _dir: dir,
        }
    })
}

#[derive(Debug, Arbitrary)]
enum Bearer {
    None,
    Session,
    Provider,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Id {
    Document,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum BodyKind {
    /// The document's own hash in a sign request, so signing is reached.
    SignThisDocument,
    /// A code request with these digits.
    Code(u32),
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    route: u8,
    id: Id,
    bearer: Bearer,
    json_content_type: bool,
    query: Option<String>,
    body: BodyKind,
}

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
];

fn path(route: u8, id: &str) -> String {
    match route % 15 {
        0 => "/login".into(),
        1 => format!("/login/{id}/code"),
        2 => "/logout".into(),
        3 => "/me".into(),
        4 => "/card".into(),
        5 => "/documents".into(),
        6 => format!("/documents/{id}"),
        7 => format!("/documents/{id}/sign"),
        8 => format!("/signatures/{id}/code"),
        9 => format!("/documents/{id}/decline"),
        10 => format!("/documents/{id}/signature"),
        11 => "/trust".into(),
        12 => "/provider/documents".into(),
        13 => format!("/provider/documents/{id}"),
        _ => format!("/{id}"),
    }
}

fn check(method: &Method, status: StatusCode, body: &[u8], what: &Input) {
    assert!(
        !status.is_server_error(),
        "{status} for {what:?}: {}",
        String::from_utf8_lossy(body)
    );
    if method == Method::HEAD {
        // HTTP: the answer to HEAD carries no body, refusal or not.
        assert!(body.is_empty(), "a body in the answer to HEAD");
        return;
    }
    if status.is_client_error() {
        let json: serde_json::Value = serde_json::from_slice(body)
            .unwrap_or_else(|_| panic!("{status} without JSON for {what:?}"));
        let code = json["error"]["code"].as_str().expect("error.code");
        assert!(ErrorCode::parse(code).is_some(), "undocumented code {code}");
    }
}

// The world (keys, an account, a login: Argon2) is made before libFuzzer
// starts timing inputs.
fuzz_target!(init: { world(); }, |input: Input| {
    let w = world();
    let id = match &input.id {
        Id::Document => w.document_id.clone(),
        Id::Raw(raw) => raw.clone(),
    };
    let method = METHODS[usize::from(input.method) % METHODS.len()].clone();
    let route = input.route % 15;
    let body = match &input.body {
        BodyKind::SignThisDocument => serde_json::json!({"sha256": w.sha256})
            .to_string()
            .into_bytes(),
        BodyKind::Code(n) => serde_json::json!({"code": format!("{:06}", n % 1_000_000)})
            .to_string()
            .into_bytes(),
        BodyKind::Raw(raw) => raw.clone(),
    };
    let mut uri = format!("/api/v1{}", path(route, &id));
    if let Some(q) = &input.query {
        uri.push('?');
        uri.push_str(q);
    }
    let mut req = Request::builder().method(method.clone()).uri(uri);
    if input.json_content_type {
        req = req.header("content-type", "application/json");
    }
    let bearer = match &input.bearer {
        Bearer::None => None,
        Bearer::Session if route == 2 => None,
        Bearer::Session => Some(format!("Bearer {}", w.token)),
        Bearer::Provider => Some(format!("Bearer {}", w.provider_key)),
        Bearer::Raw(raw) => Some(raw.clone()),
    };
    if let Some(value) = bearer {
        req = req.header("authorization", value);
    }
    // An address or header that HTTP itself cannot carry never reaches a server.
    let Ok(req) = req.body(Body::from(body)) else {
        return;
    };
    w.runtime.block_on(async {
        if route == 0 && method == Method::POST {
            // The login body, through the extractor the handler uses.
            match ApiJson::<LoginRequest>::from_request(req, &()).await {
                Ok(_) => {}
                Err(refusal) => {
                    let resp = refusal.into_response();
                    let status = resp.status();
                    let body = resp.into_body().collect().await.unwrap().to_bytes();
                    check(&method, status, &body, &input);
                }
            }
            return;
        }
        let (status, body) = call(&w.router, req).await;
        check(&method, status, &body, &input);
    });
});

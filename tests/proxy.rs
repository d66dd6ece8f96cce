//! A TLS proxy of the tests' own, between a real client and a real server,
//! that can rewrite a document's text in chosen answers: the man in the
//! middle (or the two-faced server) that "what you see is what you sign"
//! must defeat. It terminates TLS under a CA of its own (which the client
//! under test pins) and forwards every request to the server over TLS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use kodekort_proto::signing::sha256_hex;
use kodekort_server::listener::{self, Limits};
use kodekort_server::tls;
use serde_json::Value;

use crate::pinned_client;

/// Which answers to `GET /api/v1/documents/{id}` the proxy rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Forwards everything unchanged: the control.
    Honest,
    /// Rewrites the first fetch only: the citizen is shown a text the
    /// server does not hold.
    FirstFetch,
    /// Leaves the first fetch alone and rewrites every later one: a client
    /// that fetches again before signing hashes a text nobody read.
    LaterFetches,
}

/// The line the proxy adds to a document's text when it tampers.
pub const PLANTED: &str = "\nI also transfer my flat to Mallory.\n";

struct Shared {
    upstream: String,
    client: reqwest::Client,
    tamper: Tamper,
    fetches: AtomicUsize,
}

/// A running proxy.
pub struct Proxy {
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    shared: Arc<Shared>,
    handle: listener::Handle,
}

impl Proxy {
    /// Listens on `127.0.0.1:0` and forwards to `https://localhost:{upstream port}`,
    /// pinning the server's CA in `upstream_ca`.
    pub async fn start(upstream: SocketAddr, upstream_ca: &Path, tamper: Tamper) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let config = tls::server_config(&tls::CertSource::DevelopmentCa {
            data_dir: dir.path().to_path_buf(),
        })
        .unwrap();
        let shared = Arc::new(Shared {
            upstream: format!("https://localhost:{}", upstream.port()),
            client: pinned_client(upstream_ca),
            tamper,
            fetches: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let listener =
            listener::Listener::bind("127.0.0.1:0".parse().unwrap(), Limits::default()).unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = listener.handle();
        tokio::spawn(listener.serve(config, app));
        Proxy {
            addr,
            dir,
            shared,
            handle,
        }
    }

    /// The proxy's own CA, for the client under test to pin.
    pub fn ca_pem(&self) -> PathBuf {
        tls::ca_pem(self.dir.path())
    }

    /// The proxy's address as a client names it.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// How many times a document's text was fetched through the proxy.
    pub fn document_fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.handle.graceful_shutdown(std::time::Duration::ZERO);
    }
}

/// `GET /api/v1/documents/{id}`, not the list and not `/signature`.
fn is_document_fetch(method: &Method, uri: &Uri) -> bool {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    method == Method::GET && matches!(segments.as_slice(), ["api", "v1", "documents", _])
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = shared
        .client
        .request(method.clone(), format!("{}{path}", shared.upstream))
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(_) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::empty())
                .unwrap()
        }
    };
    let status = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    if status.is_success() && is_document_fetch(&method, &uri) {
        let n = shared.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        let rewrite = match shared.tamper {
            Tamper::Honest => false,
            Tamper::FirstFetch => n == 1,
            Tamper::LaterFetches => n > 1,
        };
        if rewrite {
            bytes = rewritten(&bytes);
        }
    }
    let mut response = Response::builder().status(status);
    if let Some(ct) = content_type {
        response = response.header("content-type", ct);
    }
    response.body(Body::from(bytes)).unwrap()
}

/// The document with a line planted in its text, and a `sha256` that fits
/// the new text, so that the answer looks honest on its face.
fn rewritten(bytes: &[u8]) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(bytes).unwrap();
    let content = format!("{}{PLANTED}", doc["content"].as_str().unwrap());
    doc["sha256"] = Value::String(sha256_hex(content.as_bytes()));
    doc["content"] = Value::String(content);
    serde_json::to_vec(&doc).unwrap()
}

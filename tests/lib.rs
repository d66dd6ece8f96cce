//! Helpers for Kodekort's integration tests (in the manner of ripgrep's
//! `tests/util.rs` and kanidm's testkit): a real `kodekort-server` on
//! `127.0.0.1:0` over HTTPS, a fresh SQLite file in a temp dir (or, with
//! `KODEKORT_TEST_STORE=postgres`, a fresh PostgreSQL database: see
//! [`store`]), a manual clock, and an HTTPS client that pins the server's
//! development CA.

mod cli_session;
pub mod fleet;
pub mod oidc_browser;
pub mod proxy;
pub mod store;

pub use cli_session::{CliSession, Keyring};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use kodekort_proto::wire::User;
use kodekort_proto::Password;
use kodekort_server::api::{self, Running};
use kodekort_server::listener::Limits;
use kodekort_server::{tls, ManualClock, Service};
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A password that passes the policy.
pub const PASSWORD: &str = "bumpy lantern orchard";

/// A server under test.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub service: Arc<Service>,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    running: Option<Running>,
}

/// A citizen made by the harness, with the plain codes of their card.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub password: String,
    pub user: User,
    pub serial: String,
    pub codes: HashMap<String, String>,
}

impl TestUser {
    /// The code printed next to `key`.
    pub fn code(&self, key: &str) -> String {
        self.codes
            .get(key)
            .unwrap_or_else(|| panic!("key {key} is not on card {}", self.serial))
            .clone()
    }

    /// A six-digit code that is not the one for `key`.
    pub fn wrong_code(&self, key: &str) -> String {
        let right: u32 = self.code(key).parse().unwrap();
        format!("{:06}", (right + 1) % 1_000_000)
    }
}

/// A TLS client configuration that trusts exactly the CA in `ca_pem`.
pub fn pinned_tls(ca_pem: &Path) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// An HTTPS client that trusts exactly the CA in `ca_pem`.
pub fn pinned_client(ca_pem: &Path) -> reqwest::Client {
    let config = pinned_tls(ca_pem);
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .https_only(true)
        .build()
        .unwrap()
}

impl Harness {
    /// Starts a server on a fresh data dir.
    pub async fn start() -> Harness {
        Self::start_with_limits(Limits::default()).await
    }

    /// Starts a server whose listener has `limits`.
    pub async fn start_with_limits(limits: Limits) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(OffsetDateTime::now_utc());
        Self::start_in(dir, clock, limits).await
    }

    async fn start_in(dir: tempfile::TempDir, clock: ManualClock, limits: Limits) -> Harness {
        let data = dir.path().to_path_buf();
        let clock2 = clock.clone();
        let service = tokio::task::spawn_blocking(move || {
            let setup = store::setup_for(&data);
            Service::open_with(&setup, Arc::new(clock2))
        })
        .await
        .unwrap()
        .unwrap();
        let service = Arc::new(service);
        let config = tls::server_config(&tls::CertSource::DevelopmentCa {
            data_dir: dir.path().to_path_buf(),
        })
        .unwrap();
        let running = api::start_with(
            "127.0.0.1:0".parse().unwrap(),
            config,
            service.clone(),
            limits,
        )
        .await
        .unwrap();
        let http = pinned_client(&tls::ca_pem(dir.path()));
        Harness {
            addr: running.addr,
            dir,
            clock,
            service,
            http,
            running: Some(running),
        }
    }

    /// Stops the server and starts a new one on the same data dir.
    pub async fn restart(self) -> Harness {
        let Harness {
            dir,
            clock,
            running,
            service,
            ..
        } = self;
        running.unwrap().shutdown().await.unwrap();
        drop(service);
        Self::start_in(dir, clock, Limits::default()).await
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/api/v1{path}", self.addr.port())
    }

    /// Creates a citizen through the service (as the operator CLI does).
    pub async fn add_user(&self, username: &str, name: &str) -> TestUser {
        let service = self.service.clone();
        let (u, n) = (username.to_owned(), name.to_owned());
        let (user, card) =
            tokio::task::spawn_blocking(move || service.add_user(&u, &n, &Password::new(PASSWORD)))
                .await
                .unwrap()
                .unwrap();
        TestUser {
            username: username.to_owned(),
            password: PASSWORD.to_owned(),
            user,
            serial: card.serial.clone(),
            codes: card
                .pairs
                .iter()
                .map(|p| (p.key.clone(), p.code.clone()))
                .collect(),
        }
    }

    /// Registers a provider; returns its API key.
    pub async fn add_provider(&self, name: &str) -> String {
        let service = self.service.clone();
        let name = name.to_owned();
        let (_, key) = tokio::task::spawn_blocking(move || service.add_provider(&name))
            .await
            .unwrap()
            .unwrap();
        key.expose().to_owned()
    }

    /// Runs blocking service code (operator actions) from a test.
    pub async fn with_service<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Service) -> T + Send + 'static,
    ) -> T {
        let service = self.service.clone();
        tokio::task::spawn_blocking(move || f(&service))
            .await
            .unwrap()
    }

    /// POSTs JSON; returns the status and the parsed body (`null` if empty).
    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        parse(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        parse(req.send().await.unwrap()).await
    }

    /// Step 1 of a login; returns `(login_id, key)`.
    pub async fn begin_login(&self, user: &TestUser) -> (String, String) {
        let (status, body) = self
            .post(
                "/login",
                None,
                json!({"username": user.username, "password": user.password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["card_serial"].as_str().unwrap().len(), 12);
        (
            body["login_id"].as_str().unwrap().to_owned(),
            body["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Signs a document over the API with the code from the user's card;
    /// returns the answer body (`{"envelope": …}`).
    pub async fn sign(&self, user: &TestUser, token: &str, doc_id: &str, sha256: &str) -> Value {
        let (status, ch) = self
            .post(
                &format!("/documents/{doc_id}/sign"),
                Some(token),
                json!({"sha256": sha256}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ch}");
        let (status, signed) = self
            .post(
                &format!("/signatures/{}/code", ch["sign_id"].as_str().unwrap()),
                Some(token),
                json!({"code": user.code(ch["key"].as_str().unwrap())}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        signed
    }

    /// A whole login; returns the session token.
    pub async fn login(&self, user: &TestUser) -> String {
        let (id, key) = self.begin_login(user).await;
        let (status, body) = self
            .post(
                &format!("/login/{id}/code"),
                None,
                json!({"code": user.code(&key)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

async fn parse(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

/// Asserts an error body with `code`, and returns it.
pub fn assert_error(status: StatusCode, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert_eq!(status.as_u16(), expected_status, "body: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message missing: {body}"
    );
}

/// Runs a workspace binary to the end with `stdin` as its input. A command
/// that fails early may exit before reading: a broken pipe is fine.
pub fn run_bin(
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(workspace_bin(name))
        .args(args)
        .envs(store::env_for_args(args))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// Path of a workspace binary, built once per test run with the same profile.
pub fn workspace_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/it-HASH → target/<profile>/
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    BUILT.get_or_init(|| {
        let release = profile_dir.ends_with("release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        // Every binary of the workspace (the server and the `kodekort` CLI),
        // with whole-workspace feature resolution as `cargo xtask test` builds
        // them before the tests, so that this is usually a no-op.
        cmd.args(["build", "--quiet", "--workspace", "--bins"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the binaries failed");
    });
    profile_dir.join(name)
}

/// Runs a poppler-utils tool (`pdftotext`, `pdfinfo`, …) and returns its
/// stdout; fails the test with its stderr if it fails.
pub fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

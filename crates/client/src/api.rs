//! The HTTPS client of the v1 API: reqwest over rustls (ring), HTTPS only,
//! TLS 1.2+, never "accept invalid". A pinned deployment trusts exactly its
//! CA with built-in roots off; a public one may use the platform's roots.
//! Idempotent GETs retry with backoff; POSTs never retry on their own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kodekort_proto::signing::TrustRoot;
use kodekort_proto::wire::{
    AppLoginDone, AppLoginPrompt, CardStatus, CodeRequest, Document, DocumentSummary,
    EnvelopeResponse, LoginChallenge, LoginRequest, MeResponse, SessionResponse, SignChallenge,
    SignRequest, StatusResponse,
};
use kodekort_proto::{Code, Envelope, ErrorCode, Password, Token, API_PREFIX};
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{ClientError, Result};
use crate::login_link::LoginLink;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Waits before the retries of an idempotent GET.
const GET_BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(1000)];

/// Which certificates the client trusts for a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Exactly the CA(s) in this PEM file; built-in roots are off.
    PinnedCa(PathBuf),
    /// Exactly these PEM certificates (the demo's throw-away CA).
    PinnedPem(String),
    /// The platform's roots, for a deployment with a public certificate.
    PlatformRoots,
}

/// A server to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `https://host:port`, without the `/api/v1` suffix.
    pub url: String,
    pub trust: Trust,
}

impl Server {
    /// Checks the URL: `https://` only, no path, query or credentials.
    pub fn new(url: &str, trust: Trust) -> Result<Server> {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| ClientError::InvalidServerUrl(e.to_string()))?;
        if parsed.scheme() != "https"
            || parsed.host_str().is_none()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.query().is_some()
            || !matches!(parsed.path(), "" | "/")
        {
            return Err(ClientError::InvalidServerUrl(url.to_owned()));
        }
        Ok(Server {
            url: parsed.as_str().trim_end_matches('/').to_owned(),
            trust,
        })
    }
}

fn root_store(trust: &Trust) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    let pem_error = |path: &Path, reason: String| ClientError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = match trust {
        Trust::PinnedCa(path) => {
            let bytes = std::fs::read(path).map_err(|e| pem_error(path, e.to_string()))?;
            CertificateDer::pem_slice_iter(&bytes)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| pem_error(path, e.to_string()))?
        }
        Trust::PinnedPem(pem) => CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| pem_error(Path::new("(built-in demo CA)"), e.to_string()))?,
        Trust::PlatformRoots => {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                return Err(pem_error(
                    Path::new("(platform roots)"),
                    "no trusted roots found on this computer".into(),
                ));
            }
            found.certs
        }
    };
    for cert in certs {
        roots.add(cert).map_err(|e| ClientError::CaFile {
            path: match trust {
                Trust::PinnedCa(p) => p.clone(),
                _ => PathBuf::from("(certificates)"),
            },
            reason: e.to_string(),
        })?;
    }
    if roots.is_empty() {
        return Err(pem_error(
            match trust {
                Trust::PinnedCa(p) => p,
                _ => Path::new("(certificates)"),
            },
            "no certificate in the file".into(),
        ));
    }
    Ok(roots)
}

/// The error body of the wire, read loosely so that an unknown code from a
/// newer server is an error of its own rather than a parse failure.
#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
}

#[derive(Deserialize)]
struct WireErrorBody {
    code: String,
    attempts_left: Option<u32>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    locked_until: Option<OffsetDateTime>,
}

/// The rustls error wrapped in an io::Error, possibly several deep (hyper
/// wraps tokio-rustls's io::Error in another one, and io::Error's `source`
/// skips the wrapped error itself).
fn tls_inside(io: &std::io::Error) -> Option<&rustls::Error> {
    let inner = io.get_ref()?;
    inner
        .downcast_ref::<rustls::Error>()
        .or_else(|| inner.downcast_ref::<std::io::Error>().and_then(tls_inside))
}

/// Sorts a transport failure into the causes a citizen can act on.
fn transport_error(err: reqwest::Error) -> ClientError {
    if err.is_timeout() {
        return ClientError::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
    while let Some(s) = source {
        let tls = s
            .downcast_ref::<rustls::Error>()
            .or_else(|| s.downcast_ref::<std::io::Error>().and_then(tls_inside));
        if let Some(tls) = tls {
            return match tls {
                rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::UnsupportedNameType => {
                    ClientError::ServerIdentity(tls.to_string())
                }
                other => ClientError::SecureConnection(other.to_string()),
            };
        }
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return ClientError::Timeout;
        }
        source = s.source();
    }
    if err.is_decode() || err.is_body() {
        return ClientError::BadResponse(err.to_string());
    }
    ClientError::NoNetwork(err.to_string())
}

/// The v1 API of one server.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .finish()
    }
}

impl ApiClient {
    pub fn new(server: &Server) -> Result<ApiClient> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ClientError::SecureConnection(e.to_string()))?
        .with_root_certificates(root_store(&server.trust)?)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("kodekort/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::SecureConnection(e.to_string()))?;
        Ok(ApiClient {
            http,
            base: format!("{}{API_PREFIX}", server.url),
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&Token>,
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        let retries: &[Duration] = if method == Method::GET {
            &GET_BACKOFF
        } else {
            &[]
        };
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(token) = token {
                req = req.bearer_auth(token.expose());
            }
            if let Some(body) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let outcome = match req.send().await {
                Ok(resp) => Self::read(resp).await,
                Err(e) => Err(transport_error(e)),
            };
            let transient = matches!(
                &outcome,
                Err(ClientError::NoNetwork(_) | ClientError::Timeout)
                    | Err(ClientError::Server {
                        code: ErrorCode::ServiceUnavailable | ErrorCode::RequestTimeout,
                        ..
                    })
            );
            match retries.get(attempt) {
                Some(wait) if transient => {
                    tokio::time::sleep(*wait).await;
                    attempt += 1;
                }
                _ => return outcome,
            }
        }
    }

    async fn read<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            let bytes: &[u8] = if status == StatusCode::NO_CONTENT && bytes.is_empty() {
                b"null"
            } else {
                &bytes
            };
            return serde_json::from_slice(bytes)
                .map_err(|e| ClientError::BadResponse(format!("{status}: {e}")));
        }
        match serde_json::from_slice::<WireError>(&bytes) {
            Ok(wire) => match ErrorCode::parse(&wire.error.code) {
                Some(code) => Err(ClientError::Server {
                    code,
                    attempts_left: wire.error.attempts_left,
                    locked_until: wire.error.locked_until,
                }),
                None => Err(ClientError::UnknownServerError {
                    status: status.as_u16(),
                }),
            },
            Err(_) => Err(ClientError::BadResponse(format!(
                "HTTP {status} without an error body"
            ))),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, token: Option<&Token>) -> Result<T> {
        self.send(Method::GET, path, token, None).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&Token>,
        body: &B,
    ) -> Result<T> {
        let json = serde_json::to_vec(body).expect("request bodies serialise");
        self.send(Method::POST, path, token, Some(json)).await
    }

    pub async fn login(
        &self,
        username: &str,
        password: &Password,
        use_replacement_card: bool,
    ) -> Result<LoginChallenge> {
        let req = LoginRequest {
            username: username.to_owned(),
            password: password.clone(),
            use_replacement_card,
        };
        self.post("/login", None, &req).await
    }

    pub async fn login_code(&self, login_id: &str, code: &Code) -> Result<SessionResponse> {
        self.post(
            &format!("/login/{login_id}/code"),
            None,
            &CodeRequest { code: code.clone() },
        )
        .await
    }

    /// Opens a login link of the provider's code page (once).
    pub async fn app_login_open(&self, link: &LoginLink) -> Result<AppLoginPrompt> {
        self.post(
            &format!("/app-logins/{}", link.id()),
            None,
            &serde_json::json!({}),
        )
        .await
    }

    /// The code for an opened login link.
    pub async fn app_login_code(&self, link: &LoginLink, code: &Code) -> Result<AppLoginDone> {
        self.post(
            &format!("/app-logins/{}/code", link.id()),
            None,
            &CodeRequest { code: code.clone() },
        )
        .await
    }

    pub async fn logout(&self, token: &Token) -> Result<()> {
        self.send::<()>(Method::POST, "/logout", Some(token), None)
            .await
    }

    pub async fn me(&self, token: &Token) -> Result<MeResponse> {
        self.get("/me", Some(token)).await
    }

    pub async fn card(&self, token: &Token) -> Result<CardStatus> {
        self.get("/card", Some(token)).await
    }

    pub async fn documents(&self, token: &Token) -> Result<Vec<DocumentSummary>> {
        self.get("/documents", Some(token)).await
    }

    pub async fn document(&self, token: &Token, id: &str) -> Result<Document> {
        self.get(&format!("/documents/{}", path_segment(id)?), Some(token))
            .await
    }

    pub async fn begin_sign(&self, token: &Token, id: &str, sha256: &str) -> Result<SignChallenge> {
        let req = SignRequest {
            sha256: sha256.to_owned(),
        };
        self.post(
            &format!("/documents/{}/sign", path_segment(id)?),
            Some(token),
            &req,
        )
        .await
    }

    pub async fn sign_code(&self, token: &Token, sign_id: &str, code: &Code) -> Result<Envelope> {
        let resp: EnvelopeResponse = self
            .post(
                &format!("/signatures/{}/code", path_segment(sign_id)?),
                Some(token),
                &CodeRequest { code: code.clone() },
            )
            .await?;
        Ok(resp.envelope)
    }

    pub async fn decline(&self, token: &Token, id: &str) -> Result<StatusResponse> {
        self.send(
            Method::POST,
            &format!("/documents/{}/decline", path_segment(id)?),
            Some(token),
            None,
        )
        .await
    }

    pub async fn signature(&self, token: &Token, id: &str) -> Result<Envelope> {
        let resp: EnvelopeResponse = self
            .get(
                &format!("/documents/{}/signature", path_segment(id)?),
                Some(token),
            )
            .await?;
        Ok(resp.envelope)
    }

    /// The server's root key. Informational only: verification trusts the
    /// root pinned in the configuration, never one fetched on first use.
    pub async fn trust(&self) -> Result<TrustRoot> {
        self.get("/trust", None).await
    }
}

/// Ids go into paths; anything but the id alphabet is refused locally.
fn path_segment(id: &str) -> Result<&str> {
    if (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(id)
    } else {
        Err(ClientError::Server {
            code: ErrorCode::InvalidId,
            attempts_left: None,
            locked_until: None,
        })
    }
}

//! The HTTPS API: axum handlers over the [`Service`], the JSON error body
//! for every refusal (never axum's plain-text rejections), request limits,
//! request ids in the logs, and the OpenAPI document generated from the
//! handlers themselves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use kodekort_proto::signing::TrustRoot;
use kodekort_proto::wire::{
    AppLoginDone, AppLoginPrompt, CardStatus, CodeRequest, Document, DocumentSummary,
    EnvelopeResponse, LoginChallenge, LoginRequest, MeResponse, ProviderDocumentStatus,
    SessionResponse, SignChallenge, SignRequest, StatusResponse, SubmitDocument, SubmittedDocument,
};
use kodekort_proto::{ErrorCode, ErrorResponse, ProviderKey, Token, API_PREFIX};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Error, Result};
use crate::health::{self, Health};
use crate::listener::{self, ClientAddress, Limits};
use crate::oidc::{self, Issuer};
use crate::service::{valid_id, Citizen, Provider, Service, MAX_CONTENT_BYTES};

/// Largest request body: a 1 MiB document, JSON-escaped, with room to spare.
const MAX_BODY_BYTES: usize = 3 * MAX_CONTENT_BYTES;
/// Longest a request may take from its head arriving to the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a request body may take to arrive, from its head.
const BODY_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest path and query. Ids, not data, travel in the address.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest header block (names, values and separators, as sent).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    service: Arc<Service>,
    /// Logins waiting for argon2 wait here, not as parked blocking threads.
    /// (Argon2 itself runs one per core: see `password::verify`.)
    password_checks: Arc<tokio::sync::Semaphore>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = match self {
            Error::Api(api) => api,
            other => {
                // The full cause goes to the log; the wire gets only the code.
                tracing::error!(error = %other, "request failed");
                other.code().into()
            }
        };
        api_response(&api)
    }
}

fn api_response(api: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(api.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(api.to_response())).into_response();
    // A wait with a known end says when to come back, in the header that
    // HTTP clients read (RFC 9110 §10.2.3), as a date: no clock is needed here.
    if let Some(value) = api.locked_until.and_then(retry_after) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    if api.code == ErrorCode::PayloadTooLarge {
        // The rest of the body was never read, so this connection cannot
        // carry another request: say so, or a pooled client reuses it.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// `until` as an HTTP date (IMF-fixdate), the form `Retry-After` takes.
fn retry_after(until: time::OffsetDateTime) -> Option<HeaderValue> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let text = until.to_offset(time::UtcOffset::UTC).format(format).ok()?;
    HeaderValue::from_str(&text).ok()
}

/// Runs blocking service code (argon2, SQLite) off the async workers.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Service) -> Result<T> + Send + 'static,
) -> Result<T> {
    blocking_on(&state.service, f).await
}

/// [`blocking`] for handlers with a state of their own (the OIDC provider).
pub(crate) async fn blocking_on<T: Send + 'static>(
    service: &Arc<Service>,
    f: impl FnOnce(&Service) -> Result<T> + Send + 'static,
) -> Result<T> {
    let service = service.clone();
    tokio::task::spawn_blocking(move || f(&service))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

/// `Json<T>` whose rejections are our JSON errors with stable codes.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let read = tokio::time::timeout(BODY_TIMEOUT, Json::<T>::from_request(req, state));
        let Ok(parsed) = read.await else {
            return Err(ErrorCode::RequestTimeout.into());
        };
        match parsed {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
                JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
                JsonRejection::JsonDataError(_) => ErrorCode::InvalidRequest,
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ErrorCode::PayloadTooLarge
                }
                _ => ErrorCode::InvalidRequest,
            }
            .into()),
        }
    }
}

/// One id from the path, checked for shape (`invalid_id` otherwise).
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) if valid_id(&id) => Ok(Id(id)),
            _ => Err(ErrorCode::InvalidId.into()),
        }
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = Token::new(bearer(parts).ok_or(ErrorCode::Unauthenticated)?);
        blocking(state, move |s| s.authenticate(&token)).await
    }
}

impl FromRequestParts<AppState> for Provider {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = ProviderKey::new(bearer(parts).ok_or(ErrorCode::InvalidProviderKey)?);
        blocking(state, move |s| s.authenticate_provider(&key)).await
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kodekort API",
        version = "1",
        description = "Citizen eID with code cards. Errors are `{\"error\": {\"code\", \"message\"}}`; translate by code."
    ),
    servers((url = "/api/v1")),
    components(schemas(ErrorResponse, ErrorCode)),
    modifiers(&BearerAuth),
    tags(
        (name = "citizen", description = "Calls of the citizen's client"),
        (name = "provider", description = "Calls of service providers, with the provider key as bearer"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "provider_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Builds the whole app for the issuer `https://localhost`.
pub fn router(service: Arc<Service>) -> Router {
    router_for(
        service,
        Issuer::parse("https://localhost").expect("a valid issuer"),
    )
}

/// Builds the whole app: `/api/v1/...`, the OpenID Connect provider with
/// `issuer` as its public base URL, and the JSON fallbacks.
pub fn router_for(service: Arc<Service>, issuer: Issuer) -> Router {
    router_with_health(service, issuer, Health::default())
}

/// [`router_for`] with the health routes reporting `health`. They are added
/// after the layers: a balancer's checks every second are neither logged
/// nor counted against the request limits.
pub fn router_with_health(service: Arc<Service>, issuer: Issuer, health: Health) -> Router {
    let health_routes = health::router(service.clone(), health);
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(login_code))
        .routes(routes!(logout))
        .routes(routes!(app_login_open))
        .routes(routes!(app_login_code))
        .routes(routes!(me))
        .routes(routes!(card))
        .routes(routes!(documents))
        .routes(routes!(document))
        .routes(routes!(sign))
        .routes(routes!(sign_code))
        .routes(routes!(decline))
        .routes(routes!(signature))
        .routes(routes!(trust))
        .routes(routes!(provider_submit))
        .routes(routes!(provider_document))
        .split_for_parts();
    let openapi_json = Arc::new(openapi.to_pretty_json().expect("OpenAPI serialises"));
    let api = api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let body = openapi_json.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    body.as_str().to_owned(),
                )
            }
        }),
    );

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let password_checks = Arc::new(tokio::sync::Semaphore::new(4 * cores));
    let oidc = oidc::web::router(service.clone(), issuer, password_checks.clone());
    let state = AppState {
        service,
        password_checks,
    };
    Router::new()
        .nest(API_PREFIX, api)
        .with_state(state)
        .merge(oidc)
        .fallback(|| async { Error::from(ErrorCode::NotFound) })
        .method_not_allowed_fallback(|| async { Error::from(ErrorCode::MethodNotAllowed) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(time_limit))
        .layer(axum::middleware::from_fn(request_limits))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            Error::from(ErrorCode::InternalError).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // Method and path only: no query, no headers (they carry tokens).
                    let path = loggable_path(req.uri().path());
                    tracing::info_span!("request", id, method = %req.method(), path = %path)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .merge(health_routes)
}

/// A request's path as the log may show it: an app-login link in the path
/// is a capability for minutes, so it is left out.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let link = path
        .strip_prefix(API_PREFIX)
        .and_then(|p| p.strip_prefix("/app-logins/"));
    match link {
        Some(rest) => {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            format!("{API_PREFIX}/app-logins/***{tail}").into()
        }
        None => path.into(),
    }
}

/// Refuses, before any body is read, what is larger than the API takes:
/// the address, the headers, and a declared body length.
async fn request_limits(req: Request, next: Next) -> Response {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Error::from(ErrorCode::UriTooLong).into_response();
    }
    // As on the wire: "name: value\r\n".
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Error::from(ErrorCode::HeadersTooLarge).into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Error::from(ErrorCode::PayloadTooLarge).into_response();
    }
    next.run(req).await
}

async fn time_limit(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => Error::from(ErrorCode::RequestTimeout).into_response(),
    }
}

// ---- handlers: each a thin wrapper over one service call -------------------

/// Username and password → a card challenge.
#[utoipa::path(post, path = "/login", tag = "citizen", request_body = LoginRequest,
    responses((status = 200, body = LoginChallenge), (status = "4XX", body = ErrorResponse)))]
async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginChallenge>> {
    let _permit = state
        .password_checks
        .acquire()
        .await
        .map_err(|_| Error::from(ErrorCode::ServiceUnavailable))?;
    blocking(&state, move |s| s.begin_login(&req))
        .await
        .map(Json)
}

/// The code for a login challenge → a session.
#[utoipa::path(post, path = "/login/{login_id}/code", tag = "citizen", request_body = CodeRequest,
    params(("login_id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = SessionResponse), (status = "4XX", body = ErrorResponse)))]
async fn login_code(
    State(state): State<AppState>,
    Id(id): Id,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<SessionResponse>> {
    blocking(&state, move |s| s.answer_login(&id, &req.code))
        .await
        .map(Json)
}

/// The client's address, or a refusal: an app link is only ever answered
/// from the address its browser used.
fn client_ip(client: Option<Extension<ClientAddress>>) -> Result<std::net::IpAddr> {
    client
        .map(|Extension(ClientAddress(ip))| ip)
        .ok_or_else(|| ErrorCode::AppLinkOtherComputer.into())
}

/// The desktop app opens a login link of the OpenID Connect provider's
/// code page (`kodekort://login/{link}`): the service that asks, and the
/// key to find. A link opens once, and only from the network address of
/// the browser that started the login.
#[utoipa::path(post, path = "/app-logins/{link}", tag = "citizen",
    params(("link" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = AppLoginPrompt), (status = "4XX", body = ErrorResponse)))]
async fn app_login_open(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddress>>,
    Id(link): Id,
) -> Result<Json<AppLoginPrompt>> {
    let ip = client_ip(client)?;
    blocking(&state, move |s| s.oidc_app_open(&link, ip))
        .await
        .map(Json)
}

/// The code for an opened login link. The browser that started the login
/// then goes on to the service by itself.
#[utoipa::path(post, path = "/app-logins/{link}/code", tag = "citizen", request_body = CodeRequest,
    params(("link" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = AppLoginDone), (status = "4XX", body = ErrorResponse)))]
async fn app_login_code(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddress>>,
    Id(link): Id,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<AppLoginDone>> {
    let ip = client_ip(client)?;
    blocking(&state, move |s| s.oidc_app_code(&link, ip, &req.code))
        .await
        .map(Json)
}

/// Ends the session.
#[utoipa::path(post, path = "/logout", tag = "citizen", security(("session" = [])),
    responses((status = 204), (status = "4XX", body = ErrorResponse)))]
async fn logout(State(state): State<AppState>, citizen: Citizen) -> Result<StatusCode> {
    blocking(&state, move |s| s.logout(&citizen)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The citizen and their card.
#[utoipa::path(get, path = "/me", tag = "citizen", security(("session" = [])),
    responses((status = 200, body = MeResponse), (status = "4XX", body = ErrorResponse)))]
async fn me(State(state): State<AppState>, citizen: Citizen) -> Result<Json<MeResponse>> {
    blocking(&state, move |s| s.me(&citizen)).await.map(Json)
}

/// Card status: codes left, replacement, lock.
#[utoipa::path(get, path = "/card", tag = "citizen", security(("session" = [])),
    responses((status = 200, body = CardStatus), (status = "4XX", body = ErrorResponse)))]
async fn card(State(state): State<AppState>, citizen: Citizen) -> Result<Json<CardStatus>> {
    blocking(&state, move |s| s.card_status(&citizen))
        .await
        .map(Json)
}

/// The citizen's documents, newest first.
#[utoipa::path(get, path = "/documents", tag = "citizen", security(("session" = [])),
    responses((status = 200, body = Vec<DocumentSummary>), (status = "4XX", body = ErrorResponse)))]
async fn documents(
    State(state): State<AppState>,
    citizen: Citizen,
) -> Result<Json<Vec<DocumentSummary>>> {
    blocking(&state, move |s| s.documents(&citizen))
        .await
        .map(Json)
}

/// One document with its full content.
#[utoipa::path(get, path = "/documents/{id}", tag = "citizen", security(("session" = [])),
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = Document), (status = "4XX", body = ErrorResponse)))]
async fn document(
    State(state): State<AppState>,
    citizen: Citizen,
    Id(id): Id,
) -> Result<Json<Document>> {
    blocking(&state, move |s| s.document(&citizen, &id))
        .await
        .map(Json)
}

/// Start signing: the SHA-256 of the content as displayed → a card challenge.
#[utoipa::path(post, path = "/documents/{id}/sign", tag = "citizen", security(("session" = [])),
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)), request_body = SignRequest,
    responses((status = 200, body = SignChallenge), (status = "4XX", body = ErrorResponse)))]
async fn sign(
    State(state): State<AppState>,
    citizen: Citizen,
    Id(id): Id,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Json<SignChallenge>> {
    blocking(&state, move |s| s.begin_sign(&citizen, &id, &req.sha256))
        .await
        .map(Json)
}

/// The code for a signature challenge → the signature envelope.
#[utoipa::path(post, path = "/signatures/{sign_id}/code", tag = "citizen", security(("session" = [])),
    params(("sign_id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)), request_body = CodeRequest,
    responses((status = 200, body = EnvelopeResponse), (status = "4XX", body = ErrorResponse)))]
async fn sign_code(
    State(state): State<AppState>,
    citizen: Citizen,
    Id(id): Id,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<EnvelopeResponse>> {
    blocking(&state, move |s| s.answer_sign(&citizen, &id, &req.code))
        .await
        .map(|envelope| Json(EnvelopeResponse { envelope }))
}

/// Decline a pending document.
#[utoipa::path(post, path = "/documents/{id}/decline", tag = "citizen", security(("session" = [])),
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = StatusResponse), (status = "4XX", body = ErrorResponse)))]
async fn decline(
    State(state): State<AppState>,
    citizen: Citizen,
    Id(id): Id,
) -> Result<Json<StatusResponse>> {
    blocking(&state, move |s| s.decline(&citizen, &id))
        .await
        .map(|status| Json(StatusResponse { status }))
}

/// The stored signature of a signed document.
#[utoipa::path(get, path = "/documents/{id}/signature", tag = "citizen", security(("session" = [])),
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = EnvelopeResponse), (status = "4XX", body = ErrorResponse)))]
async fn signature(
    State(state): State<AppState>,
    citizen: Citizen,
    Id(id): Id,
) -> Result<Json<EnvelopeResponse>> {
    blocking(&state, move |s| s.signature(&citizen, &id))
        .await
        .map(|envelope| Json(EnvelopeResponse { envelope }))
}

/// The root key that certifies citizens' keys.
#[utoipa::path(get, path = "/trust", tag = "citizen",
    responses((status = 200, body = TrustRoot)))]
async fn trust(State(state): State<AppState>) -> Json<TrustRoot> {
    Json(state.service.trust().clone())
}

/// Submit a document for a citizen.
#[utoipa::path(post, path = "/provider/documents", tag = "provider", security(("provider_key" = [])),
    request_body = SubmitDocument,
    responses((status = 200, body = SubmittedDocument), (status = "4XX", body = ErrorResponse)))]
async fn provider_submit(
    State(state): State<AppState>,
    provider: Provider,
    ApiJson(req): ApiJson<SubmitDocument>,
) -> Result<Json<SubmittedDocument>> {
    blocking(&state, move |s| s.submit_document(&provider, &req))
        .await
        .map(Json)
}

/// Status of a submitted document, with the envelope once signed.
#[utoipa::path(get, path = "/provider/documents/{id}", tag = "provider", security(("provider_key" = [])),
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)),
    responses((status = 200, body = ProviderDocumentStatus), (status = "4XX", body = ErrorResponse)))]
async fn provider_document(
    State(state): State<AppState>,
    provider: Provider,
    Id(id): Id,
) -> Result<Json<ProviderDocumentStatus>> {
    blocking(&state, move |s| s.provider_document(&provider, &id))
        .await
        .map(Json)
}

// ---- serving ---------------------------------------------------------------

/// A running HTTPS server.
pub struct Running {
    pub addr: SocketAddr,
    handle: listener::Handle,
    health: Health,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to 10 s), and waits.
    pub async fn shutdown(self) -> Result<()> {
        self.handle.graceful_shutdown(Duration::from_secs(10));
        self.wait().await
    }

    /// Waits until the server stops.
    pub async fn wait(self) -> Result<()> {
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::io(std::path::Path::new("listener"), e)),
            Err(e) => Err(Error::Task(e.to_string())),
        }
    }

    /// A handle to stop the server from elsewhere (a signal handler).
    pub fn handle(&self) -> listener::Handle {
        self.handle.clone()
    }

    /// What `/health/ready` reports; draining it turns the check to 503.
    pub fn health(&self) -> Health {
        self.health.clone()
    }
}

/// Binds `listen` and serves HTTPS only, with the default [`Limits`].
pub async fn start(
    listen: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
) -> Result<Running> {
    start_with(listen, tls, service, Limits::default()).await
}

/// Binds `listen` and serves HTTPS only, with the issuer
/// `https://localhost:PORT`.
pub async fn start_with(
    listen: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    limits: Limits,
) -> Result<Running> {
    start_public(listen, tls, service, limits, None).await
}

/// Binds `listen` and serves HTTPS only. There is no plain-HTTP listener:
/// a plain request on the port fails the TLS handshake. `public_url` is the
/// OpenID Connect issuer; by default `https://localhost:PORT`.
pub async fn start_public(
    listen: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    limits: Limits,
    public_url: Option<Issuer>,
) -> Result<Running> {
    let listen_err = |e| Error::io(std::path::Path::new(&listen.to_string()), e);
    let listener = listener::Listener::bind(listen, limits).map_err(listen_err)?;
    let addr = listener.local_addr().map_err(listen_err)?;
    let handle = listener.handle();
    let issuer = public_url.unwrap_or_else(|| {
        Issuer::parse(&format!("https://localhost:{}", addr.port())).expect("a valid issuer")
    });
    let health = Health::default();
    let app = router_with_health(service, issuer, health.clone());
    let task = tokio::spawn(listener.serve(tls, app));
    Ok(Running {
        addr,
        handle,
        health,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_login_links_stay_out_of_the_log() {
        let link = "a".repeat(43);
        assert_eq!(
            loggable_path(&format!("/api/v1/app-logins/{link}")),
            "/api/v1/app-logins/***"
        );
        assert_eq!(
            loggable_path(&format!("/api/v1/app-logins/{link}/code")),
            "/api/v1/app-logins/***/code"
        );
        assert_eq!(loggable_path("/api/v1/login"), "/api/v1/login");
    }
}

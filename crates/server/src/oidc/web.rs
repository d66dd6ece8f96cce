//! The provider's HTTP side: discovery, JWKS, the authorization endpoint,
//! the login pages' forms, token and userinfo. Each handler is one service
//! call in `spawn_blocking`; this module owns only HTTP: cookies, CSRF
//! checks, client authentication headers, and the headers every page
//! carries (a strict CSP, no framing, no caching).

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cookie::{Cookie, SameSite};
use kodekort_proto::{Code, Password};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{JwksDoc, OidcDoc, UserinfoDoc};
use super::pages::{self, Lang};
use super::{Discovery, Issuer, OAuthError, TokenResponse};
use crate::api::blocking_on;
use crate::error::{Error, Result};
use crate::listener::ClientAddress;
use crate::service::oidc::{
    Authorize, AuthorizeParams, ClientAuth, Next, PageError, Step, TokenRequest,
};
use crate::service::oidc_logout::{Logout, LogoutParams};
use crate::service::{valid_id, Service, SESSION_LIFETIME};

pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const AUTHORIZE_PATH: &str = "/oidc/authorize";
pub const TOKEN_PATH: &str = "/oidc/token";
pub const USERINFO_PATH: &str = "/oidc/userinfo";
pub const JWKS_PATH: &str = "/oidc/jwks";
pub const FLOW_PATH: &str = "/oidc/login";
pub const LOGOUT_PATH: &str = "/oidc/logout";
pub const STYLESHEET_PATH: &str = "/oidc/static/kodekort.css";
pub const OPENAPI_PATH: &str = "/oidc/openapi.json";
pub const APP_WAIT_SCRIPT_PATH: &str = "/oidc/static/app-wait.js";

/// Binds a login to the browser it started in. `__Host-`: Secure, host
/// only, path `/`. SameSite=Lax, because the service sends the browser
/// here by a top-level navigation from its own site.
const BROWSER_COOKIE: &str = "__Host-kodekort-browser";
/// The provider's session with this browser (single sign-on).
const SESSION_COOKIE: &str = "__Host-kodekort-session";

const STYLESHEET: &str = include_str!("pages.css");
/// The code page's one script: it loads the page again once the login was
/// finished in the desktop app. The page works without it.
const APP_WAIT_SCRIPT: &str = include_str!("app-wait.js");

/// The one client assertion type (RFC 7523 2.2, `private_key_jwt`).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Clone)]
struct OidcState {
    service: Arc<Service>,
    issuer: Arc<Issuer>,
    password_checks: Arc<tokio::sync::Semaphore>,
}

/// The provider's routes, to be merged at the root of the server.
pub fn router(
    service: Arc<Service>,
    issuer: Issuer,
    password_checks: Arc<tokio::sync::Semaphore>,
) -> Router {
    let state = OidcState {
        service,
        issuer: Arc::new(issuer),
        password_checks,
    };
    let (documented, doc) = documented();
    let doc = Arc::new(
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises"),
    );
    documented
        .route(
            OPENAPI_PATH,
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.as_str().to_owned(),
                    )
                }
            }),
        )
        .route(AUTHORIZE_PATH, get(authorize_get).post(authorize_post))
        .route(&format!("{FLOW_PATH}/{{id}}"), get(page))
        .route(&format!("{FLOW_PATH}/{{id}}/password"), post(password_step))
        .route(&format!("{FLOW_PATH}/{{id}}/code"), post(code_step))
        .route(&format!("{FLOW_PATH}/{{id}}/consent"), post(consent_step))
        .route(&format!("{FLOW_PATH}/{{id}}/cancel"), post(cancel_step))
        .route(&format!("{FLOW_PATH}/{{id}}/app-status"), get(app_status))
        .route(LOGOUT_PATH, get(logout_get).post(logout_post))
        .route(
            STYLESHEET_PATH,
            get(|| async { static_file("text/css; charset=utf-8", STYLESHEET) }),
        )
        .route(
            APP_WAIT_SCRIPT_PATH,
            get(|| async { static_file("text/javascript; charset=utf-8", APP_WAIT_SCRIPT) }),
        )
        .with_state(state)
}

/// The JSON endpoints and their OpenAPI document, built from the handlers.
fn documented() -> (Router<OidcState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(OidcDoc::openapi())
        .routes(routes!(discovery))
        .routes(routes!(jwks))
        .routes(routes!(token))
        .routes(routes!(userinfo))
        .split_for_parts()
}

// ---- cookies and headers ----------------------------------------------------

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|c| c.ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| (1..=128).contains(&v.len()))
}

fn set_cookie(name: &'static str, value: String, max_age: Option<time::Duration>) -> HeaderValue {
    // An empty value with Max-Age=0 removes the cookie.
    let mut cookie = Cookie::build((name, value))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax);
    if let Some(age) = max_age {
        cookie = cookie.max_age(age);
    }
    HeaderValue::from_str(&cookie.build().to_string()).expect("cookie values are base64url")
}

/// The browser's binding cookie, made if it has none yet.
fn browser_of(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie_value(headers, BROWSER_COOKIE) {
        Some(value) => (value, None),
        None => {
            let mut raw = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
            let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
            let header = set_cookie(BROWSER_COOKIE, value.clone(), None);
            (value, Some(header))
        }
    }
}

/// The headers of every page: nothing from elsewhere, no inline anything,
/// no framing, forms only to this provider and to the client it sends the
/// browser back to (Chromium checks `form-action` on that redirect too).
/// Only a code page with an app link runs a script: this provider's own.
fn html(
    markup: maud::Markup,
    status: StatusCode,
    form_target: Option<&str>,
    runs_script: bool,
) -> Response {
    let form_action = match form_target {
        Some(origin) if !origin.is_empty() => format!("'self' {origin}"),
        _ => "'self'".to_owned(),
    };
    let script = if runs_script {
        "script-src 'self'; connect-src 'self'; "
    } else {
        ""
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; {script}form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("origins are ASCII"),
    );
    no_store(headers);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn error_page(error: PageError, lang: Lang) -> Response {
    let status = match error {
        PageError::RequestGone => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    html(pages::error_page(error, lang), status, None, false)
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
        }
        Err(_) => return Error::Corrupt("a redirect that is not a header value").into_response(),
    }
    no_store(headers);
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn with_cookies(
    mut response: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn next_response(next: Next) -> Response {
    match next {
        Next::Show(view) => {
            let origin = view.client_origin.clone();
            let runs_script = view.app_link.is_some();
            html(
                pages::flow_page(&view),
                StatusCode::OK,
                Some(&origin),
                runs_script,
            )
        }
        Next::Redirect(location) => redirect(&location),
        Next::ErrorPage(error, lang) => error_page(error, lang),
    }
}

fn oauth_error(error: OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(&error)).into_response();
    no_store(response.headers_mut());
    if error.status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"kodekort\""),
        );
    }
    response
}

// ---- handlers -----------------------------------------------------------------

/// The discovery document.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc",
    responses((status = 200, body = Discovery)))]
async fn discovery(State(state): State<OidcState>) -> Response {
    Json(Discovery::new(&state.issuer)).into_response()
}

/// The keys that sign ID tokens: the current one of each algorithm, and
/// retired ones while tokens they signed may be valid.
#[utoipa::path(get, path = "/oidc/jwks", tag = "oidc",
    responses((status = 200, body = JwksDoc)))]
async fn jwks(State(state): State<OidcState>) -> Result<Response> {
    let set = blocking_on(&state.service, |s| s.oidc_jwks()).await?;
    Ok(Json(set).into_response())
}

/// For the code page's script: `{"waiting": true}` while the login waits
/// for a code; `false` once the app (or another tab) moved it on.
async fn app_status(
    State(state): State<OidcState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let (Some(id), Some(browser)) = (request_id(id), cookie_value(&headers, BROWSER_COOKIE)) else {
        return Err(kodekort_proto::ErrorCode::NotFound.into());
    };
    let waiting = blocking_on(&state.service, move |s| s.oidc_app_waiting(&id, &browser)).await?;
    let Some(waiting) = waiting else {
        return Err(kodekort_proto::ErrorCode::NotFound.into());
    };
    let mut response = Json(serde_json::json!({ "waiting": waiting })).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// A file of the pages (their stylesheet, the code page's script).
fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn authorize_get(
    State(state): State<OidcState>,
    headers: HeaderMap,
    query: Result<Query<AuthorizeParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let params = query.map(|Query(p)| p).unwrap_or_default();
    authorize(state, headers, params).await
}

async fn authorize_post(
    State(state): State<OidcState>,
    headers: HeaderMap,
    form: Result<Form<AuthorizeParams>, FormRejection>,
) -> Result<Response> {
    let params = form.map(|Form(p)| p).unwrap_or_default();
    authorize(state, headers, params).await
}

async fn authorize(
    state: OidcState,
    headers: HeaderMap,
    params: AuthorizeParams,
) -> Result<Response> {
    let (browser, new_browser_cookie) = browser_of(&headers);
    let session = cookie_value(&headers, SESSION_COOKIE);
    let issuer = state.issuer.clone();
    let outcome = blocking_on(&state.service, move |s| {
        s.oidc_authorize(&issuer, &params, &browser, session.as_deref())
    })
    .await?;
    let response = match outcome {
        Authorize::ErrorPage(error, lang) => error_page(error, lang),
        Authorize::Redirect(location) => redirect(&location),
        Authorize::Pages(id) => redirect(&format!("{FLOW_PATH}/{id}")),
    };
    Ok(with_cookies(response, new_browser_cookie))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    lang: Option<String>,
}

/// The request id from the path, if it can be one.
fn request_id(id: String) -> Option<String> {
    valid_id(&id).then_some(id)
}

async fn page(
    State(state): State<OidcState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let lang = query
        .ok()
        .and_then(|Query(q)| q.lang)
        .map(|l| Lang::parse(&l));
    let (Some(id), Some(browser)) = (request_id(id), cookie_value(&headers, BROWSER_COOKIE)) else {
        return Ok(error_page(PageError::RequestGone, lang.unwrap_or_default()));
    };
    let issuer = state.issuer.clone();
    let old_session = cookie_value(&headers, SESSION_COOKIE);
    let step = blocking_on(&state.service, move |s| {
        let step = s.oidc_page(&issuer, &id, &browser, lang)?;
        end_replaced_session(s, old_session.as_deref(), &step)?;
        Ok(step)
    })
    .await?;
    Ok(step_response(step))
}

/// Every form of the pages carries `csrf`; the rest depends on the step.
#[derive(Deserialize)]
struct StepForm {
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
    code: Option<String>,
    decision: Option<String>,
}

/// A login page's form post whose CSRF value is the one for its request
/// and this browser. Anything else gets the "request gone" page.
struct StepPost {
    id: String,
    browser: String,
    form: StepForm,
}

impl FromRequest<OidcState> for StepPost {
    type Rejection = Response;

    async fn from_request(req: Request, state: &OidcState) -> Result<Self, Self::Rejection> {
        let gone = || error_page(PageError::RequestGone, Lang::default());
        let (mut parts, body) = req.into_parts();
        let Ok(Path(id)) = Path::<String>::from_request_parts(&mut parts, state).await else {
            return Err(gone());
        };
        let browser = cookie_value(&parts.headers, BROWSER_COOKIE);
        let req = Request::from_parts(parts, body);
        let Ok(Form(form)) = Form::<StepForm>::from_request(req, state).await else {
            return Err(gone());
        };
        let (Some(id), Some(browser), Some(sent)) = (request_id(id), browser, form.csrf.as_deref())
        else {
            return Err(gone());
        };
        if !state.service.oidc_csrf_ok(&id, &browser, sent) {
            return Err(gone());
        }
        Ok(StepPost { id, browser, form })
    }
}

async fn password_step(
    State(state): State<OidcState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddress>>,
    StepPost { id, browser, form }: StepPost,
) -> Result<Response> {
    let browser_ip = client.map(|Extension(ClientAddress(ip))| ip);
    let username = form.username.unwrap_or_default();
    let password = Password::new(form.password.unwrap_or_default());
    // Argon2 runs a few at a time, as for the API's login.
    let _permit = state
        .password_checks
        .acquire()
        .await
        .map_err(|_| Error::from(kodekort_proto::ErrorCode::ServiceUnavailable))?;
    let issuer = state.issuer.clone();
    let old_session = cookie_value(&headers, SESSION_COOKIE);
    let step = blocking_on(&state.service, move |s| {
        let step = s.oidc_password(&issuer, &id, &browser, browser_ip, &username, password)?;
        end_replaced_session(s, old_session.as_deref(), &step)?;
        Ok(step)
    })
    .await?;
    Ok(step_response(step))
}

async fn code_step(
    State(state): State<OidcState>,
    headers: HeaderMap,
    StepPost { id, browser, form }: StepPost,
) -> Result<Response> {
    let code = Code::new(form.code.unwrap_or_default());
    let issuer = state.issuer.clone();
    let old_session = cookie_value(&headers, SESSION_COOKIE);
    let step = blocking_on(&state.service, move |s| {
        let step = s.oidc_code(&issuer, &id, &browser, &code)?;
        end_replaced_session(s, old_session.as_deref(), &step)?;
        Ok(step)
    })
    .await?;
    Ok(step_response(step))
}

/// A browser that starts a new provider session leaves its old one.
fn end_replaced_session(s: &Service, old: Option<&str>, step: &Step) -> Result<()> {
    match (old, &step.new_session) {
        (Some(old), Some(_)) => s.oidc_end_session(old),
        _ => Ok(()),
    }
}

/// A step's page or redirect, with the new session's cookie if it made one.
fn step_response(Step { next, new_session }: Step) -> Response {
    let cookie = new_session.map(|value| set_cookie(SESSION_COOKIE, value, Some(SESSION_LIFETIME)));
    with_cookies(next_response(next), cookie)
}

async fn consent_step(
    State(state): State<OidcState>,
    StepPost { id, browser, form }: StepPost,
) -> Result<Response> {
    let allow = form.decision.as_deref() == Some("allow");
    let issuer = state.issuer.clone();
    let next = blocking_on(&state.service, move |s| {
        s.oidc_consent(&issuer, &id, &browser, allow)
    })
    .await?;
    Ok(next_response(next))
}

async fn cancel_step(
    State(state): State<OidcState>,
    StepPost { id, browser, .. }: StepPost,
) -> Result<Response> {
    let issuer = state.issuer.clone();
    let next = blocking_on(&state.service, move |s| {
        s.oidc_cancel(&issuer, &id, &browser)
    })
    .await?;
    Ok(next_response(next))
}

/// `client_secret_basic` (RFC 6749 2.3.1): id and secret are form-encoded,
/// then joined by a colon and base64-encoded. `Err` if the header is there
/// but is not that.
fn basic_auth(headers: &HeaderMap) -> std::result::Result<Option<(String, String)>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let (scheme, encoded) = value.split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = B64.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    let unescape = |part: &str| {
        percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| ())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// A code for an ID token and an access token. Confidential clients
/// authenticate with HTTP Basic or a client assertion; public ones send
/// `client_id` and their PKCE verifier.
#[utoipa::path(post, path = "/oidc/token", tag = "oidc",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError),
        (status = 401, body = OAuthError)))]
async fn token(
    State(state): State<OidcState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response> {
    let Ok(Form(req)) = form else {
        return Ok(oauth_error(OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded with each field once",
        )));
    };
    let Ok(basic) = basic_auth(&headers) else {
        return Ok(oauth_error(OAuthError::new(
            "invalid_client",
            "the Authorization header is not HTTP Basic with a client id and secret",
        )));
    };
    let auth = match (basic, &req.client_assertion_type, &req.client_assertion) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Ok(oauth_error(OAuthError::new(
                "invalid_request",
                "use one client authentication method",
            )))
        }
        (Some((id, secret)), None, None) => ClientAuth::Basic { id, secret },
        (None, Some(kind), Some(jwt)) if kind == JWT_BEARER => ClientAuth::Assertion(jwt.clone()),
        (None, None, None) => ClientAuth::None,
        (None, _, _) => {
            return Ok(oauth_error(OAuthError::new(
                "invalid_client",
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer, with client_assertion",
            )))
        }
    };
    let issuer = state.issuer.clone();
    let answer = blocking_on(&state.service, move |s| s.oidc_token(&issuer, &req, auth)).await?;
    Ok(match answer {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(refused) => oauth_error(refused),
    })
}

/// The logout endpoint's form: the request, and the confirmation's CSRF value.
#[derive(Debug, Default, Deserialize)]
struct LogoutForm {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    ui_locales: Option<String>,
    csrf: Option<String>,
}

impl LogoutForm {
    fn split(self) -> (LogoutParams, Option<String>) {
        let params = LogoutParams {
            id_token_hint: self.id_token_hint,
            client_id: self.client_id,
            post_logout_redirect_uri: self.post_logout_redirect_uri,
            state: self.state,
            ui_locales: self.ui_locales,
        };
        (params, self.csrf)
    }
}

async fn logout_get(
    State(state): State<OidcState>,
    headers: HeaderMap,
    query: Result<Query<LogoutForm>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let (params, _) = query.map(|Query(q)| q).unwrap_or_default().split();
    logout(state, headers, params, None).await
}

async fn logout_post(
    State(state): State<OidcState>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response> {
    let (params, csrf) = form.map(|Form(f)| f).unwrap_or_default().split();
    logout(state, headers, params, csrf).await
}

async fn logout(
    state: OidcState,
    headers: HeaderMap,
    params: LogoutParams,
    csrf: Option<String>,
) -> Result<Response> {
    let (browser, new_browser_cookie) = browser_of(&headers);
    let session = cookie_value(&headers, SESSION_COOKIE);
    let issuer = state.issuer.clone();
    let outcome = blocking_on(&state.service, move |s| {
        s.oidc_logout(
            &issuer,
            &params,
            &browser,
            session.as_deref(),
            csrf.as_deref(),
        )
    })
    .await?;
    let ended = || set_cookie(SESSION_COOKIE, String::new(), Some(time::Duration::ZERO));
    let response = match outcome {
        Logout::Redirect(location) => with_cookies(redirect(&location), [ended()]),
        Logout::Done(lang) => with_cookies(
            html(pages::logged_out_page(lang), StatusCode::OK, None, false),
            [ended()],
        ),
        Logout::Confirm {
            lang,
            csrf,
            params,
            back_to_origin,
        } => html(
            pages::logout_confirm_page(lang, &csrf, &params),
            StatusCode::OK,
            back_to_origin.as_deref(),
            false,
        ),
        Logout::ErrorPage(error, lang) => error_page(error, lang),
    };
    Ok(with_cookies(response, new_browser_cookie))
}

/// The claims an access token was issued for.
#[utoipa::path(method(get, post), path = "/oidc/userinfo", tag = "oidc",
    security(("access_token" = [])),
    responses((status = 200, body = UserinfoDoc), (status = 401, body = OAuthError)))]
async fn userinfo(State(state): State<OidcState>, headers: HeaderMap) -> Result<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 256);
    let answer = match token {
        Some(token) => blocking_on(&state.service, move |s| s.oidc_userinfo(&token)).await?,
        None => {
            // No credentials: no error code in the challenge (RFC 6750 3.1).
            let mut response = oauth_error(OAuthError::new("invalid_token", "no bearer token"));
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Ok(response);
        }
    };
    Ok(match answer {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(refused) => {
            let mut response = oauth_error(refused);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_names_the_endpoints_discovery_names() {
        let (_, doc) = documented();
        for path in [DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        assert_eq!(doc.paths.paths.len(), 4);
    }

    #[test]
    fn basic_auth_unescapes_form_encoded_parts() {
        let mut headers = HeaderMap::new();
        let encoded = B64.encode("client_1:s%3Acret+x");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_auth(&headers),
            Ok(Some(("client_1".into(), "s:cret x".into())))
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_auth(&headers), Err(()));
        assert_eq!(basic_auth(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn the_browser_cookie_is_made_once_and_read_back() {
        let (value, set) = browser_of(&HeaderMap::new());
        let set = set
            .expect("a new browser gets the cookie")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(set.starts_with("__Host-kodekort-browser="), "{set}");
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {BROWSER_COOKIE}={value}")).unwrap(),
        );
        let (again, set) = browser_of(&headers);
        assert_eq!(again, value);
        assert!(set.is_none());
    }
}

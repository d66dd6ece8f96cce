//! The OpenID Connect flows: an authorization request checked against its
//! client, the login pages' steps over the same login and challenge rules
//! as the API (so failures count toward the same lock), the provider's
//! browser session for single sign-on, consent, codes bound to their
//! client, redirect URI and PKCE challenge, the token exchange and
//! userinfo.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use kodekort_proto::wire::LoginRequest;
use kodekort_proto::{Code, ErrorCode, Password};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;

use super::{new_id, Service, IDLE_TIMEOUT, SESSION_LIFETIME, TOUCH_INTERVAL};
use crate::error::{ApiError, Error, Result};
use crate::lockout;
use crate::oidc::pages::Lang;
use crate::oidc::signing::Alg;
use crate::oidc::{
    IdTokenClaims, Issuer, OAuthError, TokenResponse, ACCESS_TOKEN_LIFETIME, ACR_SUBSTANTIAL, AMR,
    CODE_LIFETIME, ID_TOKEN_LIFETIME, MAX_PARAM_CHARS, REQUEST_LIFETIME, SCOPES, SSO_MAX_AGE,
};
use crate::store::{
    AccessTokenRow, AuthCodeRow, AuthRequestRow, ChallengeKind, ChallengeState, ClientRow,
    OpSessionRow, Stage, Tx,
};

mod app;

pub use app::{AppLinkView, APP_LINK_PREFIX};

/// An authorization request's parameters, as sent (query or form).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub ui_locales: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// A token request's form fields (RFC 6749 4.1.3). `Debug` hides the code,
/// the verifier, any secret and the assertion.
#[derive(Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// How a client authenticated at the token endpoint. `Debug` hides the
/// secret and the assertion.
#[derive(Clone)]
pub enum ClientAuth {
    /// `client_secret_basic`.
    Basic { id: String, secret: String },
    /// `private_key_jwt`: a JWT signed with one of the client's keys.
    Assertion(String),
    /// A public client: only `client_id` in the body.
    None,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Basic { id, .. } => write!(f, "Basic({id}, ***)"),
            ClientAuth::Assertion(_) => f.write_str("Assertion(***)"),
            ClientAuth::None => f.write_str("None"),
        }
    }
}

/// The claims of a client assertion (RFC 7523 3).
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    exp: i64,
    jti: Option<String>,
}

/// Longest a client assertion may be valid for: a short-lived proof, not a
/// second secret.
const MAX_ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(10);

/// Why a request is shown an error page rather than sent back to the
/// client: nobody is ever redirected to an address the client did not
/// register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// No `client_id`, or none registered by that id.
    UnknownClient,
    /// No `redirect_uri`, or one the client did not register exactly.
    RedirectUriNotRegistered,
    /// The login pages' request ended, expired, or belongs to another browser.
    RequestGone,
    /// A logout named an address its client did not register, or two
    /// different clients.
    LogoutNotAllowed,
}

/// Where an authorization request goes next.
#[derive(Debug, Clone)]
pub enum Authorize {
    ErrorPage(PageError, Lang),
    /// Back to the client, with a code or an OAuth error.
    Redirect(String),
    /// To the login pages of this request.
    Pages(String),
}

/// A card prompt as the code page shows it.
#[derive(Debug, Clone)]
pub struct PromptView {
    pub serial: String,
    pub key: String,
    pub expires_at: OffsetDateTime,
    pub attempts_left: u32,
}

/// What one login page shows.
#[derive(Debug, Clone)]
pub struct FlowView {
    pub request_id: String,
    pub lang: Lang,
    pub client_name: String,
    pub stage: Stage,
    pub prompt: Option<PromptView>,
    /// Whether `profile` (the name) is asked for, for the consent page.
    pub shares_name: bool,
    /// The refusal of the last step, said on the page.
    pub error: Option<ApiError>,
    /// The value every form of this request carries (CSRF).
    pub csrf: String,
    /// The origin the pages may send the browser on to (CSP form-action).
    pub client_origin: String,
    /// The username typed before a refusal, so it need not be typed again.
    pub username: Option<String>,
    /// On the code page: the link that finishes the login in the desktop app.
    pub app_link: Option<AppLinkView>,
}

/// After a step on the login pages.
#[derive(Debug, Clone)]
pub enum Next {
    Show(Box<FlowView>),
    Redirect(String),
    ErrorPage(PageError, Lang),
}

/// A step's outcome, and the provider session cookie to set if a code was
/// just typed right (`Debug` hides it).
#[derive(Clone)]
pub struct Step {
    pub next: Next,
    pub new_session: Option<String>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step")
            .field("next", &self.next)
            .field("new_session", &self.new_session.as_ref().map(|_| "***"))
            .finish()
    }
}

impl From<Next> for Step {
    fn from(next: Next) -> Self {
        Step {
            next,
            new_session: None,
        }
    }
}

/// The parts of a valid authorization request.
struct Valid {
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
}

/// Marks a request whose password step is running (in `login_id`, which
/// otherwise holds a challenge id; ids never contain a colon).
const PENDING_PREFIX: &str = "pending:";

fn random_secret() -> String {
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    B64URL.encode(raw)
}

/// `uri` with `params` added to its query.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(uri).expect("registered redirect URIs parse");
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

/// The origin of a registered URI, for the pages' CSP.
pub(super) fn origin_of(uri: &str) -> String {
    Url::parse(uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Whether `given` is the registered redirect URI: exactly, except that a
/// loopback IP address may come with any port (RFC 8252 7.3: a native app
/// gets whatever port is free).
fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (Url::parse(registered), Url::parse(given)) else {
        return false;
    };
    let loopback_ip = |u: &Url| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    loopback_ip(&r)
        && r.scheme() == "http"
        && g.scheme() == "http"
        && r.host() == g.host()
        && r.path() == g.path()
        && r.query() == g.query()
        && g.fragment().is_none()
        && g.username().is_empty()
        && g.password().is_none()
}

/// A PKCE value: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~` (RFC 7636 4.1).
fn pkce_shaped(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn too_long(value: &Option<String>) -> bool {
    value
        .as_ref()
        .is_some_and(|v| v.chars().count() > MAX_PARAM_CHARS)
}

impl Service {
    fn hash_of(&self, domain: &str, secret: &str) -> [u8; 32] {
        self.keys.keyed_hash(domain, &[secret.as_bytes()])
    }

    fn browser_hash(&self, browser: &str) -> [u8; 32] {
        self.hash_of("kodekort oidc browser v1", browser)
    }

    fn op_session_hash(&self, cookie: &str) -> [u8; 32] {
        self.hash_of("kodekort oidc session v1", cookie)
    }

    /// The value the forms of one request carry, tied to this browser.
    pub fn oidc_csrf(&self, request_id: &str, browser: &str) -> String {
        B64URL.encode(self.keys.keyed_hash(
            "kodekort oidc csrf v1",
            &[request_id.as_bytes(), browser.as_bytes()],
        ))
    }

    /// Whether a form's CSRF value is the one for this request and browser.
    pub fn oidc_csrf_ok(&self, request_id: &str, browser: &str, sent: &str) -> bool {
        self.oidc_csrf(request_id, browser)
            .as_bytes()
            .ct_eq(sent.as_bytes())
            .into()
    }

    /// The citizen's pairwise subject for a sector: stable for the pair,
    /// and unrelated between sectors, so two services cannot match users.
    pub(super) fn pairwise_sub(&self, sector: &str, user_id: &str) -> String {
        B64URL.encode(self.keys.keyed_hash(
            "kodekort oidc pairwise sub v1",
            &[sector.as_bytes(), user_id.as_bytes()],
        ))
    }

    /// The provider session behind a cookie, if it is still valid.
    pub(super) fn live_op_session_of(
        &self,
        tx: &Tx<'_>,
        cookie: Option<&str>,
    ) -> Result<Option<OpSessionRow>> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let now = self.now();
        Ok(tx.op_session(&self.op_session_hash(cookie))?.filter(|s| {
            !s.revoked
                && now - s.last_seen_at <= IDLE_TIMEOUT
                && now - s.created_at <= SESSION_LIFETIME
        }))
    }

    /// Step 0: an authorization request from a client, through the browser.
    pub fn oidc_authorize(
        &self,
        issuer: &Issuer,
        p: &AuthorizeParams,
        browser: &str,
        session_cookie: Option<&str>,
    ) -> Result<Authorize> {
        let lang = Lang::from_ui_locales(p.ui_locales.as_deref());
        let client = match p.client_id.as_deref() {
            Some(id) if id.len() <= MAX_PARAM_CHARS => self.store.read(|tx| tx.client(id))?,
            _ => None,
        };
        let Some(client) = client else {
            return Ok(Authorize::ErrorPage(PageError::UnknownClient, lang));
        };
        let redirect_uri = match &p.redirect_uri {
            Some(uri)
                if client
                    .redirect_uris
                    .iter()
                    .any(|r| redirect_matches(r, uri)) =>
            {
                uri.clone()
            }
            _ => {
                return Ok(Authorize::ErrorPage(
                    PageError::RedirectUriNotRegistered,
                    lang,
                ))
            }
        };
        // From here on, errors go back to the client (RFC 6749 4.1.2.1).
        let back = |error: &'static str, description: &str| {
            Authorize::Redirect(self.error_redirect(
                issuer,
                &redirect_uri,
                p.state.as_deref(),
                error,
                description,
            ))
        };
        let valid = match validate(&client, p) {
            Ok(valid) => valid,
            Err((error, description)) => return Ok(back(error, &description)),
        };

        let now = self.now();
        let browser_hash = self.browser_hash(browser);
        let outcome = self.store.write(|tx| {
            tx.delete_auth_requests_before(now)?;
            tx.purge_oidc(now - time::Duration::days(1), now - SESSION_LIFETIME)?;
            let session = self.live_op_session_of(tx, session_cookie)?;
            let fresh_enough = |s: &OpSessionRow| {
                !valid.prompt_login
                    && now - s.auth_time <= SSO_MAX_AGE
                    && valid
                        .max_age
                        .is_none_or(|max| (now - s.auth_time).whole_seconds() <= max)
            };
            let mut request = AuthRequestRow {
                id: new_id("authz"),
                client_id: client.id.clone(),
                redirect_uri: redirect_uri.clone(),
                scope: valid.scope.clone(),
                state: p.state.clone(),
                nonce: valid.nonce.clone(),
                code_challenge: valid.code_challenge.clone(),
                browser_hash: browser_hash.to_vec(),
                lang: lang.as_str().to_owned(),
                login_id: None,
                user_id: None,
                auth_time: None,
                stage: Stage::Credentials,
                created_at: now,
                expires_at: now + REQUEST_LIFETIME,
                force_consent: valid.prompt_consent,
            };
            // A citizen who must wait, or whose card is locked, gets no
            // single sign-on either: the pages will say why.
            let session = match session.filter(fresh_enough) {
                Some(s) => match tx.user_by_id(&s.user_id)? {
                    Some(user) if self.check_standing(tx, &user.username)?.is_ok() => Some(s),
                    _ => None,
                },
                None => None,
            };
            match session {
                Some(session) => {
                    if let Some(cookie) = session_cookie {
                        if now - session.last_seen_at >= TOUCH_INTERVAL {
                            tx.touch_op_session(&self.op_session_hash(cookie), now)?;
                        }
                    }
                    request.user_id = Some(session.user_id.clone());
                    request.auth_time = Some(session.auth_time);
                    if self.consented(tx, &request)? {
                        request.stage = Stage::Done;
                        return Ok(Authorize::Redirect(self.issue_code(tx, issuer, &request)?));
                    }
                    if valid.prompt_none {
                        return Ok(back(
                            "consent_required",
                            "the citizen has not agreed to share this with the client",
                        ));
                    }
                    request.stage = Stage::Consent;
                }
                None if valid.prompt_none => {
                    return Ok(back(
                        "login_required",
                        "the citizen is not logged in at the provider",
                    ));
                }
                None => {}
            }
            tx.insert_auth_request(&request)?;
            Ok(Authorize::Pages(request.id))
        })?;
        Ok(outcome)
    }

    fn error_redirect(
        &self,
        issuer: &Issuer,
        redirect_uri: &str,
        state: Option<&str>,
        error: &str,
        description: &str,
    ) -> String {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", issuer.as_str()));
        with_query(redirect_uri, &params)
    }

    /// Whether the citizen already agreed to give this client what it asks
    /// (and the client did not ask to be asked again).
    fn consented(&self, tx: &Tx<'_>, request: &AuthRequestRow) -> Result<bool> {
        let Some(user_id) = request.user_id.as_ref().filter(|_| !request.force_consent) else {
            return Ok(false);
        };
        Ok(tx
            .consent(user_id, &request.client_id)?
            .is_some_and(|granted| {
                request
                    .scope
                    .split(' ')
                    .all(|s| granted.split(' ').any(|g| g == s))
            }))
    }

    /// A new code for a finished request, and the redirect that carries it.
    fn issue_code(&self, tx: &Tx<'_>, issuer: &Issuer, request: &AuthRequestRow) -> Result<String> {
        let (Some(user_id), Some(auth_time)) = (&request.user_id, request.auth_time) else {
            return Err(Error::Corrupt("a code for a request without a citizen"));
        };
        let code = random_secret();
        let now = self.now();
        tx.insert_auth_code(&AuthCodeRow {
            code_hash: self.hash_of("kodekort oidc code v1", &code).to_vec(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            user_id: user_id.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time,
            expires_at: now + CODE_LIFETIME,
            used: false,
        })?;
        let mut finished = request.clone();
        finished.stage = Stage::Done;
        if tx.auth_request(&request.id)?.is_some() {
            tx.update_auth_request(&finished)?;
        }
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer.as_str()));
        Ok(with_query(&request.redirect_uri, &params))
    }

    /// The request behind a page, if it is this browser's and still live.
    fn live_request(&self, tx: &Tx<'_>, id: &str, browser: &str) -> Result<Option<AuthRequestRow>> {
        let now = self.now();
        let expected = self.browser_hash(browser);
        Ok(tx.auth_request(id)?.filter(|r| {
            let same_browser: bool = expected.ct_eq(r.browser_hash.as_slice()).into();
            same_browser && now < r.expires_at && r.stage != Stage::Done
        }))
    }

    fn view(
        &self,
        tx: &Tx<'_>,
        request: &AuthRequestRow,
        browser: &str,
        error: Option<ApiError>,
    ) -> Result<Next> {
        let client = tx
            .client(&request.client_id)?
            .ok_or(Error::Corrupt("a request of a removed client"))?;
        let prompt = match (&request.stage, &request.login_id) {
            (Stage::Code, Some(login_id)) => match tx.challenge(login_id)? {
                Some(ch) => {
                    let (failures, _) = tx.failures(&ch.username)?;
                    Some(PromptView {
                        serial: ch.serial,
                        key: ch.key,
                        expires_at: ch.expires_at,
                        attempts_left: lockout::attempts_left(failures),
                    })
                }
                None => None,
            },
            _ => None,
        };
        Ok(Next::Show(Box::new(FlowView {
            request_id: request.id.clone(),
            lang: Lang::parse(&request.lang),
            client_name: client.name,
            stage: request.stage,
            prompt,
            shares_name: request.scope.split(' ').any(|s| s == "profile"),
            error,
            csrf: self.oidc_csrf(&request.id, browser),
            client_origin: origin_of(&request.redirect_uri),
            username: None,
            app_link: self.app_link_view(tx, request)?,
        })))
    }

    /// The page of a request as it stands, in `lang` if the citizen chose
    /// one. If the code was typed in the desktop app, this browser takes
    /// the provider session now.
    pub fn oidc_page(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: &str,
        lang: Option<Lang>,
    ) -> Result<Step> {
        self.store.write(|tx| {
            let Some(mut request) = self.live_request(tx, id, browser)? else {
                return Ok(
                    Next::ErrorPage(PageError::RequestGone, lang.unwrap_or_default()).into(),
                );
            };
            if let Some(lang) = lang {
                request.lang = lang.as_str().to_owned();
                tx.update_auth_request(&request)?;
            }
            if app::finished_in_app(&request) {
                return self.take_from_app(tx, issuer, request, browser);
            }
            Ok(self.view(tx, &request, browser, None)?.into())
        })
    }

    /// Step 1 on the pages: username and password, counted as in the API.
    pub fn oidc_password(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: &str,
        browser_ip: Option<IpAddr>,
        username: &str,
        password: Password,
    ) -> Result<Step> {
        // A stale password page of a login finished in the app: go on with it.
        let taken = self
            .store
            .write(|tx| match self.live_request(tx, id, browser)? {
                Some(request) if app::finished_in_app(&request) => {
                    self.take_from_app(tx, issuer, request, browser).map(Some)
                }
                _ => Ok(None),
            })?;
        if let Some(step) = taken {
            return Ok(step);
        }
        self.password_step(id, browser, browser_ip, username, password)
            .map(Step::from)
    }

    fn password_step(
        &self,
        id: &str,
        browser: &str,
        browser_ip: Option<IpAddr>,
        username: &str,
        password: Password,
    ) -> Result<Next> {
        // Claim the step first: a second submission of the same form (a
        // double click) must not ask a second key, which would close the
        // first prompt and count it as a failure. It waits for the first and
        // shows where that one got to.
        let claim = format!("{PENDING_PREFIX}{}", random_secret());
        let claimed = self.store.write(|tx| {
            Ok(self.live_request(tx, id, browser)?.is_some()
                && tx.claim_auth_request(id, &claim)?)
        })?;
        if !claimed {
            return self.wait_for_claim(id, browser);
        }
        let login = LoginRequest {
            username: username.to_owned(),
            password,
            use_replacement_card: false,
        };
        let outcome = match self.begin_login(&login) {
            Ok(challenge) => Ok(challenge),
            Err(Error::Api(refused)) => Err(refused),
            Err(other) => {
                let _ = self.store.write(|tx| tx.release_auth_request(id, &claim));
                return Err(other);
            }
        };
        self.store.write(|tx| {
            let Some(mut request) = self.live_request(tx, id, browser)? else {
                return Ok(Next::ErrorPage(PageError::RequestGone, Lang::default()));
            };
            if request.login_id.as_deref() != Some(claim.as_str()) {
                return self.view(tx, &request, browser, None);
            }
            match &outcome {
                Ok(challenge) => {
                    request.login_id = Some(challenge.login_id.clone());
                    request.stage = Stage::Code;
                    tx.update_auth_request(&request)?;
                    if let Some(ip) = browser_ip {
                        self.offer_app_link(
                            tx,
                            &request,
                            &challenge.login_id,
                            challenge.expires_at,
                            ip,
                        )?;
                    }
                    self.view(tx, &request, browser, None)
                }
                Err(refused) => {
                    tx.release_auth_request(id, &claim)?;
                    request.login_id = None;
                    let mut next = self.view(tx, &request, browser, Some(refused.clone()))?;
                    if let Next::Show(view) = &mut next {
                        view.username = Some(username.chars().take(64).collect());
                    }
                    Ok(next)
                }
            }
        })
    }

    /// The page after another submission's password step, once it is done
    /// (or after two seconds, as it stands then).
    fn wait_for_claim(&self, id: &str, browser: &str) -> Result<Next> {
        for _ in 0..40 {
            let busy = self.store.read(|tx| {
                Ok(self.live_request(tx, id, browser)?.is_some_and(|r| {
                    r.login_id
                        .as_deref()
                        .is_some_and(|l| l.starts_with(PENDING_PREFIX))
                }))
            })?;
            if !busy {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.store
            .read(|tx| match self.live_request(tx, id, browser)? {
                Some(request) => self.view(tx, &request, browser, None),
                None => Ok(Next::ErrorPage(PageError::RequestGone, Lang::default())),
            })
    }

    /// Step 2 on the pages: the code. A right code starts the provider's
    /// session with this browser, and goes on to consent or to the client.
    pub fn oidc_code(&self, issuer: &Issuer, id: &str, browser: &str, code: &Code) -> Result<Step> {
        let Some(request) = self.store.read(|tx| self.live_request(tx, id, browser))? else {
            return Ok(Next::ErrorPage(PageError::RequestGone, Lang::default()).into());
        };
        let Some(login_id) = request
            .login_id
            .clone()
            .filter(|_| request.stage == Stage::Code)
        else {
            return Ok(self
                .store
                .read(|tx| self.view(tx, &request, browser, None))?
                .into());
        };
        let cookie = random_secret();
        let answered = self.answer_challenge(
            ChallengeKind::Login,
            &login_id,
            None,
            code,
            |tx, ch, now| {
                tx.insert_op_session(&self.op_session_hash(&cookie), &ch.user_id, now)?;
                let mut request = request.clone();
                request.user_id = Some(ch.user_id.clone());
                request.auth_time = Some(now);
                if self.consented(tx, &request)? {
                    return Ok(Next::Redirect(self.issue_code(tx, issuer, &request)?));
                }
                request.stage = Stage::Consent;
                tx.update_auth_request(&request)?;
                self.view(tx, &request, browser, None)
            },
        );
        match answered {
            Ok(next) => Ok(Step {
                next,
                new_session: Some(cookie),
            }),
            Err(Error::Api(refused)) => self.store.write(|tx| {
                let Some(mut request) = self.live_request(tx, id, browser)? else {
                    return Ok(Next::ErrorPage(PageError::RequestGone, Lang::default()).into());
                };
                // The app took this prompt's code (before this form came, or
                // while it was checked; the prompt then answers
                // `challenge_used`): this browser goes on with that login.
                if app::finished_in_app(&request) {
                    return self.take_from_app(tx, issuer, request, browser);
                }
                // A prompt that is gone cannot be answered: back to the
                // password, which asks a new key. Only if the request is
                // still at that prompt: a second submission of the same
                // code must not undo the first, which moved it on.
                let at_this_prompt = request.stage == Stage::Code
                    && request.login_id.as_deref() == Some(login_id.as_str());
                if at_this_prompt
                    && matches!(
                        refused.code,
                        ErrorCode::ChallengeExpired
                            | ErrorCode::ChallengeNotFound
                            | ErrorCode::ChallengeUsed
                    )
                {
                    request.stage = Stage::Credentials;
                    request.login_id = None;
                    request.user_id = None;
                    request.auth_time = None;
                    tx.update_auth_request(&request)?;
                }
                let said = at_this_prompt.then(|| refused.clone());
                Ok(self.view(tx, &request, browser, said)?.into())
            }),
            Err(other) => Err(other),
        }
    }

    /// Step 3 on the pages: the citizen agrees to share, or does not.
    pub fn oidc_consent(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: &str,
        allow: bool,
    ) -> Result<Next> {
        self.store.write(|tx| {
            let Some(request) = self.live_request(tx, id, browser)? else {
                return Ok(Next::ErrorPage(PageError::RequestGone, Lang::default()));
            };
            let Some(user_id) = request
                .user_id
                .clone()
                .filter(|_| request.stage == Stage::Consent)
            else {
                return self.view(tx, &request, browser, None);
            };
            if !allow {
                return self.cancel_in(tx, issuer, request);
            }
            tx.grant_consent(&user_id, &request.client_id, &request.scope, self.now())?;
            Ok(Next::Redirect(self.issue_code(tx, issuer, &request)?))
        })
    }

    /// The citizen leaves the pages: back to the client with
    /// `access_denied`. A card prompt left open counts as one failure, as
    /// the code page says.
    pub fn oidc_cancel(&self, issuer: &Issuer, id: &str, browser: &str) -> Result<Next> {
        self.store.write(|tx| {
            let Some(request) = self.live_request(tx, id, browser)? else {
                return Ok(Next::ErrorPage(PageError::RequestGone, Lang::default()));
            };
            self.cancel_in(tx, issuer, request)
        })
    }

    fn cancel_in(&self, tx: &Tx<'_>, issuer: &Issuer, mut request: AuthRequestRow) -> Result<Next> {
        if let Some(login_id) = request
            .login_id
            .as_deref()
            .filter(|_| request.stage == Stage::Code)
        {
            if let Some(ch) = tx.challenge(login_id)? {
                if ch.state == ChallengeState::Open {
                    self.abandon_challenge(tx, &ch)?;
                }
            }
        }
        request.stage = Stage::Done;
        tx.update_auth_request(&request)?;
        Ok(Next::Redirect(self.error_redirect(
            issuer,
            &request.redirect_uri,
            request.state.as_deref(),
            "access_denied",
            "the citizen did not log in",
        )))
    }

    /// The token endpoint: a code for an ID token and an access token.
    pub fn oidc_token(
        &self,
        issuer: &Issuer,
        req: &TokenRequest,
        auth: ClientAuth,
    ) -> Result<std::result::Result<TokenResponse, OAuthError>> {
        let refuse =
            |error: &'static str, description: &str| Ok(Err(OAuthError::new(error, description)));
        if req.client_secret.is_some() {
            return refuse(
                "invalid_client",
                "send the client secret with HTTP Basic (client_secret_basic)",
            );
        }
        let asserted = match &auth {
            ClientAuth::Assertion(jwt) => {
                match jsonwebtoken::dangerous::insecure_decode_claims::<AssertionClaims>(jwt) {
                    Ok(claims) => Some(claims.iss),
                    Err(_) => return refuse("invalid_client", "client_assertion is not a JWT"),
                }
            }
            _ => None,
        };
        let named = match (&auth, &asserted) {
            (ClientAuth::Basic { id, .. }, _) => Some(id.clone()),
            (_, Some(iss)) => Some(iss.clone()),
            _ => None,
        };
        let client_id = match (named, req.client_id.clone()) {
            (Some(id), Some(body)) if id != body => {
                return refuse(
                    "invalid_request",
                    "client_id differs from the authenticated client",
                )
            }
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => return refuse("invalid_client", "no client authentication"),
        };
        if client_id.len() > MAX_PARAM_CHARS {
            return refuse("invalid_client", "unknown client");
        }
        let Some(client) = self.store.read(|tx| tx.client(&client_id))? else {
            return refuse("invalid_client", "unknown client");
        };
        let authenticated = match (&auth, &client.secret_hash, &client.jwks) {
            (ClientAuth::Basic { secret, .. }, Some(_), _) => {
                self.client_secret_matches(&client, secret)
            }
            (ClientAuth::Assertion(jwt), None, Some(jwks)) => {
                self.client_assertion_ok(issuer, &client.id, jwks, jwt)?
            }
            (ClientAuth::None, None, None) => true,
            _ => false,
        };
        if !authenticated {
            return refuse("invalid_client", "client authentication failed");
        }
        if req.grant_type.as_deref() != Some("authorization_code") {
            return refuse(
                "unsupported_grant_type",
                "only authorization_code is supported",
            );
        }
        let Some(code) = req.code.as_deref().filter(|c| c.len() <= MAX_PARAM_CHARS) else {
            return refuse("invalid_request", "code is missing");
        };
        let code_hash = self.hash_of("kodekort oidc code v1", code);
        let now = self.now();
        let outcome = self.store.write(|tx| {
            let Some(row) = tx.auth_code(&code_hash)? else {
                return Ok(Err(OAuthError::new("invalid_grant", "unknown code")));
            };
            if row.client_id != client.id {
                return Ok(Err(OAuthError::new(
                    "invalid_grant",
                    "the code was issued to another client",
                )));
            }
            if row.used {
                // A second use: whoever holds the first answer may be an
                // attacker, so it ends too (RFC 6749 4.1.2).
                tx.revoke_tokens_of_code(&code_hash, now)?;
                return Ok(Err(OAuthError::new(
                    "invalid_grant",
                    "the code was already used",
                )));
            }
            if now >= row.expires_at {
                return Ok(Err(OAuthError::new(
                    "invalid_grant",
                    "the code has expired",
                )));
            }
            if req.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
                return Ok(Err(OAuthError::new(
                    "invalid_grant",
                    "redirect_uri differs from the authorization request",
                )));
            }
            match (&row.code_challenge, req.code_verifier.as_deref()) {
                (Some(challenge), Some(verifier)) if pkce_shaped(verifier) => {
                    let computed = B64URL.encode(Sha256::digest(verifier.as_bytes()));
                    let same: bool = computed.as_bytes().ct_eq(challenge.as_bytes()).into();
                    if !same {
                        return Ok(Err(OAuthError::new(
                            "invalid_grant",
                            "code_verifier does not match the code challenge",
                        )));
                    }
                }
                (Some(_), _) => {
                    return Ok(Err(OAuthError::new(
                        "invalid_grant",
                        "code_verifier is missing or malformed",
                    )))
                }
                (None, Some(_)) => {
                    return Ok(Err(OAuthError::new(
                        "invalid_grant",
                        "the authorization request had no code challenge",
                    )))
                }
                (None, None) => {}
            }
            if !tx.use_auth_code(&code_hash, now)? {
                tx.revoke_tokens_of_code(&code_hash, now)?;
                return Ok(Err(OAuthError::new(
                    "invalid_grant",
                    "the code was already used",
                )));
            }
            let access_token = random_secret();
            tx.insert_access_token(
                &self.hash_of("kodekort oidc access token v1", &access_token),
                &code_hash,
                &AccessTokenRow {
                    client_id: client.id.clone(),
                    user_id: row.user_id.clone(),
                    scope: row.scope.clone(),
                    expires_at: now + ACCESS_TOKEN_LIFETIME,
                    revoked: false,
                },
            )?;
            let user = tx
                .user_by_id(&row.user_id)?
                .ok_or(Error::Corrupt("a code of a missing user"))?;
            Ok(Ok((row, access_token, user.name)))
        })?;
        let (row, access_token, name) = match outcome {
            Ok(issued) => issued,
            Err(refused) => return Ok(Err(refused)),
        };
        let alg =
            Alg::parse(&client.id_token_alg).ok_or(Error::Corrupt("a client's id_token_alg"))?;
        let key = self.current_oidc_key(alg)?;
        let profile = row.scope.split(' ').any(|s| s == "profile");
        let claims = IdTokenClaims {
            iss: issuer.as_str().to_owned(),
            sub: self.pairwise_sub(&client.sector, &row.user_id),
            aud: client.id.clone(),
            azp: client.id.clone(),
            exp: (now + ID_TOKEN_LIFETIME).unix_timestamp(),
            iat: now.unix_timestamp(),
            auth_time: row.auth_time.unix_timestamp(),
            nonce: row.nonce.clone(),
            acr: ACR_SUBSTANTIAL,
            amr: AMR,
            at_hash: B64URL.encode(alg.half_hash(&access_token)),
            name: profile.then_some(name),
        };
        Ok(Ok(TokenResponse {
            id_token: key.sign(&claims)?,
            access_token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_LIFETIME.whole_seconds(),
            scope: row.scope,
        }))
    }

    /// Whether `jwt` is a valid `private_key_jwt` assertion of the client
    /// (RFC 7523 3): signed by one of its keys, `iss` and `sub` the client,
    /// `aud` this token endpoint or the issuer, not expired and valid at most
    /// ten minutes, and its `jti` never seen before.
    fn client_assertion_ok(
        &self,
        issuer: &Issuer,
        client_id: &str,
        jwks: &str,
        jwt: &str,
    ) -> Result<bool> {
        let Ok(set) = serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(jwks) else {
            return Err(Error::Corrupt("a client's stored JWKS"));
        };
        let Ok(header) = jsonwebtoken::decode_header(jwt) else {
            return Ok(false);
        };
        if Alg::from_jose(header.alg).is_none() {
            return Ok(false);
        }
        let key = match (&header.kid, set.keys.as_slice()) {
            (Some(kid), _) => set.find(kid),
            (None, [only]) => Some(only),
            (None, _) => None,
        };
        // A key that names its algorithm is used with that one only (RFC 8725 3.1).
        let key = key.filter(|k| {
            k.common.key_algorithm.is_none_or(|a| {
                a.to_string().parse::<jsonwebtoken::Algorithm>().ok() == Some(header.alg)
            })
        });
        let Some(decoding) = key.and_then(|k| jsonwebtoken::DecodingKey::from_jwk(k).ok()) else {
            return Ok(false);
        };
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        // `exp` is checked against the service's clock below.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
        validation.set_issuer(&[client_id]);
        validation.sub = Some(client_id.to_owned());
        validation.set_audience(&[
            issuer.url(crate::oidc::web::TOKEN_PATH),
            issuer.as_str().to_owned(),
        ]);
        let Ok(data) = jsonwebtoken::decode::<AssertionClaims>(jwt, &decoding, &validation) else {
            return Ok(false);
        };
        let now = self.now();
        let Ok(expires) = OffsetDateTime::from_unix_timestamp(data.claims.exp) else {
            return Ok(false);
        };
        let Some(jti) = data
            .claims
            .jti
            .filter(|j| !j.is_empty() && j.len() <= MAX_PARAM_CHARS)
        else {
            return Ok(false);
        };
        if expires <= now || expires > now + MAX_ASSERTION_LIFETIME {
            return Ok(false);
        }
        let jti_hash = self.keys.keyed_hash(
            "kodekort oidc assertion v1",
            &[client_id.as_bytes(), jti.as_bytes()],
        );
        self.store
            .write(|tx| tx.record_assertion(&jti_hash, expires, now))
    }

    /// Ends the provider's session behind a cookie (a new login in this
    /// browser replaces it; logout ends it).
    pub fn oidc_end_session(&self, cookie: &str) -> Result<()> {
        let now = self.now();
        self.store
            .write(|tx| tx.revoke_op_session(&self.op_session_hash(cookie), now))
    }

    /// Userinfo: the claims an access token was issued for.
    pub fn oidc_userinfo(
        &self,
        access_token: &str,
    ) -> Result<std::result::Result<serde_json::Value, OAuthError>> {
        let hash = self.hash_of("kodekort oidc access token v1", access_token);
        let now = self.now();
        let found = self.store.read(|tx| {
            let Some(token) = tx.access_token(&hash)? else {
                return Ok(None);
            };
            let client = tx.client(&token.client_id)?;
            let user = tx.user_by_id(&token.user_id)?;
            Ok(client.zip(user).map(|(c, u)| (token, c, u)))
        })?;
        let Some((token, client, user)) =
            found.filter(|(t, _, _)| !t.revoked && now < t.expires_at)
        else {
            return Ok(Err(OAuthError::new(
                "invalid_token",
                "the access token is not valid",
            )));
        };
        let mut claims = serde_json::json!({ "sub": self.pairwise_sub(&client.sector, &user.id) });
        if token.scope.split(' ').any(|s| s == "profile") {
            claims["name"] = serde_json::Value::String(user.name);
        }
        Ok(Ok(claims))
    }
}

/// Checks an authorization request whose client and redirect URI are known
/// good; an error here goes back to the client.
fn validate(
    client: &ClientRow,
    p: &AuthorizeParams,
) -> std::result::Result<Valid, (&'static str, String)> {
    let invalid = |what: &str| Err(("invalid_request", what.to_owned()));
    if p.request.is_some() {
        return Err((
            "request_not_supported",
            "request objects are not supported".into(),
        ));
    }
    if p.request_uri.is_some() {
        return Err((
            "request_uri_not_supported",
            "request_uri is not supported".into(),
        ));
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return invalid("only response_mode=query is supported");
    }
    if p.response_type.as_deref() != Some("code") {
        return Err((
            "unsupported_response_type",
            "only response_type=code is supported".into(),
        ));
    }
    let asked: Vec<&str> = p.scope.as_deref().unwrap_or("").split(' ').collect();
    if !asked.contains(&"openid") {
        return Err(("invalid_scope", "scope must include openid".into()));
    }
    let scope = SCOPES
        .iter()
        .filter(|s| asked.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if too_long(&p.state) || too_long(&p.nonce) {
        return invalid("state or nonce is too long");
    }
    // RFC 6749 A.5: state is visible ASCII and space; nonce is held to the
    // same. A control character (NUL above all) could not be stored alike
    // by both databases, and no client sends one.
    let visible = |v: &Option<String>| {
        v.as_deref()
            .is_none_or(|v| v.bytes().all(|b| (0x20..=0x7e).contains(&b)))
    };
    if !visible(&p.state) || !visible(&p.nonce) {
        return invalid("state and nonce must be visible ASCII characters");
    }
    let code_challenge = match (
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) if c.len() == 43 && pkce_shaped(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => return invalid("code_challenge is not a base64url SHA-256"),
        (Some(_), _) => return invalid("code_challenge_method must be S256"),
        (None, Some(_)) => return invalid("code_challenge_method without code_challenge"),
        (None, None) if client.secret_hash.is_none() && client.jwks.is_none() => {
            return invalid("a public client must use PKCE with S256")
        }
        // RFC 9700 2.1.1: without PKCE, the nonce is what stops code injection.
        (None, None) if p.nonce.is_none() => return invalid("use PKCE with S256, or a nonce"),
        (None, None) => None,
    };
    let prompts: Vec<&str> = p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if prompts
        .iter()
        .any(|s| !["none", "login", "consent", "select_account"].contains(s))
    {
        return invalid("unknown prompt value");
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return invalid("prompt=none cannot be combined with other values");
    }
    let max_age = match p.max_age.as_deref() {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(secs) if (0..=i64::from(u32::MAX)).contains(&secs) => Some(secs),
            _ => return invalid("max_age must be a number of seconds"),
        },
    };
    Ok(Valid {
        scope,
        nonce: p.nonce.clone(),
        code_challenge,
        prompt_none,
        prompt_login: prompts.contains(&"login") || max_age == Some(0),
        prompt_consent: prompts.contains(&"consent"),
        max_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_values_have_the_rfc_7636_shape() {
        assert!(pkce_shaped(&"a".repeat(43)));
        assert!(pkce_shaped(&"Az09-._~".repeat(16)));
        assert!(!pkce_shaped(&"a".repeat(42)));
        assert!(!pkce_shaped(&"a".repeat(129)));
        assert!(!pkce_shaped(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            with_query("https://rp.example/cb?tenant=1", &[("code", "a b")]),
            "https://rp.example/cb?tenant=1&code=a+b"
        );
    }
}

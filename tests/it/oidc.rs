//! The OpenID Connect provider, driven by a relying-party library that no
//! one here wrote (the `openidconnect` crate): discovery, the ID token's
//! signature against the JWKS, `iss`, `aud`, `nonce`, `exp` and `at_hash`
//! are all its checks. The login pages are filled in by `Browser`.

use kodekort_server::oidc::signing::Alg;
use kodekort_server::service::NewClient;
use kodekort_tests::oidc_browser::{Browser, Page};
use kodekort_tests::{Harness, TestUser};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use time::Duration;

mod app;

const CALLBACK: &str = "https://skat.example/callback";

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A service that logs citizens in through the provider.
struct Rp {
    metadata: CoreProviderMetadata,
    id: String,
    secret: Option<String>,
    redirect: String,
    alg: CoreJwsSigningAlgorithm,
    http: reqwest::Client,
}

/// An authorization request the RP sent the browser with.
struct Started {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// What the RP learned, every check of the library passed.
#[derive(Debug)]
struct LoggedIn {
    sub: String,
    name: Option<String>,
    acr: Option<String>,
    amr: Vec<String>,
    auth_time: Option<i64>,
    access_token: AccessToken,
    id_token: CoreIdToken,
}

fn issuer(h: &Harness) -> String {
    format!("https://localhost:{}", h.addr.port())
}

fn ca(h: &Harness) -> std::path::PathBuf {
    kodekort_server::tls::ca_pem(h.data_dir())
}

fn jose(alg: Alg) -> CoreJwsSigningAlgorithm {
    match alg {
        Alg::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Alg::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        Alg::EdDsa => CoreJwsSigningAlgorithm::EdDsa,
    }
}

const AFTER_LOGOUT: &str = "https://skat.example/logged-out";

async fn register(
    h: &Harness,
    name: &str,
    public: bool,
    alg: Alg,
    sector: Option<&str>,
) -> (String, Option<String>) {
    let new = NewClient {
        name: name.to_owned(),
        redirect_uris: vec![CALLBACK.to_owned()],
        post_logout_redirect_uris: vec![AFTER_LOGOUT.to_owned()],
        public,
        jwks: None,
        sector: sector.map(str::to_owned),
        id_token_alg: alg,
    };
    h.with_service(move |s| {
        let (info, secret) = s.add_client(&new).unwrap();
        (info.id, secret.map(|s| s.expose().to_owned()))
    })
    .await
}

impl Rp {
    /// Registers a client and discovers the provider, as a service would.
    async fn new(h: &Harness, name: &str, public: bool, alg: Alg) -> Rp {
        Self::in_sector(h, name, public, alg, None).await
    }

    async fn in_sector(
        h: &Harness,
        name: &str,
        public: bool,
        alg: Alg,
        sector: Option<&str>,
    ) -> Rp {
        let (id, secret) = register(h, name, public, alg, sector).await;
        Self::discover(h, id, secret, alg).await
    }

    /// The RP of a client registered already.
    async fn discover(h: &Harness, id: String, secret: Option<String>, alg: Alg) -> Rp {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(kodekort_tests::pinned_tls(&ca(h)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(issuer(h)).unwrap(), &http)
                .await
                .expect("discovery and the JWKS");
        Rp {
            metadata,
            id,
            secret,
            redirect: CALLBACK.to_owned(),
            alg: jose(alg),
            http,
        }
    }

    fn client(&self) -> Client {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.id.clone()),
            self.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect.clone()).unwrap())
    }

    /// The URL the RP sends the browser to, with `extra` parameters.
    fn start(&self, extra: &[(&str, &str)]) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        for (name, value) in extra {
            request = request.add_extra_param(*name, *value);
        }
        let (url, state, nonce) = request.url();
        Started {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// The callback: the state checked, the code exchanged, the ID token
    /// verified by the library (with `at_hash`), and userinfo fetched.
    async fn finish(&self, callback: &Page, started: Started) -> Result<LoggedIn, String> {
        let location = callback.location.clone().ok_or("no redirect")?;
        assert!(location.starts_with(CALLBACK), "{location}");
        assert_eq!(
            callback.redirect_param("state").as_deref(),
            Some(started.state.secret().as_str()),
            "state comes back"
        );
        assert_eq!(
            callback.redirect_param("iss").as_deref(),
            Some(self.metadata.issuer().as_str()),
            "RFC 9207 iss"
        );
        if let Some(error) = callback.redirect_param("error") {
            return Err(error);
        }
        let code = callback.redirect_param("code").ok_or("no code")?;
        let client = self.client();
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| e.to_string())?
            .set_pkce_verifier(started.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let id_token = tokens.id_token().ok_or("no id_token")?;
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs([self.alg.clone()]);
        let claims = id_token
            .claims(&verifier, &started.nonce)
            .map_err(|e| format!("ID token refused: {e:?}"))?;
        let expected = claims.access_token_hash().ok_or("no at_hash")?;
        let actual = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(&actual, expected, "at_hash is the access token's");
        let userinfo: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .map_err(|e| e.to_string())?
            .request_async(&self.http)
            .await
            .map_err(|e| format!("userinfo: {e:?}"))?;
        assert_eq!(
            userinfo.subject(),
            claims.subject(),
            "userinfo names the same citizen"
        );
        Ok(LoggedIn {
            sub: claims.subject().to_string(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
            acr: claims
                .auth_context_ref()
                .map(|a: &AuthenticationContextClass| a.to_string()),
            amr: claims
                .auth_method_refs()
                .map(|m| m.iter().map(|a| a.to_string()).collect())
                .unwrap_or_default(),
            auth_time: claims.auth_time().map(|t| t.timestamp()),
            access_token: tokens.access_token().clone(),
            id_token: id_token.clone(),
        })
    }

    /// The whole login of `user` in `browser`, from the first page.
    async fn log_in(&self, browser: &Browser, user: &TestUser) -> LoggedIn {
        let started = self.start(&[]);
        let page = browser.visit(&started.url).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        // Logged in at the provider already: single sign-on, no code.
        let sso = page.body.contains("decision");
        let mut next = if sso {
            page
        } else {
            browser.log_in(&page, user).await
        };
        if next.location.is_none() {
            assert!(next.body.contains("decision"), "consent: {}", next.body);
            next = browser.consent(&next, true).await;
        }
        self.finish(&next, started)
            .await
            .expect("the RP accepts the login")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_rp_logs_a_citizen_in_with_each_algorithm() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø").await;
    for (public, alg) in [(false, Alg::Rs256), (false, Alg::Es256), (true, Alg::EdDsa)] {
        let rp = Rp::new(
            &h,
            &format!("Skattestyrelsen {}", alg.as_str()),
            public,
            alg,
        )
        .await;
        let browser = Browser::new(&issuer(&h), &ca(&h));
        let started = rp.start(&[]);
        let page = browser.visit(&started.url).await;
        assert_eq!(
            page.heading(),
            format!("Log på Skattestyrelsen {}", alg.as_str())
        );
        let csp = page.csp.clone().expect("a CSP");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        let code_page = browser.password(&page, &anna).await;
        let key = code_page.key();
        assert!(
            code_page.body.contains(&anna.serial),
            "the card's serial is named"
        );
        let consent = browser.code(&code_page, &anna.code(&key)).await;
        assert!(consent.body.contains("Skattestyrelsen"), "{}", consent.body);
        assert!(
            consent.body.contains("dit navn"),
            "profile: the name is named"
        );
        let callback = browser.consent(&consent, true).await;
        let who = rp.finish(&callback, started).await.unwrap();
        assert_eq!(who.name.as_deref(), Some("Anna Ærø"));
        assert_eq!(
            who.acr.as_deref(),
            Some("http://eidas.europa.eu/LoA/substantial")
        );
        assert_eq!(who.amr, ["pwd", "otp"]);
        let auth_time = who.auth_time.expect("auth_time");
        assert!((kodekort_server::Clock::now(&h.clock).unix_timestamp() - auth_time).abs() <= 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_is_pairwise_per_sector_and_stable() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::in_sector(&h, "Skat", false, Alg::Rs256, Some("skat.example")).await;
    let skat_again = Rp::in_sector(&h, "Skat mobil", false, Alg::Rs256, Some("skat.example")).await;
    let bank = Rp::in_sector(&h, "Banken", false, Alg::Rs256, Some("bank.example")).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let first = skat.log_in(&browser, &anna).await;
    let second = skat
        .log_in(&Browser::new(&issuer(&h), &ca(&h)), &anna)
        .await;
    let same_sector = skat_again.log_in(&browser, &anna).await;
    let other_sector = bank.log_in(&browser, &anna).await;
    assert_eq!(first.sub, second.sub, "stable for one sector");
    assert_eq!(first.sub, same_sector.sub, "one sector, one sub");
    assert_ne!(
        first.sub, other_sector.sub,
        "two sectors cannot match users by sub"
    );
    assert!(!first.sub.contains(&anna.user.id), "the sub reveals no id");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_service_logs_in_without_a_new_code_until_it_asks_for_one() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let bank = Rp::in_sector(&h, "Banken", false, Alg::Es256, Some("bank.example")).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let first = skat.log_in(&browser, &anna).await;

    // Single sign-on: the bank's request goes straight to consent.
    let started = bank.start(&[]);
    let consent = browser.visit(&started.url).await;
    assert!(consent.body.contains("decision"), "{}", consent.body);
    let callback = browser.consent(&consent, true).await;
    let second = bank.finish(&callback, started).await.unwrap();
    assert_eq!(second.auth_time, first.auth_time, "the same authentication");

    // Consented before, same session: straight back with a code.
    let started = skat.start(&[]);
    let callback = browser.get(&started.url).await;
    assert!(callback
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with(CALLBACK)));
    skat.finish(&callback, started).await.unwrap();

    // prompt=login and max_age=0 both ask for a fresh code.
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let started = skat.start(&[extra]);
        let page = browser.visit(&started.url).await;
        assert!(
            page.body.contains("name=\"password\""),
            "{extra:?}: {}",
            page.body
        );
    }

    // After the SSO limit a new code is asked, though the session lives
    // (each visit keeps it from idling out).
    for _ in 0..2 {
        h.clock.advance(Duration::minutes(25));
        let started = skat.start(&[]);
        let callback = browser.get(&started.url).await;
        assert!(
            callback.location.unwrap().starts_with(CALLBACK),
            "within the hour"
        );
    }
    h.clock.advance(Duration::minutes(25));
    let started = skat.start(&[]);
    let page = browser.visit(&started.url).await;
    assert!(
        page.body.contains("name=\"password\""),
        "past an hour: {}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_none_without_a_session_answers_login_required() {
    let h = Harness::start().await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[("prompt", "none")]);
    let callback = browser.get(&started.url).await;
    assert_eq!(callback.status, StatusCode::SEE_OTHER);
    assert_eq!(
        skat.finish(&callback, started).await.unwrap_err(),
        "login_required"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unregistered_or_mismatched_redirect_uris_get_a_page_never_a_redirect() {
    let h = Harness::start().await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[]);
    for evil in [
        "https://evil.example/callback",
        "https://skat.example/callback/",
        "https://skat.example/callback?x=1",
    ] {
        let url = started.url.replace(&urlencode(CALLBACK), &urlencode(evil));
        assert_ne!(url, started.url);
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{evil}");
        assert!(page.location.is_none(), "{evil}: never redirected");
        assert!(
            !page.body.contains("evil.example") && !page.body.contains("skat.example"),
            "the address is not shown"
        );
    }
    // An unknown client: the same, whatever redirect it names.
    let unknown = started.url.replace(&skat.id, "client_unknown");
    let page = browser.get(&unknown).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_bound_single_use_and_short_lived() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let login = |browser: Browser| {
        let (skat, anna) = (&skat, &anna);
        async move {
            let started = skat.start(&[]);
            let page = browser.visit(&started.url).await;
            let mut next = browser.log_in(&page, anna).await;
            if next.location.is_none() {
                next = browser.consent(&next, true).await;
            }
            (next, started)
        }
    };
    let new_browser = || Browser::new(&issuer(&h), &ca(&h));

    // A wrong PKCE verifier, then none at all: refused, and the code
    // still works with the right one.
    let (callback, started) = login(new_browser()).await;
    let wrong = Started {
        verifier: PkceCodeVerifier::new("x".repeat(43)),
        url: started.url.clone(),
        state: started.state.clone(),
        nonce: started.nonce.clone(),
    };
    let refused = skat.finish(&callback, wrong).await.unwrap_err();
    assert!(refused.contains("invalid_grant"), "{refused}");
    let code = callback.redirect_param("code").unwrap();
    let (status, body) = token_request(
        &h,
        &skat,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "no verifier: {body}"
    );
    let first = skat
        .finish(&callback, started)
        .await
        .expect("the right verifier still works");

    // A replayed code: refused, and what the first use issued is revoked.
    let (status, body) = token_request(
        &h,
        &skat,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &"x".repeat(43)),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let userinfo = h
        .http
        .get(format!("{}/oidc/userinfo", issuer(&h)))
        .bearer_auth(first.access_token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        StatusCode::UNAUTHORIZED,
        "the first answer's token is revoked"
    );

    // A code past its 60 seconds.
    let (callback, started) = login(new_browser()).await;
    h.clock.advance(Duration::seconds(61));
    let refused = skat.finish(&callback, started).await.unwrap_err();
    assert!(refused.contains("invalid_grant"), "expired: {refused}");

    // Another redirect URI than the request's.
    let (callback, _) = login(new_browser()).await;
    let code = callback.redirect_param("code").unwrap();
    let (status, body) = token_request(
        &h,
        &skat,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://skat.example/other"),
            ("code_verifier", &"x".repeat(43)),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

/// A raw token request with the RP's own credentials.
async fn token_request(h: &Harness, rp: &Rp, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut request = h.http.post(format!("{}/oidc/token", issuer(h))).form(form);
    if let Some(secret) = &rp.secret {
        request = request.basic_auth(&rp.id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_invalid_client() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let mut skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[]);
    let page = browser.visit(&started.url).await;
    let consent = browser.log_in(&page, &anna).await;
    let callback = browser.consent(&consent, true).await;
    skat.secret = Some("not-the-secret".into());
    let refused = skat.finish(&callback, started).await.unwrap_err();
    assert!(refused.contains("invalid_client"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_on_the_page_count_toward_the_lock_as_in_the_api() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[("ui_locales", "en")]);
    let page = browser.visit(&started.url).await;
    let mut code_page = browser.password(&page, &anna).await;
    let key = code_page.key();
    for left in (0..5).rev() {
        code_page = browser.code(&code_page, &anna.wrong_code(&key)).await;
        assert_eq!(code_page.status, StatusCode::OK);
        assert!(
            code_page.body.contains("role=\"alert\""),
            "{}",
            code_page.body
        );
        assert!(
            code_page.body.contains("does not match the key"),
            "{}",
            code_page.body
        );
        if left > 0 {
            assert!(
                code_page
                    .body
                    .contains(&format!("before a wait or a lock: {left}.")),
                "{}",
                code_page.body
            );
        } else {
            // The fifth starts the first wait, and the page says until when.
            assert!(
                code_page.body.contains("You can try again at"),
                "{}",
                code_page.body
            );
            assert!(
                code_page.body.contains("before a wait or a lock: 15."),
                "{}",
                code_page.body
            );
        }
        assert!(
            code_page.body.contains("<title>Error: "),
            "the title says so"
        );
    }
    // The API sees the same count: the account waits.
    let (status, body) = h
        .post(
            "/login",
            None,
            serde_json::json!({"username": "anna", "password": anna.password}),
        )
        .await;
    kodekort_tests::assert_error(status, &body, 429, "too_many_attempts");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_card_is_said_on_the_page() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let wrong = serde_json::json!({"username": "anna", "password": "not the password"});
    for _ in 0..20 {
        h.clock.advance(Duration::hours(25));
        let (status, _) = h.post("/login", None, wrong.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[("ui_locales", "en")]);
    let page = browser.visit(&started.url).await;
    let refused = browser.password(&page, &anna).await;
    assert!(
        refused.body.contains("Your code card is locked"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("name=\"code\""), "no code is asked");
}

/// The logout request the RP library builds from discovery.
async fn logout_url(
    rp: &Rp,
    hint: Option<&CoreIdToken>,
    back_to: Option<&str>,
    state: &str,
) -> String {
    let metadata =
        ProviderMetadataWithLogout::discover_async(rp.metadata.issuer().clone(), &rp.http)
            .await
            .unwrap();
    let endpoint = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("discovery names end_session_endpoint");
    // The RP names itself, and adds its ID token as hint if it has one.
    let mut request = LogoutRequest::from(endpoint)
        .set_state(CsrfToken::new(state.into()))
        .set_client_id(ClientId::new(rp.id.clone()));
    if let Some(token) = hint {
        request = request.set_id_token_hint(token);
    }
    if let Some(uri) = back_to {
        request =
            request.set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(uri.into()).unwrap());
    }
    request.http_get_url().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_initiated_logout_ends_the_session_and_goes_back_only_where_registered() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let bank = Rp::in_sector(&h, "Banken", false, Alg::Rs256, Some("bank.example")).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let who = skat.log_in(&browser, &anna).await;

    // Open-redirect attempts: an address nobody registered, or the other
    // client's, or one with no client named: a page, never a redirect,
    // and the session lives on.
    for (hint, back_to) in [
        (Some(&who.id_token), "https://evil.example/"),
        (
            Some(&who.id_token),
            "https://skat.example/logged-out/../evil",
        ),
        (None, "https://evil.example/"),
    ] {
        let url = logout_url(&skat, hint, Some(back_to), "s1").await;
        let page = browser.get(&url).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{back_to}: {}",
            page.body
        );
        assert!(page.location.is_none(), "{back_to}: never redirected");
        assert!(!page.body.contains("evil"), "the address is not shown");
    }
    let url = logout_url(&bank, Some(&who.id_token), Some(AFTER_LOGOUT), "s1").await;
    let page = browser.get(&url).await;
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "a hint for Skat with the bank's client_id"
    );
    let page = browser
        .get(&format!(
            "{}/oidc/logout?post_logout_redirect_uri={}",
            issuer(&h),
            urlencode(AFTER_LOGOUT)
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "no client named");
    let started = skat.start(&[]);
    assert!(
        browser
            .get(&started.url)
            .await
            .location
            .unwrap()
            .starts_with(CALLBACK),
        "still logged in"
    );

    // Without a hint, the citizen is asked first: a forged link logs nobody out.
    let url = logout_url(&skat, None, Some(AFTER_LOGOUT), "s2").await;
    let confirm = browser.get(&url).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("Log ud af Kodekort?"),
        "{}",
        confirm.body
    );
    let forged = browser
        .post(
            &format!("{}/oidc/logout", issuer(&h)),
            &[("client_id", skat.id.as_str()), ("csrf", "forged")],
        )
        .await;
    assert!(
        forged.body.contains("Log ud af Kodekort?"),
        "a wrong CSRF value is asked again"
    );
    let started = skat.start(&[]);
    assert!(
        browser
            .get(&started.url)
            .await
            .location
            .unwrap()
            .starts_with(CALLBACK),
        "still logged in"
    );

    // With the ID token as hint: logged out, and back to the registered address.
    let url = logout_url(&skat, Some(&who.id_token), Some(AFTER_LOGOUT), "s3").await;
    let back = browser.get(&url).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(
        back.location.as_deref(),
        Some(&*format!("{AFTER_LOGOUT}?state=s3"))
    );
    let started = skat.start(&[("prompt", "none")]);
    let callback = browser.get(&started.url).await;
    assert_eq!(
        skat.finish(&callback, started).await.unwrap_err(),
        "login_required"
    );

    // Confirmed by the citizen: logged out as well.
    let who = skat.log_in(&browser, &anna).await;
    drop(who);
    let confirm = browser
        .get(&logout_url(&skat, None, Some(AFTER_LOGOUT), "s4").await)
        .await;
    let fields: Vec<(&str, String)> = [
        "csrf",
        "client_id",
        "post_logout_redirect_uri",
        "state",
        "ui_locales",
    ]
    .into_iter()
    .map(|name| (name, confirm.hidden(name)))
    .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let back = browser
        .post(&format!("{}/oidc/logout", issuer(&h)), &fields)
        .await;
    assert_eq!(
        back.location.as_deref(),
        Some(&*format!("{AFTER_LOGOUT}?state=s4"))
    );
    let started = skat.start(&[("prompt", "none")]);
    let callback = browser.get(&started.url).await;
    assert_eq!(
        skat.finish(&callback, started).await.unwrap_err(),
        "login_required"
    );
}

/// A test-only P-256 key of a confidential client (made with openssl for
/// this test; it guards nothing).
const CLIENT_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfJs65OLajQf7O0q8
xLKdkTVrG/58dj7LdzHQX7xeepqhRANCAAT98w7l2d/+ZImptoMvfaFhR/et9BT4
nNc2b0w0POBXMptXUbqYF4SFOj6BGiLfLvPgv53DZZRYtqYGvN7U3W+v
-----END PRIVATE KEY-----
";

/// A client assertion signed with `key` by jsonwebtoken (RFC 7523).
fn assertion(
    key: &jsonwebtoken::EncodingKey,
    client_id: &str,
    aud: &str,
    exp_in: i64,
    jti: &str,
) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": aud,
        "exp": now + exp_in, "iat": now, "jti": jti,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("client-key-1".into());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confidential_client_authenticates_with_private_key_jwt() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let key = jsonwebtoken::EncodingKey::from_ec_pem(CLIENT_KEY.as_bytes()).unwrap();
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("client-key-1".into());
    let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
    let new = NewClient {
        name: "Banken".into(),
        redirect_uris: vec![CALLBACK.into()],
        post_logout_redirect_uris: vec![],
        public: false,
        jwks: Some(jwks),
        sector: None,
        id_token_alg: Alg::Es256,
    };
    let (id, secret) = h
        .with_service(move |s| {
            let (info, secret) = s.add_client(&new).unwrap();
            assert_eq!(info.auth_method, "private_key_jwt");
            (info.id, secret.is_some())
        })
        .await;
    assert!(!secret, "a client with keys gets no secret");
    let bank = Rp::discover(&h, id.clone(), None, Alg::Es256).await;
    let token_endpoint = format!("{}/oidc/token", issuer(&h));

    let exchange = |jwt: String| {
        let bank = &bank;
        let anna = &anna;
        let h = &h;
        async move {
            let browser = Browser::new(&issuer(h), &ca(h));
            let started = bank.start(&[]);
            let page = browser.visit(&started.url).await;
            let mut callback = browser.log_in(&page, anna).await;
            if callback.location.is_none() {
                callback = browser.consent(&callback, true).await;
            }
            let code = callback.redirect_param("code").unwrap();
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", started.verifier.secret().as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", jwt.as_str()),
            ];
            let response = h
                .http
                .post(format!("{}/oidc/token", issuer(h)))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body, started)
        }
    };

    let good = assertion(&key, &id, &token_endpoint, 60, "jti-1");
    let (status, body, started) = exchange(good.clone()).await;
    assert_eq!(status, 200, "{body}");
    // The ID token passes the RP library's checks.
    let id_token: CoreIdToken = body["id_token"].as_str().unwrap().parse().unwrap();
    let client = bank.client();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    id_token
        .claims(&verifier, &started.nonce)
        .expect("a valid ID token");

    for (what, jwt) in [
        ("a replayed assertion", good),
        (
            "another audience",
            assertion(&key, &id, "https://elsewhere.example/token", 60, "jti-2"),
        ),
        (
            "an expired one",
            assertion(&key, &id, &token_endpoint, -120, "jti-3"),
        ),
        (
            "one valid for an hour",
            assertion(&key, &id, &token_endpoint, 3600, "jti-4"),
        ),
        (
            "another client's name",
            assertion(&key, "client_other", &token_endpoint, 60, "jti-5"),
        ),
    ] {
        let (status, body, _) = exchange(jwt).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}: {body}"
        );
    }
    // Signed by a key that is not the client's.
    let other = jsonwebtoken::EncodingKey::from_ed_der(
        &kodekort_server::oidc::signing::generate(Alg::EdDsa).unwrap(),
    );
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("client-key-1".into());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = jsonwebtoken::encode(
        &header,
        &serde_json::json!({"iss": id, "sub": id, "aud": token_endpoint, "exp": now + 60, "jti": "jti-6"}),
        &other,
    )
    .unwrap();
    let (status, body, _) = exchange(forged).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "another key: {body}"
    );
}

fn server_cmd(args: &[&str]) -> std::process::Output {
    kodekort_tests::run_bin("kodekort-server", args, &[("RUST_LOG", "warn")], "")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_register_list_and_remove_clients_while_the_server_runs() {
    let h = Harness::start().await;
    let data = h.data_dir().to_str().unwrap().to_owned();
    let jwks_with_private_key = h.data_dir().join("private.jwks");
    std::fs::write(
        &jwks_with_private_key,
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"_fMO5dnf_mSJqbaDL32hYUf3rfQU-JzXNm9MNDzgVzI","y":"m1dRupgXhIU6PoEaIt8u8-C_ncNllFi2pga83tTdb68","d":"fJs65OLajQf7O0q8xLKdkTVrG_58dj7LdzHQX7xeepo"}]}"#,
    )
    .unwrap();
    let (added, refused, mismatched, public, listed) = tokio::task::spawn_blocking({
        let data = data.clone();
        let private = jwks_with_private_key.to_str().unwrap().to_owned();
        move || {
            let added = server_cmd(&[
                "client",
                "add",
                "--data",
                &data,
                "--name",
                "Skattestyrelsen",
                "--redirect-uri",
                "https://skat.example/callback",
                "--post-logout-redirect-uri",
                "https://skat.example/",
            ]);
            let refused = server_cmd(&[
                "client",
                "add",
                "--data",
                &data,
                "--name",
                "Bank",
                "--redirect-uri",
                "http://bank.example/callback",
            ]);
            let mismatched = server_cmd(&[
                "client",
                "add",
                "--data",
                &data,
                "--name",
                "Bank",
                "--redirect-uri",
                "https://bank.example/cb",
                "--jwks",
                &private,
            ]);
            let public = server_cmd(&[
                "client",
                "add",
                "--data",
                &data,
                "--name",
                "Skat app",
                "--public",
                "--id-token-alg",
                "EdDSA",
                "--sector",
                "skat.example",
                "--redirect-uri",
                "http://127.0.0.1/callback",
            ]);
            let listed = server_cmd(&["client", "list", "--data", &data]);
            (added, refused, mismatched, public, listed)
        }
    })
    .await
    .unwrap();
    assert!(added.status.success(), "{}", text(&added.stderr));
    let out = text(&added.stdout);
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("client_id="))
        .unwrap()
        .to_owned();
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret="))
        .unwrap();
    assert_eq!(secret.len(), 43, "256 random bits, shown once");
    assert!(text(&added.stderr).contains("shown once"));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("must be https"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!mismatched.status.success());
    assert!(
        text(&mismatched.stderr).contains("private"),
        "{}",
        text(&mismatched.stderr)
    );
    assert!(public.status.success(), "{}", text(&public.stderr));
    assert!(
        !text(&public.stdout).contains("client_secret"),
        "a public client has no secret"
    );
    let listed = text(&listed.stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.contains(&id)
            && listed.contains("client_secret_basic")
            && listed.contains("\tnone\tskat.example\tEdDSA"),
        "{listed}"
    );
    assert!(!listed.contains(secret), "list never shows a secret");

    // The running server knows the client at once; removed, it does not.
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let authorize = format!(
        "{}/oidc/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid",
        issuer(&h),
        urlencode("https://skat.example/callback")
    );
    assert_eq!(browser.get(&authorize).await.status, StatusCode::SEE_OTHER);
    let removed = tokio::task::spawn_blocking({
        let (data, id) = (data.clone(), id.clone());
        move || server_cmd(&["client", "remove", "--data", &data, &id])
    })
    .await
    .unwrap();
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert_eq!(
        browser.get(&authorize).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_signs_new_tokens_and_the_old_one_stays_published_until_its_tokens_expire() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Es256).await;
    let before = skat
        .log_in(&Browser::new(&issuer(&h), &ca(&h)), &anna)
        .await;
    let jwks = || async {
        let body: serde_json::Value = h
            .http
            .get(format!("{}/oidc/jwks", issuer(&h)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["kid"].as_str().unwrap().to_owned(),
                    k["alg"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let published = jwks().await;
    assert_eq!(published.len(), 3, "one key per algorithm: {published:?}");
    let old_kid = before.id_token.header_kid();

    let data = h.data_dir().to_str().unwrap().to_owned();
    let rotated = tokio::task::spawn_blocking(move || {
        server_cmd(&["oidc-key", "rotate", "--data", &data, "--alg", "ES256"])
    })
    .await
    .unwrap();
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    // The command ran on the real clock (and may have waited for a build):
    // the server's clock catches up, so the tokens it signs are current.
    h.clock.set(time::OffsetDateTime::now_utc());
    let listing = text(&rotated.stdout);
    assert_eq!(
        listing.lines().filter(|l| l.contains("retired")).count(),
        1,
        "{listing}"
    );

    // A fresh discovery sees both ES256 keys; a new token has the new kid,
    // and the old token still verifies against the JWKS.
    let published = jwks().await;
    assert_eq!(
        published.iter().filter(|(_, alg)| alg == "ES256").count(),
        2,
        "{published:?}"
    );
    let skat_now = Rp::discover(&h, skat.id.clone(), skat.secret.clone(), Alg::Es256).await;
    let after = skat_now
        .log_in(&Browser::new(&issuer(&h), &ca(&h)), &anna)
        .await;
    assert_ne!(after.id_token.header_kid(), old_kid);
    assert!(published
        .iter()
        .any(|(kid, _)| Some(kid.as_str()) == old_kid.as_deref()));

    // Ten minutes on (an ID token lives five), the old key is gone.
    h.clock.advance(Duration::minutes(11));
    let published = jwks().await;
    assert_eq!(
        published.iter().filter(|(_, alg)| alg == "ES256").count(),
        1,
        "{published:?}"
    );
    assert!(!published
        .iter()
        .any(|(kid, _)| Some(kid.as_str()) == old_kid.as_deref()));
}

trait HeaderKid {
    fn header_kid(&self) -> Option<String>;
}

impl HeaderKid for CoreIdToken {
    /// The `kid` of the token's JOSE header.
    fn header_kid(&self) -> Option<String> {
        jsonwebtoken::decode_header(self.to_string()).ok()?.kid
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn someone_elses_id_token_does_not_log_a_browser_out_unasked() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let bo = h.add_user("bo", "Bo B").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let annas_browser = Browser::new(&issuer(&h), &ca(&h));
    skat.log_in(&annas_browser, &anna).await;
    let bos = skat.log_in(&Browser::new(&issuer(&h), &ca(&h)), &bo).await;
    // Bo's own ID token, in a link that Anna's browser follows.
    let url = logout_url(&skat, Some(&bos.id_token), Some(AFTER_LOGOUT), "x").await;
    let page = annas_browser.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Log ud af Kodekort?"),
        "asked first: {}",
        page.body
    );
    let started = skat.start(&[("prompt", "none")]);
    let callback = annas_browser.get(&started.url).await;
    assert!(
        skat.finish(&callback, started).await.is_ok(),
        "Anna is still logged in"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_submitted_password_asks_one_key_and_counts_nothing() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[("ui_locales", "en")]);
    let page = browser.visit(&started.url).await;
    let (first, second) = tokio::join!(
        browser.password(&page, &anna),
        browser.password(&page, &anna)
    );
    assert_eq!(first.key(), second.key(), "one prompt, shown to both");
    assert!(
        second.body.contains("before a wait or a lock: 5."),
        "no failure: {}",
        second.body
    );
    let callback = browser.code(&second, &anna.code(&second.key())).await;
    let callback = if callback.location.is_none() {
        browser.consent(&callback, true).await
    } else {
        callback
    };
    skat.finish(&callback, started)
        .await
        .expect("the login goes on");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_redirect_uri_may_come_with_any_port() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let new = NewClient {
        name: "Skat app".into(),
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        post_logout_redirect_uris: vec![],
        public: true,
        jwks: None,
        sector: None,
        id_token_alg: Alg::Rs256,
    };
    let (id, sector) = h
        .with_service(move |s| {
            let (info, _) = s.add_client(&new).unwrap();
            (info.id, info.sector)
        })
        .await;
    assert_eq!(sector, id, "a loopback client gets a sector of its own");
    let mut app = Rp::discover(&h, id, None, Alg::Rs256).await;
    app.redirect = "http://127.0.0.1:49152/callback".into();
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = app.start(&[]);
    let page = browser.visit(&started.url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let consent = browser.log_in(&page, &anna).await;
    let callback = browser.consent(&consent, true).await;
    assert!(callback
        .location
        .as_deref()
        .unwrap()
        .starts_with("http://127.0.0.1:49152/callback?"));
    // Another path, or another host, is still refused.
    for other in [
        "http://127.0.0.1:49152/other",
        "http://localhost:49152/callback",
    ] {
        let url = started.url.replace(
            &urlencode("http://127.0.0.1:49152/callback"),
            &urlencode(other),
        );
        assert_eq!(
            browser.get(&url).await.status,
            StatusCode::BAD_REQUEST,
            "{other}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_single_sign_on_for_a_locked_card_or_after_a_new_card() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    skat.log_in(&browser, &anna).await;
    // Five wrong passwords elsewhere start a wait: no SSO meanwhile.
    for _ in 0..5 {
        h.post(
            "/login",
            None,
            serde_json::json!({"username": "anna", "password": "not the password"}),
        )
        .await;
    }
    let started = skat.start(&[("prompt", "none")]);
    let callback = browser.get(&started.url).await;
    assert_eq!(
        skat.finish(&callback, started).await.unwrap_err(),
        "login_required"
    );
    // The operator issues a new card (the old one was lost): the provider's
    // sessions end with it.
    h.with_service(|s| s.issue_card("anna")).await.unwrap();
    let started = skat.start(&[("prompt", "none")]);
    let callback = browser.get(&started.url).await;
    assert_eq!(
        skat.finish(&callback, started).await.unwrap_err(),
        "login_required"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_its_csrf_value_or_from_another_browser_is_refused() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skat", false, Alg::Rs256).await;
    let browser = Browser::new(&issuer(&h), &ca(&h));
    let started = skat.start(&[("ui_locales", "en")]);
    let page = browser.visit(&started.url).await;
    let action = page.action("password");
    let fields = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("username".to_owned(), anna.username.clone()),
            ("password".to_owned(), anna.password.clone()),
        ]
    };
    for (what, who, csrf) in [
        ("a forged value", &browser, "forged".to_owned()),
        ("no value", &browser, String::new()),
        (
            "another browser",
            &Browser::new(&issuer(&h), &ca(&h)),
            page.hidden("csrf"),
        ),
    ] {
        let form = fields(&csrf);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let refused = who.post(&action, &form).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{what}");
        // The page cannot trust the request, so it speaks the default language.
        assert!(
            refused.body.contains("Login kan ikke fortsætte"),
            "{what}: {}",
            refused.body
        );
    }
    // Nothing was counted: the real form still gets the first key with 5 attempts.
    let code_page = browser.password(&page, &anna).await;
    assert!(
        code_page.body.contains("before a wait or a lock: 5."),
        "{}",
        code_page.body
    );
}

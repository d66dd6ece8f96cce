//! The OpenID Connect provider, driven by a relying-party library that no
//! one here wrote (the `openidconnect` crate): discovery, the ID token's
//! signature against the JWKS, `iss`, `aud`, `nonce`, `exp` and `at_hash`
//! are all its checks. The login pages are filled in by `Browser`.

use kodekort_server::oidc::signing::Alg;
use kodekort_server::service::NewClient;
use kodekort_tests::oidc_browser::{Browser, Page};
use kodekort_tests::{Harness, TestUser};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use time::Duration;

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
        post_logout_redirect_uris: vec![],
        public,
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

//! "Continue in the Kodekort app": the code of a login begun on the
//! provider's pages is typed in the desktop app (here, its two API calls
//! from a client of its own), and the browser that began it goes on to the
//! service, where the RP library checks the ID token as in any login.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::*;

/// The opaque part of the page's `kodekort://login/…` link.
fn app_link(page: &Page) -> String {
    let marker = "href=\"kodekort://login/";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no app link on the page:\n{}", page.body))
        + marker.len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_owned()
}

/// The desktop app's connection, from the address `from` (the loopback
/// network has every 127.x.y.z: another address is another computer).
fn app_from(h: &Harness, from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(kodekort_tests::pinned_tls(&ca(h)))
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn app_post(h: &Harness, app: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let response = app.post(h.url(path)).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn open(h: &Harness, app: &reqwest::Client, link: &str) -> (u16, Value) {
    app_post(h, app, &format!("/app-logins/{link}"), json!({})).await
}

async fn answer(h: &Harness, app: &reqwest::Client, link: &str, code: &str) -> (u16, Value) {
    app_post(
        h,
        app,
        &format!("/app-logins/{link}/code"),
        json!({ "code": code }),
    )
    .await
}

/// The request's page path, from the code page's form.
fn page_path(code_page: &Page) -> String {
    code_page
        .action("code")
        .trim_end_matches("/code")
        .to_owned()
}

/// A login of `user` to `rp`, begun in a fresh browser, at its code page.
struct AtCode {
    browser: Browser,
    started: Started,
    /// The password page.
    first: Page,
    code_page: Page,
    key: String,
    /// The opaque part of the code page's app link.
    link: String,
}

async fn at_code_page(h: &Harness, rp: &Rp, user: &TestUser, extra: &[(&str, &str)]) -> AtCode {
    let browser = Browser::new(&issuer(h), &ca(h));
    let started = rp.start(extra);
    let first = browser.visit(&started.url).await;
    let code_page = browser.password(&first, user).await;
    let key = code_page.key();
    let link = app_link(&code_page);
    AtCode {
        browser,
        started,
        first,
        code_page,
        key,
        link,
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_finished_in_the_app_goes_on_in_the_browser_that_began_it() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skattestyrelsen", false, Alg::Rs256).await;
    let AtCode {
        browser,
        started,
        first,
        code_page,
        key,
        link,
    } = at_code_page(&h, &skat, &anna, &[("ui_locales", "en")]).await;
    assert!(
        !first.csp.as_deref().unwrap().contains("script-src"),
        "no script before the code page"
    );
    assert!(code_page.body.contains("Continue in the Kodekort app"));
    let csp = code_page.csp.clone().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert_eq!(link.len(), 43, "32 bytes, base64url: {link}");
    let page = page_path(&code_page);
    let status = browser.get(&format!("{page}/app-status")).await;
    assert_eq!(status.body, r#"{"waiting":true}"#);

    // The app opens the link: the service's name and the page's key.
    let app = app_from(&h, "127.0.0.1");
    let (status, prompt) = open(&h, &app, &link).await;
    assert_eq!(status, 200, "{prompt}");
    assert_eq!(prompt["client_name"], "Skattestyrelsen");
    assert_eq!(prompt["key"], key.as_str());
    assert_eq!(prompt["card_serial"], anna.serial.as_str());
    assert_eq!(prompt["attempts_left"], 5);
    // Once only.
    let (status, again) = open(&h, &app, &link).await;
    assert_eq!((status, error_code(&again)), (404, "app_link_unknown"));
    // The page says where the login is open.
    let reloaded = browser.get(&page).await;
    assert!(reloaded
        .body
        .contains("The login is open in the Kodekort app."));

    // A wrong code in the app counts as on the page and in the API.
    let (status, refused) = answer(&h, &app, &link, &anna.wrong_code(&key)).await;
    assert_eq!((status, error_code(&refused)), (401, "invalid_code"));
    assert_eq!(refused["error"]["attempts_left"], 4, "{refused}");
    let (status, done) = answer(&h, &app, &link, &anna.code(&key)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["client_name"], "Skattestyrelsen");
    let (status, spent) = answer(&h, &app, &link, &anna.code(&key)).await;
    assert_eq!((status, error_code(&spent)), (404, "app_link_unknown"));

    // Another browser, given the page's address, gets nothing.
    let stranger = Browser::new(&issuer(&h), &ca(&h));
    let gone = stranger.get(&page).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.location.is_none());

    // The browser's script sees the login move on, and its next load of
    // the page takes the provider session and asks consent.
    let status = browser.get(&format!("{page}/app-status")).await;
    assert_eq!(status.body, r#"{"waiting":false}"#);
    let consent = browser.get(&page).await;
    assert!(consent.body.contains("decision"), "{}", consent.body);
    let callback = browser.consent(&consent, true).await;
    let logged_in = skat
        .finish(&callback, started)
        .await
        .expect("the RP accepts the login");
    assert_eq!(logged_in.name.as_deref(), Some("Anna A"));
    assert_eq!(logged_in.amr, ["pwd", "otp"]);

    // That browser now has the session: the next login needs no code.
    let next = skat.start(&[]);
    let sso = browser.visit(&next.url).await;
    assert!(sso.location.is_some(), "single sign-on: {}", sso.body);
    skat.finish(&sso, next).await.expect("a second login");
    // The page itself is done.
    assert_eq!(browser.get(&page).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_link_opens_only_on_the_computer_that_began_the_login_and_once() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skattestyrelsen", false, Alg::Es256).await;
    let AtCode {
        browser,
        started,
        code_page,
        key,
        link,
        ..
    } = at_code_page(&h, &skat, &anna, &[("ui_locales", "en")]).await;

    // Sent to someone else: their app is refused, and the link is spent.
    let elsewhere = app_from(&h, "127.0.0.2");
    let (status, refused) = open(&h, &elsewhere, &link).await;
    assert_eq!(
        (status, error_code(&refused)),
        (403, "app_link_other_computer")
    );
    let here = app_from(&h, "127.0.0.1");
    let (status, spent) = open(&h, &here, &link).await;
    assert_eq!((status, error_code(&spent)), (404, "app_link_unknown"));
    let (status, spent) = answer(&h, &here, &link, &anna.code(&key)).await;
    assert_eq!((status, error_code(&spent)), (404, "app_link_unknown"));
    // Nothing was counted, and the page still takes the code itself.
    let page = browser.get(&page_path(&code_page)).await;
    assert!(page.body.contains("before a wait or a lock: 5."));
    assert!(
        !page.body.contains("kodekort://"),
        "a spent link is not shown"
    );
    let consent = browser.code(&page, &anna.code(&key)).await;
    let callback = browser.consent(&consent, true).await;
    skat.finish(&callback, started).await.expect("logged in");

    // A link no page made, one never opened, and one not shaped like a link.
    let (status, body) = open(&h, &here, &"A".repeat(43)).await;
    assert_eq!((status, error_code(&body)), (404, "app_link_unknown"));
    let unopened = at_code_page(&h, &skat, &anna, &[]).await;
    let (status, body) = answer(&h, &here, &unopened.link, &anna.code(&unopened.key)).await;
    assert_eq!((status, error_code(&body)), (404, "app_link_unknown"));
    let (status, body) = open(&h, &here, "not.a.link").await;
    assert_eq!((status, error_code(&body)), (400, "invalid_id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_of_a_prompt_the_page_answered_or_replaced_opens_nothing() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skattestyrelsen", false, Alg::EdDsa).await;
    let AtCode {
        browser,
        started,
        code_page,
        key,
        link,
        ..
    } = at_code_page(&h, &skat, &anna, &[]).await;
    let app = app_from(&h, "127.0.0.1");
    let (status, _) = open(&h, &app, &link).await;
    assert_eq!(status, 200);
    // The page answers first: the app's right code is then too late, and
    // the browser's login stands.
    let consent = browser.code(&code_page, &anna.code(&key)).await;
    assert!(consent.body.contains("decision"));
    let (status, body) = answer(&h, &app, &link, &anna.code(&key)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(error_code(&body), "challenge_used");
    let callback = browser.consent(&consent, true).await;
    skat.finish(&callback, started).await.expect("logged in");
}

/// The desktop app's core (`kodekort-app`, what the Tauri shell wraps),
/// set up for this server, is handed the page's link.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_core_names_the_service_and_key_and_the_browser_goes_on() {
    use kodekort_app::{App, Options, Purpose};

    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skattestyrelsen", false, Alg::Rs256).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "language = \"en\"\npublic_computer = true\ndefault_server = \"reference\"\n\n\
             [servers.reference]\nurl = \"https://localhost:{}\"\nca = \"{}\"\n",
            h.addr.port(),
            ca(&h).display(),
        ),
    )
    .unwrap();
    let app = App::new(Options {
        config_path: Some(config),
        ..Default::default()
    });

    // Anything but the pages' own form is refused before the network.
    app.receive_login_link("kodekort://login/../../api/v1/me")
        .await;
    assert!(app.state().await.login_link);
    let err = app.open_login_link().await.unwrap_err();
    assert_eq!(err.code, "login_link_invalid");
    assert!(!app.state().await.login_link, "a link is used once");

    let AtCode {
        browser,
        started,
        code_page,
        key,
        link,
        ..
    } = at_code_page(&h, &skat, &anna, &[]).await;
    app.receive_login_link(&format!("kodekort://login/{link}"))
        .await;
    let prompt = app.open_login_link().await.unwrap();
    // The same link again (delivered twice, or clicked twice) shows the
    // login open here: a link opens once on the server.
    app.receive_login_link(&format!("kodekort://login/{link}"))
        .await;
    assert_eq!(app.open_login_link().await.unwrap().key, prompt.key);
    assert_eq!(app.open_login_link().await.unwrap().key, prompt.key);
    assert_eq!(prompt.purpose, Purpose::ServiceLogin);
    assert_eq!(prompt.service_name.as_deref(), Some("Skattestyrelsen"));
    assert_eq!(prompt.key, key);
    assert_eq!(prompt.card_serial, anna.serial);

    let err = app.service_login_code("12 34").await.unwrap_err();
    assert_eq!(err.code, "code_format", "checked here, costs nothing");
    let err = app
        .service_login_code(&anna.wrong_code(&key))
        .await
        .unwrap_err();
    assert_eq!(err.code, "invalid_code");
    let next = err.next.expect("where the login stands");
    assert_eq!((next.step, next.attempts_left), ("code", Some(4)));
    let done = app.service_login_code(&anna.code(&key)).await.unwrap();
    assert_eq!(done.service_name, "Skattestyrelsen");
    assert!(
        !app.state().await.logged_in,
        "the browser logged in, not the app"
    );
    let err = app.service_login_code(&anna.code(&key)).await.unwrap_err();
    assert_eq!(err.code, "challenge_missing");

    let consent = browser.get(&page_path(&code_page)).await;
    let callback = browser.consent(&consent, true).await;
    skat.finish(&callback, started).await.expect("logged in");
}

/// The page's own forms, posted after the app took the code (the citizen
/// typed it in both, or went back and sent the password again): that
/// browser goes on with the app's login, and nothing starts over.
#[tokio::test(flavor = "multi_thread")]
async fn the_pages_forms_after_the_app_took_the_code_go_on_with_that_login() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let skat = Rp::new(&h, "Skattestyrelsen", false, Alg::Rs256).await;
    let app = app_from(&h, "127.0.0.1");
    for stale_form in ["code", "password"] {
        let AtCode {
            browser,
            started,
            first,
            code_page,
            key,
            link,
        } = at_code_page(&h, &skat, &anna, &[("prompt", "consent")]).await;
        assert_eq!(open(&h, &app, &link).await.0, 200);
        assert_eq!(answer(&h, &app, &link, &anna.code(&key)).await.0, 200);
        let page = match stale_form {
            "code" => browser.code(&code_page, &anna.code(&key)).await,
            _ => browser.password(&first, &anna).await,
        };
        assert!(
            page.body.contains("decision"),
            "{stale_form}: consent, not a new start: {}",
            page.body
        );
        let callback = browser.consent(&page, true).await;
        let logged_in = skat.finish(&callback, started).await.expect("logged in");
        assert_eq!(logged_in.name.as_deref(), Some("Anna A"));
    }
    // Two logins, two codes: no other prompt was asked, and none was counted.
    let (status, body) = h
        .post(
            "/login",
            None,
            serde_json::json!({"username": "anna", "password": anna.password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["attempts_left"], 5, "{body}");
}

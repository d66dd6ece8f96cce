//! What the citizen saw is what is signed, with a man in the middle: a TLS
//! proxy of the test's own sits between the real app core (and the real
//! `kodekort` binary) and a real server, and rewrites the document's text
//! in chosen answers. The signature must cover the text that was displayed,
//! or none may be made, and then no code is spent and the citizen is told.

use kodekort_app::{App, HomeView, Options};
use kodekort_proto::signing::sha256_hex;
use kodekort_proto::Password;
use kodekort_tests::proxy::{Proxy, Tamper, PLANTED};
use kodekort_tests::{CliSession, Harness, Keyring, TestUser};

const TEXT: &str = "Samtykke til fremleje\n\nJeg giver samtykke til fremleje af Demovej 1.\n";

/// A server with anna and one pending document, and a proxy in front.
async fn setup(tamper: Tamper) -> (Harness, TestUser, String, Proxy) {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø").await;
    let id = h
        .with_service(|s| s.add_document("anna", "Boligselskabet", "Samtykke", TEXT))
        .await
        .unwrap()
        .id;
    let proxy = Proxy::start(h.addr, &h.data_dir().join("ca.pem"), tamper).await;
    (h, anna, id, proxy)
}

/// The desktop app's core, configured for the proxy (pinning the proxy's
/// CA and the server's signature root), logged in as anna.
async fn app_through(
    h: &Harness,
    proxy: &Proxy,
    anna: &TestUser,
    dir: &tempfile::TempDir,
) -> (App, HomeView) {
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "language = \"en\"\npublic_computer = true\ndefault_server = \"proxied\"\n\n\
             [servers.proxied]\nurl = \"{}\"\nca = \"{}\"\ntrust = \"{}\"\n",
            proxy.url(),
            proxy.ca_pem().display(),
            h.data_dir().join("trust.json").display(),
        ),
    )
    .unwrap();
    let app = App::new(Options {
        config_path: Some(config),
        demo_accounts: 1,
        ..Default::default()
    });
    app.connect().await.unwrap();
    let prompt = app
        .login("anna", Password::new(anna.password.clone()), true)
        .await
        .unwrap();
    let home = app.login_code(&anna.code(&prompt.key)).await.unwrap();
    (app, home)
}

/// Shows the document through a proxy that tampers as `tamper` says (or
/// not at all), signs it, and checks that the signature covers the text
/// shown, which is the server's, and that it was fetched once.
async fn signs_what_it_showed(tamper: Tamper) {
    let (h, anna, id, proxy) = setup(tamper).await;
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app_through(&h, &proxy, &anna, &dir).await;
    let shown = app.document(&id).await.unwrap();
    assert_eq!(shown.content, TEXT);
    let prompt = app.begin_sign(&id).await.unwrap();
    let signed = app.sign_code(&anna.code(&prompt.key)).await.unwrap();
    assert_eq!(signed.verdict.code, "valid", "{:?}", signed.verdict);
    let details = signed.verdict.details.unwrap();
    assert_eq!(details.content_sha256, sha256_hex(shown.content.as_bytes()));
    assert_eq!(details.content_sha256, sha256_hex(TEXT.as_bytes()));
    assert_eq!(
        proxy.document_fetches(),
        1,
        "no second fetch before signing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_signs_what_it_displayed_through_an_honest_proxy() {
    signs_what_it_showed(Tamper::Honest).await;
}

/// Any second fetch would see the planted line; the app must sign the
/// bytes it showed.
#[tokio::test(flavor = "multi_thread")]
async fn a_text_changed_after_it_was_displayed_is_not_what_gets_signed() {
    signs_what_it_showed(Tamper::LaterFetches).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_displayed_text_the_server_does_not_hold_is_never_signed() {
    let (h, anna, id, proxy) = setup(Tamper::FirstFetch).await;
    let dir = tempfile::tempdir().unwrap();
    let (app, home) = app_through(&h, &proxy, &anna, &dir).await;
    let before = home.card.remaining;
    let shown = app.document(&id).await.unwrap();
    assert!(shown.content.ends_with(PLANTED), "the proxy lied");
    let err = app.begin_sign(&id).await.unwrap_err();
    assert_eq!(err.code, "hash_mismatch", "{err}");
    assert!(
        err.message.contains("changed since you opened it") && err.message.contains("No code"),
        "{}",
        err.message
    );
    // No signature, no code spent, the document still waits.
    let home = app.home().await.unwrap();
    assert_eq!(home.card.remaining, before);
    assert_eq!(home.pending.len(), 1);
    assert!(home.signed.is_empty());
    // Reading it again shows the server's text, which then signs.
    let again = app.document(&id).await.unwrap();
    assert_eq!(again.content, TEXT);
    let prompt = app.begin_sign(&id).await.unwrap();
    let signed = app.sign_code(&anna.code(&prompt.key)).await.unwrap();
    assert_eq!(
        signed.verdict.details.unwrap().content_sha256,
        sha256_hex(TEXT.as_bytes())
    );
}

/// `kodekort sign` through the proxy: it shows the text, then signs the
/// hash of what it showed. A planted text is refused without spending a
/// code; through an honest proxy it signs.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_signs_what_it_showed_or_nothing() {
    for tamper in [Tamper::FirstFetch, Tamper::Honest] {
        let (h, anna, id, proxy) = setup(tamper).await;
        let url = proxy.url();
        let ca = proxy.ca_pem().to_str().unwrap().to_owned();
        let trust = h.data_dir().join("trust.json").to_str().unwrap().to_owned();
        let (status, shown, outcome, spent) = tokio::task::spawn_blocking(move || {
            let keyring = Keyring::start();
            let mut env = keyring.env();
            env.extend([
                ("KODEKORT_SERVER", url.as_str()),
                ("KODEKORT_CA", ca.as_str()),
                ("KODEKORT_TRUST", trust.as_str()),
            ]);
            let mut login =
                CliSession::start_with(&["--json", "login", "--username", "anna"], &env);
            login.send(&anna.password);
            let ch = login.until("challenge");
            login.send(&anna.code(ch["challenge"]["key"].as_str().unwrap()));
            let remaining = login.until("user")["card"]["remaining"].as_u64().unwrap();
            assert_eq!(login.child.wait().unwrap().code(), Some(0));
            let mut sign = CliSession::start_with(&["--json", "sign", &id], &env);
            let mut shown = None;
            let outcome = loop {
                let v = sign.next_value();
                if let Some(doc) = v.get("document") {
                    shown = doc["content"].as_str().map(str::to_owned);
                } else if let Some(ch) = v.get("challenge") {
                    sign.send(&anna.code(ch["key"].as_str().unwrap()));
                } else if v.get("verdict").is_some() || v.get("error").is_some() {
                    break v;
                }
            };
            let status = sign.child.wait().unwrap().code();
            let mut card = CliSession::start_with(&["--json", "card"], &env);
            let left = card.next_value()["remaining"].as_u64().unwrap();
            (status, shown, outcome, remaining - left)
        })
        .await
        .unwrap();
        match tamper {
            Tamper::FirstFetch => {
                let shown = shown.expect("the text is shown before signing");
                assert!(shown.ends_with(PLANTED), "the proxy lied: {shown}");
                assert_eq!(outcome["error"]["code"], "hash_mismatch", "{outcome}");
                let message = outcome["error"]["message"].as_str().unwrap();
                assert!(message.contains("changed since you opened it"), "{message}");
                assert_eq!(status, Some(1));
                assert_eq!(spent, 0, "no code spent");
            }
            _ => {
                assert_eq!(shown.as_deref(), Some(TEXT));
                assert_eq!(outcome["verdict"], "valid", "{outcome}");
                assert_eq!(
                    outcome["envelope"]["document"]["sha256"],
                    sha256_hex(TEXT.as_bytes())
                );
                assert_eq!(status, Some(0));
                assert_eq!(spent, 1, "one code for the signature");
            }
        }
    }
}

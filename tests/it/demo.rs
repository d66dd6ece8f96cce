//! The demo engine: in-process backend, demo root, reset and scenarios,
//! driven through the client library as the app and CLI will.

use kodekort_client::{verify_envelope, ApiClient, AuthState, Lang, Login, Session, Verdict};
use kodekort_demo::{Applied, Demo, DemoAccount, PrintSize, Scenario};
use kodekort_proto::signing::sha256_hex;
use kodekort_proto::Password;
use kodekort_tests::poppler;

async fn log_in(api: &ApiClient, account: &DemoAccount) -> Session {
    let mut login = Login::new();
    let state = login
        .submit_credentials(
            api,
            &account.username,
            &Password::new(&account.password),
            false,
        )
        .await
        .unwrap();
    let AuthState::Code(prompt) = state else {
        panic!("{state:?}")
    };
    assert_eq!(prompt.card_serial, account.card.serial);
    // The code comes from the demo card, as shown on screen.
    let code = account
        .card
        .codes
        .iter()
        .find(|p| p.key == prompt.key)
        .unwrap()
        .code
        .clone();
    login.submit_code(api, &code).await.unwrap();
    login.into_session().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_signatures_verify_as_demo_and_reset_restores_the_seed() {
    let mut demo = Demo::start(3).await.unwrap();
    assert_eq!(demo.accounts().len(), 3);
    assert_eq!(demo.accounts()[1].name, "Bo Prøvesen");
    let account = demo.account("demo1").unwrap().clone();
    let api = ApiClient::new(&demo.server()).unwrap();
    let session = log_in(&api, &account).await;
    let docs = api.documents(&session.token).await.unwrap();
    assert_eq!(docs.len(), 3);
    let doc = api.document(&session.token, &docs[0].id).await.unwrap();
    let ch = api
        .begin_sign(&session.token, &doc.id, &sha256_hex(doc.content.as_bytes()))
        .await
        .unwrap();
    let code = account
        .card
        .codes
        .iter()
        .find(|p| p.key == ch.key)
        .unwrap()
        .code
        .clone();
    let envelope = api
        .sign_code(
            &session.token,
            &ch.sign_id,
            &kodekort_client::login::normalise_code(&code).unwrap(),
        )
        .await
        .unwrap();
    // No pinned real root is needed: the demo root is built in, and says "demo".
    let verdict = verify_envelope(&envelope, &[], Some(doc.content.as_bytes()));
    assert!(matches!(verdict, Verdict::Demo(_)), "{verdict:?}");
    assert!(verdict
        .message(Lang::En)
        .starts_with("Demo signature, not legally valid."));
    assert_eq!(api.card(&session.token).await.unwrap().remaining, 146);

    // Reset: the signed document is pending again, the card is whole, the
    // same printed card still works, and old sessions are gone.
    demo.reset().await.unwrap();
    let api = ApiClient::new(&demo.server()).unwrap();
    assert_eq!(
        api.me(&session.token).await.unwrap_err().code(),
        "unauthenticated"
    );
    let session = log_in(&api, &account).await;
    let card = api.card(&session.token).await.unwrap();
    assert_eq!(
        (card.serial.as_str(), card.remaining),
        (account.card.serial.as_str(), 147)
    );
    let docs = api.documents(&session.token).await.unwrap();
    assert!(docs
        .iter()
        .all(|d| d.status == kodekort_proto::wire::DocumentStatus::Pending));
    demo.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn scenarios_put_an_account_where_the_class_needs_it() {
    let mut demo = Demo::start(2).await.unwrap();
    let api = ApiClient::new(&demo.server()).unwrap();
    let anna = demo.account("demo1").unwrap().clone();
    let bo = demo.account("demo2").unwrap().clone();

    demo.scenario("demo1", Scenario::FewCodesLeft)
        .await
        .unwrap();
    demo.scenario("demo1", Scenario::DocumentWaiting)
        .await
        .unwrap();
    let session = log_in(&api, &anna).await;
    let card = api.card(&session.token).await.unwrap();
    assert_eq!(card.remaining, 14);
    assert!(card.replacement.is_some(), "the replacement notice shows");
    assert_eq!(api.documents(&session.token).await.unwrap().len(), 4);

    demo.scenario("demo1", Scenario::SessionAboutToExpire)
        .await
        .unwrap();
    // Still valid (28 of 30 minutes idle); the request renews it.
    api.me(&session.token).await.unwrap();

    // Locked for the first wait, with the time it opens again.
    let applied = demo.scenario("demo2", Scenario::CardLocked).await.unwrap();
    let Applied::LockedUntil(until) = applied else {
        panic!("{applied:?}")
    };
    let minutes = (until - time::OffsetDateTime::now_utc()).whole_minutes();
    assert!((14..=15).contains(&minutes), "{minutes}");
    let mut login = Login::new();
    let err = login
        .submit_credentials(&api, &bo.username, &Password::new(&bo.password), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_many_attempts");
    let AuthState::Waiting { until: told } = login.state() else {
        panic!("{:?}", login.state())
    };
    assert!((*told - until).abs() < time::Duration::seconds(1));
    assert!(demo.scenario("nobody", Scenario::CardLocked).await.is_err());

    // The trainer's overview shows where each account stands.
    let overview = demo.overview().await.unwrap();
    assert_eq!(overview[0].state.card.remaining, 14);
    assert_eq!(overview[0].state.pending, 4);
    assert!(overview[1].state.card.locked_until.is_some());
    assert_eq!(overview[1].state.card.remaining, 148);

    // The server's identity: a real TLS failure against the pinned demo CA,
    // reported as the citizen-facing code; the real server still answers.
    let Applied::Impostor(impostor) = demo
        .scenario("demo1", Scenario::ServerIdentityUnverified)
        .await
        .unwrap()
    else {
        panic!("no impostor")
    };
    assert_ne!(impostor.url, demo.server().url);
    let err = ApiClient::new(&impostor)
        .unwrap()
        .trust()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "server_identity_not_verified");
    api.trust().await.unwrap();
    // A reset ends it.
    demo.reset().await.unwrap();
    assert!(!demo.impostor_running());
    assert!(demo.last_reset().is_some());
    demo.stop().await.unwrap();
}

#[test]
fn scenario_names_round_trip() {
    for s in Scenario::ALL {
        assert_eq!(Scenario::from_name(s.name()), Some(s));
    }
    assert_eq!(
        Scenario::from_name("card-locked"),
        Some(Scenario::CardLocked)
    );
    assert_eq!(Scenario::from_name("nonsense"), None);
}

/// The class kit: every account's username, password and all 148 codes
/// come back out of the PDF with pdftotext, in both print sizes, and every
/// page says DEMO.
#[tokio::test(flavor = "multi_thread")]
async fn the_class_kit_holds_every_accounts_credentials_and_card() {
    let demo = Demo::start(4).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (size, pages_each) in [(PrintSize::Standard, 1), (PrintSize::Large, 3)] {
        let pdf = dir.path().join(format!("kit-{size:?}.pdf"));
        std::fs::write(&pdf, demo.class_kit(size).unwrap()).unwrap();
        let info = poppler("pdfinfo", &[pdf.to_str().unwrap()]);
        assert!(
            info.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()
                    == ["Pages:", &(4 * pages_each).to_string()]),
            "{info}"
        );
        for account in demo.accounts() {
            // The pages of this account only.
            let n: usize = account.username["demo".len()..].parse().unwrap();
            let first = ((n - 1) * pages_each + 1).to_string();
            let last = (n * pages_each).to_string();
            let text = poppler(
                "pdftotext",
                &[
                    "-layout",
                    "-f",
                    &first,
                    "-l",
                    &last,
                    pdf.to_str().unwrap(),
                    "-",
                ],
            );
            assert!(text.contains(&account.username), "{size:?} {n}");
            assert!(text.contains(&account.password));
            assert!(text.contains(&account.name));
            assert!(text.contains(&account.card.serial));
            let printed = crate::cards::parse_card_text(&text);
            assert_eq!(printed.len(), 148, "{size:?} {}", account.username);
            for pair in &account.card.codes {
                assert_eq!(printed.get(&pair.key), Some(&pair.code), "key {}", pair.key);
            }
        }
        // Every page has the diagonal DEMO watermark: one 150-point run of
        // bold text per page (page streams are not compressed).
        let bytes = std::fs::read(&pdf).unwrap();
        let watermarks = bytes.windows(10).filter(|w| w == b"/F1 150 Tf").count();
        assert_eq!(watermarks, 4 * pages_each, "{size:?}");
        // Every account says it is not real, in words a screen reader reads.
        let text = poppler("pdftotext", &[pdf.to_str().unwrap(), "-"]);
        assert_eq!(
            text.matches("not a real account").count(),
            4 * pages_each,
            "{size:?}: once per page"
        );
    }
    demo.stop().await.unwrap();
}

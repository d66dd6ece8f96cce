//! The demo engine: in-process backend, demo root, reset and scenarios,
//! driven through the client library as the app and CLI will.

use kodekort_client::{verify_envelope, ApiClient, AuthState, Lang, Login, Session, Verdict};
use kodekort_demo::{Demo, DemoAccount, Scenario};
use kodekort_proto::signing::sha256_hex;
use kodekort_proto::Password;

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
    let demo = Demo::start(2).await.unwrap();
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

    demo.scenario("demo2", Scenario::CardLocked).await.unwrap();
    let mut login = Login::new();
    let err = login
        .submit_credentials(&api, &bo.username, &Password::new(&bo.password), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "card_locked");
    assert!(matches!(login.state(), AuthState::Locked));
    assert!(demo.scenario("nobody", Scenario::CardLocked).await.is_err());
}

//! The client library against the real server: the stepped login, reading,
//! signing and verifying, and errors as a citizen reads them.

use kodekort_client::{
    verify_envelope, ApiClient, AuthState, ClientError, Lang, Login, Server, Trust,
};
use kodekort_proto::signing::sha256_hex;
use kodekort_proto::{ErrorCode, Password};
use kodekort_tests::{Harness, TestUser};
use time::Duration;

fn client(h: &Harness) -> ApiClient {
    let server = Server::new(
        &format!("https://localhost:{}", h.addr.port()),
        Trust::PinnedCa(h.data_dir().join("ca.pem")),
    )
    .unwrap();
    ApiClient::new(&server).unwrap()
}

async fn log_in(api: &ApiClient, user: &TestUser) -> kodekort_client::Session {
    let mut login = Login::new();
    let key = match login
        .submit_credentials(api, &user.username, &Password::new(&user.password), false)
        .await
        .unwrap()
    {
        AuthState::Code(prompt) => {
            assert_eq!(prompt.card_serial, user.serial);
            assert_eq!(prompt.attempts_left, 5);
            prompt.key.clone()
        }
        other => panic!("expected a code prompt, got {other:?}"),
    };
    login.submit_code(api, &user.code(&key)).await.unwrap();
    login.into_session().expect("logged in")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_flow_through_the_client_library() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø Παπαδοπούλου").await;
    let content = "Lejekontrakt\nJeg giver samtykke til fremleje.\n";
    h.with_service(move |s| {
        s.add_document("anna", "Boligselskabet", "Samtykke til fremleje", content)
    })
    .await
    .unwrap();
    let api = client(&h);
    let session = log_in(&api, &anna).await;
    assert_eq!(session.user.name, "Anna Ærø Παπαδοπούλου");
    assert_eq!(session.card.remaining, 147);

    let docs = api.documents(&session.token).await.unwrap();
    assert_eq!(docs.len(), 1);
    let doc = api.document(&session.token, &docs[0].id).await.unwrap();
    // What the citizen read is what gets signed.
    let displayed = doc.content.as_bytes();
    let ch = api
        .begin_sign(&session.token, &doc.id, &sha256_hex(displayed))
        .await
        .unwrap();
    let envelope = api
        .sign_code(
            &session.token,
            &ch.sign_id,
            &kodekort_client::login::normalise_code(&anna.code(&ch.key)).unwrap(),
        )
        .await
        .unwrap();
    let pinned = [h.service.trust().clone()];
    let verdict = verify_envelope(&envelope, &pinned, Some(displayed));
    assert!(verdict.is_valid(), "{verdict:?}");
    assert!(verdict.message(Lang::En).contains("Anna Ærø Παπαδοπούλου"));
    assert_eq!(api.card(&session.token).await.unwrap().remaining, 146);
    // The stored signature is the same, and it is not trusted without a pinned root.
    let stored = api.signature(&session.token, &doc.id).await.unwrap();
    assert_eq!(stored, envelope);
    assert_eq!(
        verify_envelope(&stored, &[], Some(displayed)).code(),
        "unknown_issuer"
    );
    let mut altered = displayed.to_vec();
    altered[0] ^= 1;
    assert_eq!(
        verify_envelope(&stored, &pinned, Some(&altered)).code(),
        "content_altered"
    );

    api.logout(&session.token).await.unwrap();
    let err = api.me(&session.token).await.unwrap_err();
    assert_eq!(err.code(), "session_expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_keep_the_prompt_and_lock_outs_say_until_when() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let api = client(&h);
    let mut login = Login::new();
    login
        .submit_credentials(&api, "anna", &Password::new(&anna.password), false)
        .await
        .unwrap();
    let AuthState::Code(prompt) = login.state().clone() else {
        panic!()
    };
    // A malformed code costs nothing and never leaves this computer.
    assert!(matches!(
        login.submit_code(&api, "12 34").await,
        Err(ClientError::CodeFormat)
    ));
    for left in (1..5).rev() {
        let err = login
            .submit_code(&api, &anna.wrong_code(&prompt.key))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_code");
        assert_eq!(
            err.message(Lang::En),
            format!("The code does not match the key on your card. {left} attempts left.")
        );
        assert!(matches!(login.state(), AuthState::Code(p) if p.attempts_left == left));
    }
    let err = login
        .submit_code(&api, &anna.wrong_code(&prompt.key))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_code");
    let AuthState::Waiting { until } = *login.state() else {
        panic!("{:?}", login.state())
    };
    use kodekort_server::Clock;
    assert_eq!(until - h.clock.now(), Duration::minutes(15));
    let err = login
        .submit_code(&api, &anna.code(&prompt.key))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::ChallengeMissing));

    // A prompt left too long expires: the login goes back to the start.
    let bo = h.add_user("bo", "Bo B").await;
    let mut login = Login::new();
    login
        .submit_credentials(&api, "bo", &Password::new(&bo.password), false)
        .await
        .unwrap();
    let AuthState::Code(prompt) = login.state().clone() else {
        panic!()
    };
    h.clock.advance(Duration::minutes(6));
    let err = login
        .submit_code(&api, &bo.code(&prompt.key))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "challenge_expired");
    assert!(matches!(login.state(), AuthState::Credentials));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_ca_says_server_identity_not_verified_in_plain_words() {
    let h = Harness::start().await;
    let other = Harness::start().await;
    let server = Server::new(
        &format!("https://localhost:{}", h.addr.port()),
        Trust::PinnedCa(other.data_dir().join("ca.pem")),
    )
    .unwrap();
    let api = ApiClient::new(&server).unwrap();
    let err = api.trust().await.unwrap_err();
    assert_eq!(err.code(), "server_identity_not_verified", "{err:?}");
    for lang in Lang::ALL {
        let text = err.message(lang);
        assert!(
            !text.contains("rustls")
                && !text.contains("certificate")
                && !text.contains("UnknownIssuer"),
            "{text}"
        );
    }
    assert!(err
        .message(Lang::Da)
        .starts_with("Serverens identitet kunne ikke bekræftes."));

    // Nothing listening: no network, not a TLS or hyper message.
    let gone = Server::new(
        "https://localhost:1",
        Trust::PinnedCa(h.data_dir().join("ca.pem")),
    )
    .unwrap();
    let err = ApiClient::new(&gone).unwrap().trust().await.unwrap_err();
    assert_eq!(err.code(), "no_network", "{err:?}");

    // Only https URLs are accepted.
    for bad in [
        "http://localhost:8443",
        "localhost:8443",
        "https://localhost:8443/api?x=1",
        "https://u:p@localhost",
    ] {
        assert_eq!(
            Server::new(bad, Trust::PlatformRoots).unwrap_err().code(),
            "invalid_server_url",
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_is_reported_as_such() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna A").await;
    let api = client(&h);
    let session = log_in(&api, &anna).await;
    h.clock.advance(Duration::minutes(31));
    let err = api.documents(&session.token).await.unwrap_err();
    assert!(matches!(
        err,
        ClientError::Server {
            code: ErrorCode::SessionExpired,
            ..
        }
    ));
    assert_eq!(err.message(Lang::Da), "Din session er slut. Log på igen.");
}

//! Each keyring outcome reaches the citizen, in both front ends, from the
//! one connection layer in `kodekort-client`: the session stored in the
//! keyring, no keyring (this run only), and a keyring that refuses the
//! write (this run only, and why). A trust file that cannot be read is
//! said, and stops neither front end.

use std::sync::Arc;

use kodekort_app::{App, Options};
use kodekort_client::session_store::{MemoryStore, SessionStore};
use kodekort_client::{ClientError, KeyringOpener};
use kodekort_proto::{Password, Token};
use kodekort_tests::{CliSession, Harness, Keyring, TestUser};
use serde_json::Value;

/// A keyring that answers but refuses to store.
struct RefusingKeyring;

impl SessionStore for RefusingKeyring {
    fn load(&self, _: &str, _: &str) -> kodekort_client::Result<Option<Token>> {
        Ok(None)
    }
    fn save(&self, _: &str, _: &str, _: &Token) -> kodekort_client::Result<()> {
        Err(ClientError::Keyring("the collection is locked".into()))
    }
    fn delete(&self, _: &str, _: &str) -> kodekort_client::Result<()> {
        Ok(())
    }
    fn current_user(&self, _: &str) -> kodekort_client::Result<Option<String>> {
        Ok(None)
    }
    fn persists(&self) -> bool {
        true
    }
}

fn write_config(h: &Harness, dir: &tempfile::TempDir, trust: &str) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "language = \"en\"\ndefault_server = \"reference\"\n\n[servers.reference]\n\
             url = \"https://localhost:{}\"\nca = \"{}\"\ntrust = \"{trust}\"\n",
            h.addr.port(),
            h.data_dir().join("ca.pem").display(),
        ),
    )
    .unwrap();
    path
}

async fn app_login(h: &Harness, anna: &TestUser, keyring: KeyringOpener) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let trust = h.data_dir().join("trust.json");
    let app = App::new(Options {
        config_path: Some(write_config(h, &dir, trust.to_str().unwrap())),
        keyring,
        ..Default::default()
    });
    let state = app.connect().await.unwrap();
    assert!(state.notices.is_empty(), "{:?}", state.notices);
    let prompt = app
        .login("anna", Password::new(anna.password.clone()), false)
        .await
        .unwrap();
    let home = app.login_code(&anna.code(&prompt.key)).await.unwrap();
    home.notices
        .iter()
        .map(|n| format!("{}: {}", n.code, n.message))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_tells_where_the_session_went() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø").await;
    let stored = app_login(
        &h,
        &anna,
        KeyringOpener::new(|| Ok(Arc::new(MemoryStore::new()) as Arc<dyn SessionStore>)),
    )
    .await;
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].starts_with("session_kept: You stay logged in"),
        "{stored:?}"
    );
    let none = app_login(
        &h,
        &anna,
        KeyringOpener::new(|| Err(ClientError::KeyringUnavailable("no bus".into()))),
    )
    .await;
    assert!(
        none[0].starts_with("no_keyring: This computer has no keyring"),
        "{none:?}"
    );
    let refused = app_login(
        &h,
        &anna,
        KeyringOpener::new(|| Ok(Arc::new(RefusingKeyring) as Arc<dyn SessionStore>)),
    )
    .await;
    assert!(
        refused[0].starts_with("keyring_write_failed: The keyring could not store"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_trust_file_is_said_and_the_app_goes_on() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø").await;
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Options {
        config_path: Some(write_config(&h, &dir, "/nonexistent/trust.json")),
        keyring: KeyringOpener::new(|| Ok(Arc::new(MemoryStore::new()) as Arc<dyn SessionStore>)),
        ..Default::default()
    });
    let state = app.connect().await.unwrap();
    assert_eq!(state.notices.len(), 1);
    assert_eq!(state.notices[0].code, "trust_unreadable");
    assert!(state.notices[0].message.contains("/nonexistent/trust.json"));
    let prompt = app
        .login("anna", Password::new(anna.password.clone()), false)
        .await
        .unwrap();
    app.login_code(&anna.code(&prompt.key)).await.unwrap();
}

/// `kodekort login` with the real gnome-keyring: stored; with no keyring
/// service; and with the secrets service gone between start and the code.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_tells_where_the_session_went() {
    let h = Harness::start().await;
    let anna = h.add_user("anna", "Anna Ærø").await;
    let url = format!("https://localhost:{}", h.addr.port());
    let ca = h.data_dir().join("ca.pem").to_str().unwrap().to_owned();
    tokio::task::spawn_blocking(move || {
        let login = |env: &[(&str, &str)], keyring: Option<&mut Keyring>| -> Vec<Value> {
            let mut env = env.to_vec();
            env.extend([
                ("KODEKORT_SERVER", url.as_str()),
                ("KODEKORT_CA", ca.as_str()),
            ]);
            let mut s = CliSession::start_with(&["--json", "login", "--username", "anna"], &env);
            s.send(&anna.password);
            let ch = s.until("challenge");
            if let Some(keyring) = keyring {
                keyring.stop_secrets();
            }
            s.send(&anna.code(ch["challenge"]["key"].as_str().unwrap()));
            let mut lines = Vec::new();
            loop {
                let v = s.next_value();
                let done = v.get("user").is_some();
                lines.push(v);
                if done {
                    break;
                }
            }
            assert_eq!(s.child.wait().unwrap().code(), Some(0));
            lines
                .into_iter()
                .filter(|v| v.get("notice").is_some())
                .collect()
        };
        let code = |notices: &[Value]| -> Vec<String> {
            notices
                .iter()
                .map(|n| n["notice"]["code"].as_str().unwrap().to_owned())
                .collect()
        };

        let keyring = Keyring::start();
        let stored = login(&keyring.env(), None);
        assert_eq!(code(&stored), ["session_kept"], "{stored:?}");
        drop(keyring);

        let none = login(
            &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
            None,
        );
        assert_eq!(code(&none), ["no_keyring"], "{none:?}");
        assert!(none[0]["notice"]["message"]
            .as_str()
            .unwrap()
            .contains("until the program closes"));

        let mut keyring = Keyring::start();
        let env: Vec<(String, String)> = keyring
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let failed = login(&env, Some(&mut keyring));
        assert_eq!(code(&failed), ["keyring_write_failed"], "{failed:?}");
    })
    .await
    .unwrap();
}

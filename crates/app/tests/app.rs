//! The app core against the real embedded demo (HTTPS on loopback, SQLite
//! in a temp folder): the whole citizen flow as the UI drives it, the error
//! contract, and the view fixtures the browser tests' fake IPC replays.

use std::path::PathBuf;

use kodekort_app::{App, Lang, Options, PromptView, Settings};
use kodekort_proto::Password;
use serde_json::Value;

fn demo_app() -> App {
    App::new(Options {
        config_path: None,
        demo_accounts: 2,
        ..Default::default()
    })
}

fn code_for(prompt: &PromptView) -> String {
    let card = prompt.demo_card.as_ref().expect("the demo shows its card");
    card.pairs
        .iter()
        .find(|p| p.key == prompt.key)
        .expect("the key is on the card")
        .code
        .clone()
}

fn wrong_code(right: &str) -> String {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
    .to_owned()
}

fn fixtures_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui/fixtures/views.json")
}

/// Replaces every leaf with its JSON type, so shapes compare, not values.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::String(_) => Value::String("string".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Null => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_logs_in_signs_saves_and_verifies_in_the_demo() {
    let app = demo_app();
    let mut fixtures = serde_json::Map::new();
    let mut keep = |name: &str, v: Value| {
        fixtures.insert(name.to_owned(), v);
    };
    keep(
        "state_welcome",
        serde_json::to_value(app.state().await).unwrap(),
    );

    let err = app
        .login("demo1", Password::new("x"), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, "no_server_configured");

    let state = app.start_demo().await.unwrap();
    assert!(state.demo && state.connected && !state.logged_in);
    assert_eq!(state.demo_accounts.len(), 2);
    keep("state_demo", serde_json::to_value(&state).unwrap());

    // The error contract: {code, message} in the app's language, and in a
    // login or signing flow the step it stands at now (no second call).
    let err = app
        .login("demo1", Password::new("wrong-password"), false)
        .await
        .unwrap_err();
    let json = serde_json::to_value(&err).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "message", "next"], "{json}");
    assert_eq!(json["code"], "invalid_credentials");
    assert_eq!(json["next"]["step"], "credentials");
    assert!(json["message"].as_str().unwrap().len() > 10);
    keep("error_invalid_credentials", json);

    let password = state.demo_accounts[0].password.clone();
    let prompt = app
        .login("demo1", Password::new(password), false)
        .await
        .unwrap();
    assert_eq!(prompt.key.len(), 4);
    assert!(prompt.expires_in_s > 200, "{}", prompt.expires_in_s);
    keep("prompt_login", serde_json::to_value(&prompt).unwrap());
    let code = code_for(&prompt);

    let err = app.login_code(&wrong_code(&code)).await.unwrap_err();
    assert_eq!(err.code, "invalid_code");
    let next = err
        .next
        .clone()
        .expect("a refusal says where the login stands");
    assert_eq!(next.step, "code");
    assert_eq!(next.attempts_left, Some(prompt.attempts_left - 1));
    keep("error_invalid_code", serde_json::to_value(&err).unwrap());
    let err = app.login_code("12ab").await.unwrap_err();
    assert_eq!(err.code, "code_format");
    assert_eq!(err.next.unwrap().step, "code");

    let home = app.login_code(&code).await.unwrap();
    assert_eq!(home.username, "demo1");
    assert_eq!((home.card.total, home.card.remaining), (148, 147));
    assert_eq!(home.pending.len(), 3);
    keep("home", serde_json::to_value(&home).unwrap());
    assert!(app.state().await.logged_in);

    let id = home.pending[0].id.clone();
    let doc = app.document(&id).await.unwrap();
    assert!(doc.content.contains("DEMO"));
    keep("document", serde_json::to_value(&doc).unwrap());

    // Only a shown document can be signed, and a wrong code keeps the prompt.
    let other = home.pending[1].id.clone();
    assert_eq!(
        app.begin_sign(&other).await.unwrap_err().code,
        "document_not_shown"
    );
    let prompt = app.begin_sign(&id).await.unwrap();
    assert_eq!(prompt.document_title.as_deref(), Some(doc.title.as_str()));
    keep("prompt_sign", serde_json::to_value(&prompt).unwrap());
    let err = app
        .sign_code(&wrong_code(&code_for(&prompt)))
        .await
        .unwrap_err();
    assert_eq!(err.code, "invalid_code");
    let next = err.next.unwrap();
    assert_eq!(next.step, "code");
    assert_eq!(next.attempts_left, Some(prompt.attempts_left - 1));
    let signed = app.sign_code(&code_for(&prompt)).await.unwrap();
    assert_eq!(signed.verdict.code, "demo");
    assert!(signed.verdict.demo && !signed.verdict.valid);
    assert_eq!(signed.verdict.details.as_ref().unwrap().document_id, id);
    keep("signed", serde_json::to_value(&signed).unwrap());

    let home = app.home().await.unwrap();
    assert_eq!(
        home.card.remaining, 146,
        "a login and a signature: two codes (the wrong one spent none)"
    );
    assert_eq!((home.pending.len(), home.signed.len()), (2, 1));

    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join(App::signed_file_name(&id));
    app.save_signed(&id, &pdf).await.unwrap();
    let check = app.verify_file(&pdf).await.unwrap();
    assert_eq!(check.verdict.code, "demo");
    assert!(check.has_content);
    keep("file_verdict", serde_json::to_value(&check).unwrap());

    // A broken file is a clear refusal, not a panic.
    let junk = dir.path().join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.7 nonsense").unwrap();
    let err = app.verify_file(&junk).await.unwrap_err();
    assert_eq!(err.code, "not_a_signed_file");

    let declined = app.decline(&home.pending[0].id).await.unwrap();
    assert_eq!(declined.declined.len(), 1);

    let connection = app.check_connection().await;
    assert!(connection.ok && connection.demo);
    keep("connection", serde_json::to_value(&connection).unwrap());
    let report = app.diagnostics().await;
    assert!(
        !report.contains("demo1") && !report.contains("kodekort-demo-1"),
        "{report}"
    );

    let session = app.keep_alive().await.unwrap();
    assert_eq!(session.idle_timeout_s, 30 * 60);
    let state = app.logout().await.unwrap();
    assert!(!state.logged_in);
    assert_eq!(app.home().await.unwrap_err().code, "not_logged_in");

    // The browser tests' fake IPC replays these views; their shapes must
    // stay what the app sends (KODEKORT_BLESS=1 rewrites the file).
    let fresh = Value::Object(fixtures);
    let path = fixtures_path();
    if std::env::var_os("KODEKORT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        shape(&stored),
        shape(&fresh),
        "views changed shape: run with KODEKORT_BLESS=1"
    );
}

/// The app's own error codes have their text in Danish and English.
#[test]
fn every_app_error_code_has_text_in_both_languages() {
    let codes = kodekort_app::AppError::LOCAL_CODES
        .iter()
        .chain(kodekort_demo::DemoError::CODES);
    for code in codes {
        for lang in [Lang::Da, Lang::En] {
            let text = kodekort_client::catalogue::text(lang, "error", code, &[]);
            assert_ne!(text, format!("error.{code}"), "{code} missing in {lang:?}");
        }
    }
}

#[tokio::test]
async fn errors_speak_the_chosen_language() {
    let app = demo_app();
    let settings = |lang| Settings {
        lang,
        text_size: 150,
        high_contrast: true,
        reduced_motion: false,
        check_updates: true,
    };
    app.set_settings(settings(Lang::En)).await.unwrap();
    let en = app.home().await.unwrap_err();
    app.set_settings(settings(Lang::Da)).await.unwrap();
    let da = app.home().await.unwrap_err();
    assert_eq!(en.code, da.code);
    assert_ne!(en.message, da.message);
    assert_eq!(app.state().await.settings.text_size, 150);
}

#[tokio::test]
async fn settings_are_saved_outside_the_demo_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let app = App::new(Options {
        config_path: Some(path.clone()),
        demo_accounts: 1,
        ..Default::default()
    });
    let settings = Settings {
        lang: Lang::En,
        text_size: 200,
        high_contrast: false,
        reduced_motion: true,
        check_updates: false,
    };
    assert!(app.updates_config().await.check, "on until turned off");
    app.set_settings(settings).await.unwrap();
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(
        saved.contains("text_size = 200") && saved.contains("reduced_motion = true"),
        "{saved}"
    );
    assert!(saved.contains("[updates]\ncheck = false"), "{saved}");
    assert!(!app.updates_config().await.check);
    let again = App::new(Options {
        config_path: Some(path.clone()),
        demo_accounts: 1,
        ..Default::default()
    });
    assert_eq!(again.state().await.settings, settings);

    app.start_demo().await.unwrap();
    app.set_settings(Settings {
        text_size: 100,
        ..settings
    })
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        saved,
        "the demo writes nothing"
    );
}

async fn log_in(app: &App, username: &str, password: &str) -> kodekort_app::HomeView {
    let prompt = app
        .login(username, Password::new(password), false)
        .await
        .unwrap();
    app.login_code(&code_for(&prompt)).await.unwrap()
}

/// The trainer's tools against the real demo: the overview follows what
/// learners do, reset restores the seed, each scenario does what the class
/// is told, and the kit is a PDF. Writes the trainer fixtures as above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_resets_applies_scenarios_and_prints_the_kit() {
    let app = demo_app();
    assert_eq!(app.trainer().await.unwrap_err().code, "not_demo");
    let state = app.start_demo().await.unwrap();
    let (anna, bo) = (&state.demo_accounts[0], &state.demo_accounts[1]);
    let mut fixtures = serde_json::Map::new();

    // A learner logs in and signs: the panel shows it.
    let home = log_in(&app, &anna.username, &anna.password).await;
    // Only a shown document can be signed: the learner reads it first.
    app.document(&home.pending[0].id).await.unwrap();
    let prompt = app.begin_sign(&home.pending[0].id).await.unwrap();
    app.sign_code(&code_for(&prompt)).await.unwrap();
    let panel = app.trainer().await.unwrap();
    assert!(panel.last_reset.is_none());
    assert_eq!(panel.signed_in_as.as_deref(), Some("demo1"));
    let row = &panel.accounts[0];
    assert_eq!((row.card.remaining, row.pending, row.signed), (146, 2, 1));
    assert_eq!(row.printed.serial, "DEMO-0001");
    let guide_key = app.state().await.demo_guide_key.unwrap();
    assert!(row.printed.pairs.iter().any(|p| p.key == guide_key));
    assert_eq!(panel.scenarios.len(), 5);
    fixtures.insert("trainer".into(), serde_json::to_value(&panel).unwrap());

    // "Session about to expire" ages this session: about two minutes left.
    let err = app
        .apply_scenario(&bo.username, "session_expiring")
        .await
        .unwrap_err();
    assert_eq!(err.code, "scenario_needs_login");
    let applied = app
        .apply_scenario(&anna.username, "session_expiring")
        .await
        .unwrap();
    assert_eq!(
        (applied.next, applied.idle_left_s),
        ("idle_warning", Some(120))
    );
    fixtures.insert(
        "scenario_expiring".into(),
        serde_json::to_value(&applied).unwrap(),
    );
    app.keep_alive().await.unwrap();

    // Few codes left, and a new document, show on the learner's home screen.
    let applied = app
        .apply_scenario(&anna.username, "few_codes")
        .await
        .unwrap();
    assert_eq!(applied.next, "home");
    let applied = app
        .apply_scenario(&anna.username, "document-waiting")
        .await
        .unwrap();
    assert_eq!(applied.next, "home");
    let home = app.home().await.unwrap();
    assert_eq!(home.card.remaining, 15);
    assert!(home.card.replacement_serial.is_some());
    assert_eq!(home.pending.len(), 3);

    // The server's identity: every request now fails the TLS check, with
    // the citizen-facing code; ending the scenario restores the session.
    let applied = app
        .apply_scenario(&anna.username, "server_identity")
        .await
        .unwrap();
    assert_eq!(applied.next, "trust_error");
    let err = app.home().await.unwrap_err();
    assert_eq!(err.code, "server_identity_not_verified");
    assert!(app.state().await.logged_in, "the session is kept");
    assert!(app.trainer().await.unwrap().server_identity_scenario);
    fixtures.insert(
        "error_server_identity".into(),
        serde_json::to_value(&err).unwrap(),
    );
    let panel = app.end_server_identity_scenario().await.unwrap();
    assert!(!panel.server_identity_scenario);
    app.home().await.unwrap();

    // Reset: everyone logged out, every account back to the seed.
    let panel = app.reset_demo().await.unwrap();
    assert!(panel.last_reset.is_some());
    assert!(panel.signed_in_as.is_none());
    assert!(!app.state().await.logged_in);
    for row in &panel.accounts {
        assert_eq!(
            (row.card.remaining, row.pending, row.signed),
            (148, 3, 0),
            "{}",
            row.username
        );
        assert!(row.card.replacement_serial.is_none());
    }
    // The same printed card still logs in after the reset.
    let home = log_in(&app, &anna.username, &anna.password).await;
    assert_eq!(home.card.remaining, 147);

    // Card locked: the login stops with the time it opens again.
    let applied = app
        .apply_scenario(&bo.username, "card_locked")
        .await
        .unwrap();
    assert_eq!(applied.next, "login");
    let until = applied.locked_until.clone().unwrap();
    fixtures.insert(
        "scenario_locked".into(),
        serde_json::to_value(&applied).unwrap(),
    );
    let err = app
        .login(&bo.username, Password::new(bo.password.clone()), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, "too_many_attempts");
    let told = err
        .until
        .clone()
        .expect("the wait's end comes with the error");
    assert_eq!(told[..16], until[..16], "{told} vs {until}");
    fixtures.insert("error_locked".into(), serde_json::to_value(&err).unwrap());

    // Typos are clear errors.
    assert_eq!(
        app.apply_scenario("demo99", "few_codes")
            .await
            .unwrap_err()
            .code,
        "no_such_demo_account"
    );
    assert_eq!(
        app.apply_scenario("demo1", "meteor")
            .await
            .unwrap_err()
            .code,
        "unknown_scenario"
    );

    // The kit, in both sizes, from the app.
    let dir = tempfile::tempdir().unwrap();
    for large in [false, true] {
        let path = dir.path().join(App::class_kit_file_name(large));
        let pdf = app.class_kit(large).await.unwrap();
        app.save_class_kit(&path, &pdf).await.unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF-"));
    }

    let fresh = Value::Object(fixtures);
    let path = fixtures_path().with_file_name("trainer.json");
    if std::env::var_os("KODEKORT_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        shape(&stored),
        shape(&fresh),
        "views changed shape: run with KODEKORT_BLESS=1"
    );
}

//! Issue 14: several `kodekort-server` processes on one PostgreSQL database,
//! behind HAProxy (tests/fleet.rs). Every rule that holds in one process
//! holds across them: a code succeeds once, failures are counted without a
//! lost update, sessions are valid everywhere, and an instance killed
//! mid-flight loses nothing it acknowledged.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kodekort_tests::fleet::{Citizen, Fleet};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinSet;

const CONCURRENT: usize = 32;

async fn begin_login(fleet: &Fleet, citizen: &Citizen) -> (String, String) {
    let (status, body) = fleet
        .post(
            &fleet.url("/login"),
            None,
            &json!({"username": citizen.username, "password": kodekort_tests::PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["login_id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

async fn login(fleet: &Fleet, citizen: &Citizen) -> String {
    let (id, key) = begin_login(fleet, citizen).await;
    let (status, body) = fleet
        .post(
            &fleet.url(&format!("/login/{id}/code")),
            None,
            &json!({"code": citizen.code(&key)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Sends the same body to `url` `CONCURRENT` times at once; the answers.
async fn all_at_once(
    fleet: &Arc<Fleet>,
    url: String,
    token: Option<String>,
    body: Value,
) -> Vec<(StatusCode, Value)> {
    let start = Arc::new(tokio::sync::Barrier::new(CONCURRENT));
    let mut set = JoinSet::new();
    for _ in 0..CONCURRENT {
        let (fleet, url, token, body, start) = (
            fleet.clone(),
            url.clone(),
            token.clone(),
            body.clone(),
            start.clone(),
        );
        set.spawn(async move {
            start.wait().await;
            fleet.post(&url, token.as_deref(), &body).await
        });
    }
    set.join_all().await
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Of concurrent answers with one code: exactly one succeeded, and every
/// other was told the prompt was already answered. The winner's body.
fn exactly_one_won(round: usize, answers: &[(StatusCode, Value)]) -> Value {
    let won: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(won.len(), 1, "round {round}: {answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*status, error_code(body)),
            (StatusCode::CONFLICT, "challenge_used"),
            "round {round}"
        );
    }
    won[0].1.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_login_code_succeeds_once_across_two_instances() {
    let Some(fleet) = Fleet::start(2).await else {
        return;
    };
    let fleet = Arc::new(fleet);
    // Two citizens, 100 rounds each: well within a card before its
    // replacement is due.
    let citizens = [fleet.add_citizen("anna"), fleet.add_citizen("bo")];
    for round in 0..200 {
        let citizen = &citizens[round % 2];
        let (id, key) = begin_login(&fleet, citizen).await;
        let answers = all_at_once(
            &fleet,
            fleet.url(&format!("/login/{id}/code")),
            None,
            json!({"code": citizen.code(&key)}),
        )
        .await;
        let won = exactly_one_won(round, &answers);
        assert!(won["token"].is_string());
    }
    let served = [fleet.served(0, "/code"), fleet.served(1, "/code")];
    eprintln!("code answers served by each instance: {served:?}");
    assert_eq!(served[0] + served[1], 200 * CONCURRENT);
    assert!(
        served.iter().all(|&n| n > 200 * CONCURRENT / 4),
        "{served:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_signing_code_succeeds_once_across_two_instances() {
    let Some(fleet) = Fleet::start(2).await else {
        return;
    };
    let fleet = Arc::new(fleet);
    let provider = fleet.add_provider("Skat");
    let citizens = [fleet.add_citizen("anna"), fleet.add_citizen("bo")];
    let tokens = [
        login(&fleet, &citizens[0]).await,
        login(&fleet, &citizens[1]).await,
    ];
    let mut envelopes = HashSet::new();
    for round in 0..200 {
        let (citizen, token) = (&citizens[round % 2], &tokens[round % 2]);
        let (status, doc) = fleet
            .post(
                &fleet.url("/provider/documents"),
                Some(&provider),
                &json!({"recipient": citizen.username, "title": format!("Aftale {round}"),
                        "content_type": "text/plain", "content": format!("Runde {round}.\n")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        let id = doc["id"].as_str().unwrap();
        let (status, ch) = fleet
            .post(
                &fleet.url(&format!("/documents/{id}/sign")),
                Some(token),
                &json!({"sha256": doc["sha256"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ch}");
        let answers = all_at_once(
            &fleet,
            fleet.url(&format!(
                "/signatures/{}/code",
                ch["sign_id"].as_str().unwrap()
            )),
            Some(token.clone()),
            json!({"code": citizen.code(ch["key"].as_str().unwrap())}),
        )
        .await;
        let won = exactly_one_won(round, &answers);
        assert!(envelopes.insert(won["envelope"].to_string()));
    }
    let signed = fleet.query("SELECT count(*)::text FROM documents WHERE status = 'signed'");
    assert_eq!(signed[0][0].as_deref(), Some("200"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_on_both_instances_are_counted_without_a_lost_update() {
    let Some(fleet) = Fleet::start(2).await else {
        return;
    };
    let fleet = Arc::new(fleet);
    let citizen = fleet.add_citizen("anna");
    let (id, key) = begin_login(&fleet, &citizen).await;
    let answers = all_at_once(
        &fleet,
        fleet.url(&format!("/login/{id}/code")),
        None,
        json!({"code": citizen.wrong_code(&key)}),
    )
    .await;
    let invalid: Vec<_> = answers
        .iter()
        .filter(|(_, b)| error_code(b) == "invalid_code")
        .collect();
    let waiting = answers
        .iter()
        .filter(|(s, b)| {
            *s == StatusCode::TOO_MANY_REQUESTS && error_code(b) == "too_many_attempts"
        })
        .count();
    assert_eq!(invalid.len() + waiting, CONCURRENT, "{answers:?}");
    let failures = fleet.query("SELECT failures::text FROM throttle WHERE username = 'anna'");
    let counted: usize = failures[0][0].as_deref().unwrap().parse().unwrap();
    // Every wrong answer that was judged is counted, and no more.
    assert_eq!(counted, invalid.len());
    // The wait starts exactly at the fifth failure: five judged, each with
    // the attempts left after it (the fifth: those left before the lock),
    // and every later answer told to wait.
    assert_eq!(
        invalid.len(),
        kodekort_server::lockout::FREE_FAILURES as usize
    );
    let mut left: Vec<u64> = invalid
        .iter()
        .map(|(_, b)| b["error"]["attempts_left"].as_u64().unwrap())
        .collect();
    left.sort();
    let mut expected: Vec<u64> = (1..=kodekort_server::lockout::FREE_FAILURES)
        .map(|n| kodekort_server::lockout::attempts_left(n).into())
        .collect();
    expected.sort();
    assert_eq!(left, expected);
    // The right code now waits too, on either instance.
    for i in 0..2 {
        let (status, body) = fleet
            .post(
                &fleet.direct_url(i, &format!("/login/{id}/code")),
                None,
                &json!({"code": citizen.code(&key)}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_from_one_instance_is_valid_on_the_other_and_health_answers() {
    let Some(fleet) = Fleet::start(2).await else {
        return;
    };
    let citizen = fleet.add_citizen("anna");
    // Log in on instance 0 directly, then use the session on instance 1.
    let (status, body) = fleet
        .post(
            &fleet.direct_url(0, "/login"),
            None,
            &json!({"username": "anna", "password": kodekort_tests::PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = fleet
        .post(
            &fleet.direct_url(
                0,
                &format!("/login/{}/code", body["login_id"].as_str().unwrap()),
            ),
            None,
            &json!({"code": citizen.code(body["key"].as_str().unwrap())}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, me) = fleet.get(&fleet.direct_url(1, "/me"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["username"], "anna");
    // Logged out on instance 1: refused on instance 0.
    let (status, _) = fleet
        .post(&fleet.direct_url(1, "/logout"), Some(token), &Value::Null)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = fleet.get(&fleet.direct_url(0, "/me"), Some(token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    for port in [
        fleet.instances[0].port,
        fleet.instances[1].port,
        fleet.balancer_port,
    ] {
        for (path, status) in [("live", "live"), ("ready", "ready")] {
            let resp = fleet
                .http
                .get(format!("https://localhost:{port}/health/{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["status"], status);
        }
    }
}

/// What a client was told, for the check afterwards.
#[derive(Default)]
struct Acknowledged {
    /// Signed document id → the envelope the client received.
    envelopes: HashMap<String, Value>,
    /// (card serial, key) of every code answered 200.
    codes: Vec<(String, String)>,
    /// Answers after the kill that succeeded.
    after_kill: usize,
}

/// One citizen's load: log in, then sign their documents one by one. A
/// failed connection (the killed instance) starts the step again.
async fn citizen_load(
    fleet: Arc<Fleet>,
    citizen: Citizen,
    documents: Vec<(String, String)>,
    killed: Arc<tokio::sync::Notify>,
    kill_done: Arc<std::sync::atomic::AtomicBool>,
) -> Acknowledged {
    use std::sync::atomic::Ordering;
    let mut ack = Acknowledged::default();
    let mut token: Option<String> = None;
    let mut docs = documents.into_iter().peekable();
    let mut steps = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while docs.peek().is_some() {
        assert!(Instant::now() < deadline, "the load did not finish");
        steps += 1;
        if steps == 3 {
            killed.notify_one();
        }
        let Some(session) = token.clone() else {
            let Ok((status, body)) = fleet
                .try_post(
                    &fleet.url("/login"),
                    None,
                    &json!({"username": citizen.username, "password": kodekort_tests::PASSWORD}),
                )
                .await
            else {
                continue;
            };
            assert_eq!(status, StatusCode::OK, "{body}");
            let key = body["key"].as_str().unwrap().to_owned();
            let url = fleet.url(&format!(
                "/login/{}/code",
                body["login_id"].as_str().unwrap()
            ));
            if let Ok((status, body)) = fleet
                .try_post(&url, None, &json!({"code": citizen.code(&key)}))
                .await
            {
                assert_eq!(status, StatusCode::OK, "{body}");
                ack.codes.push((citizen.serial.clone(), key));
                token = Some(body["token"].as_str().unwrap().to_owned());
                if kill_done.load(Ordering::SeqCst) {
                    ack.after_kill += 1;
                }
            }
            continue;
        };
        let (id, sha256) = docs.peek().unwrap().clone();
        let Ok((status, ch)) = fleet
            .try_post(
                &fleet.url(&format!("/documents/{id}/sign")),
                Some(&session),
                &json!({"sha256": sha256}),
            )
            .await
        else {
            continue;
        };
        if error_code(&ch) == "document_not_pending" {
            // Signed by an answer whose reply was lost with the instance.
            docs.next();
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{ch}");
        let key = ch["key"].as_str().unwrap().to_owned();
        let url = fleet.url(&format!(
            "/signatures/{}/code",
            ch["sign_id"].as_str().unwrap()
        ));
        if let Ok((status, signed)) = fleet
            .try_post(&url, Some(&session), &json!({"code": citizen.code(&key)}))
            .await
        {
            assert_eq!(status, StatusCode::OK, "{signed}");
            ack.codes.push((citizen.serial.clone(), key));
            ack.envelopes.insert(id, signed["envelope"].clone());
            docs.next();
            if kill_done.load(Ordering::SeqCst) {
                ack.after_kill += 1;
            }
        }
    }
    ack
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_mid_load_loses_nothing_it_acknowledged() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(fleet) = Fleet::start(2).await else {
        return;
    };
    let provider = fleet.add_provider("Banken");
    let mut work = Vec::new();
    for c in 0..6 {
        let citizen = fleet.add_citizen(&format!("borger{c}"));
        let mut docs = Vec::new();
        for d in 0..12 {
            let (status, doc) = fleet
                .post(
                    &fleet.url("/provider/documents"),
                    Some(&provider),
                    &json!({"recipient": citizen.username, "title": format!("Lån {d}"),
                            "content_type": "text/plain", "content": format!("Vilkår {c}-{d}.\n")}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{doc}");
            docs.push((
                doc["id"].as_str().unwrap().to_owned(),
                doc["sha256"].as_str().unwrap().to_owned(),
            ));
        }
        work.push((citizen, docs));
    }
    let fleet = Arc::new(fleet);
    let killed = Arc::new(tokio::sync::Notify::new());
    let kill_done = Arc::new(AtomicBool::new(false));
    let mut set = JoinSet::new();
    for (citizen, docs) in work {
        set.spawn(citizen_load(
            fleet.clone(),
            citizen,
            docs,
            killed.clone(),
            kill_done.clone(),
        ));
    }
    // Mid-load: SIGKILL instance 0.
    killed.notified().await;
    fleet.kill(0);
    kill_done.store(true, Ordering::SeqCst);
    let results = set.join_all().await;

    let mut envelopes = 0;
    let mut codes = 0;
    let mut lost = 0;
    let mut double_spent = 0;
    let mut seen = HashSet::new();
    let mut after_kill = 0;
    for ack in &results {
        after_kill += ack.after_kill;
        for (id, envelope) in &ack.envelopes {
            envelopes += 1;
            let row = fleet.query(&format!(
                "SELECT status, envelope FROM documents WHERE id = '{id}'"
            ));
            let stored: Option<Value> = row[0][1]
                .as_deref()
                .map(|e| serde_json::from_str(e).unwrap());
            if row[0][0].as_deref() != Some("signed") || stored.as_ref() != Some(envelope) {
                lost += 1;
            }
        }
        for (serial, key) in &ack.codes {
            codes += 1;
            if !seen.insert((serial.clone(), key.clone())) {
                double_spent += 1;
            }
            let used = fleet.query(&format!(
                "SELECT (used_at IS NOT NULL)::text FROM card_codes WHERE serial = '{serial}' AND key = '{key}'"
            ));
            if used[0][0].as_deref() != Some("true") {
                lost += 1;
            }
        }
    }
    println!(
        "kill test: {envelopes} acknowledged signatures and {codes} accepted codes checked: \
         {lost} lost, {double_spent} double-spent; {after_kill} succeeded after the kill"
    );
    assert_eq!((lost, double_spent), (0, 0));
    assert!(
        after_kill > 0,
        "the load did not carry on through the other instance"
    );
    // Every document ends signed; those not acknowledged were signed by an
    // answer whose reply died with the instance.
    let signed = fleet.query("SELECT count(*)::text FROM documents WHERE status = 'signed'");
    let signed: usize = signed[0][0].as_deref().unwrap().parse().unwrap();
    assert_eq!(signed, 6 * 12);
    println!(
        "kill test: {} signed with the reply lost in the kill",
        signed - envelopes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_finishes_what_is_in_flight_and_exits() {
    let Some(fleet) = Fleet::start(2).await else {
        return;
    };
    let fleet = Arc::new(fleet);
    let citizens: Vec<_> = (0..4)
        .map(|i| fleet.add_citizen(&format!("c{i}")))
        .collect();
    let mut set = JoinSet::new();
    for citizen in &citizens {
        let (fleet, username) = (fleet.clone(), citizen.username.clone());
        set.spawn(async move {
            fleet
                .try_post(
                    &fleet.direct_url(0, "/login"),
                    None,
                    &json!({"username": username, "password": kodekort_tests::PASSWORD}),
                )
                .await
        });
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut child = fleet.terminate(0);
    // Not ready at once, so the balancer stops sending new requests…
    let resp = fleet
        .http
        .get(format!(
            "https://localhost:{}/health/ready",
            fleet.instances[0].port
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "draining");
    // …while every request it had taken is answered.
    for answer in set.join_all().await {
        let (status, body) = answer.expect("a request in flight was dropped");
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let exited = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exited.success(), "{exited}");
    // The balancer has moved on: logins go through the other instance.
    let token = login(&fleet, &citizens[0]).await;
    assert!(!token.is_empty());
}

/// A TCP forwarder to PostgreSQL that can be cut and restored: the
/// database "goes away" for one instance without stopping the cluster.
struct Forwarder {
    port: u16,
    upstream: std::net::SocketAddr,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Forwarder {
    async fn start(upstream: std::net::SocketAddr) -> Forwarder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let forwarder = Forwarder {
            port,
            upstream,
            task: std::sync::Mutex::new(None),
        };
        forwarder.serve(listener);
        forwarder
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Closes the listener and every connection through it.
    fn cut(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_the_database() {
    use kodekort_server::service::Setup;
    use kodekort_server::store::DatabaseUrl;
    if kodekort_tests::store::admin_url().is_none() {
        eprintln!("skipped: no PostgreSQL cluster (KODEKORT_TEST_PG)");
        return;
    }
    let url = url::Url::parse(&kodekort_tests::store::fresh_database()).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap();
    let forwarder = Forwarder::start(upstream).await;
    let mut through = url.clone();
    through.set_port(Some(forwarder.port)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    kodekort_server::keys::Keys::create(dir.path()).unwrap();
    let setup = Setup {
        data_dir: dir.path().to_path_buf(),
        database: Some(DatabaseUrl::parse(through.as_str()).unwrap()),
        key_dir: None,
    };
    let service = tokio::task::spawn_blocking(move || {
        kodekort_server::Service::open_with(&setup, Arc::new(kodekort_server::SystemClock))
    })
    .await
    .unwrap()
    .unwrap();
    let tls =
        kodekort_server::tls::server_config(&kodekort_server::tls::CertSource::DevelopmentCa {
            data_dir: dir.path().to_path_buf(),
        })
        .unwrap();
    let running =
        kodekort_server::api::start("127.0.0.1:0".parse().unwrap(), tls, Arc::new(service))
            .await
            .unwrap();
    let http = kodekort_tests::pinned_client(&kodekort_server::tls::ca_pem(dir.path()));
    let health = |path: &'static str| {
        let (http, port) = (http.clone(), running.addr.port());
        async move {
            let resp = http
                .get(format!("https://localhost:{port}/health/{path}"))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            (
                status,
                resp.json::<Value>().await.unwrap()["status"].clone(),
            )
        }
    };
    assert_eq!(health("ready").await, (StatusCode::OK, json!("ready")));
    forwarder.cut();
    assert_eq!(
        health("ready").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!("database_unavailable")
        )
    );
    // Alive all the same: a restart would not bring the database back.
    assert_eq!(health("live").await, (StatusCode::OK, json!("live")));
    forwarder.restore().await;
    let mut ready = false;
    for _ in 0..50 {
        if health("ready").await.0 == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "ready again once the database is back");
    running.shutdown().await.unwrap();
}

//! `cargo xtask bench backend`: the reference backend's throughput, all in
//! one run on the same cores, so the figures compare as ratios.
//!
//! 1. The bound: argon2id verifications per second with one thread per core.
//! 2. Full logins per second (password, then code) by concurrent clients over HTTPS.
//! 3. Durable signatures per second (sign, then code) by concurrent clients.
//! 4. OpenID Connect logins per second: a service's authorization request,
//!    the login pages (password, then code), and the token exchange with
//!    PKCE, each with a fresh code (`prompt=login`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kodekort_proto::Password;
use kodekort_server::oidc::signing::Alg;
use kodekort_server::password;
use kodekort_server::service::NewClient;
use kodekort_tests::oidc_browser::Browser;
use kodekort_tests::{pinned_client, Harness, TestUser};
use serde_json::{json, Value};
use sha2::Digest as _;

const CLIENTS: usize = 16;
const PHASE: Duration = Duration::from_secs(8);
/// Citizens per signing client, used one after another.
const SIGNERS_PER_CLIENT: usize = 5;
/// Fewer than a card's 147 codes left after login, so no card runs out.
const DOCS_PER_SIGNER: usize = 140;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" of the command name; utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A citizen who signs in the benchmark: session and pending (id, sha256).
struct Signer {
    user: TestUser,
    token: String,
    docs: Vec<(String, String)>,
}

struct Figures {
    rate: f64,
    /// Cores kept busy on average during the phase.
    cores_busy: f64,
    p50: Duration,
    p99: Duration,
    count: usize,
}

fn summarise(mut lat: Vec<Duration>, elapsed: Duration, cpu: f64) -> Figures {
    lat.sort();
    Figures {
        cores_busy: cpu / elapsed.as_secs_f64(),
        rate: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        count: lat.len(),
    }
}

fn argon2_bound() -> f64 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let phc = password::hash(&Password::new("bench password 1")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (phc, stop) = (phc.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    password::verify(&Password::new("wrong password"), &phc).unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(PHASE);
    stop.store(true, Ordering::Relaxed);
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

async fn post(http: &reqwest::Client, url: String, bearer: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn login(h: &Harness, http: &reqwest::Client, user: &TestUser) -> String {
    let ch = post(
        http,
        h.url("/login"),
        None,
        json!({"username": user.username, "password": user.password}),
    )
    .await;
    let code = user.code(ch["key"].as_str().unwrap());
    let s = post(
        http,
        h.url(&format!("/login/{}/code", ch["login_id"].as_str().unwrap())),
        None,
        json!({"code": code}),
    )
    .await;
    s["token"].as_str().unwrap().to_owned()
}

/// A service's client, for the OIDC phase.
struct Service {
    id: String,
    secret: String,
    redirect: String,
}

/// One whole OIDC login through the pages and the token endpoint.
async fn oidc_login(h: &Harness, browser: &Browser, service: &Service, user: &TestUser) {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    // Unique, and of the shape PKCE asks (43 characters); a bench needs no secrecy.
    static LOGINS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let verifier = format!(
        "bench-verifier-{:028}",
        LOGINS.fetch_add(1, Ordering::Relaxed)
    );
    let challenge = b64.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let base = format!("https://localhost:{}", h.addr.port());
    let authorize = format!(
        "{base}/oidc/authorize?response_type=code&scope=openid%20profile&prompt=login\
         &client_id={}&redirect_uri={}&state=s&nonce=n&code_challenge={challenge}\
         &code_challenge_method=S256",
        service.id, service.redirect
    );
    let page = browser.visit(&authorize).await;
    let mut next = browser.log_in(&page, user).await;
    if next.location.is_none() {
        next = browser.consent(&next, true).await;
    }
    let code = next.redirect_param("code").expect("a code");
    let answer: Value = h
        .http
        .post(format!("{base}/oidc/token"))
        .basic_auth(&service.id, Some(&service.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &service.redirect),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["id_token"].is_string(), "{answer}");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!("Kodekort backend benchmark: {CLIENTS} concurrent HTTPS clients, {PHASE:?} per phase");
    let bound = tokio::task::spawn_blocking(argon2_bound).await.unwrap();
    println!("argon2id verifications/s (all cores, the bound): {bound:.1}");

    let h = Arc::new(Harness::start().await);
    let ca = h.data_dir().join("ca.pem");
    let mut login_users = Vec::new();
    for i in 0..CLIENTS {
        login_users.push(
            h.add_user(&format!("login{i}"), &format!("Bench Borger {i}"))
                .await,
        );
    }

    // Logins: each client logs its own citizen in, again and again.
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let deadline = start + PHASE;
    let tasks: Vec<_> = login_users
        .into_iter()
        .map(|user| {
            let (h, http) = (h.clone(), pinned_client(&ca));
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    login(&h, &http, &user).await;
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let logins = summarise(lat, start.elapsed(), cpu_seconds() - cpu_start);

    // Signatures: each client signs for its own citizens, one after another;
    // each citizen has more documents than codes before a replacement card.
    let provider = h.add_provider("Bench provider").await;
    let provider_http = pinned_client(&ca);
    let fill = Instant::now();
    let mut clients: Vec<Vec<Signer>> = Vec::new();
    for c in 0..CLIENTS {
        let http = pinned_client(&ca);
        let mut own = Vec::new();
        for u in 0..SIGNERS_PER_CLIENT {
            let user = h
                .add_user(&format!("sign{c}x{u}"), &format!("Signer {c}-{u}"))
                .await;
            let token = login(&h, &http, &user).await;
            let submits: Vec<_> = (0..DOCS_PER_SIGNER)
                .map(|n| {
                    let (http, url, key) = (provider_http.clone(), h.url("/provider/documents"), provider.clone());
                    let body = json!({"recipient": user.username, "title": format!("Bench {n}"),
                        "content_type": "text/plain", "content": format!("Benchmark document {n} for {}", user.username)});
                    tokio::spawn(async move { post(&http, url, Some(&key), body).await })
                })
                .collect();
            let mut docs = Vec::new();
            for s in submits {
                let d = s.await.unwrap();
                docs.push((
                    d["id"].as_str().unwrap().to_owned(),
                    d["sha256"].as_str().unwrap().to_owned(),
                ));
            }
            own.push(Signer { user, token, docs });
        }
        clients.push(own);
    }
    let submitted = CLIENTS * SIGNERS_PER_CLIENT * DOCS_PER_SIGNER;
    let submit_rate = submitted as f64 / fill.elapsed().as_secs_f64();

    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let deadline = start + PHASE;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|own| {
            let (h, http) = (h.clone(), pinned_client(&ca));
            tokio::spawn(async move {
                let mut lat = Vec::new();
                'users: for Signer { user, token, docs } in own {
                    for (id, sha) in docs {
                        if Instant::now() >= deadline {
                            break 'users;
                        }
                        let t = Instant::now();
                        let ch = post(
                            &http,
                            h.url(&format!("/documents/{id}/sign")),
                            Some(&token),
                            json!({"sha256": sha}),
                        )
                        .await;
                        assert_eq!(ch["card_serial"], user.serial.as_str());
                        let code = user.code(ch["key"].as_str().unwrap());
                        post(
                            &http,
                            h.url(&format!(
                                "/signatures/{}/code",
                                ch["sign_id"].as_str().unwrap()
                            )),
                            Some(&token),
                            json!({"code": code}),
                        )
                        .await;
                        lat.push(t.elapsed());
                    }
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let signatures = summarise(lat, start.elapsed(), cpu_seconds() - cpu_start);

    // OpenID Connect: each client is a browser logging its own citizen in
    // to one service, with a fresh code every time.
    let redirect = "https://skat.example/callback".to_owned();
    let new = NewClient {
        name: "Bench service".into(),
        redirect_uris: vec![redirect.clone()],
        post_logout_redirect_uris: vec![],
        public: false,
        jwks: None,
        sector: None,
        id_token_alg: Alg::Rs256,
    };
    let (id, secret) = h
        .with_service(move |s| {
            let (info, secret) = s.add_client(&new).unwrap();
            (info.id, secret.unwrap().expose().to_owned())
        })
        .await;
    let service = Arc::new(Service {
        id,
        secret,
        redirect,
    });
    let mut oidc_users = Vec::new();
    for i in 0..CLIENTS {
        oidc_users.push(
            h.add_user(&format!("oidc{i}"), &format!("OIDC Borger {i}"))
                .await,
        );
    }
    let base = format!("https://localhost:{}", h.addr.port());
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let deadline = start + PHASE;
    let tasks: Vec<_> = oidc_users
        .into_iter()
        .map(|user| {
            let (h, service, browser) = (h.clone(), service.clone(), Browser::new(&base, &ca));
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    oidc_login(&h, &browser, &service, &user).await;
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let oidc = summarise(lat, start.elapsed(), cpu_seconds() - cpu_start);

    println!();
    println!("| measure | count | per second | p50 | p99 | cores busy |");
    println!("|---|---|---|---|---|---|");
    println!("| argon2id verifications (bound) | | {bound:.1} | | | |");
    for (name, f) in [
        ("full logins (password + code)", &logins),
        ("durable signatures (sign + code)", &signatures),
        ("OIDC logins (authorize, pages, token)", &oidc),
    ] {
        println!(
            "| {name} | {} | {:.1} | {:.1?} | {:.1?} | {:.2} |",
            f.count, f.rate, f.p50, f.p99, f.cores_busy
        );
    }
    println!("| provider submissions (setup, {submitted}) | | {submit_rate:.1} | | | |");
    println!();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let argon2_ms = 1000.0 * cores / bound;
    let login_ms = 1000.0 * logins.cores_busy / logins.rate;
    println!(
        "CPU per login: {login_ms:.1} ms, of which argon2 {argon2_ms:.1} ms and the rest \
         (TLS, HTTP, JSON, SQLite, this process's own clients) {:.1} ms",
        login_ms - argon2_ms
    );
    println!(
        "CPU per signature: {:.2} ms",
        1000.0 * signatures.cores_busy / signatures.rate
    );
    println!(
        "logins/s ÷ argon2 bound = {:.2}  (goal ≥ 0.9)",
        logins.rate / bound
    );
    println!("signatures/s = {:.0}  (goal ≥ 1000)", signatures.rate);
    println!(
        "CPU per OIDC login: {:.1} ms; OIDC logins/s ÷ argon2 bound = {:.2}",
        1000.0 * oidc.cores_busy / oidc.rate,
        oidc.rate / bound
    );
}

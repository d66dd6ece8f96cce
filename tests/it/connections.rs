//! The listener under a hostile client: slow and idle connections are held
//! only up to the documented limits and caps, a normal client stays fast
//! meanwhile, and refusals reach common clients (curl, Python's http.client)
//! as the JSON error, those of the HTTP layer too.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kodekort_server::listener::{self, Limits};
use kodekort_tests::{pinned_client, pinned_tls, Harness, TestUser};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;

/// What a hostile connection does after connecting, and then holds.
#[derive(Clone, Copy, Debug)]
enum Slow {
    /// Nothing: no TLS at all.
    Silent,
    /// The first bytes of a ClientHello.
    PartialHello,
    /// A finished handshake, then nothing.
    IdleTls,
    /// A finished handshake and half a request head.
    HalfHead,
}

const KINDS: [Slow; 4] = [
    Slow::Silent,
    Slow::PartialHello,
    Slow::IdleTls,
    Slow::HalfHead,
];

/// Held connections, each with the time after opening at which the server
/// closed it, once it has.
struct Attack {
    closed: Arc<Mutex<Vec<Duration>>>,
    // Dropping the attack aborts its tasks, which closes its connections.
    _tasks: JoinSet<()>,
}

impl Attack {
    fn closed(&self) -> Vec<Duration> {
        self.closed.lock().unwrap().clone()
    }
}

async fn connect_from(source: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads until the server ends the stream, discarding what comes.
async fn until_closed(mut stream: impl AsyncRead + Unpin) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Opens `count` slow connections from `source`, and returns once every one
/// is connected and has sent what its kind sends (or been refused).
async fn attack(h: &Harness, source: IpAddr, count: usize) -> Attack {
    let closed = Arc::new(Mutex::new(Vec::new()));
    let connector = TlsConnector::from(Arc::new(pinned_tls(&h.data_dir().join("ca.pem"))));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(count);
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let kind = KINDS[i % KINDS.len()];
        let mut tcp = connect_from(source, h.addr).await;
        let (closed, connector, ready) = (closed.clone(), connector.clone(), ready_tx.clone());
        tasks.spawn(async move {
            let opened = Instant::now();
            match kind {
                Slow::Silent => {
                    let _ = ready.send(()).await;
                    until_closed(tcp).await;
                }
                Slow::PartialHello => {
                    // A handshake record header and one byte of its body.
                    let _ = tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await;
                    let _ = ready.send(()).await;
                    until_closed(tcp).await;
                }
                Slow::IdleTls | Slow::HalfHead => {
                    let name = "localhost".try_into().unwrap();
                    let handshake = connector.connect(name, tcp).await;
                    // A refused connection fails its handshake at once.
                    if let Ok(mut tls) = handshake {
                        if matches!(kind, Slow::HalfHead) {
                            let head = b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\n";
                            let _ = tls.write_all(head).await;
                            let _ = tls.flush().await;
                        }
                        let _ = ready.send(()).await;
                        until_closed(tls).await;
                    } else {
                        let _ = ready.send(()).await;
                    }
                }
            }
            closed.lock().unwrap().push(opened.elapsed());
        });
    }
    drop(ready_tx);
    for _ in 0..count {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .expect("the slow connections were set up in time")
            .expect("every connection reports");
    }
    Attack {
        closed,
        _tasks: tasks,
    }
}

/// A citizen's whole login, each time on a new connection, as a client
/// started afresh would: login, code, then three reads of `/me`. Returns the
/// latency of every request.
async fn normal_logins(h: &Harness, user: &TestUser, logins: usize) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for _ in 0..logins {
        let http = pinned_client(&h.data_dir().join("ca.pem"));
        let timed = |request: reqwest::RequestBuilder| async move {
            let started = Instant::now();
            let resp = request
                .send()
                .await
                .expect("the normal client got an answer");
            let status = resp.status();
            let body: Value = resp.json().await.unwrap();
            (started.elapsed(), status, body)
        };
        let (t, status, body) = timed(
            http.post(h.url("/login"))
                .json(&json!({"username": user.username, "password": user.password})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        latencies.push(t);
        let (id, key) = (
            body["login_id"].as_str().unwrap(),
            body["key"].as_str().unwrap(),
        );
        let (t, status, body) = timed(
            http.post(h.url(&format!("/login/{id}/code")))
                .json(&json!({"code": user.code(key)})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        latencies.push(t);
        let token = body["token"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            let (t, status, body) = timed(http.get(h.url("/me")).bearer_auth(&token)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            latencies.push(t);
        }
    }
    latencies
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[(latencies.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_slow_connections_from_one_address_leave_a_normal_login_fast() {
    // The test holds both ends of 4,000 connections.
    let fd_limit = listener::raise_fd_limit().unwrap_or(0);
    assert!(
        fd_limit >= 4_500,
        "this test holds 4,000 sockets, and the file-descriptor limit is {fd_limit}: \
         raise the hard limit (ulimit -Hn) to at least 4,500"
    );
    let attacker: IpAddr = "127.0.0.2".parse().unwrap();

    // With the default caps, the one address gets 256 connections; the
    // others end at once, and the normal client from another address is
    // not slowed.
    let h = Harness::start().await;
    let user = h.add_user("anna", "Anna Jensen").await;
    let per_address = Limits::default().max_per_address;
    let started = Instant::now();
    let attack_a = attack(&h, attacker, 2000).await;
    let setup = started.elapsed();
    let latencies = normal_logins(&h, &user, 20).await;
    let closed = attack_a.closed();
    let p99_capped = p99(latencies.clone());
    eprintln!(
        "capped: set-up {setup:?}; {} of 2000 closed at once; p99 {p99_capped:?} over {} requests",
        closed.len(),
        latencies.len()
    );
    assert_eq!(closed.len(), 2000 - per_address, "held beyond the cap");
    assert!(
        closed.iter().all(|t| *t < Duration::from_secs(5)),
        "a refused connection was not closed at once: {:?}",
        closed.iter().max()
    );
    assert!(p99_capped < Duration::from_secs(1), "p99 {p99_capped:?}");
    drop(attack_a);

    // Behind a balancer every client shares an address, and the cap is
    // raised: then the server holds all 2,000 until their time limits, and
    // the normal client is still fast. The limits are long here so that no
    // connection reaches one during the test.
    let long = Duration::from_secs(120);
    let h = Harness::start_with_limits(Limits {
        max_per_address: 4096,
        handshake: long,
        header_read: long,
        ..Limits::default()
    })
    .await;
    let user = h.add_user("anna", "Anna Jensen").await;
    let attack_b = attack(&h, attacker, 2000).await;
    let latencies = normal_logins(&h, &user, 20).await;
    let p99_held = p99(latencies.clone());
    let closed = attack_b.closed();
    eprintln!(
        "held: {} of 2000 closed; p99 {p99_held:?} over {} requests",
        closed.len(),
        latencies.len()
    );
    assert!(closed.is_empty(), "{} slow connections ended", closed.len());
    assert!(p99_held < Duration::from_secs(1), "p99 {p99_held:?}");
}

/// Opens a TLS connection to the harness's server.
async fn tls(h: &Harness) -> tokio_rustls::client::TlsStream<TcpStream> {
    let connector = TlsConnector::from(Arc::new(pinned_tls(&h.data_dir().join("ca.pem"))));
    let tcp = TcpStream::connect(h.addr).await.unwrap();
    connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads what the server sends until it closes, and how long that took.
async fn read_until_closed(mut stream: impl AsyncRead + Unpin) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut all)).await;
    (all, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_end_at_the_documented_limits() {
    let h = Harness::start().await;
    let limits = Limits::default();
    let (handshake, header_read) = (limits.handshake, limits.header_read);

    let silent = TcpStream::connect(h.addr).await.unwrap();
    let mut partial = TcpStream::connect(h.addr).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02]).await.unwrap();
    let idle = tls(&h).await;
    let mut half_head = tls(&h).await;
    half_head
        .write_all(b"GET /api/v1/trust HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    half_head.flush().await.unwrap();
    // One whole request, answered, then nothing: the keep-alive idle limit.
    let mut kept_alive = tls(&h).await;
    kept_alive
        .write_all(b"GET /api/v1/trust HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    kept_alive.flush().await.unwrap();
    let mut answer = vec![0u8; 64 * 1024];
    let n = kept_alive.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    // A head that promises a body, and one byte of it.
    let mut half_body = tls(&h).await;
    half_body
        .write_all(
            b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    half_body.flush().await.unwrap();

    let (silent, partial, idle, half_head, kept_alive, half_body) = tokio::join!(
        read_until_closed(silent),
        read_until_closed(partial),
        read_until_closed(idle),
        read_until_closed(half_head),
        read_until_closed(kept_alive),
        read_until_closed(half_body),
    );
    let near = |what: &str, took: Duration, limit: Duration| {
        eprintln!("{what}: closed after {took:?} (limit {limit:?})");
        assert!(
            took + Duration::from_millis(500) >= limit && took <= limit + Duration::from_secs(3),
            "{what} closed after {took:?}, limit {limit:?}"
        );
    };
    near("no TLS", silent.1, handshake);
    near("partial ClientHello", partial.1, handshake);
    near("idle after handshake", idle.1, header_read);
    near("half a head", half_head.1, header_read);
    near("keep-alive idle", kept_alive.1, header_read);
    // The body limit answers, with the JSON error, before closing.
    near("half a body", half_body.1, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&half_body.0);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"request_timeout""#), "{text}");
}

/// Sends raw bytes over TLS and parses the one answer: status, headers, JSON.
async fn raw_exchange(h: &Harness, request: &[u8]) -> (u16, String, Value) {
    let mut stream = tls(h).await;
    stream.write_all(request).await.unwrap();
    stream.flush().await.unwrap();
    let (bytes, _) = read_until_closed(stream).await;
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    let status = head[9..12].parse().unwrap();
    let json = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, head.to_ascii_lowercase(), json)
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_of_the_http_layer_carry_the_json_error() {
    let h = Harness::start().await;
    let get = |path: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
    };
    let many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases = [
        // hyper's own refusals, given the JSON error on the way out.
        (
            "a malformed request line",
            "GARBAGE\r\n\r\n".to_owned(),
            400,
            "malformed_http",
        ),
        (
            "a bad header line",
            get("/api/v1/trust", "no colon here\r\n"),
            400,
            "malformed_http",
        ),
        (
            "a 70 KiB address",
            get(&format!("/{}", "a".repeat(70_000)), ""),
            414,
            "uri_too_long",
        ),
        (
            "a 100 KiB header",
            get(
                "/api/v1/trust",
                &format!("X-A: {}\r\n", "a".repeat(100_000)),
            ),
            431,
            "headers_too_large",
        ),
        (
            "120 headers",
            get("/api/v1/trust", &many),
            431,
            "headers_too_large",
        ),
        // The API's own limits, below hyper's.
        (
            "a 10 KiB address",
            get(&format!("/{}", "a".repeat(10_000)), ""),
            414,
            "uri_too_long",
        ),
        (
            "a 20 KiB header",
            get("/api/v1/trust", &format!("X-A: {}\r\n", "a".repeat(20_000))),
            431,
            "headers_too_large",
        ),
    ];
    for (what, request, status, code) in cases {
        let (got, head, body) = raw_exchange(&h, request.as_bytes()).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {head}"
        );
    }
    // Just under the API's limits is served.
    let (got, _, body) = raw_exchange(
        &h,
        get("/api/v1/trust", &format!("X-A: {}\r\n", "a".repeat(15_000))).as_bytes(),
    )
    .await;
    assert_eq!(got, 200, "{body}");
}

fn ca(h: &Harness) -> String {
    h.data_dir().join("ca.pem").display().to_string()
}

fn big_body(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("big.json");
    std::fs::write(&path, vec![b'a'; 5 * 1024 * 1024]).unwrap();
    path
}

/// The output of a client program that must have succeeded.
fn stdout_of(program: &str, output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program}: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_reaches_curl_and_python_as_the_json_413() {
    let h = Harness::start().await;
    let url = h.url("/login");
    let body = big_body(h.data_dir());
    let (ca, port) = (ca(&h), h.addr.port());

    let curl = tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--cacert",
            &ca,
            "--write-out",
            "\n%{http_code}",
        ])
        .args(["-H", "content-type: application/json", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(&url)
        .output()
        .await
        .expect("curl runs (Debian package curl)");
    let out = stdout_of("curl", &curl);
    let (json, status) = out.rsplit_once('\n').unwrap();
    assert_eq!(status, "413", "{out}");
    let json: Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["error"]["code"], "payload_too_large");

    // Python's standard client sends the whole body before it reads: it
    // needs the server to read the rest rather than reset the connection.
    // Once with a declared length, once chunked with none.
    let script = r#"
import http.client, ssl, sys, json
ca, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
def post(**kw):
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
    c.request("POST", "/api/v1/login", headers={"content-type": "application/json"}, **kw)
    r = c.getresponse()
    return r.status, json.loads(r.read())["error"]["code"]
body = open(path, "rb").read()
print(*post(body=body))
print(*post(body=(body[i:i + 65536] for i in range(0, len(body), 65536)), encode_chunked=True))
"#;
    let python = tokio::process::Command::new("python3")
        .args(["-c", script, &ca, &port.to_string()])
        .arg(&body)
        .output()
        .await
        .expect("python3 runs");
    let out = stdout_of("python3", &python);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["413 payload_too_large", "413 payload_too_large"]
    );

    // The server is none the worse.
    let (s, _) = h.get("/trust", None).await;
    assert_eq!(s, StatusCode::OK);
}

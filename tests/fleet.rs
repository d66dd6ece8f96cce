//! Several real `kodekort-server` processes on one PostgreSQL database, with
//! one key directory, behind a real HAProxy on loopback: what an operator
//! runs for more than one machine, in miniature (ARCHITECTURE.md,
//! "Scale-out").
//!
//! HAProxy passes TLS through (TCP mode): the instances hold the
//! certificate, the client pins the CA as it would pin a single server, and
//! the balancer never sees a password or a code. It checks each instance's
//! `/health/ready` over TLS every 300 ms.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use kodekort_proto::wire::PrintedCard;
use reqwest::StatusCode;
use serde_json::Value;

use crate::{pinned_client, run_bin, store, workspace_bin, PASSWORD};

/// One server process.
pub struct Instance {
    pub port: u16,
    pub data: PathBuf,
    /// Its stderr: the request log.
    pub log: PathBuf,
    child: std::sync::Mutex<Option<Child>>,
}

/// A citizen made with the operator CLI, with the codes of their card.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub username: String,
    pub serial: String,
    pub codes: HashMap<String, String>,
}

impl Citizen {
    pub fn code(&self, key: &str) -> String {
        self.codes[key].clone()
    }

    pub fn wrong_code(&self, key: &str) -> String {
        let right: u32 = self.code(key).parse().unwrap();
        format!("{:06}", (right + 1) % 1_000_000)
    }
}

pub struct Fleet {
    pub dir: tempfile::TempDir,
    /// The shared database's URL.
    pub database: String,
    pub key_dir: PathBuf,
    pub ca: PathBuf,
    pub instances: Vec<Instance>,
    pub balancer_port: u16,
    balancer: Child,
    pub http: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Fleet {
    /// `n` instances and the balancer; `None` (the test says it is skipped)
    /// when no PostgreSQL cluster is set up.
    pub async fn start(n: usize) -> Option<Fleet> {
        if store::admin_url().is_none() {
            eprintln!(
                "skipped: no PostgreSQL cluster (KODEKORT_TEST_PG); `cargo xtask test` starts one"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let database = store::fresh_database();
        let key_dir = dir.path().join("keys");
        let out = run_bin(
            "kodekort-server",
            &["keys", "init", "--key-dir", key_dir.to_str().unwrap()],
            &[],
            "",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // One certificate for every instance, as an operator would deploy.
        let tls = dir.path().join("tls");
        std::fs::create_dir_all(&tls).unwrap();
        kodekort_server::tls::ensure_development_ca(&tls).unwrap();
        let ca = tls.join("ca.pem");
        let balancer_port = free_port();
        let mut fleet = Fleet {
            database,
            key_dir,
            http: pinned_client(&ca),
            ca,
            instances: Vec::new(),
            balancer_port,
            balancer: Command::new("true").spawn().unwrap(),
            dir,
        };
        for i in 0..n {
            let instance = fleet.start_instance(i).await;
            fleet.instances.push(instance);
        }
        fleet.balancer = fleet.start_balancer();
        fleet.wait_until_ready().await;
        Some(fleet)
    }

    /// `--data`, `--key-dir` and `--database` of instance `i`'s data dir.
    pub fn store_args(&self, data: &Path) -> Vec<String> {
        vec![
            "--data".into(),
            data.to_str().unwrap().into(),
            "--key-dir".into(),
            self.key_dir.to_str().unwrap().into(),
            "--database".into(),
            self.database.clone(),
        ]
    }

    async fn start_instance(&self, i: usize) -> Instance {
        let data = self.dir.path().join(format!("instance-{i}"));
        let log = self.dir.path().join(format!("instance-{i}.log"));
        let tls = self.dir.path().join("tls");
        let mut cmd = Command::new(workspace_bin("kodekort-server"));
        cmd.arg("serve")
            .args(self.store_args(&data))
            .args(["--listen", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(tls.join("tls.pem"))
            .arg("--tls-key")
            .arg(tls.join("tls.key"))
            .args(["--max-connections-per-address", "10000"])
            .args(["--drain-seconds", "1"])
            .arg("--public-url")
            .arg(format!("https://localhost:{}", self.balancer_port))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let log_path = log.clone();
        let port = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line.trim()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "instance did not start: {line:?}\n{}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    )
                })
        })
        .await
        .unwrap();
        Instance {
            port,
            data,
            log,
            child: std::sync::Mutex::new(Some(child)),
        }
    }

    fn start_balancer(&self) -> Child {
        let config = self.dir.path().join("haproxy.cfg");
        let servers: String = self
            .instances
            .iter()
            .enumerate()
            .map(|(i, inst)| format!("  server i{i} 127.0.0.1:{}\n", inst.port))
            .collect();
        std::fs::write(
            &config,
            format!(
                "global\n  maxconn 4096\n\
                 defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n  \
                 timeout server 60s\n  retries 3\n  option redispatch\n\
                 frontend kodekort\n  bind 127.0.0.1:{port}\n  default_backend instances\n\
                 backend instances\n  balance roundrobin\n  option httpchk GET /health/ready\n  \
                 http-check expect status 200\n  \
                 default-server check check-ssl verify required ca-file {ca} check-sni localhost \
                 inter 300ms fall 1 rise 1\n{servers}",
                port = self.balancer_port,
                ca = self.ca.display(),
            ),
        )
        .unwrap();
        Command::new("haproxy")
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("haproxy.log")).unwrap())
            .spawn()
            .expect("haproxy (Debian package `haproxy`) must be installed")
    }

    async fn wait_until_ready(&self) {
        for _ in 0..100 {
            let ready = self
                .http
                .get(format!(
                    "https://localhost:{}/health/ready",
                    self.balancer_port
                ))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "the balancer never answered ready:\n{}",
            std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
        );
    }

    /// The API through the balancer.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/api/v1{path}", self.balancer_port)
    }

    /// The API of one instance, directly.
    pub fn direct_url(&self, i: usize, path: &str) -> String {
        format!("https://localhost:{}/api/v1{path}", self.instances[i].port)
    }

    /// POSTs JSON to `url`; `Err` if the connection failed (a killed instance).
    pub async fn try_post(
        &self,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self.http.post(url).json(body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        Ok((status, body))
    }

    pub async fn post(&self, url: &str, bearer: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.try_post(url, bearer, body).await.unwrap()
    }

    pub async fn get(&self, url: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    /// An operator command on the shared database, while the fleet runs.
    pub fn operator(&self, args: &[&str], stdin: &str) -> Output {
        let data = self.dir.path().join("operator");
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(self.store_args(&data));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = run_bin("kodekort-server", &all, &[("RUST_LOG", "warn")], stdin);
        assert!(
            out.status.success(),
            "kodekort-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A citizen, made with `user add` while the instances run.
    pub fn add_citizen(&self, username: &str) -> Citizen {
        let card = self.dir.path().join(format!("{username}.json"));
        self.operator(
            &[
                "user",
                "add",
                "--username",
                username,
                "--name",
                "Prøve Borger",
                "--password-stdin",
                "--card-json",
                card.to_str().unwrap(),
            ],
            &format!("{PASSWORD}\n"),
        );
        let card: PrintedCard = serde_json::from_slice(&std::fs::read(&card).unwrap()).unwrap();
        Citizen {
            username: username.to_owned(),
            serial: card.serial,
            codes: card.codes.into_iter().map(|p| (p.key, p.code)).collect(),
        }
    }

    /// A provider's API key, from `provider add`.
    pub fn add_provider(&self, name: &str) -> String {
        let out = self.operator(&["provider", "add", "--name", name], "");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Kills instance `i` with SIGKILL: no chance to finish anything.
    pub fn kill(&self, i: usize) {
        if let Some(mut child) = self.instances[i].child.lock().unwrap().take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Sends SIGTERM to instance `i`; its process, to wait for.
    pub fn terminate(&self, i: usize) -> Child {
        let child = self.instances[i]
            .child
            .lock()
            .unwrap()
            .take()
            .expect("instance runs");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child
    }

    /// How many requests instance `i` logged whose path contains `part`.
    pub fn served(&self, i: usize, part: &str) -> usize {
        std::fs::read_to_string(&self.instances[i].log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("finished processing request") && line.contains(part))
            .count()
    }

    /// Rows of a query on the shared database, every column as text
    /// (`::text` in the query where a column is not).
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = self.database.clone();
        let sql = sql.to_owned();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client
                .query(&sql, &[])
                .unwrap()
                .iter()
                .map(|row| (0..row.len()).map(|i| row.get(i)).collect())
                .collect()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.instances.len() {
            self.kill(i);
        }
        let _ = self.balancer.kill();
        let _ = self.balancer.wait();
    }
}

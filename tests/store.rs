//! Which store the suite runs on. By default each harness has a SQLite file
//! in its data dir. With `KODEKORT_TEST_STORE=postgres`, each harness gets
//! a fresh database in the throw-away cluster that `KODEKORT_TEST_PG` names
//! (an admin URL; `cargo xtask test` starts the cluster and sets both), and
//! keys made once in its data dir, as `kodekort-server keys init` would.
//! Operator commands run with `--data DIR` of such a harness get
//! `KODEKORT_DATABASE` for it, so the tests say the same in both runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kodekort_server::keys::Keys;
use kodekort_server::service::Setup;
use kodekort_server::store::DatabaseUrl;

/// The admin URL of the test cluster, if one runs.
pub fn admin_url() -> Option<String> {
    std::env::var("KODEKORT_TEST_PG")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Whether harnesses use PostgreSQL.
pub fn postgres_mode() -> bool {
    std::env::var("KODEKORT_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// The admin URL, or a failed test that says how to get one.
pub fn require_cluster() -> String {
    admin_url().unwrap_or_else(|| {
        panic!(
            "this test needs PostgreSQL: run it through `cargo xtask test`, which starts a \\
             throw-away cluster, or set KODEKORT_TEST_PG=postgres://USER@HOST:PORT/postgres"
        )
    })
}

fn databases() -> &'static Mutex<HashMap<PathBuf, String>> {
    static MAP: std::sync::OnceLock<Mutex<HashMap<PathBuf, String>>> = std::sync::OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// Creates an empty database in the test cluster; its URL.
pub fn fresh_database() -> String {
    off_runtime(fresh_database_here)
}

fn fresh_database_here() -> String {
    let admin = require_cluster();
    let mut name = [0u8; 8];
    rand_bytes(&mut name);
    let name = format!("kk_{}", hex::encode(name));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("the test cluster at KODEKORT_TEST_PG does not answer: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut url = url::Url::parse(&admin).expect("KODEKORT_TEST_PG is a URL");
    url.set_path(&name);
    url.to_string()
}

fn rand_bytes(out: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(out))
        .expect("/dev/urandom");
}

/// The setup of a harness on `data_dir`: SQLite there, or (in PostgreSQL
/// mode) its own database, the same on every restart. Blocking.
pub fn setup_for(data_dir: &Path) -> Setup {
    if !postgres_mode() {
        return Setup::local(data_dir);
    }
    let url = {
        let mut map = databases().lock().unwrap();
        match map.get(data_dir) {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(data_dir).unwrap();
                Keys::create(data_dir).unwrap();
                let url = fresh_database();
                map.insert(data_dir.to_path_buf(), url.clone());
                url
            }
        }
    };
    Setup {
        data_dir: data_dir.to_path_buf(),
        database: Some(DatabaseUrl::parse(&url).unwrap()),
        key_dir: None,
    }
}

/// `KODEKORT_DATABASE` for an operator command whose `--data` is a harness's
/// data dir in PostgreSQL mode; nothing otherwise.
pub fn env_for_args(args: &[&str]) -> Vec<(&'static str, String)> {
    let data = args
        .windows(2)
        .find(|pair| pair[0] == "--data")
        .map(|pair| PathBuf::from(pair[1]));
    let url = data.and_then(|dir| databases().lock().unwrap().get(&dir).cloned());
    url.map(|url| vec![("KODEKORT_DATABASE", url)])
        .unwrap_or_default()
}

/// The database of a harness's data dir in PostgreSQL mode.
pub fn database_of(data_dir: &Path) -> Option<String> {
    databases().lock().unwrap().get(data_dir).cloned()
}

/// `?1` → `$1`, as the server's store does for PostgreSQL.
fn numbered(sql: &str) -> String {
    let mut out = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let digit_follows = chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if c == '?' && digit_follows { '$' } else { c });
    }
    out
}

/// Runs `f` on a thread of its own: the PostgreSQL client runs its own
/// event loop, which may not start on a thread of the tests' runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().unwrap())
}

/// Runs a statement on a harness's database, whichever store it is,
/// written as for SQLite with text parameters `?1`…; rows changed.
pub fn execute(data_dir: &Path, sql: &str, params: &[&str]) -> u64 {
    off_runtime(|| execute_here(data_dir, sql, params))
}

fn execute_here(data_dir: &Path, sql: &str, params: &[&str]) -> u64 {
    match database_of(data_dir) {
        Some(url) => {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                params.iter().map(|p| p as _).collect();
            client.execute(&numbered(sql), &params).unwrap()
        }
        None => {
            let conn = rusqlite::Connection::open(data_dir.join("kodekort.sqlite3")).unwrap();
            conn.execute(sql, rusqlite::params_from_iter(params.iter()))
                .unwrap() as u64
        }
    }
}

/// The first column of every row, as text, of a query on a harness's
/// database.
pub fn strings(data_dir: &Path, sql: &str) -> Vec<String> {
    off_runtime(|| strings_here(data_dir, sql))
}

fn strings_here(data_dir: &Path, sql: &str) -> Vec<String> {
    match database_of(data_dir) {
        Some(url) => {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client
                .query(&numbered(sql), &[])
                .unwrap()
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect()
        }
        None => {
            let conn = rusqlite::Connection::open(data_dir.join("kodekort.sqlite3")).unwrap();
            let mut q = conn.prepare(sql).unwrap();
            q.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
    }
}

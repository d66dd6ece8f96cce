//! The SQLite back end: one file in WAL mode, with group commit
//! (`group_commit.rs`): a write returns only once its commit is on disk, and
//! the commits that arrive together share one fsync. Its migrations are
//! counted by `PRAGMA user_version`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use r2d2_sqlite::rusqlite::TransactionBehavior;
use r2d2_sqlite::SqliteConnectionManager;

use super::group_commit::GroupCommit;
use super::sql::Tx;
use crate::error::{Error, Result};

#[derive(Clone)]
pub(super) struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// Writers of this process queue here rather than in SQLite's busy
    /// handler, which sleeps in steps of up to 100 ms (seen as p99 spikes in
    /// the benchmark). Other processes (operator commands) still meet the
    /// busy timeout, briefly. It orders writers of one process only: a
    /// second instance on the same file would be a second process, which is
    /// why several instances use PostgreSQL instead.
    writer: Arc<Mutex<()>>,
    /// Makes commits durable, several at a time.
    group: Arc<GroupCommit>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(Duration::from_secs(10))?;
            // journal_mode is set once, in `migrate`: it persists in the file,
            // and setting it on every new connection races for a lock.
            // NORMAL: a commit writes the log without syncing it; the group
            // commit syncs it before anyone is answered.
            c.execute_batch(
                "PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;",
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        let store = SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(())),
            group: Arc::new(GroupCommit::new(path)),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get()?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt(
                "the database cannot use write-ahead logging",
            ));
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if applied > known {
            return Err(Error::SchemaTooNew {
                found: applied,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.pool.get()?;
        Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// `BEGIN IMMEDIATE`; commits if `f` returns Ok, and returns once the
    /// commit is on disk. Runs `f` once.
    pub fn write<T>(&self, f: impl Fn(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let (seq, out) = {
            let _turn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&Tx::sqlite(&tx))?;
            tx.commit()?;
            (self.group.committed(), out)
        };
        // The next writer goes ahead while this one waits for the sync.
        self.group.wait_durable(seq)?;
        Ok(out)
    }

    pub fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&Tx::sqlite(&tx));
        out
    }
}

/// Versioned migrations; `PRAGMA user_version` counts those applied.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE users (
        id              TEXT PRIMARY KEY,
        username        TEXT NOT NULL UNIQUE,
        name            TEXT NOT NULL,
        password_hash   TEXT NOT NULL,
        sealed_key      BLOB NOT NULL,
        certificate     TEXT NOT NULL,
        created_at      INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE cards (
        serial          TEXT PRIMARY KEY,
        user_id         TEXT NOT NULL REFERENCES users(id),
        state           TEXT NOT NULL CHECK (state IN ('active', 'pending', 'retired')),
        issued_at       INTEGER NOT NULL,
        activated_at    INTEGER
    ) STRICT;
    CREATE INDEX cards_by_user ON cards(user_id, state);
    CREATE TABLE card_codes (
        serial          TEXT NOT NULL REFERENCES cards(serial),
        key             TEXT NOT NULL,
        salt            BLOB NOT NULL,
        code_hash       BLOB NOT NULL,
        used_at         INTEGER,
        PRIMARY KEY (serial, key)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE throttle (
        username        TEXT PRIMARY KEY,
        failures        INTEGER NOT NULL,
        last_failure_at INTEGER
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE challenges (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('login', 'sign')),
        username        TEXT NOT NULL,
        user_id         TEXT NOT NULL REFERENCES users(id),
        serial          TEXT NOT NULL,
        key             TEXT NOT NULL,
        document_id     TEXT,
        sha256          TEXT,
        created_at      INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('open', 'succeeded', 'closed')),
        failure_counted INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX open_challenges ON challenges(username) WHERE state = 'open';
    CREATE TABLE sessions (
        token_hash      BLOB PRIMARY KEY,
        user_id         TEXT NOT NULL REFERENCES users(id),
        created_at      INTEGER NOT NULL,
        last_seen_at    INTEGER NOT NULL,
        revoked_at      INTEGER
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE providers (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        key_hash        BLOB NOT NULL UNIQUE,
        created_at      INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE documents (
        id              TEXT PRIMARY KEY,
        recipient_id    TEXT NOT NULL REFERENCES users(id),
        provider_id     TEXT REFERENCES providers(id),
        issuer          TEXT NOT NULL,
        title           TEXT NOT NULL,
        content_type    TEXT NOT NULL,
        content         TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'signed', 'declined')),
        created_at      INTEGER NOT NULL,
        decided_at      INTEGER,
        envelope        TEXT
    ) STRICT;
    CREATE INDEX documents_by_recipient ON documents(recipient_id, created_at);
    ",
    // 2: password evaluations in flight, reserved before Argon2 runs and
    // settled after, so parallel guesses cannot pass the allowance. In the
    // database, so the rule holds for every process on it; with an expiry,
    // so a crash between the two steps does not hold an attempt for ever.
    "
    CREATE TABLE evaluations (
        id              INTEGER PRIMARY KEY,
        username        TEXT NOT NULL,
        expires_at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX evaluations_by_username ON evaluations(username, expires_at);
    ",
    // 3: counts for names with no account lapse (lockout::UNKNOWN_NAME_LAPSE);
    // the sweep finds them by the time of the last failure.
    "
    CREATE INDEX throttle_by_last_failure ON throttle(last_failure_at);
    ",
    // 4: the OpenID Connect provider (store/oidc.rs).
    OIDC,
    // 5: clients with keys (private_key_jwt), and used assertion ids.
    OIDC_CLIENT_KEYS,
    // 6: indexes for the provider's housekeeping.
    OIDC_INDEXES,
    // 7: logins finished in the desktop app (store/oidc_app.rs).
    OIDC_APP_LINKS,
    // 8: the fingerprint of the keys the database was first used with
    // (Keys::fingerprint), so that an instance with other keys refuses to
    // start.
    "
    CREATE TABLE key_check (
        one             INTEGER PRIMARY KEY CHECK (one = 1),
        fingerprint     TEXT NOT NULL
    ) STRICT;
    ",
];

/// Migration 4: the provider's tables.
const OIDC: &str = "
    CREATE TABLE oidc_keys (
        kid             TEXT PRIMARY KEY,
        alg             TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),
        sealed_private  BLOB NOT NULL,
        created_at      INTEGER NOT NULL,
        retired_at      INTEGER
    ) STRICT;
    CREATE TABLE oidc_clients (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        secret_hash     BLOB,
        redirect_uris   TEXT NOT NULL,
        post_logout_redirect_uris TEXT NOT NULL,
        sector          TEXT NOT NULL,
        id_token_alg    TEXT NOT NULL CHECK (id_token_alg IN ('RS256', 'ES256', 'EdDSA')),
        created_at      INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE oidc_requests (
        id              TEXT PRIMARY KEY,
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        redirect_uri    TEXT NOT NULL,
        scope           TEXT NOT NULL,
        state           TEXT,
        nonce           TEXT,
        code_challenge  TEXT,
        browser_hash    BLOB NOT NULL,
        lang            TEXT NOT NULL,
        login_id        TEXT,
        user_id         TEXT REFERENCES users(id),
        auth_time       INTEGER,
        stage           TEXT NOT NULL CHECK (stage IN ('credentials', 'code', 'consent', 'done')),
        created_at      INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE oidc_codes (
        code_hash       BLOB PRIMARY KEY,
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        redirect_uri    TEXT NOT NULL,
        user_id         TEXT NOT NULL REFERENCES users(id),
        scope           TEXT NOT NULL,
        nonce           TEXT,
        code_challenge  TEXT,
        auth_time       INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL,
        used_at         INTEGER
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE oidc_tokens (
        token_hash      BLOB PRIMARY KEY,
        code_hash       BLOB NOT NULL,
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        user_id         TEXT NOT NULL REFERENCES users(id),
        scope           TEXT NOT NULL,
        expires_at      INTEGER NOT NULL,
        revoked_at      INTEGER
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX oidc_tokens_by_code ON oidc_tokens(code_hash);
    CREATE TABLE oidc_sessions (
        cookie_hash     BLOB PRIMARY KEY,
        user_id         TEXT NOT NULL REFERENCES users(id),
        auth_time       INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        last_seen_at    INTEGER NOT NULL,
        revoked_at      INTEGER
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE oidc_consents (
        user_id         TEXT NOT NULL REFERENCES users(id),
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        scope           TEXT NOT NULL,
        granted_at      INTEGER NOT NULL,
        PRIMARY KEY (user_id, client_id)
    ) STRICT, WITHOUT ROWID;
";

/// Migration 5: clients that authenticate with `private_key_jwt` (their
/// public keys as a JWKS), the ids of assertions already used, and requests
/// that asked for consent again (`prompt=consent`).
const OIDC_CLIENT_KEYS: &str = "
    ALTER TABLE oidc_clients ADD COLUMN jwks TEXT;
    ALTER TABLE oidc_requests ADD COLUMN force_consent INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE oidc_assertions (
        jti_hash        BLOB PRIMARY KEY,
        expires_at      INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX oidc_assertions_by_expiry ON oidc_assertions(expires_at);
";

/// Migration 6: indexes for the housekeeping that every authorization
/// request runs (`delete_auth_requests_before`, `purge_oidc`), so it does
/// not scan whole tables.
const OIDC_INDEXES: &str = "
    CREATE INDEX oidc_requests_by_expiry ON oidc_requests(expires_at);
    CREATE INDEX oidc_codes_by_expiry ON oidc_codes(expires_at);
    CREATE INDEX oidc_tokens_by_expiry ON oidc_tokens(expires_at);
    CREATE INDEX oidc_sessions_by_creation ON oidc_sessions(created_at);
";

/// Migration 7: the app links.
const OIDC_APP_LINKS: &str = "
    CREATE TABLE oidc_app_links (
        link_hash       BLOB PRIMARY KEY,
        request_id      TEXT NOT NULL UNIQUE REFERENCES oidc_requests(id) ON DELETE CASCADE,
        login_id        TEXT NOT NULL,
        browser_ip      TEXT NOT NULL,
        expires_at      INTEGER NOT NULL,
        opened_at       INTEGER
    ) STRICT, WITHOUT ROWID;
";

//! The PostgreSQL back end, for several instances on one database.
//!
//! Writes run at `SERIALIZABLE`. When PostgreSQL reports that a transaction
//! conflicted with another (SQLSTATE 40001) or deadlocked (40P01), it is
//! rolled back and run again, with a short random pause, until a time limit.
//! That is what replaces the SQLite back end's writer mutex, which orders
//! the writers of one process only: PostgreSQL orders them across every
//! instance. Reads run at `REPEATABLE READ, READ ONLY`: one snapshot.
//!
//! Migrations run in one transaction under an advisory lock, so instances
//! that start together apply them once, one after the other.
//!
//! Connections are plain (no TLS): the database is reached over a Unix
//! socket or a private network (ARCHITECTURE.md, "Scale-out").

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls};
use rand::Rng;

use super::sql::{PgTx, Statements, Tx};
use super::DatabaseUrl;
use crate::error::{Error, Result};

/// How long a write may keep retrying after conflicts before it gives up
/// (the client then sees `internal_error` and may try again).
const RETRY_FOR: Duration = Duration::from_secs(10);
/// The advisory lock key that migrations hold ("KODEKORT" in ASCII).
const MIGRATION_LOCK: i64 = 0x4b4f_4445_4b4f_5254;

#[derive(Clone)]
pub(super) struct PgStore {
    pool: r2d2::Pool<Manager>,
}

/// Makes the pool's connections: a client and its prepared statements.
struct Manager {
    config: postgres::Config,
}

pub(super) struct Connection {
    /// Always `Some` until dropped.
    client: Option<postgres::Client>,
    statements: Statements,
}

impl Connection {
    fn client(&mut self) -> &mut postgres::Client {
        self.client.as_mut().expect("an open connection")
    }
}

impl Drop for Connection {
    /// Closing the client runs its own event loop, which panics on a thread
    /// of an async runtime, where the last `Service` is often dropped (at a
    /// server's end, a test's). There it is closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, postgres::Error> {
        Ok(Connection {
            client: Some(self.config.connect(NoTls)?),
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> std::result::Result<(), postgres::Error> {
        conn.client().simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client().is_closed()
    }
}

/// Whether running the transaction again may succeed.
fn is_conflict(err: &Error) -> bool {
    match err {
        Error::Postgres(e) => matches!(
            e.code(),
            Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
        ),
        _ => false,
    }
}

impl PgStore {
    pub fn open(url: &DatabaseUrl) -> Result<PgStore> {
        let mut config = url.config().clone();
        config.application_name("kodekort-server");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let pool = r2d2::Pool::builder()
            .max_size(16)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // No error spam while the database is away; readiness says so.
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(Manager { config })
            .map_err(|_| Error::DatabaseUnavailable)?;
        let store = PgStore { pool };
        store.migrate()?;
        Ok(store)
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.pool.get().map_err(|_| Error::DatabaseUnavailable)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.connection()?;
        let mut tx = conn.client().transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS kodekort_schema (
                 one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version BIGINT NOT NULL
             );
             INSERT INTO kodekort_schema (version) VALUES (0) ON CONFLICT DO NOTHING;",
        )?;
        let applied: i64 = tx
            .query_one("SELECT version FROM kodekort_schema", &[])?
            .get(0);
        let known = MIGRATIONS.len() as i64;
        if applied > known {
            return Err(Error::SchemaTooNew {
                found: applied,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            tx.batch_execute(sql)?;
            tx.execute(
                "UPDATE kodekort_schema SET version = $1",
                &[&(i as i64 + 1)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64> {
        let mut conn = self.connection()?;
        Ok(conn
            .client()
            .query_one("SELECT version FROM kodekort_schema", &[])?
            .get(0))
    }

    /// `SERIALIZABLE`, run again after a conflict; commits if `f` returns Ok.
    pub fn write<T>(&self, f: impl Fn(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.connection()?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let result = attempt(&mut conn, &f);
            match result {
                Err(err) if is_conflict(&err) && started.elapsed() < RETRY_FOR => {
                    // A random pause, growing, so that the conflicting
                    // transactions do not meet again in step.
                    let jitter = rand::thread_rng().gen_range(0..=pause.as_micros() as u64);
                    std::thread::sleep(pause / 2 + Duration::from_micros(jitter));
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    pub fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.connection()?;
        in_transaction(&mut conn, IsolationLevel::RepeatableRead, true, f)
    }
}

/// One write transaction at `SERIALIZABLE`.
fn attempt<T>(conn: &mut Connection, f: &impl Fn(&Tx<'_>) -> Result<T>) -> Result<T> {
    in_transaction(conn, IsolationLevel::Serializable, false, f)
}

/// Runs `f` in a transaction; commits if it returns Ok. On Err the
/// transaction is dropped, which rolls it back.
fn in_transaction<T>(
    conn: &mut Connection,
    isolation: IsolationLevel,
    read_only: bool,
    f: impl FnOnce(&Tx<'_>) -> Result<T>,
) -> Result<T> {
    let Connection { client, statements } = conn;
    let tx = client
        .as_mut()
        .expect("an open connection")
        .build_transaction()
        .isolation_level(isolation)
        .read_only(read_only)
        .start()?;
    let tx = Tx::postgres(PgTx { tx, statements });
    let out = f(&tx)?;
    if let Some(tx) = tx.into_postgres() {
        tx.commit()?;
    }
    Ok(out)
}

/// Versioned migrations, one for each of SQLite's, in the same order;
/// `kodekort_schema.version` counts those applied.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE users (
        id              TEXT PRIMARY KEY,
        username        TEXT NOT NULL UNIQUE,
        name            TEXT NOT NULL,
        password_hash   TEXT NOT NULL,
        sealed_key      BYTEA NOT NULL,
        certificate     TEXT NOT NULL,
        created_at      BIGINT NOT NULL
    );
    CREATE TABLE cards (
        serial          TEXT PRIMARY KEY,
        user_id         TEXT NOT NULL REFERENCES users(id),
        state           TEXT NOT NULL CHECK (state IN ('active', 'pending', 'retired')),
        issued_at       BIGINT NOT NULL,
        activated_at    BIGINT
    );
    CREATE INDEX cards_by_user ON cards(user_id, state);
    CREATE TABLE card_codes (
        serial          TEXT NOT NULL REFERENCES cards(serial),
        key             TEXT NOT NULL,
        salt            BYTEA NOT NULL,
        code_hash       BYTEA NOT NULL,
        used_at         BIGINT,
        PRIMARY KEY (serial, key)
    );
    CREATE TABLE throttle (
        username        TEXT PRIMARY KEY,
        failures        BIGINT NOT NULL,
        last_failure_at BIGINT
    );
    CREATE TABLE challenges (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('login', 'sign')),
        username        TEXT NOT NULL,
        user_id         TEXT NOT NULL REFERENCES users(id),
        serial          TEXT NOT NULL,
        key             TEXT NOT NULL,
        document_id     TEXT,
        sha256          TEXT,
        created_at      BIGINT NOT NULL,
        expires_at      BIGINT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('open', 'succeeded', 'closed')),
        failure_counted BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX open_challenges ON challenges(username) WHERE state = 'open';
    CREATE TABLE sessions (
        token_hash      BYTEA PRIMARY KEY,
        user_id         TEXT NOT NULL REFERENCES users(id),
        created_at      BIGINT NOT NULL,
        last_seen_at    BIGINT NOT NULL,
        revoked_at      BIGINT
    );
    CREATE TABLE providers (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        key_hash        BYTEA NOT NULL UNIQUE,
        created_at      BIGINT NOT NULL
    );
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
        created_at      BIGINT NOT NULL,
        decided_at      BIGINT,
        envelope        TEXT
    );
    CREATE INDEX documents_by_recipient ON documents(recipient_id, created_at);
    ",
    // 2: password evaluations in flight, reserved before Argon2 runs and
    // settled after, so parallel guesses cannot pass the allowance. In the
    // database, so the rule holds for every process on it; with an expiry,
    // so a crash between the two steps does not hold an attempt for ever.
    "
    CREATE TABLE evaluations (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username        TEXT NOT NULL,
        expires_at      BIGINT NOT NULL
    );
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
        one             BIGINT PRIMARY KEY CHECK (one = 1),
        fingerprint     TEXT NOT NULL
    );
    ",
];

/// Migration 4: the provider's tables.
const OIDC: &str = "
    CREATE TABLE oidc_keys (
        kid             TEXT PRIMARY KEY,
        alg             TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),
        sealed_private  BYTEA NOT NULL,
        created_at      BIGINT NOT NULL,
        retired_at      BIGINT
    );
    CREATE TABLE oidc_clients (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        secret_hash     BYTEA,
        redirect_uris   TEXT NOT NULL,
        post_logout_redirect_uris TEXT NOT NULL,
        sector          TEXT NOT NULL,
        id_token_alg    TEXT NOT NULL CHECK (id_token_alg IN ('RS256', 'ES256', 'EdDSA')),
        created_at      BIGINT NOT NULL
    );
    CREATE TABLE oidc_requests (
        id              TEXT PRIMARY KEY,
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        redirect_uri    TEXT NOT NULL,
        scope           TEXT NOT NULL,
        state           TEXT,
        nonce           TEXT,
        code_challenge  TEXT,
        browser_hash    BYTEA NOT NULL,
        lang            TEXT NOT NULL,
        login_id        TEXT,
        user_id         TEXT REFERENCES users(id),
        auth_time       BIGINT,
        stage           TEXT NOT NULL CHECK (stage IN ('credentials', 'code', 'consent', 'done')),
        created_at      BIGINT NOT NULL,
        expires_at      BIGINT NOT NULL
    );
    CREATE TABLE oidc_codes (
        code_hash       BYTEA PRIMARY KEY,
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        redirect_uri    TEXT NOT NULL,
        user_id         TEXT NOT NULL REFERENCES users(id),
        scope           TEXT NOT NULL,
        nonce           TEXT,
        code_challenge  TEXT,
        auth_time       BIGINT NOT NULL,
        expires_at      BIGINT NOT NULL,
        used_at         BIGINT
    );
    CREATE TABLE oidc_tokens (
        token_hash      BYTEA PRIMARY KEY,
        code_hash       BYTEA NOT NULL,
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        user_id         TEXT NOT NULL REFERENCES users(id),
        scope           TEXT NOT NULL,
        expires_at      BIGINT NOT NULL,
        revoked_at      BIGINT
    );
    CREATE INDEX oidc_tokens_by_code ON oidc_tokens(code_hash);
    CREATE TABLE oidc_sessions (
        cookie_hash     BYTEA PRIMARY KEY,
        user_id         TEXT NOT NULL REFERENCES users(id),
        auth_time       BIGINT NOT NULL,
        created_at      BIGINT NOT NULL,
        last_seen_at    BIGINT NOT NULL,
        revoked_at      BIGINT
    );
    CREATE TABLE oidc_consents (
        user_id         TEXT NOT NULL REFERENCES users(id),
        client_id       TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
        scope           TEXT NOT NULL,
        granted_at      BIGINT NOT NULL,
        PRIMARY KEY (user_id, client_id)
    );
";

/// Migration 5: clients that authenticate with `private_key_jwt` (their
/// public keys as a JWKS), the ids of assertions already used, and requests
/// that asked for consent again (`prompt=consent`).
const OIDC_CLIENT_KEYS: &str = "
    ALTER TABLE oidc_clients ADD COLUMN jwks TEXT;
    ALTER TABLE oidc_requests ADD COLUMN force_consent BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE oidc_assertions (
        jti_hash        BYTEA PRIMARY KEY,
        expires_at      BIGINT NOT NULL
    );
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
        link_hash       BYTEA PRIMARY KEY,
        request_id      TEXT NOT NULL UNIQUE REFERENCES oidc_requests(id) ON DELETE CASCADE,
        login_id        TEXT NOT NULL,
        browser_ip      TEXT NOT NULL,
        expires_at      BIGINT NOT NULL,
        opened_at       BIGINT
    );
";

#[cfg(test)]
mod tests {
    #[test]
    fn both_dialects_have_every_migration() {
        assert_eq!(
            super::MIGRATIONS.len(),
            super::super::sqlite::MIGRATIONS.len()
        );
    }
}

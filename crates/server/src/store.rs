//! All SQL lives here. Above this module the server speaks in rows and
//! domain terms; nothing outside it names SQLite. A PostgreSQL back end would
//! replace this file and keep [`Store`] and [`Tx`]'s method set.
//!
//! Durability: WAL with `synchronous=FULL`, so a commit that returned is on
//! disk. Every read-modify-write runs in [`Store::write`], which is
//! `BEGIN IMMEDIATE`: the write lock is taken before the first read, so two
//! writers never act on the same stale read.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kodekort_proto::signing::Certificate;
use kodekort_proto::wire::DocumentStatus;
use kodekort_proto::Envelope;
use r2d2_sqlite::rusqlite::{self, params, OptionalExtension, TransactionBehavior};
use r2d2_sqlite::SqliteConnectionManager;
use time::OffsetDateTime;

use crate::error::{Error, Result};

mod oidc;
mod oidc_app;

pub use oidc::{
    AccessTokenRow, AuthCodeRow, AuthRequestRow, ClientRow, OidcKeyRow, OpSessionRow, Stage,
};
pub use oidc_app::AppLinkRow;

/// Versioned migrations; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
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
    oidc::MIGRATION,
    // 5: clients with keys (private_key_jwt), and used assertion ids.
    oidc::MIGRATION_5,
    // 6: indexes for the provider's housekeeping.
    oidc::MIGRATION_6,
    // 7: logins finished in the desktop app (store/oidc_app.rs).
    oidc_app::MIGRATION,
];

/// The database of one data dir.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// Writers of this process queue here rather than in SQLite's busy
    /// handler, which sleeps in steps of up to 100 ms (seen as p99 spikes in
    /// the benchmark). Other processes (operator commands) still meet the
    /// busy timeout, briefly.
    writer: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (creating if needed) the database file and applies migrations.
    pub fn open(path: &Path) -> Result<Store> {
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(Duration::from_secs(10))?;
            // journal_mode is set once, in `migrate`: it persists in the file,
            // and setting it on every new connection races for a lock.
            c.execute_batch(
                "PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;",
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        let store = Store {
            pool,
            writer: Arc::new(Mutex::new(())),
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

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction; commits if it returns Ok.
    pub fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let _turn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Tx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a read transaction: one consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&Tx(&tx))
    }
}

/// One transaction, with the queries the service needs.
pub struct Tx<'a>(&'a rusqlite::Transaction<'a>);

/// A citizen's account.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub name: String,
    pub password_hash: String,
    pub sealed_key: Vec<u8>,
    pub certificate: Certificate,
    pub created_at: OffsetDateTime,
}

/// A card's life: `Pending` replacement, `Active`, then `Retired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardLife {
    Active,
    Pending,
    Retired,
}

impl CardLife {
    fn as_str(self) -> &'static str {
        match self {
            CardLife::Active => "active",
            CardLife::Pending => "pending",
            CardLife::Retired => "retired",
        }
    }
}

/// A card without its codes.
#[derive(Debug, Clone)]
pub struct CardRow {
    pub serial: String,
    pub user_id: String,
    pub issued_at: OffsetDateTime,
}

/// A stored code hash.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub salt: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub used: bool,
}

/// Kinds of card challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    Login,
    Sign,
}

impl ChallengeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Login => "login",
            ChallengeKind::Sign => "sign",
        }
    }
}

/// A challenge's state. `Closed` means expired, replaced or ended otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeState {
    Open,
    Succeeded,
    Closed,
}

/// A card challenge, for a login or a signature.
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub id: String,
    pub kind: ChallengeKind,
    pub username: String,
    pub user_id: String,
    pub serial: String,
    pub key: String,
    pub document_id: Option<String>,
    pub sha256: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub state: ChallengeState,
    /// Whether this challenge already cost the account one failure.
    pub failure_counted: bool,
}

/// A session, looked up by the hash of its token.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub revoked: bool,
}

/// A document, with or without its content.
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: String,
    pub recipient_id: String,
    pub provider_id: Option<String>,
    pub issuer: String,
    pub title: String,
    pub content_type: String,
    pub content: String,
    pub sha256: String,
    pub status: DocumentStatus,
    pub created_at: OffsetDateTime,
    pub envelope: Option<Envelope>,
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(secs: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// A column whose text this code does not read: corrupt, said as such.
#[derive(Debug, thiserror::Error)]
#[error("column {0} holds a value this server cannot read")]
struct Unreadable(&'static str);

fn unreadable(column: usize, name: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        Box::new(Unreadable(name)),
    )
}

/// A JSON column as its type.
fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    column: usize,
    name: &'static str,
) -> rusqlite::Result<T> {
    let text: String = r.get(column)?;
    serde_json::from_str(&text).map_err(|_| unreadable(column, name))
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("certificates and envelopes serialise")
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        name: r.get(2)?,
        password_hash: r.get(3)?,
        sealed_key: r.get(4)?,
        certificate: json_column(r, 5, "users.certificate")?,
        created_at: from_ts(r.get(6)?)?,
    })
}

const USER_COLUMNS: &str = "id, username, name, password_hash, sealed_key, certificate, created_at";

const CHALLENGE_COLUMNS: &str = "id, kind, username, user_id, serial, key, document_id, sha256, \
     created_at, expires_at, state, failure_counted";

fn challenge_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChallengeRow> {
    let kind: String = r.get(1)?;
    let state: String = r.get(10)?;
    Ok(ChallengeRow {
        id: r.get(0)?,
        kind: if kind == "sign" {
            ChallengeKind::Sign
        } else {
            ChallengeKind::Login
        },
        username: r.get(2)?,
        user_id: r.get(3)?,
        serial: r.get(4)?,
        key: r.get(5)?,
        document_id: r.get(6)?,
        sha256: r.get(7)?,
        created_at: from_ts(r.get(8)?)?,
        expires_at: from_ts(r.get(9)?)?,
        state: match state.as_str() {
            "open" => ChallengeState::Open,
            "succeeded" => ChallengeState::Succeeded,
            _ => ChallengeState::Closed,
        },
        failure_counted: r.get(11)?,
    })
}

const DOCUMENT_COLUMNS: &str = "id, recipient_id, provider_id, issuer, title, content_type, \
     content, sha256, status, created_at, envelope";

fn document_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentRow> {
    Ok(DocumentRow {
        id: r.get(0)?,
        recipient_id: r.get(1)?,
        provider_id: r.get(2)?,
        issuer: r.get(3)?,
        title: r.get(4)?,
        content_type: r.get(5)?,
        content: r.get(6)?,
        sha256: r.get(7)?,
        status: {
            let text: String = r.get(8)?;
            DocumentStatus::parse(&text).ok_or_else(|| unreadable(8, "documents.status"))?
        },
        created_at: from_ts(r.get(9)?)?,
        envelope: match r.get_ref(10)? {
            rusqlite::types::ValueRef::Null => None,
            _ => Some(json_column(r, 10, "documents.envelope")?),
        },
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

impl Tx<'_> {
    // ---- users -------------------------------------------------------------

    /// Inserts a user; `Ok(false)` if the username is taken.
    pub fn insert_user(&self, u: &UserRow) -> Result<bool> {
        let result = self.0.execute(
            &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                u.id,
                u.username,
                u.name,
                u.password_hash,
                u.sealed_key,
                to_json(&u.certificate),
                ts(u.created_at)
            ],
        );
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                user_from_row,
            )
            .optional()?)
    }

    pub fn user_by_id(&self, id: &str) -> Result<Option<UserRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_from_row,
            )
            .optional()?)
    }

    // ---- cards -------------------------------------------------------------

    /// Stores a card and its hashed codes: `(key, salt, hash)` each.
    pub fn insert_card(
        &self,
        serial: &str,
        user_id: &str,
        life: CardLife,
        issued_at: OffsetDateTime,
        codes: &[(String, [u8; 16], [u8; 32])],
    ) -> Result<bool> {
        let inserted = self.0.execute(
            "INSERT INTO cards (serial, user_id, state, issued_at, activated_at)
             VALUES (?1, ?2, ?3, ?4, CASE WHEN ?3 = 'active' THEN ?4 END)",
            params![serial, user_id, life.as_str(), ts(issued_at)],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO card_codes (serial, key, salt, code_hash) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (key, salt, hash) in codes {
            stmt.execute(params![serial, key, &salt[..], &hash[..]])?;
        }
        Ok(true)
    }

    /// The user's card in the given life stage (at most one is active or pending).
    pub fn card_of(&self, user_id: &str, life: CardLife) -> Result<Option<CardRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT serial, user_id, issued_at FROM cards
                 WHERE user_id = ?1 AND state = ?2 ORDER BY issued_at DESC LIMIT 1",
                params![user_id, life.as_str()],
                |r| {
                    Ok(CardRow {
                        serial: r.get(0)?,
                        user_id: r.get(1)?,
                        issued_at: from_ts(r.get(2)?)?,
                    })
                },
            )
            .optional()?)
    }

    /// Makes `serial` the user's active card and retires every other.
    pub fn activate_card(&self, user_id: &str, serial: &str, now: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "UPDATE cards SET state = 'retired' WHERE user_id = ?1 AND serial <> ?2 AND state <> 'retired'",
            params![user_id, serial],
        )?;
        self.0.execute(
            "UPDATE cards SET state = 'active', activated_at = ?2 WHERE serial = ?1",
            params![serial, ts(now)],
        )?;
        Ok(())
    }

    /// Removes a pending card that was never handed out.
    pub fn delete_pending_card(&self, serial: &str) -> Result<()> {
        let pending: bool = self
            .0
            .query_row(
                "SELECT state = 'pending' FROM cards WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false);
        if pending {
            self.0
                .execute("DELETE FROM card_codes WHERE serial = ?1", [serial])?;
            self.0
                .execute("DELETE FROM cards WHERE serial = ?1", [serial])?;
        }
        Ok(())
    }

    /// Keys on the card whose codes are unused.
    pub fn unused_keys(&self, serial: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT key FROM card_codes WHERE serial = ?1 AND used_at IS NULL")?;
        let keys = stmt
            .query_map([serial], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(keys)
    }

    pub fn unused_count(&self, serial: &str) -> Result<u32> {
        Ok(self.0.query_row(
            "SELECT count(*) FROM card_codes WHERE serial = ?1 AND used_at IS NULL",
            [serial],
            |r| r.get(0),
        )?)
    }

    pub fn code(&self, serial: &str, key: &str) -> Result<Option<CodeRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT salt, code_hash, used_at IS NOT NULL FROM card_codes
                 WHERE serial = ?1 AND key = ?2",
                params![serial, key],
                |r| {
                    Ok(CodeRow {
                        salt: r.get(0)?,
                        code_hash: r.get(1)?,
                        used: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Marks a code used. True only for the one caller that flipped it.
    pub fn consume_code(&self, serial: &str, key: &str, now: OffsetDateTime) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE card_codes SET used_at = ?3 WHERE serial = ?1 AND key = ?2 AND used_at IS NULL",
            params![serial, key, ts(now)],
        )?;
        Ok(n == 1)
    }

    // ---- failure counter ---------------------------------------------------

    /// Consecutive failures and the time of the last, for a normalised username.
    pub fn failures(&self, username: &str) -> Result<(u32, Option<OffsetDateTime>)> {
        let row: Option<(u32, Option<i64>)> = self
            .0
            .query_row(
                "SELECT failures, last_failure_at FROM throttle WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((n, last)) => (n, last.map(from_ts).transpose()?),
            None => (0, None),
        })
    }

    /// Adds one failure; returns the new count.
    pub fn add_failure(&self, username: &str, now: OffsetDateTime) -> Result<u32> {
        Ok(self.0.query_row(
            "INSERT INTO throttle (username, failures, last_failure_at) VALUES (?1, 1, ?2)
             ON CONFLICT (username) DO UPDATE SET failures = failures + 1, last_failure_at = ?2
             RETURNING failures",
            params![username, ts(now)],
            |r| r.get(0),
        )?)
    }

    /// Password evaluations of `username` still in flight at `now`; drops
    /// the expired ones first.
    pub fn evaluations_in_flight(&self, username: &str, now: OffsetDateTime) -> Result<u32> {
        self.0.execute(
            "DELETE FROM evaluations WHERE username = ?1 AND expires_at <= ?2",
            params![username, ts(now)],
        )?;
        Ok(self.0.query_row(
            "SELECT count(*) FROM evaluations WHERE username = ?1",
            [username],
            |r| r.get(0),
        )?)
    }

    /// Reserves one evaluation until `expires_at`; its id settles it.
    pub fn reserve_evaluation(&self, username: &str, expires_at: OffsetDateTime) -> Result<i64> {
        Ok(self.0.query_row(
            "INSERT INTO evaluations (username, expires_at) VALUES (?1, ?2) RETURNING id",
            params![username, ts(expires_at)],
            |r| r.get(0),
        )?)
    }

    pub fn release_evaluation(&self, id: i64) -> Result<()> {
        self.0
            .execute("DELETE FROM evaluations WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Forgets the counts of names with no account whose last failure was
    /// before `before`: this name's, and up to 64 others.
    pub fn forget_lapsed_failures(&self, username: &str, before: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "DELETE FROM throttle WHERE username IN (
                 SELECT t.username FROM throttle t
                 WHERE t.last_failure_at < ?2
                   AND (t.username = ?1 OR t.username IN (
                       SELECT username FROM throttle WHERE last_failure_at < ?2 LIMIT 64))
                   AND NOT EXISTS (SELECT 1 FROM users u WHERE u.username = t.username))",
            params![username, ts(before)],
        )?;
        Ok(())
    }

    pub fn reset_failures(&self, username: &str) -> Result<()> {
        self.0
            .execute("DELETE FROM throttle WHERE username = ?1", [username])?;
        Ok(())
    }

    // ---- challenges --------------------------------------------------------

    pub fn insert_challenge(&self, c: &ChallengeRow) -> Result<()> {
        self.0.execute(
            &format!(
                "INSERT INTO challenges ({CHALLENGE_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', 0)"
            ),
            params![
                c.id,
                c.kind.as_str(),
                c.username,
                c.user_id,
                c.serial,
                c.key,
                c.document_id,
                c.sha256,
                ts(c.created_at),
                ts(c.expires_at)
            ],
        )?;
        Ok(())
    }

    pub fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE id = ?1"),
                [id],
                challenge_from_row,
            )
            .optional()?)
    }

    /// Open challenges of a normalised username.
    pub fn open_challenges(&self, username: &str) -> Result<Vec<ChallengeRow>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE username = ?1 AND state = 'open'"
        ))?;
        let rows = stmt
            .query_map([username], challenge_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Closes an open challenge. True if it was open.
    pub fn close_challenge(&self, id: &str) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE challenges SET state = 'closed' WHERE id = ?1 AND state = 'open'",
            [id],
        )?;
        Ok(n == 1)
    }

    /// Records that this challenge has cost a failure. True the first time.
    pub fn mark_failure_counted(&self, id: &str) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE challenges SET failure_counted = 1 WHERE id = ?1 AND failure_counted = 0",
            [id],
        )?;
        Ok(n == 1)
    }

    /// Marks an open challenge succeeded. True only for the one caller that flipped it.
    pub fn succeed_challenge(&self, id: &str) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE challenges SET state = 'succeeded' WHERE id = ?1 AND state = 'open'",
            [id],
        )?;
        Ok(n == 1)
    }

    // ---- sessions ----------------------------------------------------------

    pub fn insert_session(
        &self,
        token_hash: &[u8],
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
            params![token_hash, user_id, ts(now)],
        )?;
        Ok(())
    }

    pub fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT user_id, created_at, last_seen_at, revoked_at IS NOT NULL
                 FROM sessions WHERE token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(SessionRow {
                        user_id: r.get(0)?,
                        created_at: from_ts(r.get(1)?)?,
                        last_seen_at: from_ts(r.get(2)?)?,
                        revoked: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn touch_session(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
            params![token_hash, ts(now)],
        )?;
        Ok(())
    }

    /// Sets when every live session of a user was last seen (training).
    pub fn set_last_seen_of_user(&self, user_id: &str, at: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "UPDATE sessions SET last_seen_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            params![user_id, ts(at)],
        )?;
        Ok(())
    }

    pub fn revoke_session(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            params![token_hash, ts(now)],
        )?;
        Ok(())
    }

    // ---- providers ---------------------------------------------------------

    pub fn insert_provider(
        &self,
        id: &str,
        name: &str,
        key_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO providers (id, name, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, key_hash, ts(now)],
        )?;
        Ok(())
    }

    /// `(id, name)` of the provider whose key hashes to `key_hash`.
    pub fn provider_by_key_hash(&self, key_hash: &[u8]) -> Result<Option<(String, String)>> {
        Ok(self
            .0
            .query_row(
                "SELECT id, name FROM providers WHERE key_hash = ?1",
                [key_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    // ---- documents ---------------------------------------------------------

    pub fn insert_document(&self, d: &DocumentRow) -> Result<()> {
        self.0.execute(
            &format!(
                "INSERT INTO documents ({DOCUMENT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            params![
                d.id,
                d.recipient_id,
                d.provider_id,
                d.issuer,
                d.title,
                d.content_type,
                d.content,
                d.sha256,
                d.status.as_str(),
                ts(d.created_at),
                d.envelope.as_ref().map(to_json)
            ],
        )?;
        Ok(())
    }

    /// A user's documents, newest first, without their content.
    pub fn documents_of(&self, user_id: &str) -> Result<Vec<DocumentRow>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, recipient_id, provider_id, issuer, title, content_type, '', sha256,
                    status, created_at, NULL
             FROM documents WHERE recipient_id = ?1 ORDER BY created_at DESC, id",
        )?;
        let rows = stmt
            .query_map([user_id], document_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn document(&self, id: &str) -> Result<Option<DocumentRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?1"),
                [id],
                document_from_row,
            )
            .optional()?)
    }

    /// Moves a pending document to signed or declined. True if it was pending.
    pub fn decide_document(
        &self,
        id: &str,
        status: DocumentStatus,
        envelope: Option<&Envelope>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE documents SET status = ?2, envelope = ?3, decided_at = ?4
             WHERE id = ?1 AND status = 'pending'",
            params![id, status.as_str(), envelope.map(to_json), ts(now)],
        )?;
        Ok(n == 1)
    }
}

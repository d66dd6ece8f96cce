//! All SQL lives here. Above this module the server speaks in rows and
//! domain terms; nothing outside it names a database. Two back ends keep the
//! same [`Store`] and [`Tx`]: SQLite, one file in the data dir, the default
//! (`sqlite.rs`), and PostgreSQL for several instances (`postgres.rs`).
//! Every query is written once, through the neutral layer in `sql.rs`.
//!
//! Every read-modify-write runs in [`Store::write`]. On SQLite that is
//! `BEGIN IMMEDIATE` (the write lock is taken before the first read, so two
//! writers never act on the same stale read) in WAL mode, with group commit:
//! the answer waits until an fsync of the log covers the commit. On PostgreSQL it is `SERIALIZABLE`, retried when the
//! database reports a conflict, so the rules hold across instances without
//! anything kept in one process's memory. Either way the closure may run
//! more than once, and so does nothing outside the transaction.

use std::fmt;
use std::path::PathBuf;

use kodekort_proto::signing::Certificate;
use kodekort_proto::wire::DocumentStatus;
use kodekort_proto::Envelope;
use time::OffsetDateTime;

use crate::error::{Error, Result};

mod group_commit;
mod oidc;
mod oidc_app;
mod postgres;
mod sql;
mod sqlite;

pub use oidc::{
    AccessTokenRow, AuthCodeRow, AuthRequestRow, ClientRow, OidcKeyRow, OpSessionRow, Stage,
};
pub use oidc_app::AppLinkRow;
pub use sql::Tx;

use sql::{args, ts, Row};

/// Where the data lives.
#[derive(Clone)]
pub enum Database {
    /// The SQLite file (the data dir's `kodekort.sqlite3` by default).
    Sqlite(PathBuf),
    /// A PostgreSQL database that every instance shares.
    Postgres(DatabaseUrl),
}

/// A `postgres://` URL. It may hold a password: `Debug` and `Display` show
/// only the host, port and database.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: Box<::postgres::Config>,
}

impl DatabaseUrl {
    /// Parses a `postgres://` or `postgresql://` URL (or a key=value string).
    pub fn parse(text: &str) -> Option<DatabaseUrl> {
        let config: ::postgres::Config = text.parse().ok()?;
        config.get_dbname()?;
        Some(DatabaseUrl {
            config: Box::new(config),
        })
    }

    pub(crate) fn config(&self) -> &::postgres::Config {
        &self.config
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match self.config.get_hosts().first() {
            Some(::postgres::config::Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(::postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let db = self.config.get_dbname().unwrap_or_default();
        write!(f, "PostgreSQL {host}:{port}/{db}")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Database::Postgres(url) => url.fmt(f),
        }
    }
}

/// The database, of either kind.
#[derive(Clone)]
pub struct Store(Backend);

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens the database (creating a SQLite file if needed) and applies
    /// the migrations it lacks. Blocking: call from a blocking thread.
    pub fn open(database: &Database) -> Result<Store> {
        Ok(Store(match database {
            Database::Sqlite(path) => Backend::Sqlite(sqlite::SqliteStore::open(path)?),
            Database::Postgres(url) => Backend::Postgres(postgres::PgStore::open(url)?),
        }))
    }

    /// Runs `f` in a write transaction and commits if it returns Ok. `f`
    /// may run again after a conflict (PostgreSQL), so it must not act
    /// outside the transaction.
    pub fn write<T>(&self, f: impl Fn(&Tx<'_>) -> Result<T>) -> Result<T> {
        match &self.0 {
            Backend::Sqlite(db) => db.write(f),
            Backend::Postgres(db) => db.write(f),
        }
    }

    /// Runs `f` in a read transaction: one consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        match &self.0 {
            Backend::Sqlite(db) => db.read(f),
            Backend::Postgres(db) => db.read(f),
        }
    }

    /// Whether the database answers now (the readiness check).
    pub fn ping(&self) -> Result<()> {
        self.read(|tx| tx.query_one("SELECT 1", args![], |r| r.int(0)).map(drop))
    }

    /// The schema version in the database: how many migrations it has.
    pub fn schema_version(&self) -> Result<i64> {
        match &self.0 {
            Backend::Sqlite(db) => db.schema_version(),
            Backend::Postgres(db) => db.schema_version(),
        }
    }

    /// Whether this is a PostgreSQL store (several instances may share it).
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Backend::Postgres(_))
    }
}

/// How many migrations this server knows; both dialects have as many.
pub const SCHEMA_VERSION: usize = sqlite::MIGRATIONS.len();

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

const USER_COLUMNS: &str = "id, username, name, password_hash, sealed_key, certificate, created_at";

fn user_from_row(r: &Row<'_>) -> Result<UserRow> {
    Ok(UserRow {
        id: r.text(0)?,
        username: r.text(1)?,
        name: r.text(2)?,
        password_hash: r.text(3)?,
        sealed_key: r.bytes(4)?,
        certificate: r.json(5, "users.certificate")?,
        created_at: r.time(6)?,
    })
}

const CHALLENGE_COLUMNS: &str = "id, kind, username, user_id, serial, key, document_id, sha256, \
     created_at, expires_at, state, failure_counted";

fn challenge_from_row(r: &Row<'_>) -> Result<ChallengeRow> {
    Ok(ChallengeRow {
        id: r.text(0)?,
        kind: match r.text(1)?.as_str() {
            "sign" => ChallengeKind::Sign,
            "login" => ChallengeKind::Login,
            _ => return Err(Error::Corrupt("challenges.kind")),
        },
        username: r.text(2)?,
        user_id: r.text(3)?,
        serial: r.text(4)?,
        key: r.text(5)?,
        document_id: r.opt_text(6)?,
        sha256: r.opt_text(7)?,
        created_at: r.time(8)?,
        expires_at: r.time(9)?,
        state: match r.text(10)?.as_str() {
            "open" => ChallengeState::Open,
            "succeeded" => ChallengeState::Succeeded,
            "closed" => ChallengeState::Closed,
            _ => return Err(Error::Corrupt("challenges.state")),
        },
        failure_counted: r.flag(11)?,
    })
}

const DOCUMENT_COLUMNS: &str = "id, recipient_id, provider_id, issuer, title, content_type, \
     content, sha256, status, created_at, envelope";

fn document_from_row(r: &Row<'_>) -> Result<DocumentRow> {
    Ok(DocumentRow {
        id: r.text(0)?,
        recipient_id: r.text(1)?,
        provider_id: r.opt_text(2)?,
        issuer: r.text(3)?,
        title: r.text(4)?,
        content_type: r.text(5)?,
        content: r.opt_text(6)?.unwrap_or_default(),
        sha256: r.text(7)?,
        status: DocumentStatus::parse(&r.text(8)?).ok_or(Error::Corrupt("documents.status"))?,
        created_at: r.time(9)?,
        envelope: if r.is_null(10)? {
            None
        } else {
            Some(r.json(10, "documents.envelope")?)
        },
    })
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("certificates and envelopes serialise")
}

impl Tx<'_> {
    // ---- users -------------------------------------------------------------

    /// Inserts a user; `Ok(false)` if the username is taken.
    pub fn insert_user(&self, u: &UserRow) -> Result<bool> {
        // ON CONFLICT DO NOTHING rather than catching the error: on
        // PostgreSQL a failed statement ends the whole transaction.
        let n = self.exec(
            &format!(
                "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO NOTHING"
            ),
            args![
                &u.id,
                &u.username,
                &u.name,
                &u.password_hash,
                &u.sealed_key,
                to_json(&u.certificate),
                ts(u.created_at)
            ],
        )?;
        Ok(n == 1)
    }

    pub fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        self.query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
            args![username],
            user_from_row,
        )
    }

    pub fn user_by_id(&self, id: &str) -> Result<Option<UserRow>> {
        self.query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            args![id],
            user_from_row,
        )
    }

    // ---- cards -------------------------------------------------------------

    /// Stores a card and its hashed codes: `(key, salt, hash)` each.
    /// `Ok(false)` if the serial is taken.
    pub fn insert_card(
        &self,
        serial: &str,
        user_id: &str,
        life: CardLife,
        issued_at: OffsetDateTime,
        codes: &[(String, [u8; 16], [u8; 32])],
    ) -> Result<bool> {
        let activated_at = (life == CardLife::Active).then_some(ts(issued_at));
        let inserted = self.exec(
            "INSERT INTO cards (serial, user_id, state, issued_at, activated_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            args![serial, user_id, life.as_str(), ts(issued_at), activated_at],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        for (key, salt, hash) in codes {
            self.exec(
                "INSERT INTO card_codes (serial, key, salt, code_hash) VALUES (?1, ?2, ?3, ?4)",
                args![serial, key, salt, hash],
            )?;
        }
        Ok(true)
    }

    /// The user's card in the given life stage (at most one is active or pending).
    pub fn card_of(&self, user_id: &str, life: CardLife) -> Result<Option<CardRow>> {
        self.query_opt(
            "SELECT serial, user_id, issued_at FROM cards
             WHERE user_id = ?1 AND state = ?2 ORDER BY issued_at DESC LIMIT 1",
            args![user_id, life.as_str()],
            |r| {
                Ok(CardRow {
                    serial: r.text(0)?,
                    user_id: r.text(1)?,
                    issued_at: r.time(2)?,
                })
            },
        )
    }

    /// Makes `serial` the user's active card and retires every other.
    pub fn activate_card(&self, user_id: &str, serial: &str, now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE cards SET state = 'retired' WHERE user_id = ?1 AND serial <> ?2 AND state <> 'retired'",
            args![user_id, serial],
        )?;
        self.exec(
            "UPDATE cards SET state = 'active', activated_at = ?2 WHERE serial = ?1",
            args![serial, ts(now)],
        )?;
        Ok(())
    }

    /// Removes a pending card that was never handed out.
    pub fn delete_pending_card(&self, serial: &str) -> Result<()> {
        let pending = self
            .query_opt(
                "SELECT state FROM cards WHERE serial = ?1",
                args![serial],
                |r| r.text(0),
            )?
            .is_some_and(|state| state == CardLife::Pending.as_str());
        if pending {
            self.exec("DELETE FROM card_codes WHERE serial = ?1", args![serial])?;
            self.exec("DELETE FROM cards WHERE serial = ?1", args![serial])?;
        }
        Ok(())
    }

    /// Keys on the card whose codes are unused.
    pub fn unused_keys(&self, serial: &str) -> Result<Vec<String>> {
        self.query(
            "SELECT key FROM card_codes WHERE serial = ?1 AND used_at IS NULL",
            args![serial],
            |r| r.text(0),
        )
    }

    pub fn unused_count(&self, serial: &str) -> Result<u32> {
        self.query_one(
            "SELECT count(*) FROM card_codes WHERE serial = ?1 AND used_at IS NULL",
            args![serial],
            |r| r.count(0),
        )
    }

    pub fn code(&self, serial: &str, key: &str) -> Result<Option<CodeRow>> {
        self.query_opt(
            "SELECT salt, code_hash, used_at FROM card_codes WHERE serial = ?1 AND key = ?2",
            args![serial, key],
            |r| {
                Ok(CodeRow {
                    salt: r.bytes(0)?,
                    code_hash: r.bytes(1)?,
                    used: !r.is_null(2)?,
                })
            },
        )
    }

    /// Marks a code used. True only for the one caller that flipped it.
    pub fn consume_code(&self, serial: &str, key: &str, now: OffsetDateTime) -> Result<bool> {
        let n = self.exec(
            "UPDATE card_codes SET used_at = ?3 WHERE serial = ?1 AND key = ?2 AND used_at IS NULL",
            args![serial, key, ts(now)],
        )?;
        Ok(n == 1)
    }

    // ---- failure counter ---------------------------------------------------

    /// Consecutive failures and the time of the last, for a normalised username.
    pub fn failures(&self, username: &str) -> Result<(u32, Option<OffsetDateTime>)> {
        Ok(self
            .query_opt(
                "SELECT failures, last_failure_at FROM throttle WHERE username = ?1",
                args![username],
                |r| Ok((r.count(0)?, r.opt_time(1)?)),
            )?
            .unwrap_or((0, None)))
    }

    /// Adds one failure; returns the new count.
    pub fn add_failure(&self, username: &str, now: OffsetDateTime) -> Result<u32> {
        self.query_one(
            "INSERT INTO throttle (username, failures, last_failure_at) VALUES (?1, 1, ?2)
             ON CONFLICT (username) DO UPDATE SET failures = throttle.failures + 1,
                 last_failure_at = ?2
             RETURNING failures",
            args![username, ts(now)],
            |r| r.count(0),
        )
    }

    /// Password evaluations of `username` still in flight at `now`; drops
    /// the expired ones first.
    pub fn evaluations_in_flight(&self, username: &str, now: OffsetDateTime) -> Result<u32> {
        self.exec(
            "DELETE FROM evaluations WHERE username = ?1 AND expires_at <= ?2",
            args![username, ts(now)],
        )?;
        self.query_one(
            "SELECT count(*) FROM evaluations WHERE username = ?1",
            args![username],
            |r| r.count(0),
        )
    }

    /// Reserves one evaluation until `expires_at`; its id settles it.
    pub fn reserve_evaluation(&self, username: &str, expires_at: OffsetDateTime) -> Result<i64> {
        self.query_one(
            "INSERT INTO evaluations (username, expires_at) VALUES (?1, ?2) RETURNING id",
            args![username, ts(expires_at)],
            |r| r.int(0),
        )
    }

    pub fn release_evaluation(&self, id: i64) -> Result<()> {
        self.exec("DELETE FROM evaluations WHERE id = ?1", args![id])?;
        Ok(())
    }

    /// Forgets the counts of names with no account whose last failure was
    /// before `before`: this name's, and up to 64 others.
    pub fn forget_lapsed_failures(&self, username: &str, before: OffsetDateTime) -> Result<()> {
        self.exec(
            "DELETE FROM throttle WHERE username IN (
                 SELECT t.username FROM throttle t
                 WHERE t.last_failure_at < ?2
                   AND (t.username = ?1 OR t.username IN (
                       SELECT username FROM throttle WHERE last_failure_at < ?2 LIMIT 64))
                   AND NOT EXISTS (SELECT 1 FROM users u WHERE u.username = t.username))",
            args![username, ts(before)],
        )?;
        Ok(())
    }

    pub fn reset_failures(&self, username: &str) -> Result<()> {
        self.exec("DELETE FROM throttle WHERE username = ?1", args![username])?;
        Ok(())
    }

    // ---- challenges --------------------------------------------------------

    pub fn insert_challenge(&self, c: &ChallengeRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO challenges ({CHALLENGE_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', 0)"
            ),
            args![
                &c.id,
                c.kind.as_str(),
                &c.username,
                &c.user_id,
                &c.serial,
                &c.key,
                &c.document_id,
                &c.sha256,
                ts(c.created_at),
                ts(c.expires_at)
            ],
        )?;
        Ok(())
    }

    pub fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>> {
        self.query_opt(
            &format!("SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE id = ?1"),
            args![id],
            challenge_from_row,
        )
    }

    /// Open challenges of a normalised username.
    pub fn open_challenges(&self, username: &str) -> Result<Vec<ChallengeRow>> {
        self.query(
            &format!(
                "SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE username = ?1 AND state = 'open'"
            ),
            args![username],
            challenge_from_row,
        )
    }

    /// Closes an open challenge. True if it was open.
    pub fn close_challenge(&self, id: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE challenges SET state = 'closed' WHERE id = ?1 AND state = 'open'",
            args![id],
        )?;
        Ok(n == 1)
    }

    /// Records that this challenge has cost a failure. True the first time.
    pub fn mark_failure_counted(&self, id: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE challenges SET failure_counted = 1 WHERE id = ?1 AND failure_counted = 0",
            args![id],
        )?;
        Ok(n == 1)
    }

    /// Marks an open challenge succeeded. True only for the one caller that flipped it.
    pub fn succeed_challenge(&self, id: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE challenges SET state = 'succeeded' WHERE id = ?1 AND state = 'open'",
            args![id],
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
        self.exec(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
            args![token_hash, user_id, ts(now)],
        )?;
        Ok(())
    }

    pub fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRow>> {
        self.query_opt(
            "SELECT user_id, created_at, last_seen_at, revoked_at FROM sessions WHERE token_hash = ?1",
            args![token_hash],
            |r| {
                Ok(SessionRow {
                    user_id: r.text(0)?,
                    created_at: r.time(1)?,
                    last_seen_at: r.time(2)?,
                    revoked: !r.is_null(3)?,
                })
            },
        )
    }

    pub fn touch_session(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
            args![token_hash, ts(now)],
        )?;
        Ok(())
    }

    /// Sets when every live session of a user was last seen (training).
    pub fn set_last_seen_of_user(&self, user_id: &str, at: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE sessions SET last_seen_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            args![user_id, ts(at)],
        )?;
        Ok(())
    }

    pub fn revoke_session(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            args![token_hash, ts(now)],
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
        self.exec(
            "INSERT INTO providers (id, name, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            args![id, name, key_hash, ts(now)],
        )?;
        Ok(())
    }

    /// `(id, name)` of the provider whose key hashes to `key_hash`.
    pub fn provider_by_key_hash(&self, key_hash: &[u8]) -> Result<Option<(String, String)>> {
        self.query_opt(
            "SELECT id, name FROM providers WHERE key_hash = ?1",
            args![key_hash],
            |r| Ok((r.text(0)?, r.text(1)?)),
        )
    }

    // ---- documents ---------------------------------------------------------

    pub fn insert_document(&self, d: &DocumentRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO documents ({DOCUMENT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            args![
                &d.id,
                &d.recipient_id,
                &d.provider_id,
                &d.issuer,
                &d.title,
                &d.content_type,
                &d.content,
                &d.sha256,
                d.status.as_str(),
                ts(d.created_at),
                d.envelope.as_ref().map(to_json)
            ],
        )?;
        Ok(())
    }

    /// A user's documents, newest first, without their content.
    pub fn documents_of(&self, user_id: &str) -> Result<Vec<DocumentRow>> {
        self.query(
            "SELECT id, recipient_id, provider_id, issuer, title, content_type, NULL, sha256,
                    status, created_at, NULL
             FROM documents WHERE recipient_id = ?1 ORDER BY created_at DESC, id",
            args![user_id],
            document_from_row,
        )
    }

    pub fn document(&self, id: &str) -> Result<Option<DocumentRow>> {
        self.query_opt(
            &format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?1"),
            args![id],
            document_from_row,
        )
    }

    /// Moves a pending document to signed or declined. True if it was pending.
    pub fn decide_document(
        &self,
        id: &str,
        status: DocumentStatus,
        envelope: Option<&Envelope>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let n = self.exec(
            "UPDATE documents SET status = ?2, envelope = ?3, decided_at = ?4
             WHERE id = ?1 AND status = 'pending'",
            args![id, status.as_str(), envelope.map(to_json), ts(now)],
        )?;
        Ok(n == 1)
    }
}

impl Tx<'_> {
    /// Records `fingerprint` if the database has none yet; whether the
    /// database's fingerprint is this one.
    pub fn check_key_fingerprint(&self, fingerprint: &str) -> Result<bool> {
        self.exec(
            "INSERT INTO key_check (one, fingerprint) VALUES (1, ?1) ON CONFLICT DO NOTHING",
            args![fingerprint],
        )?;
        let stored = self.query_one("SELECT fingerprint FROM key_check", args![], |r| r.text(0))?;
        Ok(stored == fingerprint)
    }
}

//! The code-card rules, sessions, documents and signatures: everything the
//! API and the operator CLI do, as blocking functions over the [`Store`].
//! Handlers call these from `spawn_blocking`; they never touch SQL.
//!
//! One concern per module: `login`, `signing` (both over `challenge`, which
//! issues and answers every card prompt), `cards`, `sessions`, `documents`,
//! `operator`, and `training` (the demo's shortcuts, in-process only).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kodekort_proto::signing::TrustRoot;
use rand::rngs::OsRng;
use rand::RngCore;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::error::{ApiError, Error, Result};
use crate::keys::Keys;
use crate::password;
use crate::store::{Database, DatabaseUrl, Store, Tx};

mod cards;
mod challenge;
mod documents;
mod login;
pub mod oidc;
mod oidc_clients;
mod oidc_keys;
pub mod oidc_logout;
mod operator;
mod sessions;
mod signing;
mod training;

pub use oidc_clients::{check_redirect_uri, ClientInfo, ClientSecret, NewClient};
pub use oidc_keys::KeyInfo;
pub use training::TrainingOverview;

/// How long a reserved password evaluation holds its place if the process
/// dies before settling it (Argon2 takes well under a second).
const EVALUATION_TTL: Duration = Duration::seconds(60);
/// How long a card challenge may be answered.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after login, whatever happens.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, to spare a write per read.
pub(crate) const TOUCH_INTERVAL: Duration = Duration::seconds(15);
/// How long a citizen's certificate is valid.
const CERTIFICATE_LIFETIME: Duration = Duration::days(3 * 365);
/// Largest document content providers may submit.
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;
/// Longest document title, in characters.
const MAX_TITLE_CHARS: usize = 300;
/// Longest citizen or provider name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A result whose `Err` is a refusal to be committed along with the
/// transaction's other writes (a counted failure, a closed challenge).
type Outcome<T> = std::result::Result<T, ApiError>;

/// A citizen with a valid session.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub user_id: String,
    pub username: String,
    /// When this session ends at the latest (12 hours after the login).
    pub session_expires_at: OffsetDateTime,
    token_hash: [u8; 32],
}

/// A provider authenticated by its API key.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
}

/// The service over one data dir.
pub struct Service {
    store: Store,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    outbox: PathBuf,
    dummy_hash: String,
    trust: TrustRoot,
    /// The OpenID Connect signing keys, parsed once.
    oidc_keys: crate::oidc::signing::KeyCache,
    /// Argon2 verifications run, so tests can see that an unknown
    /// username costs the same work as a known one.
    argon2_runs: AtomicU64,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("trust", &self.trust.key_id)
            .finish_non_exhaustive()
    }
}

/// Lowercases and trims a username as typed. Counting and lookup use this.
pub fn normalise_username(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The longest username an account can have, in bytes (all ASCII).
pub const MAX_USERNAME_BYTES: usize = 64;

pub(crate) fn valid_username(u: &str) -> bool {
    (1..=MAX_USERNAME_BYTES).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// A new random id with a readable prefix and 128 random bits.
fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Whether a path segment can be an id at all; others get `invalid_id`.
pub use kodekort_proto::id::is_valid_id as valid_id;

impl Service {
    /// Opens the data dir: keys, database, outbox.
    pub fn open(data_dir: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Service> {
        Self::open_with(&Setup::local(data_dir), clock)
    }

    /// Opens what `setup` names: keys, database (applying its migrations),
    /// outbox. Blocking: call from a blocking thread.
    pub fn open_with(setup: &Setup, clock: Arc<dyn Clock>) -> Result<Service> {
        let data_dir = setup.data_dir.as_path();
        create_private_dir(data_dir)?;
        let keys = Arc::new(match (&setup.key_dir, &setup.database) {
            (Some(dir), _) => Keys::load(dir)?,
            // Instances that share a database must share keys: none is
            // made here, where a second instance would make others.
            (None, Some(_)) => Keys::load(data_dir)?,
            (None, None) => Keys::load_or_create(data_dir)?,
        });
        let store = Store::open(&setup.database())?;
        let fingerprint = keys.fingerprint();
        if !store.write(|tx| tx.check_key_fingerprint(&fingerprint))? {
            return Err(Error::KeysDiffer);
        }
        let outbox = data_dir.join("outbox");
        std::fs::create_dir_all(&outbox).map_err(|e| Error::io(&outbox, e))?;
        let trust = TrustRoot::from_key(&keys.root().verifying_key());
        // Public: what clients pin to verify signatures (like ca.pem for TLS).
        let trust_path = data_dir.join("trust.json");
        let trust_json = serde_json::to_vec_pretty(&trust).expect("trust root serialises");
        if std::fs::read(&trust_path).ok().as_deref() != Some(trust_json.as_slice()) {
            std::fs::write(&trust_path, &trust_json).map_err(|e| Error::io(&trust_path, e))?;
        }
        Ok(Service {
            store,
            keys,
            clock,
            outbox,
            dummy_hash: password::dummy_hash()?,
            trust,
            oidc_keys: Default::default(),
            argon2_runs: AtomicU64::new(0),
        })
    }

    /// Whether the database answers (the readiness check).
    pub fn database_ready(&self) -> Result<()> {
        self.store.ping()
    }

    /// How many migrations the database has.
    pub fn schema_version(&self) -> Result<i64> {
        self.store.schema_version()
    }

    /// How many login attempts have run argon2 since start.
    pub fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
    }

    pub fn trust(&self) -> &TrustRoot {
        &self.trust
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Runs a write transaction whose refusals are committed too.
    fn write_outcome<T>(&self, f: impl Fn(&Tx<'_>) -> Result<Outcome<T>>) -> Result<T> {
        self.store.write(f)?.map_err(Error::Api)
    }
}

/// Where a service's state lives. By default everything is in the data
/// dir; several instances share a PostgreSQL database and a key dir.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The outbox, the development CA, and (by default) the keys and the
    /// SQLite file.
    pub data_dir: PathBuf,
    /// PostgreSQL instead of the data dir's SQLite file.
    pub database: Option<DatabaseUrl>,
    /// Load the keys from here, never creating them.
    pub key_dir: Option<PathBuf>,
}

impl Setup {
    /// Everything in `data_dir`, with SQLite.
    pub fn local(data_dir: &std::path::Path) -> Setup {
        Setup {
            data_dir: data_dir.to_path_buf(),
            database: None,
            key_dir: None,
        }
    }

    /// The database this setup names.
    pub fn database(&self) -> Database {
        match &self.database {
            Some(url) => Database::Postgres(url.clone()),
            None => Database::Sqlite(self.data_dir.join("kodekort.sqlite3")),
        }
    }
}

/// Creates the data dir readable by the owner only (it holds the database
/// and the key files). An existing dir is left as the operator made it.
pub(crate) fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_normalise_and_validate() {
        assert_eq!(normalise_username("  Anna.Hansen "), "anna.hansen");
        assert!(valid_username("anna.hansen-2_b"));
        assert!(!valid_username(""));
        assert!(!valid_username("anna hansen"));
        assert!(!valid_username("søren"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn ids_are_random_and_checked() {
        let a = new_id("doc");
        assert!(valid_id(&a) && a.starts_with("doc_") && a.len() == 36);
        assert_ne!(a, new_id("doc"));
        assert!(!valid_id("../etc/passwd"));
        assert!(!valid_id(""));
    }
}

//! The server crate's error type. [`Error::Api`] is an answer the client is
//! meant to see; every other variant is a fault that is logged in full and
//! reaches the wire only as `internal_error`.

use std::path::{Path, PathBuf};

use kodekort_proto::{ErrorBody, ErrorCode, ErrorResponse};
use time::OffsetDateTime;

/// A refusal with a stable code, and for card errors the attempts left and
/// the end of a wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub attempts_left: Option<u32>,
    pub locked_until: Option<OffsetDateTime>,
    /// Shown to the caller as `detail`: what exactly was wrong.
    pub detail: Option<String>,
}

impl ApiError {
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorBody {
                code: self.code,
                message: self.code.english().to_owned(),
                attempts_left: self.attempts_left,
                locked_until: self.locked_until,
                detail: self.detail.clone(),
            },
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError {
            code,
            attempts_left: None,
            locked_until: None,
            detail: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}{}", .0.code.english(), .0.detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Api(ApiError),
    #[error("database: {0}")]
    Database(#[from] r2d2_sqlite::rusqlite::Error),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("the database cannot be reached")]
    DatabaseUnavailable,
    #[error("database schema version {found} is newer than this server knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid key file (expected 32 bytes)", .0.display())]
    KeyFile(PathBuf),
    #[error("{} is missing: create the keys once with `kodekort-server keys init --key-dir DIR`, \
             and give every instance that directory", .0.display())]
    MissingKey(PathBuf),
    #[error(
        "these keys are not the ones this database was first used with (another key \
             directory?); every instance must load the same keys"
    )]
    KeysDiffer,
    #[error("TLS set-up: {0}")]
    Tls(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("password hashing: {0}")]
    PasswordHash(String),
    #[error("cryptography failed: {0}")]
    Crypto(&'static str),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The stable code a client sees for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Api(api) => api.code,
            // Worth trying again: the database is away, or conflicts went
            // on past the retry limit.
            Error::DatabaseUnavailable => ErrorCode::ServiceUnavailable,
            Error::Postgres(e)
                if e.is_closed()
                    || e.code() == Some(&postgres::error::SqlState::T_R_SERIALIZATION_FAILURE) =>
            {
                ErrorCode::ServiceUnavailable
            }
            _ => ErrorCode::InternalError,
        }
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Self {
        Error::Api(code.into())
    }
}

impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        Error::Api(api)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

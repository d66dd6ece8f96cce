//! The app's errors, and the one shape the UI gets: `{code, message}`, the
//! message from the catalogue in the app's language.

use kodekort_client::{catalogue, ClientError, Lang};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Neither the demo nor a configured server has been started.
    #[error("no server configured")]
    NoServerConfigured,
    /// A demo-only action outside the demo.
    #[error("not in demo mode")]
    NotDemo,
    /// The demo backend failed to start or reset.
    #[error("demo: {0}")]
    Demo(#[from] kodekort_demo::DemoError),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Client(e) => e.code(),
            AppError::NoServerConfigured => "no_server_configured",
            AppError::NotDemo => "not_demo",
            AppError::Demo(_) => "demo_failed",
        }
    }

    /// Codes of the app's own errors, for the catalogue test.
    pub const LOCAL_CODES: &'static [&'static str] = &["no_server_configured", "not_demo"];

    pub fn to_ui(&self, lang: Lang) -> UiError {
        let message = match self {
            AppError::Client(e) => e.message(lang),
            other => catalogue::text(lang, "error", other.code(), &[]),
        };
        UiError {
            code: self.code().to_owned(),
            message,
        }
    }
}

/// What a failed command returns to the UI. The contract is exactly these
/// two fields; raw TLS, HTTP or database text never appears in `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for UiError {}

//! The app's errors, and the one shape the UI gets: `{code, message}`, the
//! message from the catalogue in the app's language.

use kodekort_client::{catalogue, ClientError, Lang};
use kodekort_demo::DemoError;
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
    /// The demo backend failed to start or reset, or has no such account.
    #[error("demo: {0}")]
    Demo(#[from] kodekort_demo::DemoError),
    /// A trainer action (reset, scenario, kit) failed, or named no account.
    #[error("demo action: {0}")]
    DemoAction(kodekort_demo::DemoError),
    /// A scenario name the demo does not know.
    #[error("unknown scenario")]
    UnknownScenario,
    /// "Session about to expire" for an account not signed in here.
    #[error("the scenario needs the account signed in")]
    ScenarioNeedsLogin,
    /// "Sign" for a document this app has not shown: only shown bytes are signed.
    #[error("the document was not shown")]
    NotDisplayed,
    /// Looking for, or installing, a new version of the app failed.
    #[error("update: {0:?}")]
    Update(UpdateProblem),
}

/// Why a new version was not found or not installed, as the citizen needs
/// to know it; the updater's own text (URLs, TLS) stays in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateProblem {
    /// The manifest or the package could not be fetched.
    Unreachable,
    /// The package is not signed with the pinned key, or not for the
    /// version the manifest announced.
    Signature,
    /// The citizen (or the system) did not allow installing it.
    Cancelled,
    /// Anything else: a manifest that does not parse, an install that failed.
    Failed,
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Client(e) => e.code(),
            AppError::NoServerConfigured => "no_server_configured",
            AppError::NotDemo => "not_demo",
            AppError::Demo(e) | AppError::DemoAction(e @ DemoError::NoSuchAccount(_)) => e.code(),
            AppError::DemoAction(_) => "demo_action_failed",
            AppError::UnknownScenario => "unknown_scenario",
            AppError::ScenarioNeedsLogin => "scenario_needs_login",
            AppError::NotDisplayed => "document_not_shown",
            AppError::Update(UpdateProblem::Unreachable) => "update_unreachable",
            AppError::Update(UpdateProblem::Signature) => "update_signature",
            AppError::Update(UpdateProblem::Cancelled) => "update_cancelled",
            AppError::Update(UpdateProblem::Failed) => "update_failed",
        }
    }

    /// Codes of the app's own errors, for the catalogue test.
    pub const LOCAL_CODES: &'static [&'static str] = &[
        "no_server_configured",
        "not_demo",
        "demo_action_failed",
        "unknown_scenario",
        "scenario_needs_login",
        "document_not_shown",
        "update_unreachable",
        "update_signature",
        "update_cancelled",
        "update_failed",
    ];

    pub fn to_ui(&self, lang: Lang) -> UiError {
        let message = match self {
            AppError::Client(e) => e.message(lang),
            other => catalogue::text(lang, "error", other.code(), &[]),
        };
        let until = match self {
            AppError::Client(ClientError::Server {
                locked_until: Some(t),
                ..
            }) => Some(crate::view::rfc3339(*t)),
            _ => None,
        };
        UiError {
            code: self.code().to_owned(),
            message,
            until,
            next: None,
        }
    }
}

/// What a failed command returns to the UI: a stable code and a message,
/// and for a wait its end; raw TLS, HTTP or database text never appears in `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
    /// When a wait after failed attempts ends (RFC 3339), so the UI can
    /// show it in the citizen's local time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// For a refusal in the login or signing flow: where it stands now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<crate::view::NextStep>,
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for UiError {}

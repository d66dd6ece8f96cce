//! The GUI-free heart of Kodekort's clients: the HTTPS API client, the
//! stepped login, verification in plain words, and the message catalogue
//! shared by the CLI and the desktop UI. No Tauri, no UI code.

pub mod api;
pub mod catalogue;
pub mod config;
pub mod error;
pub mod login;
pub mod session_store;
pub mod signed_copy;
pub mod verify;

pub use api::{ApiClient, Server, Trust};
pub use catalogue::Lang;
pub use error::{ClientError, Result};
pub use login::{AuthState, CodePrompt, Login, Session};
pub use verify::{verify_envelope, Reason, Verdict};

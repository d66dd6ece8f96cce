//! The GUI-free heart of Kodekort's clients, one session layer that the CLI
//! and the desktop app both wrap: the connection (HTTPS client, pinned
//! roots, where sessions are kept), the stepped login and signing, verification
//! in plain words, and the message catalogue. No Tauri, no UI code.

pub mod api;
pub mod catalogue;
pub mod config;
pub mod connection;
pub mod error;
pub mod login;
pub mod login_link;
pub mod session_store;
pub mod signed_copy;
pub mod signing;
pub mod verify;

pub use api::{ApiClient, Server, Trust};
pub use catalogue::Lang;
pub use connection::{Connection, Keeping, KeyringOpener, Notice, Overrides, Target};
pub use error::{ClientError, Result};
pub use login::{AuthState, CodePrompt, Login, Session};
pub use login_link::LoginLink;
pub use signing::{Displayed, SignState, Signing};
pub use verify::{verify_envelope, Reason, Verdict};

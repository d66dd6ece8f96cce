//! The desktop app's core, without Tauri: [`App`] holds the server (or the
//! embedded demo), the login in progress, the session and the signature in
//! progress, and answers every UI request with a serialisable view. The
//! Tauri commands in `src-tauri/` are one-line wrappers over its methods,
//! so everything here is tested without a webview.
//!
//! What never leaves this crate for the UI: the session token, a real
//! account's password after it was submitted, and a real card's codes.
//! Demo cards are shown, because they are printed for the class anyway.

mod app;
mod error;
mod view;

pub use app::{App, Options};
pub use error::{AppError, UiError, UpdateProblem};
pub use view::*;

// What the Tauri shell needs besides the app, so that it depends on this
// crate alone.
pub use kodekort_client::catalogue::Table as CatalogueTable;
pub use kodekort_client::config::default_path as default_config_path;
pub use kodekort_client::config::Updates as UpdatesConfig;
pub use kodekort_client::Lang;
pub use kodekort_proto::Password;

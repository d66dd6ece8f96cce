//! The Kodekort desktop app. The Tauri shell arrives with the desktop-app
//! issue; until then this crate only names itself.

/// Human-readable product name, shared by the window title and `--version`.
pub const PRODUCT_NAME: &str = "Kodekort";

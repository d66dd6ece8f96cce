//! The Kodekort reference backend: an HTTPS API over rustls (no plain-HTTP
//! listener), SQLite or PostgreSQL storage, code cards, sessions, documents and
//! signatures, and the operator commands of the `kodekort-server` binary.
//!
//! Layers, top to bottom: [`api`] (axum handlers, JSON errors) →
//! [`service`] (the rules) → [`store`] (all SQL). [`keys`] holds the secrets
//! that live in files, never in the database.

pub mod api;
pub mod card;
pub mod card_pdf;
pub mod cli;
pub mod clock;
mod connection_io;
pub mod error;
pub mod health;
pub mod keys;
pub mod listener;
pub mod lockout;
pub mod oidc;
pub mod password;
pub mod service;
pub mod store;
pub mod tls;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use service::{Service, TrainingOverview};

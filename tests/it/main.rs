//! Kodekort's integration tests: one binary, real HTTPS on loopback, real
//! SQLite files or PostgreSQL databases (`tests/store.rs`), and several
//! server processes behind HAProxy (`scale_out`). Helpers live in
//! `tests/lib.rs`.

mod bad_input;
mod cards;
mod citizen_flow;
mod cli;
mod client;
mod connections;
mod demo;
mod desktop;
mod hiding_text;
mod keyring_outcomes;
mod lockout;
mod oidc;
mod operator_cli;
mod scale_out;
mod sessions;
mod signed_copy;
mod transport;
mod verify_cli;
mod what_you_see;

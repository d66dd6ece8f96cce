//! The `kodekort` command line's arguments, in a library of their own so
//! that the man pages and shell completions are generated from the same
//! definitions (`xtask/docgen`), without running the client.

use clap::{Parser, Subcommand};
use kodekort_client::Lang;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const OTHER: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AUTH_FAILED: u8 = 3;
    pub const LOCKED: u8 = 4;
    pub const NETWORK: u8 = 5;
    pub const VERIFY_FAILED: u8 = 6;
}

#[derive(Debug, Parser)]
#[command(
    name = "kodekort",
    version,
    about = "Kodekort: log in with your code card, read, sign and verify documents.",
    after_help = "Exit codes: 0 ok, 1 other error, 2 usage, 3 login failed, 4 card locked or waiting, \
                  5 network or server identity, 6 verification failed."
)]
pub struct Cli {
    /// Server address, https://HOST:PORT.
    #[arg(long, global = true, env = "KODEKORT_SERVER", requires = "ca")]
    pub server: Option<String>,
    /// The server's CA certificate (PEM) to pin; no other CA is trusted.
    #[arg(long, global = true, env = "KODEKORT_CA", value_name = "PEM")]
    pub ca: Option<std::path::PathBuf>,
    /// The server's root key to trust for signatures (trust.json from the server's data dir).
    #[arg(long, global = true, env = "KODEKORT_TRUST", value_name = "JSON")]
    pub trust: Option<std::path::PathBuf>,
    /// Language of messages: da or en.
    #[arg(long, global = true, env = "KODEKORT_LANG", value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// A public computer: keep nothing after this run (no keyring).
    #[arg(long, global = true)]
    pub public_computer: bool,
    #[command(subcommand)]
    pub command: Command,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("unknown language {s:?}: use da or en"))
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Log in: password, then the code for the key the server names.
    Login {
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Answer with a code from the replacement card you received.
        #[arg(long)]
        replacement_card: bool,
    },
    /// Log out and forget the session.
    Logout,
    /// Show your code card: codes left, replacement, lock.
    Card,
    /// List your documents.
    Documents,
    /// Show a document in full.
    Show { id: String },
    /// Sign a document (asks for a code).
    Sign { id: String },
    /// Decline a document.
    Decline { id: String },
    /// Save a signed document as a PDF that verifies on its own.
    Export {
        id: String,
        #[arg(short, long, value_name = "FILE.pdf")]
        output: std::path::PathBuf,
    },
    /// Verify a signed PDF or an envelope.json, offline.
    Verify { file: std::path::PathBuf },
    /// Start a demo with demo accounts, and an interactive session.
    Demo {
        /// How many demo accounts (1 to 50).
        #[arg(long, default_value_t = 3)]
        accounts: usize,
        #[command(subcommand)]
        action: Option<DemoAction>,
    },
}

/// What `kodekort demo` does instead of an interactive session.
#[derive(Debug, Clone, Subcommand)]
pub enum DemoAction {
    /// Write the class kit PDF: one page per demo account with its username,
    /// password and code card. Needs no running demo: demo cards are fixed.
    Kit {
        #[arg(short, long, value_name = "FILE.pdf")]
        output: std::path::PathBuf,
        /// Large print: bigger type, each account's card over more pages.
        #[arg(long)]
        large: bool,
    },
}

/// What the flags say about server and trust, over the configuration.
pub fn overrides(cli: &Cli) -> kodekort_client::Overrides {
    kodekort_client::Overrides {
        server: cli.server.clone(),
        ca: cli.ca.clone(),
        trust: cli.trust.clone(),
    }
}

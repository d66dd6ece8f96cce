//! `kodekort-server`: see `kodekort-server --help`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use kodekort_server::cli::{self, Cli, CliError, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: under systemd the
        // journal would keep them as escape sequences.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();
    let result = match cli.command {
        Command::Serve(args) => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(cli::serve(args)),
            Err(e) => {
                eprintln!("error: could not start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        },
        other => cli::run_operator(other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(CliError::Server(err)) => {
            match err.code() {
                kodekort_proto::ErrorCode::InternalError => eprintln!("error: {err}"),
                code => eprintln!("error: {err} ({code})"),
            }
            ExitCode::FAILURE
        }
    }
}

//! `kodekort`: the citizen client for the terminal. Plain lines that read
//! well in a terminal screen reader, `--json` for scripts, distinct exit
//! codes, and every message from the shared Danish/English catalogue.

use std::process::ExitCode;

use clap::Parser;
use kodekort_cli::args::{Cli, Command, DemoAction};
use kodekort_client::Lang;
// The submodules name these as `crate::…`.
use kodekort_cli::args::{exit, overrides};

mod context;
mod demo;
mod error;
mod output;
mod prompt;
mod verify;

use context::Context;
use error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, config_problem) = match kodekort_client::config::default_path() {
        Some(path) => kodekort_client::config::Config::load(&path),
        None => Default::default(),
    };
    let lang = cli.lang.or(config.language).unwrap_or_else(Lang::from_env);
    let out = output::Out::new(cli.json, lang);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let err = CliError::Runtime(e);
            out.error(&err);
            return ExitCode::from(err.exit_code());
        }
    };
    if let Some(problem) = config_problem {
        // Said once; the client goes on with defaults.
        out.error(&problem.into());
    }
    let code = runtime.block_on(async {
        let result = match &cli.command {
            Command::Demo {
                accounts,
                action: Some(DemoAction::Kit { output, large }),
            } => demo::write_kit(*accounts, output, *large, &out),
            Command::Demo {
                accounts,
                action: None,
            } => demo::run(*accounts, &out).await,
            // Offline: the pinned roots only, no server and no keyring.
            Command::Verify { file } => {
                let (roots, trust_problem) =
                    kodekort_client::config::pinned_roots(&config, &overrides(&cli));
                verify::verify_file(&out, file, &roots, trust_problem)
            }
            command => match Context::from_cli(&cli, &config, out.clone()) {
                Ok(mut ctx) => ctx.run(command).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(code) => code,
            Err(err) => {
                out.error(&err);
                err.exit_code()
            }
        }
    });
    ExitCode::from(code)
}

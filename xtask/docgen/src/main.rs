//! `kodekort-docgen OUT_DIR`: the man pages and the shell completions of
//! both command lines, generated from the same clap definitions that the
//! binaries parse, so that they cannot drift. `cargo xtask package` runs it
//! and puts the files into the packages.
//!
//! Layout under OUT_DIR:
//! - `man/kodekort/*.1`, `man/kodekort-server/*.1`: one page per command
//!   and subcommand (`kodekort-login.1`, …)
//! - `completions/{bash,zsh,fish}/…`: under the names each shell looks for

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .context("usage: kodekort-docgen OUT_DIR")?;
    let out = Path::new(&out);
    for (name, command) in [
        ("kodekort", kodekort_cli::args::Cli::command()),
        ("kodekort-server", kodekort_server::cli::Cli::command()),
    ] {
        let man = out.join("man").join(name);
        std::fs::create_dir_all(&man)?;
        clap_mangen::generate_to(command.clone(), &man)
            .with_context(|| format!("writing the man pages of {name}"))?;
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let dir = out.join("completions").join(shell.to_string());
            std::fs::create_dir_all(&dir)?;
            clap_complete::generate_to(shell, &mut command.clone(), name, &dir)
                .with_context(|| format!("writing the {shell} completion of {name}"))?;
        }
    }
    Ok(())
}

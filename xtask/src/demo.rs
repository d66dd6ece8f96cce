//! `cargo xtask demo`: builds the `kodekort` CLI and starts its demo: the
//! reference backend inside the process on loopback, demo accounts with
//! their cards, and an interactive session. No network, nothing written
//! outside a temp folder. (The desktop app takes this over in its issue.)

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cargo, root, system};

pub fn run() -> Result<()> {
    system::ensure(system::BUILD_PACKAGES)?;
    let mut build = cargo();
    build.args([
        "build",
        "--locked",
        "-p",
        "kodekort-cli",
        "--bin",
        "kodekort",
    ]);
    crate::run(build)?;
    let bin = root().join("target/debug/kodekort");
    let status = Command::new(&bin)
        .arg("demo")
        .status()
        .with_context(|| format!("could not start {}", bin.display()))?;
    if !status.success() {
        bail!("the demo stopped: {status}");
    }
    Ok(())
}

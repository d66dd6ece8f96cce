//! `cargo xtask demo`: builds the desktop app and opens it in demo mode:
//! the reference backend inside the app on loopback, demo accounts with
//! their cards on screen. No network, nothing written outside a temp
//! folder. Without a display it says so, and points to the terminal demo.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cargo, root, system};

/// On Linux a window needs X11 or Wayland.
fn has_display() -> bool {
    let set = |v| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    !cfg!(target_os = "linux") || set("DISPLAY") || set("WAYLAND_DISPLAY")
}

pub fn run() -> Result<()> {
    if !has_display() {
        bail!(
            "no display: DISPLAY and WAYLAND_DISPLAY are not set, so the app window cannot open.\n\
             - On a desktop, run `cargo xtask demo` from a terminal inside your desktop session.\n\
             - Over SSH, use `ssh -X`, or a virtual display:\n    \
             Xvfb :99 -screen 0 1280x800x24 & DISPLAY=:99 cargo xtask demo\n  \
             and look with `DISPLAY=:99 import -window root shot.png`.\n\
             - Or run the same demo in the terminal: `cargo run -p kodekort-cli --bin kodekort -- demo`"
        );
    }
    system::ensure(system::BUILD_PACKAGES)?;
    system::ensure(system::DESKTOP_PACKAGES)?;
    let mut build = cargo();
    build.args(["build", "--locked", "-p", "kodekort-desktop"]);
    crate::run(build)?;
    let bin = root().join("target/debug/kodekort-desktop");
    let status = Command::new(&bin)
        .arg("--demo")
        .status()
        .with_context(|| format!("could not start {}", bin.display()))?;
    if !status.success() {
        bail!(
            "the app stopped ({status}). The same demo runs in a terminal: \
             `cargo run -p kodekort-cli --bin kodekort -- demo`"
        );
    }
    Ok(())
}

//! System packages the tasks need. On Debian/Ubuntu as root they are
//! installed; otherwise the exact command to run is printed.

use std::process::Command;

use anyhow::{bail, Result};

/// A program the tasks run, and the Debian package that provides it.
pub struct Need {
    pub program: &'static str,
    pub package: &'static str,
}

/// To build: a C compiler for SQLite and ring.
pub const BUILD_PACKAGES: &[Need] = &[
    Need {
        program: "cc",
        package: "build-essential",
    },
    Need {
        program: "pkg-config",
        package: "pkg-config",
    },
];

/// To test, besides the build packages: poppler reads the PDFs (pdftotext,
/// pdfinfo, pdfdetach); a private D-Bus session with gnome-keyring is the
/// real OS keyring for the session-persistence tests.
pub const TEST_PACKAGES: &[Need] = &[
    Need {
        program: "pdftotext",
        package: "poppler-utils",
    },
    Need {
        program: "dbus-daemon",
        package: "dbus",
    },
    Need {
        program: "gnome-keyring-daemon",
        package: "gnome-keyring",
    },
];

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs what is missing, or says exactly what to run.
pub fn ensure(needs: &[Need]) -> Result<()> {
    let mut missing: Vec<&str> = needs
        .iter()
        .filter(|n| !on_path(n.program))
        .map(|n| n.package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !on_path("apt-get") {
        bail!("missing programs; install these packages (Debian names): {list}");
    }
    if !is_root() {
        bail!(
            "missing system packages. Run:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends {list}"
        );
    }
    eprintln!("xtask: installing {list}");
    let update = Command::new("apt-get").arg("update").status()?;
    if !update.success() {
        bail!("apt-get update failed");
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?;
    if !install.success() {
        bail!("apt-get install {list} failed");
    }
    Ok(())
}

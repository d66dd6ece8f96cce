//! System packages the tasks need. On Debian/Ubuntu as root they are
//! installed; otherwise the exact command to run is printed.

use std::process::Command;

use anyhow::{bail, Result};

/// Something the tasks need, how to tell it is there, and the Debian
/// package that provides it. `probe` is a program on PATH, an absolute
/// path, or `pkg-config:<module>` for a C library's headers.
pub struct Need {
    pub probe: &'static str,
    pub package: &'static str,
}

const fn need(probe: &'static str, package: &'static str) -> Need {
    Need { probe, package }
}

/// To build: a C compiler for SQLite and ring.
pub const BUILD_PACKAGES: &[Need] = &[
    need("cc", "build-essential"),
    need("pkg-config", "pkg-config"),
];

/// To build the desktop app: WebKitGTK and the libraries Tauri links on Linux.
pub const DESKTOP_PACKAGES: &[Need] = &[
    need("pkg-config:webkit2gtk-4.1", "libwebkit2gtk-4.1-dev"),
    need("pkg-config:openssl", "libssl-dev"),
    need("/usr/include/xdo.h", "libxdo-dev"),
    need(
        "pkg-config:ayatana-appindicator3-0.1",
        "libayatana-appindicator3-dev",
    ),
    need("pkg-config:librsvg-2.0", "librsvg2-dev"),
];

/// To test, besides the build packages: poppler reads the PDFs (pdftotext,
/// pdfinfo, pdfdetach); a private D-Bus session with gnome-keyring is the
/// real OS keyring for the session-persistence tests; Debian's Chromium and
/// Node run the UI tests.
pub const TEST_PACKAGES: &[Need] = &[
    need("pdftotext", "poppler-utils"),
    need("dbus-daemon", "dbus"),
    need("gnome-keyring-daemon", "gnome-keyring"),
    need("/usr/lib/chromium/chromium", "chromium"),
    need("node", "nodejs"),
    need("npm", "npm"),
    // Common clients that must read the server's refusals (tests/it/connections.rs).
    need("curl", "curl"),
    need("python3", "python3"),
    // Schemathesis goes into a venv (Debian's python3 needs python3-venv for it;
    // the package's doc folder is how to tell it is there).
    need("/usr/share/doc/python3-venv", "python3-venv"),
    // The time-zone database: the CLI's local times are tested in named zones.
    need("/usr/share/zoneinfo/Asia/Tokyo", "tzdata"),
];

/// For the PostgreSQL run of the suite and the scale-out tests: a
/// throw-away cluster (xtask/src/postgres.rs) and HAProxy in front of
/// several server processes.
pub const SCALE_TEST_PACKAGES: &[Need] = &[
    need("/usr/lib/postgresql/15/bin/initdb", "postgresql"),
    need("haproxy", "haproxy"),
];

/// To package: cargo-deb's `$auto` dependencies come from dpkg-shlibdeps.
pub const PACKAGE_PACKAGES: &[Need] = &[need("dpkg-shlibdeps", "dpkg-dev")];

/// To unpack an .rpm for `cargo xtask reproduce`.
pub const REPRODUCE_PACKAGES: &[Need] = &[need("rpm2cpio", "rpm2cpio"), need("cpio", "cpio")];

/// To test the packages in a clean Debian tree.
pub const INSTALL_TEST_PACKAGES: &[Need] = &[need("debootstrap", "debootstrap")];

/// To run the real app in tests: a virtual display, WebKit's WebDriver, the
/// accessibility bus and pyatspi, and `import` for screenshots.
pub const APP_TEST_PACKAGES: &[Need] = &[
    need("Xvfb", "xvfb"),
    need("WebKitWebDriver", "webkit2gtk-driver"),
    need("/usr/libexec/at-spi-bus-launcher", "at-spi2-core"),
    need("dbus-launch", "dbus-x11"),
    need(
        "/usr/lib/python3/dist-packages/pyatspi/__init__.py",
        "python3-pyatspi",
    ),
    need(
        "/usr/lib/python3/dist-packages/gi/__init__.py",
        "python3-gi",
    ),
    need(
        "/usr/lib/x86_64-linux-gnu/girepository-1.0/Atspi-2.0.typelib",
        "gir1.2-atspi-2.0",
    ),
    need("import", "imagemagick"),
];

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn present(probe: &str) -> bool {
    if let Some(module) = probe.strip_prefix("pkg-config:") {
        return Command::new("pkg-config")
            .args(["--exists", module])
            .status()
            .is_ok_and(|s| s.success());
    }
    if probe.starts_with('/') {
        return std::path::Path::new(probe).exists();
    }
    on_path(probe)
}

pub fn is_root() -> bool {
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
        .filter(|n| !present(n.probe))
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

//! `cargo xtask install-test`: the packages of `cargo xtask package`,
//! installed in a clean Debian 12 tree, not on the build machine.
//!
//! 1. `debootstrap --variant=minbase bookworm` from the registry this
//!    machine's apt uses, made once and kept under target/install-test/base
//!    (every run works on a fresh copy of it).
//! 2. `apt-get install --no-install-recommends ./…deb` in the tree, so apt
//!    resolves what the packages declare and nothing else; then what they
//!    hold: the files, no `-dev` package, every library of both binaries.
//! 3. `kodekort --version`, `kodekort demo kit`, `kodekort-server --version`.
//! 4. `kodekort-server serve` as the packaged user, with the command line
//!    of the installed unit (systemd does not run in a chroot), reached over
//!    HTTPS with the CA it made; the unit's sandbox by `systemd-analyze
//!    security`.
//! 5. The installed app under Xvfb, as a citizen's user, through
//!    tauri-driver and the tree's WebKitWebDriver (tests/ui/installed-app.mjs):
//!    the first screen, the demo, a login with the on-screen card.
//! 6. `apt-get purge`: nothing of the packages is left but /var/lib/kodekort.
//!
//! Needs root (debootstrap, chroot, mounts). Slow (minutes), so it is its own
//! step; README.md says when to run it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::{package, root, run, system, tauri_driver};

/// The app's package: Tauri's bundler names it after the product.
const APP_PACKAGE: &str = "kodekort";

/// The most the unit's sandbox may expose: `systemd-analyze security`
/// shows 0.0 to 10.0 ("OK" below 2.0) but takes its `--threshold` in
/// tenths, as an integer (it refuses "2.0").
const EXPOSURE_LIMIT_TENTHS: u32 = 20;

/// `cargo xtask install-test [--no-build]`: `--no-build` tests the packages
/// already in target/package/ (after `cargo xtask package`).
pub fn command(args: &[&str]) -> Result<()> {
    let build = match args {
        [] => true,
        ["--no-build"] => false,
        _ => bail!("usage: cargo xtask install-test [--no-build]"),
    };
    if !is_root() {
        bail!(
            "the install test needs root (debootstrap, chroot, mounts). Run:\n  \
             sudo env \"PATH=$PATH\" cargo xtask install-test"
        );
    }
    system::ensure(system::INSTALL_TEST_PACKAGES)?;
    system::ensure(system::APP_TEST_PACKAGES)?;
    let driver = tauri_driver()?;
    let packages = if build {
        package::package()?
    } else {
        package::built()?
    };
    let work = root().join("target/install-test");
    let base = base_tree(&work)?;
    let tree = Tree::fresh(&work.join("root"), &base)?;
    let result = tree.check(&packages, &driver);
    tree.release()?;
    result?;
    eprintln!("xtask: install test passed");
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The minimal Debian 12 tree, made once by debootstrap and then copied.
fn base_tree(work: &Path) -> Result<PathBuf> {
    let base = work.join("base");
    if base.join("etc/debian_version").is_file() {
        return Ok(base);
    }
    let partial = work.join("base.partial");
    unmount_under(&partial)?;
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(work)?;
    let mut debootstrap = Command::new("debootstrap");
    debootstrap
        .args(["--variant=minbase", "bookworm"])
        .arg(&partial)
        .arg(mirror());
    run(debootstrap)?;
    std::fs::rename(&partial, &base)?;
    Ok(base)
}

/// The Debian archive this machine's apt uses (the same registry), from
/// its sources; deb.debian.org if none names bookworm.
fn mirror() -> String {
    let mut texts = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            if file
                .extension()
                .is_some_and(|e| e == "sources" || e == "list")
            {
                texts.extend(std::fs::read_to_string(file).ok());
            }
        }
    }
    texts.extend(std::fs::read_to_string("/etc/apt/sources.list").ok());
    for text in &texts {
        // deb822: a stanza with "URIs:" and a "Suites:" naming bookworm.
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(str::trim))
                    .unwrap_or_default()
                    .to_owned()
            };
            if field("Types:").split_whitespace().any(|t| t == "deb")
                && field("Suites:").split_whitespace().any(|s| s == "bookworm")
            {
                if let Some(uri) = field("URIs:").split_whitespace().next() {
                    return uri.to_owned();
                }
            }
        }
        // One-line form: deb [options] URI bookworm components…
        for line in text.lines() {
            let mut words = line.split_whitespace().filter(|w| !w.starts_with('['));
            if words.next() == Some("deb") {
                if let (Some(uri), Some("bookworm")) = (words.next(), words.next()) {
                    return uri.to_owned();
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_owned()
}

/// Unmounts everything mounted at or under `dir`, deepest first, and checks
/// that nothing is left: a tree is deleted only with nothing of the host in
/// it.
fn unmount_under(dir: &Path) -> Result<()> {
    let dir = match dir.canonicalize() {
        Ok(dir) => dir,
        Err(_) => return Ok(()),
    };
    let mounted = || -> Result<Vec<PathBuf>> {
        let mounts = std::fs::read_to_string("/proc/self/mounts")?;
        let mut under: Vec<PathBuf> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            // /proc/self/mounts writes a space in a path as \040.
            .map(|p| PathBuf::from(p.replace("\\040", " ")))
            .filter(|p| p.starts_with(&dir))
            .collect();
        under.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        Ok(under)
    };
    for point in mounted()? {
        let status = Command::new("umount").arg("-l").arg(&point).status()?;
        if !status.success() {
            bail!("could not unmount {}", point.display());
        }
    }
    let left = mounted()?;
    ensure!(
        left.is_empty(),
        "still mounted under {}: {left:?}",
        dir.display()
    );
    Ok(())
}

/// Ends every process whose root is `dir` (what the test started in it).
fn kill_processes_in(dir: &Path) {
    let Ok(dir) = dir.canonicalize() else { return };
    for _ in 0..50 {
        let mut found = false;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if std::fs::read_link(entry.path().join("root")).is_ok_and(|r| r == dir) {
                found = true;
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
        }
        if !found {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A copy of the base tree with proc, sys, a devpts and the host's X
/// sockets mounted, for one run.
struct Tree {
    dir: PathBuf,
}

impl Tree {
    fn fresh(dir: &Path, base: &Path) -> Result<Tree> {
        kill_processes_in(dir);
        unmount_under(dir)?;
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        let mut copy = Command::new("cp");
        copy.arg("-a").arg(base).arg(dir);
        run(copy)?;
        let tree = Tree {
            dir: dir.to_path_buf(),
        };
        tree.mount("proc", "proc", "proc", &[])?;
        tree.mount("sysfs", "sys", "sysfs", &["-o", "ro"])?;
        tree.mount(
            "devpts",
            "dev/pts",
            "devpts",
            &["-o", "newinstance,ptmxmode=0666"],
        )?;
        tree.mount("tmpfs", "dev/shm", "tmpfs", &[])?;
        std::fs::create_dir_all("/tmp/.X11-unix")?;
        std::fs::create_dir_all(dir.join("tmp/.X11-unix"))?;
        let mut bind = Command::new("mount");
        bind.args(["--bind", "/tmp/.X11-unix"])
            .arg(dir.join("tmp/.X11-unix"));
        run(bind)?;
        // The host's apt sources and settings: the same registry, the same
        // archive snapshot and its settings (apt.conf.d).
        let sources = dir.join("etc/apt/sources.list");
        if sources.exists() {
            std::fs::remove_file(&sources)?;
        }
        for (from, to) in [
            ("/etc/apt/sources.list.d", "etc/apt/sources.list.d"),
            ("/etc/apt/apt.conf.d", "etc/apt/apt.conf.d"),
        ] {
            for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let wanted = from.ends_with("apt.conf.d")
                    || name.ends_with(".sources")
                    || name.ends_with(".list");
                if wanted && path.is_file() {
                    std::fs::copy(&path, dir.join(to).join(&name))?;
                }
            }
        }
        if Path::new("/etc/apt/sources.list").is_file() {
            std::fs::copy("/etc/apt/sources.list", &sources)?;
        }
        Ok(tree)
    }

    fn mount(&self, what: &str, at: &str, kind: &str, options: &[&str]) -> Result<()> {
        let point = self.dir.join(at);
        std::fs::create_dir_all(&point)?;
        let mut mount = Command::new("mount");
        mount.args(["-t", kind]).args(options).arg(what).arg(&point);
        run(mount)
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.join(inside.trim_start_matches('/'))
    }

    /// A command in the tree, with a plain environment.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.dir)
            .arg(program)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }

    /// Runs `program args` in the tree; its standard output.
    fn output(&self, program: &str, args: &[&str]) -> Result<String> {
        let mut cmd = self.command(program);
        cmd.args(args).stderr(Stdio::inherit());
        let out = cmd
            .output()
            .with_context(|| format!("could not run {program} in the tree"))?;
        if !out.status.success() {
            bail!("{program} {args:?} failed in the tree with {}", out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn sh(&self, script: &str) -> Result<String> {
        self.output("/bin/sh", &["-ec", script])
    }

    fn check(&self, packages: &[PathBuf], driver: &Path) -> Result<()> {
        // 2. Install with apt, from the files, as a citizen would.
        let inbox = self.path("/tmp/packages");
        std::fs::create_dir_all(&inbox)?;
        let mut debs = Vec::new();
        for package in packages {
            let name = package.file_name().expect("a file").to_string_lossy();
            std::fs::copy(package, inbox.join(&*name))?;
            if name.ends_with(".deb") {
                debs.push(format!("/tmp/packages/{name}"));
            }
        }
        ensure!(
            debs.len() == 2,
            "expected the app's and the server's .deb, got {debs:?}"
        );
        self.sh("apt-get update -qq")?;
        let install = format!(
            "apt-get install -y -qq --no-install-recommends {}",
            debs.join(" ")
        );
        print!("{}", self.sh(&install)?);
        self.check_contents()?;

        // 3. The CLIs.
        let version = self.output("/usr/bin/kodekort", &["--version"])?;
        println!("install-test: kodekort --version: {}", version.trim());
        ensure!(version.starts_with("kodekort 0."), "unexpected: {version}");
        let server_version = self.output("/usr/bin/kodekort-server", &["--version"])?;
        println!(
            "install-test: kodekort-server --version: {}",
            server_version.trim()
        );
        ensure!(
            server_version.contains("(commit ") && !server_version.contains("unknown"),
            "the server's version names no commit: {server_version}"
        );
        let kit = self.sh(
            "cd /tmp && kodekort demo --accounts 3 kit --output /tmp/kit.pdf && \
             head -c 5 /tmp/kit.pdf && echo && stat -c '%a %s' /tmp/kit.pdf",
        )?;
        println!(
            "install-test: kodekort demo kit: {}",
            kit.replace('\n', " ")
        );
        // The CLI says where it saved the kit; then the file's first bytes.
        ensure!(
            kit.lines().any(|l| l == "%PDF-"),
            "the demo kit is not a PDF: {kit}"
        );

        // 4. The server as the unit runs it.
        self.check_server()?;

        // 5. The app.
        self.check_app(driver)?;

        // 6. Remove.
        self.check_purge()
    }

    fn check_contents(&self) -> Result<()> {
        let files = self.output("/usr/bin/dpkg", &["-L", APP_PACKAGE])?;
        let has = |path: &str| files.lines().any(|l| l == path);
        for path in [
            "/usr/bin/kodekort-desktop",
            "/usr/bin/kodekort",
            "/usr/share/applications/Kodekort.desktop",
            "/usr/share/metainfo/dk.kodekort.desktop.metainfo.xml",
            "/usr/share/man/man1/kodekort.1.gz",
            "/usr/share/man/man1/kodekort-login.1.gz",
            "/usr/share/bash-completion/completions/kodekort",
            "/usr/share/doc/kodekort/copyright",
            "/usr/share/doc/kodekort/LICENSE-MIT",
        ] {
            ensure!(has(path), "{APP_PACKAGE} does not install {path}");
        }
        // The icon sizes of the icon theme spec's hicolor theme that
        // desktops ask for: 48 is the one it requires.
        for size in [16, 24, 32, 48, 64, 128, 256, 512] {
            let icon = format!("/usr/share/icons/hicolor/{size}x{size}/apps/kodekort-desktop.png");
            ensure!(has(&icon), "{APP_PACKAGE} has no {size}x{size} icon");
        }
        let desktop =
            std::fs::read_to_string(self.path("/usr/share/applications/Kodekort.desktop"))?;
        println!("install-test: Kodekort.desktop:\n{}", desktop.trim_end());
        ensure!(
            desktop
                .lines()
                .any(|l| l.starts_with("MimeType=") && l.contains("x-scheme-handler/kodekort;")),
            "the desktop entry does not claim the kodekort: scheme"
        );
        ensure!(
            desktop
                .lines()
                .any(|l| l.starts_with("Exec=") && l.contains("%u")),
            "the desktop entry's Exec does not take the link (%u)"
        );
        let server = self.output("/usr/bin/dpkg", &["-L", "kodekort-server"])?;
        for path in [
            "/usr/bin/kodekort-server",
            "/usr/lib/systemd/system/kodekort-server.service",
            "/etc/default/kodekort-server",
            "/usr/share/man/man1/kodekort-server-serve.1.gz",
            "/usr/share/bash-completion/completions/kodekort-server",
        ] {
            ensure!(
                server.lines().any(|l| l == path),
                "kodekort-server does not install {path}"
            );
        }
        // Runtime libraries only, and every library found.
        let dev = self.sh("dpkg-query -W -f '${Package}\\n' | grep -- '-dev$' || true")?;
        ensure!(dev.trim().is_empty(), "-dev packages came in: {dev}");
        for binary in [
            "/usr/bin/kodekort-desktop",
            "/usr/bin/kodekort",
            "/usr/bin/kodekort-server",
        ] {
            let libs = self.output("/usr/bin/ldd", &[binary])?;
            ensure!(
                !libs.contains("not found"),
                "{binary} misses a library:\n{libs}"
            );
        }
        let depends = self.sh(&format!(
            "dpkg-query -W -f '${{Package}}: ${{Depends}}\\n' {APP_PACKAGE} kodekort-server"
        ))?;
        print!("install-test: dependencies:\n{depends}");
        Ok(())
    }

    fn check_server(&self) -> Result<()> {
        let unit =
            std::fs::read_to_string(self.path("/usr/lib/systemd/system/kodekort-server.service"))?;
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .context("the unit has no ExecStart")?;
        let user = unit
            .lines()
            .find_map(|l| l.strip_prefix("User="))
            .context("the unit names no User")?;
        // The unit's command line, its variables as /etc/default sets them,
        // but for the port: a free one, not to meet anything on the host.
        let port = free_port()?;
        let defaults = std::fs::read_to_string(self.path("/etc/default/kodekort-server"))?;
        let setting = |name: &str| {
            defaults
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_default()
                .to_owned()
        };
        let command_line = exec
            .replace("${KODEKORT_LISTEN}", &format!("127.0.0.1:{port}"))
            .replace("$KODEKORT_SERVE_ARGS", &setting("KODEKORT_SERVE_ARGS"));
        println!("install-test: as {user}: {command_line}");
        let words: Vec<&str> = command_line.split_whitespace().collect();
        let mut serve = self.command("/usr/bin/setpriv");
        serve
            .args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--init-groups",
                "--",
            ])
            .args(&words)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0);
        let mut server = Spawned(serve.spawn().context("could not start the server")?);
        wait_for_port(port, Duration::from_secs(60), &mut server.0)?;
        let ca = self.path("/var/lib/kodekort/ca.pem");
        let discovery = Command::new("curl")
            .args(["--silent", "--show-error", "--fail", "--cacert"])
            .arg(&ca)
            .arg(format!(
                "https://localhost:{port}/.well-known/openid-configuration"
            ))
            .output()?;
        ensure!(
            discovery.status.success(),
            "the server did not answer over HTTPS"
        );
        let body = String::from_utf8_lossy(&discovery.stdout);
        ensure!(body.contains("\"issuer\""), "unexpected answer: {body}");
        println!(
            "install-test: the server answered over HTTPS with its CA: {} bytes of discovery",
            body.len()
        );
        server.stop();
        let owners = self.sh("stat -c '%U:%G %a %n' /var/lib/kodekort /var/lib/kodekort/*")?;
        print!("install-test: data dir:\n{owners}");
        for line in owners.lines() {
            ensure!(
                line.starts_with("kodekort:kodekort "),
                "not the service's: {line}"
            );
        }
        // The sandbox, rated by systemd from the installed unit.
        let mut analyze = Command::new("systemd-analyze");
        analyze
            .args(["security", "--offline=true", "--no-pager"])
            .arg(format!("--threshold={EXPOSURE_LIMIT_TENTHS}"))
            .arg(format!("--root={}", self.dir.display()))
            .arg("kodekort-server.service");
        let out = analyze.output().context("could not run systemd-analyze")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let overall = text
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .with_context(|| {
                format!(
                    "systemd-analyze rated nothing:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })?;
        println!("install-test: systemd-analyze security: {}", overall.trim());
        ensure!(
            out.status.success(),
            "the unit's exposure is above {}.{}:\n{text}",
            EXPOSURE_LIMIT_TENTHS / 10,
            EXPOSURE_LIMIT_TENTHS % 10
        );
        Ok(())
    }

    fn check_app(&self, driver: &Path) -> Result<()> {
        // Test tools, after the packages' own dependencies were checked:
        // WebKit's WebDriver (of the tree's WebKitGTK) and tauri-driver.
        self.sh("apt-get install -y -qq --no-install-recommends webkit2gtk-driver")?;
        std::fs::copy(driver, self.path("/usr/local/bin/tauri-driver"))?;
        self.sh("id citizen >/dev/null 2>&1 || useradd --create-home citizen")?;
        let display = Xvfb::start()?;
        let port = free_port()?;
        let native = free_port()?;
        let mut start = self.command("/usr/bin/setpriv");
        start
            .args(["--reuid=citizen", "--regid=citizen", "--init-groups", "--"])
            .args([
                "/usr/bin/env",
                "HOME=/home/citizen",
                "USER=citizen",
                "LANG=en_GB.UTF-8",
            ])
            .arg(format!("DISPLAY={}", display.name))
            .args([
                "XDG_RUNTIME_DIR=/tmp",
                "NO_AT_BRIDGE=1",
                "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/no-session-bus",
                "/usr/local/bin/tauri-driver",
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0);
        let mut tauri_driver = Spawned(start.spawn().context("could not start tauri-driver")?);
        wait_for_port(port, Duration::from_secs(30), &mut tauri_driver.0)?;
        wait_for_port(native, Duration::from_secs(30), &mut tauri_driver.0)?;
        let mut node = Command::new("node");
        node.args(["--test", "installed-app.mjs"])
            .current_dir(root().join("tests/ui"))
            .env("KODEKORT_WEBDRIVER", format!("http://127.0.0.1:{port}"))
            .env("KODEKORT_APP", "/usr/bin/kodekort-desktop")
            .env("KODEKORT_SHOTS", root().join("target/install-test"));
        let result = run(node);
        tauri_driver.stop();
        drop(display);
        result
    }

    fn check_purge(&self) -> Result<()> {
        let mut owned = String::new();
        for package in [APP_PACKAGE, "kodekort-server"] {
            owned += &self.output("/usr/bin/dpkg", &["-L", package])?;
        }
        self.sh(&format!(
            "apt-get purge -y -qq {APP_PACKAGE} kodekort-server"
        ))?;
        let mut left = Vec::new();
        for path in owned.lines().filter(|l| l.starts_with('/')) {
            let inside = self.path(path);
            // Directories such as /usr/bin are shared; what a package owns
            // alone is its files (and links).
            if inside.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
                left.push(path.to_owned());
            }
        }
        for path in [
            "/etc/default/kodekort-server",
            "/usr/share/doc/kodekort-server",
        ] {
            if self.path(path).exists() {
                left.push(path.to_owned());
            }
        }
        ensure!(left.is_empty(), "left after purge: {left:?}");
        ensure!(
            self.path("/var/lib/kodekort/ca.pem").is_file(),
            "the data dir did not survive the purge"
        );
        let kept = self.sh("ls /var/lib/kodekort | tr '\\n' ' '")?;
        println!(
            "install-test: purged; left: /var/lib/kodekort ({})",
            kept.trim()
        );
        Ok(())
    }

    fn release(self) -> Result<()> {
        kill_processes_in(&self.dir);
        unmount_under(&self.dir)
    }
}

/// A process group started for the test, ended when dropped.
struct Spawned(Child);

impl Spawned {
    fn stop(&mut self) {
        let pid = self.0.id() as i32;
        // "--" first: the negative number is the process group, not a signal.
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{pid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// A virtual display on the host; the tree sees its socket.
struct Xvfb {
    name: String,
    process: Spawned,
}

impl Xvfb {
    fn start() -> Result<Xvfb> {
        for n in 120..160 {
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            if socket.exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            // -ac: the app runs as another user than the display's owner.
            let child = Command::new("Xvfb")
                .args([
                    &format!(":{n}"),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                    "-ac",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .context("could not start Xvfb")?;
            let mut process = Spawned(child);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if socket.exists() {
                    return Ok(Xvfb {
                        name: format!(":{n}"),
                        process,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            process.stop();
        }
        bail!("no free display for Xvfb")
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        self.process.stop();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, limit: Duration, process: &mut Child) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = process.try_wait()? {
            bail!("the process for port {port} ended with {status}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("nothing listened on port {port} within {limit:?}")
}

//! Driving the `kodekort` binary from a test, and the real OS keyring it
//! keeps sessions in (a private D-Bus session with gnome-keyring).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

use crate::workspace_bin;

/// `kodekort` as a child process, driven line by line (a JSON value per line
/// with `--json`).
pub struct CliSession {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
}

impl CliSession {
    pub fn start(args: &[&str]) -> CliSession {
        CliSession::start_with(args, &[])
    }

    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> CliSession {
        let mut child = Command::new(workspace_bin("kodekort"))
            .args(args)
            .envs(env.iter().copied())
            .env("KODEKORT_CONFIG", "/nonexistent/kodekort.toml")
            .env("KODEKORT_LANG", "en")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        CliSession {
            child,
            stdin,
            stdout,
        }
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next JSON line on stdout.
    pub fn next_value(&mut self) -> Value {
        let mut line = String::new();
        assert!(
            self.stdout.read_line(&mut line).unwrap() > 0,
            "output ended"
        );
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// Reads lines until one has `key`.
    pub fn until(&mut self, key: &str) -> Value {
        loop {
            let v = self.next_value();
            if v.get(key).is_some() {
                return v;
            }
            assert!(
                v.get("error").is_none(),
                "error while waiting for {key}: {v}"
            );
        }
    }
}

/// The session bus config for [`Keyring`]: the stock one without service
/// directories, so no service is ever activated.
const PRIVATE_SESSION_BUS: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private D-Bus session with an unlocked gnome-keyring, as on a desktop.
pub struct Keyring {
    bus: Child,
    daemon: Child,
    address: String,
    home: tempfile::TempDir,
}

impl Keyring {
    pub fn start() -> Keyring {
        let home = tempfile::tempdir().unwrap();
        // Every per-user directory gnome-keyring looks at lives in this
        // home, so a test never reads or writes the real user's keyrings.
        let xdg: Vec<(&str, std::path::PathBuf)> = [
            ("XDG_RUNTIME_DIR", "run"),
            ("XDG_DATA_HOME", "share"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_CACHE_HOME", "cache"),
        ]
        .into_iter()
        .map(|(name, dir)| {
            use std::os::unix::fs::DirBuilderExt;
            let path = home.path().join(dir);
            // 0700, as XDG_RUNTIME_DIR must be.
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&path)
                .unwrap();
            (name, path)
        })
        .collect();
        // A session bus that starts nothing on demand. The stock session
        // config would activate gnome-keyring from its service file for a
        // call that reaches the bus before our daemon owns the name, with
        // the real HOME and no password: a locked keyring that wins the race.
        let bus_config = home.path().join("session-bus.conf");
        std::fs::write(&bus_config, PRIVATE_SESSION_BUS).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", bus_config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus) must be installed; cargo xtask test installs it");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        let log_path = home.path().join("gnome-keyring.log");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .env_remove("GNOME_KEYRING_CONTROL")
            .envs(xdg.iter().map(|(name, path)| (*name, path)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("gnome-keyring-daemon (package gnome-keyring) must be installed");
        let mut stdin = daemon.stdin.take().unwrap();
        stdin.write_all(b"test-keyring-password").unwrap();
        drop(stdin);
        // It prints its environment once it is ready.
        let mut ready = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        // Ready means the default collection exists, answers on the bus and
        // is unlocked: a write to a collection that is still locked fails,
        // and on a loaded 2-core CI machine the unlock has lagged the alias.
        let dbus = |args: &[&str]| {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                ])
                .args(args)
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .output()
                .expect("dbus-send (package dbus) must be installed");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let unlocked = || {
            let alias = dbus(&[
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            ]);
            let Some(path) = alias
                .split('"')
                .find(|part| part.starts_with("/org/freedesktop/secrets/collection/"))
            else {
                return false;
            };
            dbus(&[
                path,
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .contains("boolean false")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut exited = None;
        let mut ready_now = unlocked();
        while !ready_now && exited.is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
            exited = daemon.try_wait().unwrap();
            ready_now = unlocked();
        }
        if !ready_now {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "gnome-keyring's default collection was not unlocked ({}); it printed {ready:?} \
                 and on stderr:\n{log}",
                match exited {
                    Some(status) => format!("the daemon exited: {status}"),
                    None => "still locked after 60 s".to_owned(),
                }
            );
        }
        Keyring {
            bus,
            daemon,
            address,
            home,
        }
    }

    /// Stops the secrets service and leaves the bus: a keyring that was
    /// there when the client started and now refuses to store anything.
    pub fn stop_secrets(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }

    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.as_str()),
            ("HOME", self.home.path().to_str().unwrap()),
        ]
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        for child in [&mut self.daemon, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

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
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus) must be installed; cargo xtask test installs it");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
        let ready = (0..300).any(|_| {
            let ready = unlocked();
            if !ready {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            ready
        });
        assert!(
            ready,
            "gnome-keyring's default collection was not unlocked within 30 s"
        );
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

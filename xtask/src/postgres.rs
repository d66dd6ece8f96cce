//! A throw-away PostgreSQL cluster for the tests: `initdb` in a temp dir,
//! as a non-root user (initdb refuses root; as root the Debian package's
//! `postgres` user runs it), listening on a free loopback port, with trust
//! authentication for that port only. Stopped and removed when dropped.
//!
//! It runs with `fsync=off`: the tests kill server instances, never the
//! database, so what they check does not depend on PostgreSQL's own
//! durability, and the suite runs faster. The benchmarks use a cluster with
//! the defaults.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{run, system};

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// The admin URL (database `postgres`), for KODEKORT_TEST_PG.
    pub url: String,
}

/// The newest installed PostgreSQL's programs (Debian keeps them per version).
fn bin_dir() -> Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (Debian: apt-get install postgresql)")?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

/// A loopback port nobody listens on now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `program` from `bin`, as the `postgres` user when we are root.
fn as_owner(bin: &Path, program: &str) -> Command {
    if system::is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(program));
        cmd
    } else {
        Command::new(bin.join(program))
    }
}

impl Cluster {
    pub fn start(settings: &[&str]) -> Result<Cluster> {
        system::ensure(system::SCALE_TEST_PACKAGES)?;
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!("kodekort-pg-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        if system::is_root() {
            let mut chown = Command::new("chown");
            chown.args(["postgres:postgres"]).arg(&dir);
            run(chown)?;
        }
        let data = dir.join("data");
        let mut initdb = as_owner(&bin, "initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "--username=kodekort",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .stdout(std::process::Stdio::null());
        run(initdb)?;
        let port = free_port()?;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={}",
            dir.display()
        );
        for setting in settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let mut start = as_owner(&bin, "pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-o", &options, "start"])
            .stdout(std::process::Stdio::null());
        let cluster = Cluster {
            url: format!("postgres://kodekort@127.0.0.1:{port}/postgres"),
            dir,
            bin,
        };
        if let Err(e) = run(start) {
            let log = std::fs::read_to_string(cluster.dir.join("log")).unwrap_or_default();
            bail!("PostgreSQL did not start: {e:#}\n{log}");
        }
        eprintln!("xtask: PostgreSQL for the tests at {}", cluster.url);
        Ok(cluster)
    }

    /// For the suite: fast, and room for every harness's pool.
    pub fn for_tests() -> Result<Cluster> {
        Cluster::start(&[
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=400",
        ])
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = as_owner(&self.bin, "pg_ctl");
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null());
        let _ = stop.status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

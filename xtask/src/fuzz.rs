//! `cargo xtask fuzz [TARGET] [SECONDS]`: the cargo-fuzz targets in `fuzz/`,
//! each for SECONDS (default 60), on the corpus kept in `fuzz/corpus/`.
//! Nightly with AddressSanitizer where a nightly toolchain is installed,
//! else stable with `--sanitizer none`. `cargo xtask test` runs each
//! target for a short, fixed time on stable, with new inputs kept in a temp
//! folder so the checkout stays as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{root, tool};

pub const TARGETS: [&str; 5] = [
    "envelope_verify",
    "canonical_encoding",
    "signed_file",
    "api_requests",
    "config_file",
];

/// How long `cargo xtask test` runs each target.
pub const CI_SECONDS: u64 = 15;

/// Which toolchain builds the targets, and with which sanitizer.
#[derive(Clone, Copy)]
pub enum Toolchain {
    NightlyAsan,
    StableNone,
}

impl Toolchain {
    /// Nightly where it is installed (`KODEKORT_FUZZ_TOOLCHAIN=stable` says no).
    pub fn detect() -> Toolchain {
        let forced_stable = std::env::var("KODEKORT_FUZZ_TOOLCHAIN").is_ok_and(|v| v == "stable");
        let nightly = Command::new("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if nightly && !forced_stable {
            Toolchain::NightlyAsan
        } else {
            Toolchain::StableNone
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Toolchain::NightlyAsan => "nightly, AddressSanitizer",
            Toolchain::StableNone => "stable, --sanitizer none",
        }
    }
}

/// Optimised for long runs; a debug build (with debug assertions) for the
/// short runs in `cargo xtask test`, where build time is most of the cost.
#[derive(Clone, Copy)]
pub enum Build {
    Release,
    Dev,
}

/// Where new inputs go: the repo's corpus, or a temp folder beside it.
pub enum Keep {
    InRepo,
    Aside(PathBuf),
}

fn cargo_fuzz(bin: &Path, toolchain: Toolchain, build: Build, verb: &str) -> Command {
    let mut cmd = Command::new("cargo");
    if matches!(toolchain, Toolchain::NightlyAsan) {
        cmd.arg("+nightly");
    }
    // cargo finds `cargo-fuzz` on PATH: put ours first.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.parent().expect("tool dir").to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).expect("PATH"));
    // rustup's cargo wrapper would pin the toolchain of the outer cargo.
    cmd.env_remove("RUSTUP_TOOLCHAIN");
    cmd.current_dir(root()).args(["fuzz", verb]);
    match toolchain {
        Toolchain::NightlyAsan => cmd.args(["--sanitizer", "address"]),
        Toolchain::StableNone => cmd.args(["--sanitizer", "none"]),
    };
    if let Build::Dev = build {
        cmd.arg("--dev");
    }
    cmd
}

/// The figures libFuzzer prints at the end of a run.
#[derive(Debug, Default)]
pub struct Stats {
    pub runs: u64,
    pub per_second: u64,
    pub coverage: u64,
    pub features: u64,
    pub corpus: u64,
    pub peak_rss_mb: u64,
}

fn parse_stats(log: &str) -> Stats {
    let mut stats = Stats::default();
    let number = |s: &str| s.trim().parse::<u64>().unwrap_or(0);
    for line in log.lines() {
        if let Some((name, value)) = line.strip_prefix("stat::").and_then(|l| l.split_once(':')) {
            match name {
                "number_of_executed_units" => stats.runs = number(value),
                "average_exec_per_sec" => stats.per_second = number(value),
                "peak_rss_mb" => stats.peak_rss_mb = number(value),
                _ => {}
            }
        }
        // "#1234	DONE   cov: 567 ft: 890 corp: 12/3456b ..." and the pulses before it.
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            match pair[0] {
                "cov:" => stats.coverage = number(pair[1]),
                "ft:" => stats.features = number(pair[1]),
                "corp:" => stats.corpus = number(pair[1].split('/').next().unwrap_or("0")),
                _ => {}
            }
        }
    }
    stats
}

/// Runs `targets` for `seconds` each, and prints a line of figures each.
pub fn run(
    targets: &[&str],
    seconds: u64,
    toolchain: Toolchain,
    build: Build,
    keep: Keep,
) -> Result<()> {
    let bin = match tool("cargo-fuzz", "=0.13.2") {
        Ok(bin) => bin,
        Err(e) => {
            eprintln!(
                "xtask: skipping the fuzz targets: cargo-fuzz could not be installed ({e:#}). \
                 Install it with `cargo install cargo-fuzz --locked`."
            );
            return Ok(());
        }
    };
    eprintln!("xtask: fuzzing on {}", toolchain.describe());
    crate::run(cargo_fuzz(&bin, toolchain, build, "build"))
        .context("the fuzz targets did not build (see above)")?;
    let mut report = Vec::new();
    for target in targets {
        let corpus = root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let mut cmd = cargo_fuzz(&bin, toolchain, build, "run");
        cmd.arg(target);
        // libFuzzer writes new inputs to the first folder it is given.
        if let Keep::Aside(dir) = &keep {
            let aside = dir.join(target);
            std::fs::create_dir_all(&aside)?;
            cmd.arg(aside);
        }
        cmd.arg(&corpus).args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-print_final_stats=1",
            "-timeout=10",
            "-rss_limit_mb=4096",
            "-max_len=131072",
        ]);
        eprintln!("xtask: running {cmd:?}");
        let out = cmd
            .output()
            .with_context(|| format!("could not start {cmd:?}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            eprintln!("{log}");
            bail!(
                "fuzz target {target} failed ({}): the input is under fuzz/artifacts/{target}/; \
                 add it as a regression test",
                out.status
            );
        }
        let s = parse_stats(&log);
        let line = format!(
            "{target}: {} runs in {seconds} s ({}/s), cov {}, ft {}, corpus {}, peak RSS {} MB",
            s.runs, s.per_second, s.coverage, s.features, s.corpus, s.peak_rss_mb
        );
        eprintln!("xtask: fuzz {line}");
        report.push(line);
    }
    eprintln!("xtask: fuzz summary ({}):", toolchain.describe());
    for line in report {
        eprintln!("  {line}");
    }
    Ok(())
}

/// `cargo xtask fuzz [TARGET|all] [SECONDS]`.
pub fn command(args: &[&str]) -> Result<()> {
    let (target, seconds) = match args {
        [] => ("all", 60),
        [t] => (*t, 60),
        [t, s] => (*t, s.parse().context("SECONDS is a whole number")?),
        _ => bail!("usage: cargo xtask fuzz [TARGET|all] [SECONDS]"),
    };
    let targets: Vec<&str> = match target {
        "all" => TARGETS.to_vec(),
        t if TARGETS.contains(&t) => vec![t],
        t => bail!("no fuzz target {t}: the targets are {}", TARGETS.join(", ")),
    };
    run(
        &targets,
        seconds,
        Toolchain::detect(),
        Build::Release,
        Keep::InRepo,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_read_from_libfuzzers_last_lines() {
        let log = "#2	INITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb\n\
                   #4096	pulse  cov: 120 ft: 300 corp: 40/2Kb lim: 43 exec/s: 2048 rss: 40Mb\n\
                   #9000	DONE   cov: 130 ft: 321 corp: 44/2500b lim: 43 exec/s: 3000 rss: 41Mb\n\
                   stat::number_of_executed_units: 9000\n\
                   stat::average_exec_per_sec:     3000\n\
                   stat::peak_rss_mb:              41\n";
        let s = parse_stats(log);
        assert_eq!((s.runs, s.per_second, s.peak_rss_mb), (9000, 3000, 41));
        assert_eq!((s.coverage, s.features, s.corpus), (130, 321, 44));
    }
}

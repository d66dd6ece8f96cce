//! Project tasks, run as `cargo xtask <task>` (the rust-analyzer pattern:
//! Rust instead of shell scripts, so they work wherever cargo does).
//!
//! - `cargo xtask test`: system packages, fmt check, clippy -D warnings, the advisory
//!   audit, the licence check, every test (Rust, Schemathesis, the UI in Chromium, the
//!   real app under Xvfb, its AT-SPI tree), and each fuzz target for 15 s.
//! - `cargo xtask audit`: `cargo audit` against the RustSec snapshot, offline.
//! - `cargo xtask deny`: `cargo deny check licenses bans sources` (deny.toml), offline.
//! - `cargo xtask fuzz [TARGET] [SECONDS]`: the cargo-fuzz targets (FUZZING.md).
//! - `cargo xtask api`: Schemathesis against the real backend (also in `test`).
//! - `cargo xtask demo`: the desktop app in demo mode (backend embedded).
//! - `cargo xtask bench [backend|client]`: benchmarks (figures in BENCHMARKS.md).
//! - `cargo xtask package`: the `.deb` and `.rpm` of the app, the `.deb` of the server.
//! - `cargo xtask install-test`: those packages installed in a clean Debian 12 tree.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

mod demo;
mod fuzz;
mod install_test;
mod package;
mod postgres;
mod reproduce;
mod system;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test             install missing system packages, then fmt check, clippy -D warnings, audit,
                   licences, all tests, and each fuzz target for 15 s
  test rust        fmt check, clippy -D warnings and the Rust tests only, with no system
                   packages installed: what the release workflow runs on Windows and macOS
  audit            cargo audit against ../shared/advisory-db (offline); findings are fixed or
                   justified in .cargo/audit.toml
  deny             cargo deny check licenses bans sources against deny.toml (offline)
  api              Schemathesis --checks all against the real backend's OpenAPI document
  fuzz [TARGET|all] [SECONDS]
                   the fuzz targets in fuzz/ (default all, 60 s each) on fuzz/corpus/;
                   nightly with AddressSanitizer if installed, else stable --sanitizer none
  demo             open the desktop app in demo mode (needs a display; says what to do without one)
  screenshots      every screen of the real app, Danish and English, into docs/screenshots/
  package [prepare|server]
                   the desktop app's .deb and .rpm (Tauri's bundler; no AppImage, whose tools
                   come from outside the package registries) and the server's .deb (cargo-deb),
                   with SHA256SUMS, into target/package/. `prepare`: only the CLI, the server,
                   man pages and completions; `server`: only the server's .deb (the release
                   workflow runs these around tauri-action)
  install-test [--no-build]
                   as root: package (unless --no-build: those in target/package/), then
                   install them in a clean Debian 12 tree made by debootstrap, run the
                   app, the CLI and the server there, and remove them
  reproduce        build this commit's packages again in another checkout (its own target
                   directory, so a cold build) and compare what they install, file by file,
                   with those in target/package/
  bench [backend|client|app]
                   backend: argon2 bound, logins/s and signatures/s over HTTPS;
                   client: signed-copy export and verification;
                   app: start-up time and memory against a bare Tauri app (see BENCHMARKS.md)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] => test(),
        ["test", "rust"] => test_rust(),
        ["audit"] => audit(),
        ["deny"] => deny(),
        ["api"] => {
            let mut server = cargo();
            server.args(["build", "-p", "kodekort-server", "--locked"]);
            run(server).and_then(|()| api_schema_tests())
        }
        ["fuzz", rest @ ..] => fuzz::command(rest),
        ["demo"] => demo::run(),
        ["package", rest @ ..] => package::command(rest),
        ["install-test", rest @ ..] => install_test::command(rest),
        ["reproduce", rest @ ..] => reproduce::command(rest),
        ["screenshots"] => screenshots(),
        ["bench"] => bench("backend")
            .and_then(|()| bench("client"))
            .and_then(|()| bench_app()),
        ["bench", which @ ("backend" | "client")] => bench(which),
        ["bench", "app"] => bench_app(),
        ["help"] | ["--help"] | ["-h"] => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, whatever directory cargo was started in.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs one step and says how long it took, so a CI log shows where its
/// time goes (CI's limit is a budget shared by every step).
fn run(mut cmd: Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let seconds = started.elapsed().as_secs();
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let args: Vec<_> = cmd
        .get_args()
        .take(3)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    eprintln!("xtask: step took {seconds} s: {program} {}", args.join(" "));
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn test() -> Result<()> {
    system::ensure(system::BUILD_PACKAGES)?;
    system::ensure(system::DESKTOP_PACKAGES)?;
    system::ensure(system::TEST_PACKAGES)?;
    system::ensure(system::APP_TEST_PACKAGES)?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    // The fuzz crate is a workspace of its own.
    let mut fmt_fuzz = cargo();
    fmt_fuzz.args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]);
    run(fmt_fuzz)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    audit()?;
    deny()?;
    // The tests run the binaries (operator CLI, `kodekort`); build them first.
    let mut bins = cargo();
    bins.args(["build", "--workspace", "--bins", "--locked"]);
    run(bins)?;
    // One throw-away PostgreSQL cluster for both runs below.
    let cluster = postgres::Cluster::for_tests()?;
    // Three runs of the same `cargo test --workspace` (one build: another
    // target selection would resolve features anew and rebuild), told
    // apart by their filters and environment.
    let workspace_tests = |filters: &[&str]| {
        let mut cmd = cargo();
        cmd.args(["test", "--workspace", "--locked", "--"])
            .args(filters)
            .env("KODEKORT_TEST_PG", &cluster.url);
        cmd
    };
    run(workspace_tests(&["--skip", "scale_out::"]))?;
    // The scale-out tests (PostgreSQL in any run), with what they print:
    // the kill test's count of what it checked goes in the log.
    run(workspace_tests(&["scale_out::", "--show-output"]))?;
    // The suite again, every harness on PostgreSQL, with the same assertions.
    let mut on_postgres = workspace_tests(&["--skip", "scale_out::"]);
    on_postgres.env("KODEKORT_TEST_STORE", "postgres");
    run(on_postgres)?;
    drop(cluster);
    api_schema_tests()?;
    ui_tests()?;
    desktop_tests()?;
    // Each fuzz target for a short, fixed time, on stable (which CI has);
    // a debug build, which builds in half the time. New inputs go aside.
    let aside = std::env::temp_dir().join("kodekort-fuzz-ci");
    fuzz::run(
        &fuzz::TARGETS,
        fuzz::CI_SECONDS,
        fuzz::Toolchain::StableNone,
        fuzz::Build::Dev,
        fuzz::Keep::Aside(aside),
    )
}

/// The steps of `test` that every desktop OS can run: the UI tests need
/// Debian's Chromium, the real-app tests WebKitGTK and Xvfb.
fn test_rust() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    let mut bins = cargo();
    bins.args(["build", "--workspace", "--bins", "--locked"]);
    run(bins)?;
    let mut tests = cargo();
    tests.args(["test", "--workspace", "--locked"]);
    run(tests)
}

/// The RustSec snapshot beside the checkout: CI reaches only the package
/// registries, so the database is not fetched.
const ADVISORY_DB: &str = "../shared/advisory-db";

/// Known advisories against `Cargo.lock`. Every finding, warnings included,
/// fails unless `.cargo/audit.toml` ignores it with a reason.
fn audit() -> Result<()> {
    let db = root().join(ADVISORY_DB);
    if !db.join("crates").is_dir() {
        eprintln!(
            "xtask: skipping cargo audit: no advisory database at {}. \
             Put a RustSec advisory-db checkout there to run it.",
            db.display()
        );
        return Ok(());
    }
    let mut audit = Command::new(tool("cargo-audit", "=0.22.2")?);
    audit
        .current_dir(root())
        .arg("audit")
        .arg("--db")
        .arg(&db)
        .args(["--no-fetch", "--stale", "--deny", "warnings"]);
    run(audit)
}

/// Licences, banned crates and sources, from `deny.toml`. `--offline`: the
/// graph comes from Cargo.lock and the registry cache, which the build has
/// filled; no advisory database is read here (that is `audit`).
fn deny() -> Result<()> {
    // The graph covers every desktop target (deny.toml), and a build on this
    // one downloads only its own crates: fetch the rest (Windows, macOS,
    // Android platform crates) from the registry first, or --offline fails
    // on a machine with an empty cache.
    let mut fetch = cargo();
    fetch.args(["fetch", "--locked"]);
    run(fetch)?;
    let mut deny = Command::new(tool("cargo-deny", "=0.20.2")?);
    // --workspace: every member's graph, not only the root package's (the
    // desktop app), so the test crate and xtask are checked too.
    deny.current_dir(root()).args([
        "--workspace",
        "--offline",
        "check",
        "licenses",
        "bans",
        "sources",
    ]);
    run(deny)
}

/// Builds what the real-app tasks need: the binaries, tauri-driver, npm packages.
fn app_tools() -> Result<PathBuf> {
    system::ensure(system::BUILD_PACKAGES)?;
    system::ensure(system::DESKTOP_PACKAGES)?;
    system::ensure(system::TEST_PACKAGES)?;
    system::ensure(system::APP_TEST_PACKAGES)?;
    let mut bins = cargo();
    bins.args(["build", "--workspace", "--bins", "--locked"]);
    run(bins)?;
    let mut ci = Command::new("npm");
    ci.args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root().join("tests/ui"));
    run(ci)?;
    tauri_driver()
}

fn screenshots() -> Result<()> {
    let driver = app_tools()?;
    let mut shots = Command::new("node");
    shots
        .arg("tests/ui/screenshots.mjs")
        .current_dir(root())
        .env("TAURI_DRIVER", &driver)
        .env("KODEKORT_APP", root().join("target/debug/kodekort-desktop"));
    run(shots)?;
    // The OpenID Connect login pages, from their browser test, and the
    // app's screen for a service login, from its end-to-end test.
    let mut oidc = Command::new("node");
    oidc.args([
        "--test",
        "--test-concurrency=1",
        "oidc.test.mjs",
        "oidc-app.e2e.test.mjs",
    ])
    .current_dir(root().join("tests/ui"))
    .env("TAURI_DRIVER", &driver)
    .env("KODEKORT_APP", root().join("target/debug/kodekort-desktop"))
    .env("KODEKORT_RP_PYTHON", venv("oidc-rp", &OIDC_RP_PACKAGES)?)
    .env("KODEKORT_OIDC_SHOTS", root().join("docs/screenshots"));
    run(oidc)
}

/// The app against a bare Tauri app, both release builds with the same
/// profile, measured in one run (tests/bench/app_startup.py).
fn bench_app() -> Result<()> {
    system::ensure(system::BUILD_PACKAGES)?;
    system::ensure(system::DESKTOP_PACKAGES)?;
    system::ensure(system::APP_TEST_PACKAGES)?;
    let mut build = package::stamped_cargo()?;
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "kodekort-desktop",
        "-p",
        "hello-tauri",
    ]);
    run(build)?;
    let release = root().join("target/release");
    let mut bench = Command::new("dbus-run-session");
    bench
        .args(["--", "/usr/bin/python3", "tests/bench/app_startup.py", "7"])
        .arg(format!("hello={}", release.join("hello-tauri").display()))
        .arg(format!(
            "kodekort={}",
            release.join("kodekort-desktop").display()
        ))
        .arg(format!(
            "kodekort-demo={}:--demo",
            release.join("kodekort-desktop").display()
        ))
        .current_dir(root());
    // What citizens install: the app's binary as the .deb holds it.
    match packaged_app()? {
        Some(app) => {
            bench
                .arg(format!("installed={}", app.display()))
                .arg(format!("installed-demo={}:--demo", app.display()));
        }
        None => println!(
            "bench app: no app package in {}: run `cargo xtask package` to measure it too",
            package::out_dir().display()
        ),
    }
    run(bench)
}

/// The desktop app's binary from the built .deb, unpacked under
/// target/bench/installed (the same bytes apt installs as /usr/bin).
fn packaged_app() -> Result<Option<PathBuf>> {
    let Some(deb) = package::built().ok().and_then(|built| {
        built.into_iter().find(|p| {
            p.extension().is_some_and(|e| e == "deb")
                && p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with("kodekort-server"))
        })
    }) else {
        return Ok(None);
    };
    let dir = root().join("target/bench/installed");
    package::unpack(&deb, &dir)?;
    println!("bench app: installed = {}", deb.display());
    Ok(Some(dir.join("usr/bin/kodekort-desktop")))
}

/// tauri-driver, installed under target/tools (about a minute, once).
fn tauri_driver() -> Result<PathBuf> {
    tool("tauri-driver", "^2")
}

/// A cargo-installed tool, installed once under `target/tools`. A debug
/// build, in one target dir shared by the tools: on a fresh clone (CI) these
/// builds are minutes of the run, and cargo-deny builds in 1.5 min instead
/// of 3.6 min this way, while its check takes 6 s instead of 2 s.
fn tool(name: &str, version: &str) -> Result<PathBuf> {
    let bin = root().join("target/tools/bin").join(name);
    if !bin.exists() {
        let mut install = cargo();
        install.args([
            "install",
            name,
            "--version",
            version,
            "--locked",
            "--root",
            "target/tools",
            "--target-dir",
            "target/tools/build",
            "--debug",
        ]);
        run(install)?;
    }
    Ok(bin)
}

/// The real app (the debug build made above): end to end under Xvfb through
/// tauri-driver (the demo; a service login opened by a `kodekort:` link
/// between the real server, an authlib RP and Chromium; new versions from a
/// manifest on loopback), then its accessibility tree over AT-SPI in a
/// private bus.
fn desktop_tests() -> Result<()> {
    let driver = tauri_driver()?;
    let app = root().join("target/debug/kodekort-desktop");
    let mut e2e = Command::new("node");
    e2e.args([
        "--test",
        "--test-concurrency=1",
        "desktop.e2e.test.mjs",
        "oidc-app.e2e.test.mjs",
        "updates.e2e.test.mjs",
    ])
    .current_dir(root().join("tests/ui"))
    .env("TAURI_DRIVER", &driver)
    .env("KODEKORT_APP", &app)
    .env("KODEKORT_RP_PYTHON", venv("oidc-rp", &OIDC_RP_PACKAGES)?);
    run(e2e)?;
    // Debian's python3: pyatspi is a Debian package, not on PyPI.
    let mut atspi = Command::new("dbus-run-session");
    atspi
        .args(["--", "/usr/bin/python3", "tests/ui/atspi_tree.py"])
        .arg(&app)
        .current_dir(root());
    run(atspi)
}

/// Schemathesis (PyPI, pinned), in a venv under target/tools.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// The real backend against its own OpenAPI document: Schemathesis with
/// `--checks all`, a fixed seed and a fixed number of examples per
/// operation (tests/api/schemathesis_run.py).
fn api_schema_tests() -> Result<()> {
    let venv = root().join("target/tools/schemathesis");
    let st = venv.join("bin/st");
    if !st.exists() {
        let mut make = Command::new("python3");
        make.args(["-m", "venv"]).arg(&venv);
        run(make)
            .context("python3 could not make a venv: on Debian, `apt-get install python3-venv`")?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
        ]);
        run(pip)?;
    }
    let mut schemathesis = Command::new(venv.join("bin/python3"));
    schemathesis
        .arg("tests/api/schemathesis_run.py")
        .arg(&st)
        .arg(root().join("target/debug/kodekort-server"))
        .current_dir(root());
    run(schemathesis)
}

/// The relying party of the OIDC browser test (tests/oidc/authlib_rp.py):
/// authlib and requests from PyPI, pinned.
const OIDC_RP_PACKAGES: [&str; 2] = ["authlib==1.9.10", "requests==2.34.2"];

/// A venv under target/tools with `packages`, made once; returns its python3.
fn venv(name: &str, packages: &[&str]) -> Result<PathBuf> {
    let venv = root().join("target/tools").join(name);
    let python = venv.join("bin/python3");
    let stamp = venv.join("kodekort-packages.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let mut make = Command::new("python3");
        make.args(["-m", "venv", "--clear"]).arg(&venv);
        run(make)
            .context("python3 could not make a venv: on Debian, `apt-get install python3-venv`")?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages);
        run(pip)?;
        std::fs::write(&stamp, wanted)?;
    }
    Ok(python)
}

/// The UI in Debian's headless Chromium: npm packages from the committed
/// lock file, then `node --test` with the files listed (see package.json).
/// The OIDC pages' test also runs `kodekort-server` and an authlib RP.
fn ui_tests() -> Result<()> {
    let rp_python = venv("oidc-rp", &OIDC_RP_PACKAGES)?;
    let dir = root().join("tests/ui");
    let mut ci = Command::new("npm");
    ci.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir);
    run(ci)?;
    let mut node = Command::new("npm");
    node.args(["test"])
        .current_dir(&dir)
        .env("KODEKORT_RP_PYTHON", rp_python);
    run(node)
}

fn bench(which: &str) -> Result<()> {
    system::ensure(system::BUILD_PACKAGES)?;
    let mut bench = cargo();
    let bin = format!("bench-{which}");
    bench.args([
        "run",
        "--release",
        "--locked",
        "-p",
        "kodekort-tests",
        "--bin",
        &bin,
    ]);
    run(bench)
}

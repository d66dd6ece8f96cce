//! `cargo xtask package`: the packages a citizen or an operator installs,
//! into `target/package/`:
//! - the desktop app as `.deb` and `.rpm`, by Tauri's bundler (tauri-cli,
//!   pinned below), with the `kodekort` CLI, its man pages and completions,
//!   the AppStream metainfo and the licences (tauri.conf.json's `bundle`)
//! - the backend as a `.deb`, by cargo-deb (crates/server/Cargo.toml's
//!   `package.metadata.deb`), with its systemd unit
//! - the update manifest `latest.json`, for the app's updater: each app
//!   package with its minisign signature (the bundler's `.sig`, which names
//!   the version it was made for)
//! - `SHA256SUMS` over all of them.
//!
//! The bundles are named: Tauri's default set has AppImage, whose tools are
//! downloaded from outside the package registries.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cargo, root, run, system, tool};

/// The bundler, pinned: a new tauri-cli can change what goes into a package.
pub const TAURI_CLI: &str = "=2.12.4";
pub const CARGO_DEB: &str = "=3.8.0";

/// Where the finished packages go.
pub fn out_dir() -> PathBuf {
    root().join("target/package")
}

/// What one build of this checkout is stamped with, for `--version` and
/// for reproducible builds: the commit, and its time as SOURCE_DATE_EPOCH.
struct Stamp {
    commit: String,
    epoch: String,
}

pub fn git(args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .context("could not run git")?;
    if !out.status.success() {
        bail!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn stamp() -> Result<Stamp> {
    Ok(Stamp {
        commit: git(&["rev-parse", "--short=12", "HEAD"])?,
        epoch: git(&["log", "-1", "--format=%ct"])?,
    })
}

/// The environment of every build step: the commit, a fixed time, and the
/// checkout's and the registry's paths mapped to fixed ones, so that two
/// checkouts of one commit build the same bytes (README, "Reproducible").
fn stamped(mut cmd: Command, stamp: &Stamp) -> Command {
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| home().join(".cargo"));
    let remap = format!(
        "--remap-path-prefix={}=/build/kodekort --remap-path-prefix={}=/cargo",
        root().display(),
        cargo_home.display()
    );
    cmd.env("KODEKORT_COMMIT", &stamp.commit)
        .env("SOURCE_DATE_EPOCH", &stamp.epoch)
        .env("RUSTFLAGS", remap)
        // Tools on PATH as cargo subcommands: `cargo tauri`, `cargo deb`.
        .env("PATH", tools_path());
    cmd
}

/// `cargo` with the packages' environment, for other release builds of
/// this checkout (the start-up bench): they then share the packages'
/// compiled dependencies instead of building them again.
pub fn stamped_cargo() -> Result<Command> {
    Ok(stamped(cargo(), &stamp()?))
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn tools_path() -> std::ffi::OsString {
    let mut paths = vec![root().join("target/tools/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).expect("PATH entries have no separator")
}

/// `cargo xtask package [prepare|server]`. Alone: everything, here. The
/// release workflow runs the parts around tauri-action: `prepare` (what
/// tauri.conf.json's package files name), then tauri-action, then `server`.
pub fn command(args: &[&str]) -> Result<()> {
    match args {
        [] => package().map(drop),
        ["prepare"] => prepare(&stamp()?),
        ["server"] => server_deb(&stamp()?).map(drop),
        _ => bail!("usage: cargo xtask package [prepare|server]"),
    }
}

/// The three packages and SHA256SUMS in target/package/.
pub fn package() -> Result<Vec<PathBuf>> {
    let stamp = stamp()?;
    let out = out_dir();
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    prepare(&stamp)?;

    // The app: Tauri builds it (release, with its assets embedded) and
    // bundles it with the files tauri.conf.json names.
    tool("tauri-cli", TAURI_CLI)?;
    let bundle = root().join("target/release/bundle");
    if bundle.exists() {
        std::fs::remove_dir_all(&bundle)?;
    }
    let mut tauri = stamped(cargo(), &stamp);
    updater_key(&mut tauri)?;
    tauri.args([
        "tauri",
        "build",
        "--ci",
        "--bundles",
        "deb,rpm",
        "--",
        "--locked",
    ]);
    run(tauri)?;
    let mut packages = Vec::new();
    let mut signed = Vec::new();
    for kind in ["deb", "rpm"] {
        for file in files_with(&bundle.join(kind), kind)? {
            let to = out.join(file.file_name().expect("a file"));
            std::fs::copy(&file, &to).with_context(|| format!("copying {}", file.display()))?;
            let sig = sig_of(&file);
            let signature = std::fs::read_to_string(&sig)
                .with_context(|| format!("the bundler signed no {}", file.display()))?;
            std::fs::write(sig_of(&to), &signature)?;
            signed.push((kind, to.clone(), signature));
            packages.push(to);
        }
    }
    packages.push(server_deb(&stamp)?);
    packages.sort();
    if packages.len() != 3 {
        bail!("expected three packages, found {packages:?}");
    }
    let manifest = update_manifest(&out, &signed, &stamp)?;
    let mut summed = packages.clone();
    summed.push(manifest);
    checksums(&out, &summed)?;
    for package in &summed {
        eprintln!("xtask: built {}", package.display());
    }
    Ok(packages)
}

/// `x.deb` → `x.deb.sig`, where the bundler writes its signature.
fn sig_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// The key the bundler signs the app's packages with, for the updater:
/// the release key (TAURI_SIGNING_PRIVATE_KEY, a secret of the release
/// workflow), or else a development key made once under target/tools/,
/// which no released app trusts (their key is tauri.conf.json's).
fn updater_key(tauri: &mut Command) -> Result<()> {
    if std::env::var_os("TAURI_SIGNING_PRIVATE_KEY").is_some_and(|k| !k.is_empty()) {
        return Ok(());
    }
    let key = root().join("target/tools/update-dev-key/kodekort-dev.key");
    if !key.exists() {
        std::fs::create_dir_all(key.parent().expect("a dir"))?;
        let mut generate = Command::new(root().join("target/tools/bin/cargo-tauri"));
        generate.args([
            "signer",
            "generate",
            "--ci",
            "--password",
            "",
            "--write-keys",
        ]);
        generate.arg(&key).stdout(std::process::Stdio::null());
        run(generate)?;
    }
    eprintln!(
        "xtask: no TAURI_SIGNING_PRIVATE_KEY: the packages are signed for the updater with \
         the development key {} (no released app trusts it; a release build sets the \
         release key)",
        key.display()
    );
    tauri
        .env("TAURI_SIGNING_PRIVATE_KEY", &key)
        .env("TAURI_SIGNING_PRIVATE_KEY_PASSWORD", "");
    Ok(())
}

/// `latest.json`, the static manifest the app's updater reads: the version,
/// and for each app package its address and signature. The updater picks
/// the entry for how it was installed (`linux-x86_64-deb` or `-rpm`). The
/// packages' address is KODEKORT_RELEASE_URL, or the release's on GitHub.
fn update_manifest(
    out: &Path,
    signed: &[(&str, PathBuf, String)],
    stamp: &Stamp,
) -> Result<PathBuf> {
    let conf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tauri.conf.json"))?)?;
    let version = conf["version"]
        .as_str()
        .context("tauri.conf.json has no version")?;
    let base = std::env::var("KODEKORT_RELEASE_URL").unwrap_or_else(|_| {
        format!("https://github.com/kodekort/kodekort/releases/download/v{version}")
    });
    let base = base.trim_end_matches('/');
    let mut platforms = serde_json::Map::new();
    for (kind, file, signature) in signed {
        let name = file.file_name().expect("a file").to_string_lossy();
        platforms.insert(
            format!("linux-x86_64-{kind}"),
            serde_json::json!({ "url": format!("{base}/{name}"), "signature": signature.trim() }),
        );
    }
    let date = time::OffsetDateTime::from_unix_timestamp(stamp.epoch.parse()?)?
        .format(&time::format_description::well_known::Rfc3339)?;
    let manifest = serde_json::json!({
        "version": version,
        "notes": format!("Kodekort {version}"),
        "pub_date": date,
        "platforms": platforms,
    });
    let path = out.join("latest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")?;
    Ok(path)
}

/// The three packages of an earlier `cargo xtask package`.
pub fn built() -> Result<Vec<PathBuf>> {
    let out = out_dir();
    let mut packages = files_with(&out, "deb")?;
    packages.extend(files_with(&out, "rpm")?);
    if packages.len() != 3 {
        bail!(
            "expected three packages in {}, found {packages:?}: run `cargo xtask package`",
            out.display()
        );
    }
    Ok(packages)
}

/// The CLI that goes into the app's packages, the server, and the man pages
/// and completions of both, generated from their clap definitions.
fn prepare(stamp: &Stamp) -> Result<()> {
    system::ensure(system::BUILD_PACKAGES)?;
    system::ensure(system::DESKTOP_PACKAGES)?;
    system::ensure(system::PACKAGE_PACKAGES)?;
    std::fs::create_dir_all(out_dir())?;
    let mut build = stamped(cargo(), stamp);
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "kodekort-cli",
        "-p",
        "kodekort-server",
        "-p",
        "kodekort-docgen",
    ]);
    run(build)?;
    docs(&out_dir().join("docs"))
}

/// The server's .deb, by cargo-deb from the binary `prepare` built.
fn server_deb(stamp: &Stamp) -> Result<PathBuf> {
    tool("cargo-deb", CARGO_DEB)?;
    let out = out_dir();
    for old in files_with(&out, "deb")? {
        if old
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("kodekort-server_"))
        {
            std::fs::remove_file(old)?;
        }
    }
    let mut deb = stamped(cargo(), stamp);
    deb.args([
        "deb",
        "-p",
        "kodekort-server",
        "--no-build",
        "--no-strip",
        "--output",
    ])
    .arg(&out);
    run(deb)?;
    files_with(&out, "deb")?
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("kodekort-server_"))
        })
        .context("cargo-deb wrote no kodekort-server package")
}

/// Man pages (gzipped without a timestamp, as Debian's policy asks) and
/// shell completions, generated from the clap definitions.
fn docs(dir: &Path) -> Result<()> {
    let mut docgen = Command::new(root().join("target/release/kodekort-docgen"));
    docgen.arg(dir);
    run(docgen)?;
    for name in ["kodekort", "kodekort-server"] {
        let pages = files_with(&dir.join("man").join(name), "1")?;
        if pages.is_empty() {
            bail!("kodekort-docgen wrote no man page for {name}");
        }
        let mut gzip = Command::new("gzip");
        gzip.args(["-9", "-n", "-f"]).args(&pages);
        run(gzip)?;
    }
    Ok(())
}

/// The files in `dir` whose name ends in `.ext`, sorted.
fn files_with(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == ext) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// `SHA256SUMS` in the format `sha256sum -c` reads, names relative to `dir`.
fn checksums(dir: &Path, files: &[PathBuf]) -> Result<()> {
    let mut sum = Command::new("sha256sum");
    sum.current_dir(dir);
    for file in files {
        sum.arg(file.strip_prefix(dir).unwrap_or(file));
    }
    let output = sum.output().context("could not run sha256sum")?;
    if !output.status.success() {
        bail!("sha256sum failed");
    }
    std::fs::write(dir.join("SHA256SUMS"), output.stdout)?;
    Ok(())
}

/// What a package installs (and, for a .deb, its control files under
/// DEBIAN/), unpacked into a fresh `dir`: for the bench and `reproduce`.
pub fn unpack(package: &Path, dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let shell = |script: &str| {
        let mut sh = Command::new("sh");
        sh.args(["-c", script, "unpack"])
            .arg(package)
            .arg(dir)
            .current_dir(dir);
        run(sh)
    };
    match package.extension().and_then(|e| e.to_str()) {
        Some("deb") => shell(r#"dpkg-deb -x "$1" "$2" && dpkg-deb -e "$1" "$2/DEBIAN""#)?,
        Some("rpm") => shell(r#"rpm2cpio "$1" | cpio -idm --quiet --no-absolute-filenames"#)?,
        _ => bail!("not a package: {}", package.display()),
    }
    Ok(())
}

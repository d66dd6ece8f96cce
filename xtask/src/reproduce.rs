//! `cargo xtask reproduce`: builds this commit's packages a second time, in
//! another checkout at another path with its own target directory, and
//! compares what they install, file by file, with the packages already in
//! target/package/. Whole-file bytes are compared too, and reported, but
//! the promise (README, "Reproducible") is about the contents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::{cargo, package, root, run, system};

pub fn command(args: &[&str]) -> Result<()> {
    if !args.is_empty() {
        bail!("usage: cargo xtask reproduce");
    }
    system::ensure(system::REPRODUCE_PACKAGES)?;
    let clean = package::git(&["status", "--porcelain", "--untracked-files=no"])?;
    ensure!(
        clean.trim().is_empty(),
        "the checkout has changes: packages are of a commit, so commit or stash first"
    );
    let first = package::built()?;
    let work = root().join("target/reproduce");
    let other = work.join("kodekort");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let mut clone = Command::new("git");
    clone
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root())
        .arg(&other);
    run(clone)?;
    let mut checkout = Command::new("git");
    checkout
        .args(["checkout", "--quiet", "--detach"])
        .arg(package::git(&["rev-parse", "HEAD"])?)
        .current_dir(&other);
    run(checkout)?;
    // The tools (tauri-cli, cargo-deb, the development update key) are not
    // what is compared: share them instead of installing them again.
    std::fs::create_dir_all(other.join("target"))?;
    std::os::unix::fs::symlink(root().join("target/tools"), other.join("target/tools"))?;
    let mut build = cargo();
    build
        .args(["xtask", "package"])
        .current_dir(&other)
        .env_remove("CARGO_TARGET_DIR");
    run(build)?;

    let mut differing = 0;
    for package in &first {
        let name = package.file_name().context("a package file")?;
        let again = other.join("target/package").join(name);
        ensure!(
            again.is_file(),
            "the second build made no {}",
            again.display()
        );
        let same_bytes = std::fs::read(package)? == std::fs::read(&again)?;
        let (a, b) = (work.join("a"), work.join("b"));
        package::unpack(package, &a)?;
        package::unpack(&again, &b)?;
        let (entries, differences) = compare(&a, &b)?;
        println!(
            "reproduce: {}: {entries} entries, {} differ; the package files are {}",
            name.to_string_lossy(),
            differences.len(),
            if same_bytes {
                "byte for byte identical"
            } else {
                "not byte for byte identical (headers: build time, signatures)"
            }
        );
        for line in &differences {
            println!("  differs: {line}");
        }
        differing += differences.len();
    }
    ensure!(
        differing == 0,
        "{differing} entries differ between two builds of this commit"
    );
    eprintln!("xtask: two builds of this commit install the same files");
    Ok(())
}

/// Every entry under `dir`: a file's bytes, a link's target, or a directory,
/// each with its permission bits.
fn list(dir: &Path) -> Result<BTreeMap<PathBuf, (u32, Vec<u8>)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next)? {
            let path = entry?.path();
            let meta = path.symlink_metadata()?;
            let content = if meta.is_dir() {
                todo.push(path.clone());
                b"(directory)".to_vec()
            } else if meta.file_type().is_symlink() {
                std::fs::read_link(&path)?
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(&path)?
            };
            let relative = path.strip_prefix(dir)?.to_owned();
            entries.insert(relative, (meta.permissions().mode() & 0o7777, content));
        }
    }
    Ok(entries)
}

/// How many entries the first tree has, and each difference from the second.
fn compare(a: &Path, b: &Path) -> Result<(usize, Vec<String>)> {
    let (a, b) = (list(a)?, list(b)?);
    let mut differences = Vec::new();
    for (path, entry) in &a {
        match b.get(path) {
            None => differences.push(format!("{}: only in the first build", path.display())),
            Some(other) if other.0 != entry.0 => differences.push(format!(
                "{}: mode {:o} then {:o}",
                path.display(),
                entry.0,
                other.0
            )),
            Some(other) if other.1 != entry.1 => {
                differences.push(format!("{}: other bytes", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        differences.push(format!("{}: only in the second build", path.display()));
    }
    Ok((a.len(), differences))
}

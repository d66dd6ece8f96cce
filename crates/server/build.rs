//! Puts the commit into `kodekort-server --version`, so that an operator can
//! tell which source a running package was built from. The packaging task
//! sets `KODEKORT_COMMIT`; a build from a git checkout asks git; a build from
//! a source tarball without either says so.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=KODEKORT_COMMIT");
    let commit = match std::env::var("KODEKORT_COMMIT") {
        Ok(commit) if !commit.is_empty() => Some(commit),
        _ => {
            // Build again when HEAD moves: HEAD itself, the branch it names,
            // and packed-refs (where a branch's ref may live instead). Only
            // files that exist: cargo counts a missing one as changed, which
            // rebuilt this crate on every command (a fresh clone, or one
            // whose refs are all loose, has no packed-refs). When a ref
            // moves between the two, the file it leaves changes too.
            let watch = |path: &str| {
                if let Some(file) =
                    git(&["rev-parse", "--path-format=absolute", "--git-path", path])
                {
                    if std::path::Path::new(&file).exists() {
                        println!("cargo:rerun-if-changed={file}");
                    }
                }
            };
            watch("HEAD");
            watch("packed-refs");
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch(&branch);
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        }
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let long = match commit {
        Some(commit) => format!("{version} (commit {commit})"),
        None => format!("{version} (commit unknown: built outside git)"),
    };
    println!("cargo:rustc-env=KODEKORT_SERVER_VERSION={long}");
}

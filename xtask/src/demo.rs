//! `cargo xtask demo`: until the desktop app exists, starts the reference
//! backend on loopback with demo accounts, their printed cards and a few
//! documents each, and prints how to use it with curl. Everything lives in
//! `target/kodekort-demo/`, wiped at each start.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cargo, root, system};

/// Demo accounts: username, clearly fictitious name, known password.
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("demo1", "Anna Testesen", "kodekort-demo-1"),
    ("demo2", "Bo Prøvesen", "kodekort-demo-2"),
    ("demo3", "Carla Eksempelsen", "kodekort-demo-3"),
];

/// Documents every demo account receives: issuer, title, text.
const DOCUMENTS: &[(&str, &str, &str)] = &[
    (
        "Skattestyrelsen (demo)",
        "Bekræftelse af årsopgørelse 2026",
        "Årsopgørelse 2026 (DEMO)\n\nJeg bekræfter, at oplysningerne i min årsopgørelse for 2026 er korrekte og fuldstændige.\n\nDette er et øvelsesdokument uden retsvirkning.\n",
    ),
    (
        "Boligselskabet Øvelse (demo)",
        "Tenancy consent: Demovej 1, 2. tv.",
        "Tenancy consent (DEMO)\n\nI consent to the transfer of my tenancy at Demovej 1, 2. tv., to the new tenant named in the application.\n\nThis is a practice document with no legal effect.\n",
    ),
    (
        "Region Eksempel (demo)",
        "Samtykke til deling af helbredsdata",
        "Samtykke til deling af helbredsdata (DEMO)\n\nJeg giver samtykke til, at min egen læge må dele mine journaloplysninger med hospitalet i forbindelse med min behandling.\n\nConsent to share health data: I agree that my GP may share my records with the hospital for my treatment.\n\nDette er et øvelsesdokument uden retsvirkning.\n",
    ),
];

fn server(bin: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut child = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("kodekort-server {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn run() -> Result<()> {
    system::ensure(system::BUILD_PACKAGES)?;
    let mut build = cargo();
    build.args([
        "build",
        "--locked",
        "-p",
        "kodekort-server",
        "--bin",
        "kodekort-server",
    ]);
    crate::run(build)?;
    let bin = root().join("target/debug/kodekort-server");
    let demo: PathBuf = root().join("target/kodekort-demo");
    if demo.exists() {
        std::fs::remove_dir_all(&demo).with_context(|| format!("removing {}", demo.display()))?;
    }
    let data = demo.join("data");
    let cards = demo.join("cards");
    std::fs::create_dir_all(&cards)?;
    let data_arg = data.to_str().context("demo path is not UTF-8")?;

    for (username, name, password) in ACCOUNTS {
        let pdf = cards.join(format!("{username}.pdf"));
        let json = cards.join(format!("{username}.json"));
        server(
            &bin,
            &[
                "user",
                "add",
                "--data",
                data_arg,
                "--username",
                username,
                "--name",
                name,
                "--password-stdin",
                "--card-pdf",
                pdf.to_str().context("path")?,
                "--card-json",
                json.to_str().context("path")?,
            ],
            Some(&format!("{password}\n")),
        )?;
        for (issuer, title, text) in DOCUMENTS {
            let file = demo.join("document.txt");
            std::fs::write(&file, text)?;
            server(
                &bin,
                &[
                    "document",
                    "add",
                    "--data",
                    data_arg,
                    "--recipient",
                    username,
                    "--title",
                    title,
                    "--file",
                    file.to_str().context("path")?,
                    "--issuer",
                    issuer,
                ],
                None,
            )?;
        }
    }
    let provider_key = server(
        &bin,
        &[
            "provider",
            "add",
            "--data",
            data_arg,
            "--name",
            "Demo provider",
        ],
        None,
    )?;
    std::fs::write(demo.join("provider.key"), provider_key.trim())?;

    let mut serve = Command::new(&bin)
        .args(["serve", "--data", data_arg, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut first = String::new();
    BufReader::new(serve.stdout.take().expect("piped")).read_line(&mut first)?;
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .context("the server did not say where it listens")?
        .replace("127.0.0.1", "localhost");
    print_guide(&url, &demo);
    let status = serve.wait()?;
    if !status.success() {
        bail!("the demo server stopped: {status}");
    }
    Ok(())
}

fn print_guide(url: &str, demo: &Path) {
    let ca = demo.join("data/ca.pem");
    let cards = demo.join("cards");
    println!(
        "
Kodekort demo backend (DEMO data only) is running at {url}/api/v1
Stop it with Ctrl+C. Everything is in {demo}.

Demo accounts (not secret):",
        demo = demo.display()
    );
    for (username, name, password) in ACCOUNTS {
        println!(
            "  {username:<6} {password:<16} {name}   card: {}/{username}.pdf",
            cards.display()
        );
    }
    println!(
        "
Log in with curl (the client pins the demo CA):
  curl --cacert {ca} -H 'content-type: application/json' \\
       -d '{{\"username\":\"demo1\",\"password\":\"kodekort-demo-1\"}}' {url}/api/v1/login
  # find the key it names on {cards}/demo1.pdf (or .json), then:
  curl --cacert {ca} -H 'content-type: application/json' \\
       -d '{{\"code\":\"123456\"}}' {url}/api/v1/login/LOGIN_ID/code
  curl --cacert {ca} -H 'authorization: Bearer TOKEN' {url}/api/v1/documents

API description: {url}/api/v1/openapi.json
",
        ca = ca.display(),
        cards = cards.display(),
    );
}

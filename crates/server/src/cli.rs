//! The `kodekort-server` command line: `serve` and the operator commands.
//! Operator commands open the same data dir (or PostgreSQL database) as a
//! running server; SQLite's locking, PostgreSQL's serializable transactions
//! and the key files' create-once rule make that safe.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use kodekort_proto::wire::{PrintedCard, User};
use kodekort_proto::Password;
use zeroize::Zeroizing;

use crate::card::NewCard;
use crate::card_pdf::{self, Size};
use crate::clock::SystemClock;
use crate::error::Error;
use crate::keys::Keys;
use crate::listener::{self, Limits};
use crate::oidc::signing::Alg;
use crate::oidc::Issuer;
use crate::service::{KeyInfo, NewClient, Service, Setup};
use crate::store::{DatabaseUrl, Store};
use crate::tls::{self, CertSource};

#[derive(Debug, Parser)]
#[command(
    name = "kodekort-server",
    version = env!("KODEKORT_SERVER_VERSION"),
    about = "The Kodekort reference backend (HTTPS only)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API over HTTPS.
    Serve(ServeArgs),
    /// Manage citizens.
    #[command(subcommand)]
    User(UserCommand),
    /// Issue and unlock code cards.
    #[command(subcommand)]
    Card(CardCommand),
    /// Register service providers.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Add documents for citizens (demos and operators).
    #[command(subcommand)]
    Document(DocumentCommand),
    /// Register the services that log citizens in (OpenID Connect clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// The keys that sign ID tokens.
    #[command(subcommand)]
    OidcKey(OidcKeyCommand),
    /// The root key, pepper and data key that several instances share.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Apply the database migrations and exit (`serve` also applies them).
    Migrate {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the keys in a new key directory, once, before the first
    /// instance starts; then give every instance that directory, read-only.
    Init {
        #[arg(long, value_name = "DIR")]
        key_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct DataDir {
    /// The data directory: database, keys, development CA, outbox.
    #[arg(long = "data", value_name = "DIR")]
    pub dir: PathBuf,
    /// A PostgreSQL database that several instances share, instead of the
    /// SQLite file in the data directory: postgres://USER@HOST:PORT/NAME. A
    /// password in it is never printed.
    #[arg(long, env = "KODEKORT_DATABASE", hide_env_values = true, value_name = "URL",
        value_parser = parse_database)]
    pub database: Option<DatabaseUrl>,
    /// Load the keys from this directory (made by `keys init`; read-only
    /// is enough) instead of the data directory. Nothing is created there.
    #[arg(long, env = "KODEKORT_KEY_DIR", value_name = "DIR")]
    pub key_dir: Option<PathBuf>,
}

impl DataDir {
    pub fn setup(&self) -> Setup {
        Setup {
            data_dir: self.dir.clone(),
            database: self.database.clone(),
            key_dir: self.key_dir.clone(),
        }
    }
}

fn parse_database(text: &str) -> Result<DatabaseUrl, String> {
    DatabaseUrl::parse(text).ok_or_else(|| {
        "a PostgreSQL URL with a database name: postgres://USER@HOST:PORT/NAME".to_owned()
    })
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// PEM certificate chain; without it a development CA is used (DATA/ca.pem).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Most open connections in all (lowered to fit the file-descriptor limit).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections as u32,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Most open connections from one client address (IPv6: one /64). Behind
    /// a load balancer every client has its address: raise this there.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_per_address as u32,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: u32,
    /// The public base URL clients reach this server at: the OpenID Connect
    /// issuer, and the base of its endpoints. Default: https://localhost:PORT.
    #[arg(long, value_name = "URL", value_parser = parse_issuer)]
    pub public_url: Option<Issuer>,
    /// On SIGTERM, report not ready for this long before refusing new
    /// connections, so that a load balancer's checks see it first.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub drain_seconds: u64,
    /// On SIGTERM, how long requests in flight may take to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
}

fn parse_issuer(text: &str) -> Result<Issuer, String> {
    Issuer::parse(text)
        .ok_or_else(|| "an https:// URL with no path, query, fragment or user name".to_owned())
}

fn parse_alg(text: &str) -> Result<Alg, String> {
    Alg::parse(text).ok_or_else(|| "one of RS256, ES256, EdDSA".to_owned())
}

#[derive(Debug, Args)]
pub struct CardOutput {
    /// Write the printable card here (the codes exist only in these outputs).
    #[arg(long, value_name = "FILE")]
    pub card_pdf: Option<PathBuf>,
    /// Write the card as JSON: {"serial", "codes": [{"key", "code"}, ...]}.
    #[arg(long, value_name = "FILE")]
    pub card_json: Option<PathBuf>,
    /// Print the PDF card in large print (three pages).
    #[arg(long)]
    pub large_print: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a citizen with a signing key and a first code card.
    Add {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        username: String,
        /// Full name, as printed on the card and in signatures.
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        output: CardOutput,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Issue a new card now; it replaces the old one and lifts any lock.
    Issue {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        username: String,
        #[command(flatten)]
        output: CardOutput,
    },
    /// Lift a wait or a lock after repeated failures.
    Unlock {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Register a provider; prints its API key on stdout, once.
    Add {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocumentCommand {
    /// Add a text/plain document for a citizen.
    Add {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        recipient: String,
        #[arg(long)]
        title: String,
        /// UTF-8 text file with the content.
        #[arg(long, value_name = "F")]
        file: PathBuf,
        /// Who the citizen sees as the sender.
        #[arg(long, default_value = "Kodekort")]
        issuer: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and, for a confidential client, its
    /// secret, once.
    Add {
        #[command(flatten)]
        data: DataDir,
        /// The service's name, as citizens see it on the login pages.
        #[arg(long)]
        name: String,
        /// Where codes are sent back, exactly as the client will send it
        /// (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// Where the client may send citizens after logging out (repeatable).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (an app in the browser or on a desktop): no
        /// secret, PKCE with S256 required.
        #[arg(long, conflicts_with = "jwks")]
        public: bool,
        /// A confidential client that authenticates with private_key_jwt
        /// (signed assertions) instead of a secret: a file with its public
        /// keys as a JWKS.
        #[arg(long, value_name = "FILE")]
        jwks: Option<PathBuf>,
        /// The sector its pairwise subject identifiers are made for. Clients
        /// of one sector see the same `sub` for a citizen; by default the
        /// host of the redirect URIs.
        #[arg(long)]
        sector: Option<String>,
        /// The algorithm of its ID tokens (its id_token_signed_response_alg).
        #[arg(long, value_name = "ALG", default_value = "RS256", value_parser = parse_alg)]
        id_token_alg: Alg,
    },
    /// List the registered clients.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Remove a client, and end every code and token issued to it.
    Remove {
        #[command(flatten)]
        data: DataDir,
        /// The client id, as `client add` printed it.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OidcKeyCommand {
    /// Add a new signing key for each algorithm (or only --alg); the old
    /// keys stay published until the tokens they signed have expired.
    Rotate {
        #[command(flatten)]
        data: DataDir,
        #[arg(long, value_name = "ALG", value_parser = parse_alg)]
        alg: Vec<Alg>,
    },
    /// List the signing keys: id, algorithm, made, retired.
    List {
        #[command(flatten)]
        data: DataDir,
    },
}

/// Errors of the command line, with the message an operator reads.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Server(#[from] Error),
    #[error("{0}")]
    Usage(String),
}

fn open(data: &DataDir) -> Result<Service, CliError> {
    Ok(Service::open_with(&data.setup(), Arc::new(SystemClock))?)
}

fn write_card(output: &CardOutput, user: &User, card: &NewCard) -> Result<(), CliError> {
    if let Some(path) = &output.card_pdf {
        let size = if output.large_print {
            Size::Large
        } else {
            Size::Standard
        };
        write_file(path, &card_pdf::render(card, &user.name, size))?;
    }
    if let Some(path) = &output.card_json {
        let printed = PrintedCard {
            serial: card.serial.clone(),
            holder: user.name.clone(),
            codes: card.pairs.clone(),
        };
        let json = serde_json::to_vec_pretty(&printed).expect("cards serialise");
        write_file(path, &json)?;
    }
    println!(
        "card {} issued to {} ({})",
        card.serial, user.username, user.name
    );
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    crate::keys::write_private_file(path, bytes)?;
    Ok(())
}

/// A UTF-8 text file the operator named.
fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{}: not UTF-8 text", path.display())))
}

fn require_output(output: &CardOutput) -> Result<(), CliError> {
    if output.card_pdf.is_none() && output.card_json.is_none() {
        return Err(CliError::Usage(
            "give --card-pdf FILE and/or --card-json FILE: the plain codes exist only in these outputs"
                .into(),
        ));
    }
    Ok(())
}

fn read_password() -> Result<Password, CliError> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("could not read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(CliError::Usage("no password on standard input".into()));
    }
    Ok(Password::new(password))
}

/// Runs an operator command (everything but `serve`).
pub fn run_operator(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve(_) => Err(CliError::Usage("serve is run by main".into())),
        Command::User(UserCommand::Add {
            data,
            username,
            name,
            password_stdin: _,
            output,
        }) => {
            require_output(&output)?;
            let password = read_password()?;
            let service = open(&data)?;
            let (user, card) = service.add_user(&username, &name, &password)?;
            println!("user {} created with id {}", user.username, user.id);
            write_card(&output, &user, &card)
        }
        Command::Card(CardCommand::Issue {
            data,
            username,
            output,
        }) => {
            require_output(&output)?;
            let (user, card) = open(&data)?.issue_card(&username)?;
            write_card(&output, &user, &card)
        }
        Command::Card(CardCommand::Unlock { data, username }) => {
            open(&data)?.unlock_card(&username)?;
            println!("card of {username} unlocked");
            Ok(())
        }
        Command::Provider(ProviderCommand::Add { data, name }) => {
            let (id, key) = open(&data)?.add_provider(&name)?;
            eprintln!("provider {name} registered with id {id}; its API key follows, shown once:");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", key.expose()).map_err(|e| CliError::Usage(e.to_string()))?;
            Ok(())
        }
        Command::Document(DocumentCommand::Add {
            data,
            recipient,
            title,
            file,
            issuer,
        }) => {
            let content = read_text(&file)?;
            let doc = open(&data)?.add_document(&recipient, &issuer, &title, &content)?;
            println!("document {} added (sha256 {})", doc.id, doc.sha256);
            Ok(())
        }
        Command::Client(command) => run_client(command),
        Command::Keys(KeysCommand::Init { key_dir }) => {
            crate::service::create_private_dir(&key_dir)?;
            let keys = Keys::create(&key_dir)?;
            println!(
                "keys created in {}; root key id {}",
                key_dir.display(),
                kodekort_proto::signing::key_id(&keys.root().verifying_key())
            );
            Ok(())
        }
        Command::Migrate { data } => {
            // The SQLite file lives in the data dir: make it, as `serve` would.
            crate::service::create_private_dir(&data.dir)?;
            let database = data.setup().database();
            let version = Store::open(&database)?.schema_version()?;
            println!("{database}: schema version {version}");
            Ok(())
        }
        Command::OidcKey(OidcKeyCommand::Rotate { data, alg }) => {
            let algs = if alg.is_empty() {
                Alg::ALL.to_vec()
            } else {
                alg
            };
            print_keys(&open(&data)?.rotate_oidc_keys(&algs)?);
            Ok(())
        }
        Command::OidcKey(OidcKeyCommand::List { data }) => {
            print_keys(&open(&data)?.oidc_key_list()?);
            Ok(())
        }
    }
}

fn run_client(command: ClientCommand) -> Result<(), CliError> {
    match command {
        ClientCommand::Add {
            data,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            jwks,
            sector,
            id_token_alg,
        } => {
            let jwks = jwks.as_deref().map(read_text).transpose()?;
            let (client, secret) = open(&data)?.add_client(&NewClient {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                jwks,
                sector,
                id_token_alg,
            })?;
            eprintln!(
                "client {} registered ({}, sector {}, ID tokens {})",
                client.name,
                client.auth_method,
                client.sector,
                client.id_token_alg.as_str()
            );
            let mut out = std::io::stdout().lock();
            let write = |out: &mut std::io::StdoutLock<'_>, line: String| {
                writeln!(out, "{line}").map_err(|e| CliError::Usage(e.to_string()))
            };
            write(&mut out, format!("client_id={}", client.id))?;
            if let Some(secret) = secret {
                eprintln!("its secret follows, shown once:");
                write(&mut out, format!("client_secret={}", secret.expose()))?;
            }
            Ok(())
        }
        ClientCommand::List { data } => {
            for c in open(&data)?.clients()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    c.id,
                    c.name,
                    c.auth_method,
                    c.sector,
                    c.id_token_alg.as_str(),
                    c.redirect_uris.join(" ")
                );
            }
            Ok(())
        }
        ClientCommand::Remove { data, id } => {
            open(&data)?.remove_client(&id)?;
            println!("client {id} removed");
            Ok(())
        }
    }
}

fn print_keys(keys: &[KeyInfo]) {
    let format = time::format_description::well_known::Rfc3339;
    for key in keys {
        let made = key.created_at.format(&format).unwrap_or_default();
        let retired = key
            .retired_at
            .and_then(|at| at.format(&format).ok())
            .map_or_else(|| "current".to_owned(), |at| format!("retired {at}"));
        println!("{}\t{}\t{made}\t{retired}", key.kid, key.alg.as_str());
    }
}

/// Serves until SIGINT or SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let setup = args.data.setup();
    tracing::info!(database = %setup.database(), "opening the database");
    // Blocking (the PostgreSQL client runs its own event loop).
    let service =
        tokio::task::spawn_blocking(move || Service::open_with(&setup, Arc::new(SystemClock)))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
    let service = Arc::new(service);
    let source = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => CertSource::Files { cert, key },
        _ => CertSource::DevelopmentCa {
            data_dir: args.data.dir.clone(),
        },
    };
    let config = tls::server_config(&source)?;
    let mut limits = Limits {
        max_connections: args.max_connections as usize,
        max_per_address: args.max_connections_per_address as usize,
        ..Limits::default()
    };
    if let Some(fd_limit) = listener::raise_fd_limit() {
        limits = limits.within_fd_limit(fd_limit);
        tracing::info!(
            fd_limit,
            max_connections = limits.max_connections,
            max_per_address = limits.max_per_address,
            "connection caps"
        );
    }
    let running =
        crate::api::start_public(args.listen, config, service, limits, args.public_url).await?;
    println!("listening on https://{}", running.addr);
    let _ = std::io::stdout().flush();
    if matches!(source, CertSource::DevelopmentCa { .. }) {
        tracing::info!(ca = %tls::ca_pem(&args.data.dir).display(), "clients pin this development CA");
    }
    let handle = running.handle();
    let health = running.health();
    let (drain, grace) = (
        std::time::Duration::from_secs(args.drain_seconds),
        std::time::Duration::from_secs(args.shutdown_grace_seconds),
    );
    tokio::spawn(async move {
        shutdown_signal().await;
        // Not ready first, so the balancer moves new requests elsewhere;
        // then no new connections, and what is in flight may finish.
        health.start_draining();
        tracing::info!(?drain, ?grace, "shutting down: draining");
        tokio::time::sleep(drain).await;
        handle.graceful_shutdown(grace);
    });
    running.wait().await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

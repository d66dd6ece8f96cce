//! The demo engine, shared by the desktop app and the CLI: the reference
//! backend in this process on `127.0.0.1:0`, over HTTPS with a throw-away
//! CA that the client pins, in a temp dir that is removed on exit. No
//! network, no OS keyring. Its root is the public demo root, so every
//! signature it makes verifies as "demo, not legally valid" everywhere.
//!
//! Demo accounts have known passwords and cards that stay the same across
//! resets, so a printed class kit stays valid for the whole day.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kodekort_client::verify::demo_root_signing_key;
use kodekort_client::{Server, Trust};
use kodekort_proto::wire::{PrintedCard, PrintedPair};
use kodekort_proto::Password;
use kodekort_server::api::{self, Running};
use kodekort_server::card::NewCard;
use kodekort_server::{tls, Service, SystemClock};
use time::Duration;

/// Clearly fictitious names for demo accounts, in order.
const NAMES: &[&str] = &[
    "Anna Testesen",
    "Bo Prøvesen",
    "Carla Eksempelsen",
    "Dennis Demosen",
    "Emma Øvelsesen",
    "Frederik Fiktivsen",
    "Gitte Givetvis",
    "Hans Hypotesen",
    "Ida Illustrationsen",
    "Jens Jævnførsen",
];

/// Documents each account starts with: issuer, title, text.
pub const DOCUMENTS: &[(&str, &str, &str)] = &[
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

/// An extra document a trainer can send with the "document waiting" scenario.
const WAITING_DOCUMENT: (&str, &str, &str) = (
    "Kommunen (demo)",
    "Nyt brev: Samtykke til digital post",
    "Samtykke til digital post (DEMO)\n\nJeg ønsker at modtage breve fra kommunen digitalt.\n\nDette er et øvelsesdokument uden retsvirkning.\n",
);

/// Errors of the demo engine.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo backend: {0}")]
    Server(#[from] kodekort_server::Error),
    #[error("demo files: {0}")]
    Io(#[from] std::io::Error),
    #[error("no demo account named {0}")]
    NoSuchAccount(String),
    #[error("a demo task failed: {0}")]
    Task(String),
}

/// One demo account. Nothing here is secret: it is shown and printed.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub name: String,
    pub card: PrintedCard,
}

/// Situations a trainer can put an account in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// 15 codes left, so the replacement-card notice shows.
    FewCodesLeft,
    /// The card is locked, as after 20 failures.
    CardLocked,
    /// A new document waits to be signed.
    DocumentWaiting,
    /// The session has been idle for 28 of its 30 minutes.
    SessionAboutToExpire,
}

/// A running demo.
pub struct Demo {
    dir: tempfile::TempDir,
    service: Arc<Service>,
    running: Option<Running>,
    addr: SocketAddr,
    ca_pem: String,
    accounts: Vec<DemoAccount>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("addr", &self.addr)
            .field("accounts", &self.accounts.len())
            .finish()
    }
}

fn printed(card: &NewCard, holder: &str) -> PrintedCard {
    PrintedCard {
        serial: card.serial.clone(),
        holder: holder.to_owned(),
        codes: card.pairs.clone(),
    }
}

fn as_new_card(card: &PrintedCard) -> NewCard {
    NewCard {
        serial: card.serial.clone(),
        pairs: card
            .codes
            .iter()
            .map(|p| PrintedPair {
                key: p.key.clone(),
                code: p.code.clone(),
            })
            .collect(),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DemoError> + Send + 'static,
) -> Result<T, DemoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DemoError::Task(e.to_string()))?
}

/// Opens a fresh data dir under the demo root and seeds it.
fn open_and_seed(
    data: &Path,
    accounts: &mut Vec<DemoAccount>,
    count: usize,
) -> Result<Service, DemoError> {
    std::fs::create_dir_all(data)?;
    // The public demo root: written before the service would make a real one.
    let root = data.join("root.key");
    if !root.exists() {
        kodekort_server::keys::write_new_secret(&root, demo_root_signing_key().as_bytes())?;
    }
    let service = Service::open(data, Arc::new(SystemClock))?;
    let first_run = accounts.is_empty();
    for i in 0..count {
        let username = format!("demo{}", i + 1);
        let name = NAMES[i % NAMES.len()].to_owned();
        let password = format!("kodekort-demo-{}", i + 1);
        let given = accounts.get(i).map(|a| as_new_card(&a.card));
        let (_, card) =
            service.add_user_with_card(&username, &name, &Password::new(&password), given)?;
        if first_run {
            accounts.push(DemoAccount {
                card: printed(&card, &name),
                username: username.clone(),
                password,
                name,
            });
        }
        for (issuer, title, text) in DOCUMENTS {
            service.add_document(&username, issuer, title, text)?;
        }
    }
    Ok(service)
}

impl Demo {
    /// Starts a demo with `count` accounts (1 to 50), `demo1` … `demoN`.
    pub async fn start(count: usize) -> Result<Demo, DemoError> {
        let count = count.clamp(1, 50);
        let dir = tempfile::Builder::new()
            .prefix("kodekort-demo-")
            .tempdir()?;
        let data = dir.path().join("data");
        let (service, accounts) = blocking(move || {
            let mut accounts = Vec::new();
            let service = open_and_seed(&data, &mut accounts, count)?;
            Ok((service, accounts))
        })
        .await?;
        let service = Arc::new(service);
        let data = dir.path().join("data");
        let config = tls::server_config(&tls::CertSource::DevelopmentCa {
            data_dir: data.clone(),
        })?;
        let running = api::start(
            "127.0.0.1:0".parse().expect("loopback"),
            config,
            service.clone(),
        )
        .await?;
        let ca_pem = std::fs::read_to_string(tls::ca_pem(&data))?;
        Ok(Demo {
            addr: running.addr,
            dir,
            service,
            running: Some(running),
            ca_pem,
            accounts,
        })
    }

    /// The server as the client should see it: loopback, demo CA pinned.
    pub fn server(&self) -> Server {
        Server {
            url: format!("https://localhost:{}", self.addr.port()),
            trust: Trust::PinnedPem(self.ca_pem.clone()),
        }
    }

    pub fn accounts(&self) -> &[DemoAccount] {
        &self.accounts
    }

    pub fn account(&self, username: &str) -> Result<&DemoAccount, DemoError> {
        self.accounts
            .iter()
            .find(|a| a.username == username.trim().to_lowercase())
            .ok_or_else(|| DemoError::NoSuchAccount(username.to_owned()))
    }

    /// Where the demo keeps its files (removed when the demo ends).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Restores every account, card and document to the seed. The cards
    /// are the same cards, so printed kits stay valid. Sessions end.
    pub async fn reset(&mut self) -> Result<(), DemoError> {
        if let Some(running) = self.running.take() {
            running.shutdown().await?;
        }
        let old = self.dir.path().join("data");
        let fresh: PathBuf = self.dir.path().join(format!("data-{}", std::process::id()));
        // Keep the TLS identity so the pinned CA stays valid; drop the rest.
        let count = self.accounts.len();
        let mut accounts = self.accounts.clone();
        let service = blocking(move || {
            if fresh.exists() {
                std::fs::remove_dir_all(&fresh)?;
            }
            std::fs::create_dir_all(&fresh)?;
            for name in ["ca.pem", "ca.key", "tls.pem", "tls.key"] {
                std::fs::copy(old.join(name), fresh.join(name))?;
            }
            std::fs::remove_dir_all(&old)?;
            std::fs::rename(&fresh, &old)?;
            open_and_seed(&old, &mut accounts, count)
        })
        .await?;
        self.service = Arc::new(service);
        let data = self.dir.path().join("data");
        let config = tls::server_config(&tls::CertSource::DevelopmentCa { data_dir: data })?;
        let running = api::start(self.addr, config, self.service.clone()).await?;
        self.running = Some(running);
        Ok(())
    }

    /// Puts an account into a training scenario.
    pub async fn scenario(&self, username: &str, scenario: Scenario) -> Result<(), DemoError> {
        let username = self.account(username)?.username.clone();
        let service = self.service.clone();
        blocking(move || {
            match scenario {
                Scenario::FewCodesLeft => service.training_use_codes(&username, 15)?,
                Scenario::CardLocked => service.training_lock_card(&username)?,
                Scenario::DocumentWaiting => {
                    let (issuer, title, text) = WAITING_DOCUMENT;
                    service.add_document(&username, issuer, title, text)?;
                }
                Scenario::SessionAboutToExpire => {
                    service.training_idle_sessions(&username, Duration::minutes(28))?
                }
            }
            Ok(())
        })
        .await
    }

    /// Stops the server; the temp dir goes with `self`.
    pub async fn stop(mut self) -> Result<(), DemoError> {
        if let Some(running) = self.running.take() {
            running.shutdown().await?;
        }
        Ok(())
    }
}

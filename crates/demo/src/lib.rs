//! The demo engine, shared by the desktop app and the CLI: the reference
//! backend in this process on `127.0.0.1:0`, over HTTPS with a throw-away
//! CA that the client pins, in a temp dir that is removed on exit. No
//! network, no OS keyring. Its root is the public demo root, so every
//! signature it makes verifies as "demo, not legally valid" everywhere.
//!
//! Demo accounts have known passwords and cards derived from their names
//! ([`cards`]), the same on every computer and after every reset, so one
//! printed class kit ([`kit`]) serves a whole room, every class.

pub mod cards;
pub mod kit;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kodekort_client::verify::demo_root_signing_key;
use kodekort_client::{Server, Trust};
use kodekort_proto::wire::PrintedCard;
use kodekort_proto::Password;
use kodekort_server::api::{self, Running};
use kodekort_server::card::NewCard;
use kodekort_server::{tls, Service, SystemClock, TrainingOverview};
use time::{Duration, OffsetDateTime};

pub use kit::PrintSize;

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
    #[error("class kit: {0}")]
    Pdf(#[from] kodekort_pdf::PdfError),
}

impl DemoError {
    /// A stable code per cause, with text in the client catalogue's
    /// `error` section, so both front ends say what really failed.
    pub fn code(&self) -> &'static str {
        match self {
            DemoError::Server(_) => "demo_server_failed",
            DemoError::Io(_) => "demo_files_failed",
            DemoError::NoSuchAccount(_) => "no_such_demo_account",
            DemoError::Task(_) => "demo_task_failed",
            DemoError::Pdf(_) => "pdf_failed",
        }
    }

    /// Every code, for the catalogue tests.
    pub const CODES: &'static [&'static str] = &[
        "demo_server_failed",
        "demo_files_failed",
        "no_such_demo_account",
        "demo_task_failed",
        "pdf_failed",
    ];
}

/// One demo account. Nothing here is secret: it is shown and printed.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub name: String,
    pub card: PrintedCard,
}

/// Situations a trainer can put an account (or the whole demo) in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// 15 codes left, so the replacement-card notice shows.
    FewCodesLeft,
    /// The card is locked for 15 minutes, as after five wrong codes.
    CardLocked,
    /// A new document waits to be signed.
    DocumentWaiting,
    /// The session has been idle for 28 of its 30 minutes.
    SessionAboutToExpire,
    /// The server answers with a certificate the client does not trust.
    ServerIdentityUnverified,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::FewCodesLeft,
        Scenario::CardLocked,
        Scenario::DocumentWaiting,
        Scenario::SessionAboutToExpire,
        Scenario::ServerIdentityUnverified,
    ];

    /// The stable name used by the UI, the CLI and the catalogue.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::FewCodesLeft => "few_codes",
            Scenario::CardLocked => "card_locked",
            Scenario::DocumentWaiting => "document_waiting",
            Scenario::SessionAboutToExpire => "session_expiring",
            Scenario::ServerIdentityUnverified => "server_identity",
        }
    }

    pub fn from_name(name: &str) -> Option<Scenario> {
        let name = name.trim().replace('-', "_");
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What applying a scenario changed, for the client to act on.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The account's state changed on the server.
    Done,
    /// The card is locked until then.
    LockedUntil(OffsetDateTime),
    /// The client should now talk to this server, whose certificate is not
    /// signed by the demo CA it pins (the same pinned CA, another address).
    Impostor(Server),
}

/// One demo account at a glance, for the trainer panel.
#[derive(Debug, Clone)]
pub struct AccountOverview {
    pub username: String,
    pub name: String,
    pub state: TrainingOverview,
}

/// A running demo.
pub struct Demo {
    dir: tempfile::TempDir,
    service: Arc<Service>,
    running: Option<Running>,
    addr: SocketAddr,
    ca_pem: String,
    accounts: Vec<DemoAccount>,
    started_at: OffsetDateTime,
    last_reset: Option<OffsetDateTime>,
    /// A second listener with a certificate from another CA, while the
    /// "server identity" scenario is on.
    impostor: Option<Running>,
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

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DemoError> + Send + 'static,
) -> Result<T, DemoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DemoError::Task(e.to_string()))?
}

/// Opens a fresh data dir under the demo root and seeds it.
fn open_and_seed(data: &Path, count: usize) -> Result<(Service, Vec<DemoAccount>), DemoError> {
    std::fs::create_dir_all(data)?;
    // The public demo root: written before the service would make a real one.
    let root = data.join("root.key");
    if !root.exists() {
        kodekort_server::keys::write_new_secret(&root, demo_root_signing_key().as_bytes())?;
    }
    let service = Service::open(data, Arc::new(SystemClock))?;
    let accounts = accounts(count);
    // Most of the time is Argon2id, one hash per account: spread the
    // accounts over the cores (the store takes one writer at a time).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let seeders: Vec<_> = (0..workers)
            .map(|first| {
                let (service, accounts) = (&service, &accounts);
                scope.spawn(move || {
                    accounts
                        .iter()
                        .skip(first)
                        .step_by(workers)
                        .try_for_each(|account| seed(service, account))
                })
            })
            .collect();
        seeders.into_iter().try_for_each(|seeder| {
            seeder
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    })?;
    Ok((service, accounts))
}

/// One account with its card and letters.
fn seed(service: &Service, account: &DemoAccount) -> Result<(), DemoError> {
    let card = NewCard {
        serial: account.card.serial.clone(),
        pairs: account.card.codes.clone(),
    };
    service.add_user_with_card(
        &account.username,
        &account.name,
        &Password::new(&account.password),
        Some(card),
    )?;
    for (issuer, title, text) in DOCUMENTS {
        service.add_document(&account.username, issuer, title, text)?;
    }
    Ok(())
}

/// The demo accounts `demo1` … `demoN` (N from 1 to 50): the same on every
/// computer, so a kit can be printed without starting a demo.
pub fn accounts(count: usize) -> Vec<DemoAccount> {
    (1..=count.clamp(1, MAX_ACCOUNTS))
        .map(|n| {
            let username = format!("demo{n}");
            let name = NAMES[(n - 1) % NAMES.len()].to_owned();
            let card = cards::card(&username, n);
            DemoAccount {
                card: printed(&card, &name),
                password: format!("kodekort-demo-{n}"),
                username,
                name,
            }
        })
        .collect()
}

/// The most demo accounts a demo has.
pub const MAX_ACCOUNTS: usize = 50;

impl Demo {
    /// Starts a demo with `count` accounts (1 to 50), `demo1` … `demoN`.
    pub async fn start(count: usize) -> Result<Demo, DemoError> {
        let count = count.clamp(1, MAX_ACCOUNTS);
        let dir = tempfile::Builder::new()
            .prefix("kodekort-demo-")
            .tempdir()?;
        let data = dir.path().join("data");
        let (service, accounts) = blocking(move || open_and_seed(&data, count)).await?;
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
            started_at: OffsetDateTime::now_utc(),
            last_reset: None,
            impostor: None,
        })
    }

    /// When the demo started, and when it was last reset.
    pub fn started_at(&self) -> OffsetDateTime {
        self.started_at
    }

    pub fn last_reset(&self) -> Option<OffsetDateTime> {
        self.last_reset
    }

    /// Every account's card and documents, as they stand now.
    pub async fn overview(&self) -> Result<Vec<AccountOverview>, DemoError> {
        let service = self.service.clone();
        let accounts = self.accounts.clone();
        blocking(move || {
            accounts
                .into_iter()
                .map(|a| {
                    Ok(AccountOverview {
                        state: service.training_overview(&a.username)?,
                        username: a.username,
                        name: a.name,
                    })
                })
                .collect()
        })
        .await
    }

    /// The class kit PDF for every account.
    pub fn class_kit(&self, size: PrintSize) -> Result<Vec<u8>, DemoError> {
        Ok(kit::render(&self.accounts, size)?)
    }

    /// The server as the client should see it: loopback, demo CA pinned.
    pub fn server(&self) -> Server {
        Server {
            // The address it listens on, not a name: a system without
            // /etc/hosts (a minimal one) cannot resolve "localhost", and
            // the certificate names 127.0.0.1 too.
            url: format!("https://127.0.0.1:{}", self.addr.port()),
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

    /// Restores every account, card and document to the seed, and ends
    /// every scenario. The cards are the same cards, so printed kits stay
    /// valid. Sessions end.
    pub async fn reset(&mut self) -> Result<(), DemoError> {
        self.stop_impostor().await?;
        if let Some(running) = self.running.take() {
            running.shutdown().await?;
        }
        let old = self.dir.path().join("data");
        let fresh: PathBuf = self.dir.path().join(format!("data-{}", std::process::id()));
        // Keep the TLS identity so the pinned CA stays valid; drop the rest.
        let count = self.accounts.len();
        let (service, _) = blocking(move || {
            if fresh.exists() {
                std::fs::remove_dir_all(&fresh)?;
            }
            std::fs::create_dir_all(&fresh)?;
            for name in ["ca.pem", "ca.key", "tls.pem", "tls.key"] {
                std::fs::copy(old.join(name), fresh.join(name))?;
            }
            std::fs::remove_dir_all(&old)?;
            std::fs::rename(&fresh, &old)?;
            open_and_seed(&old, count)
        })
        .await?;
        self.service = Arc::new(service);
        let data = self.dir.path().join("data");
        let config = tls::server_config(&tls::CertSource::DevelopmentCa { data_dir: data })?;
        let running = api::start(self.addr, config, self.service.clone()).await?;
        self.running = Some(running);
        self.last_reset = Some(OffsetDateTime::now_utc());
        Ok(())
    }

    /// Puts an account (or, for the server's identity, the whole demo)
    /// into a training scenario.
    pub async fn scenario(
        &mut self,
        username: &str,
        scenario: Scenario,
    ) -> Result<Applied, DemoError> {
        let username = self.account(username)?.username.clone();
        // The account scenarios are database writes, run off the async runtime.
        let write: fn(&Service, &str) -> kodekort_server::Result<Applied> = match scenario {
            Scenario::ServerIdentityUnverified => {
                return Ok(Applied::Impostor(self.start_impostor().await?));
            }
            Scenario::FewCodesLeft => |s, u| s.training_use_codes(u, 15).map(|()| Applied::Done),
            Scenario::CardLocked => |s, u| s.training_lock_card(u).map(Applied::LockedUntil),
            Scenario::DocumentWaiting => |s, u| {
                let (issuer, title, text) = WAITING_DOCUMENT;
                s.add_document(u, issuer, title, text)
                    .map(|_| Applied::Done)
            },
            Scenario::SessionAboutToExpire => |s, u| {
                s.training_idle_sessions(u, Duration::minutes(28))
                    .map(|()| Applied::Done)
            },
        };
        let service = self.service.clone();
        blocking(move || Ok(write(&service, &username)?)).await
    }

    /// Serves the same API on another port under a certificate from a
    /// CA made for the purpose, which the client does not pin: a real TLS
    /// failure, not a simulated one.
    async fn start_impostor(&mut self) -> Result<Server, DemoError> {
        if self.impostor.is_none() {
            let data_dir = self.dir.path().join("impostor");
            std::fs::create_dir_all(&data_dir)?;
            let config = tls::server_config(&tls::CertSource::DevelopmentCa { data_dir })?;
            let running = api::start(
                "127.0.0.1:0".parse().expect("loopback"),
                config,
                self.service.clone(),
            )
            .await?;
            self.impostor = Some(running);
        }
        let addr = self.impostor.as_ref().map_or(self.addr, |r| r.addr);
        Ok(Server {
            url: format!("https://127.0.0.1:{}", addr.port()),
            trust: Trust::PinnedPem(self.ca_pem.clone()),
        })
    }

    /// Ends the "server identity" scenario; the client goes back to
    /// [`Demo::server`].
    pub async fn stop_impostor(&mut self) -> Result<(), DemoError> {
        if let Some(running) = self.impostor.take() {
            running.shutdown().await?;
        }
        Ok(())
    }

    /// Whether the "server identity" scenario is on.
    pub fn impostor_running(&self) -> bool {
        self.impostor.is_some()
    }

    /// Stops the server; the temp dir goes with `self`.
    pub async fn stop(mut self) -> Result<(), DemoError> {
        self.stop_impostor().await?;
        if let Some(running) = self.running.take() {
            running.shutdown().await?;
        }
        Ok(())
    }
}

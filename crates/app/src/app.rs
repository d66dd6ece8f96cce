//! [`App`]: the state behind the desktop UI, one request at a time.
//!
//! Decisions written down here because the issue is silent on them:
//! - The password of a login in progress stays in this process (never in
//!   the webview) until the code step ends, so that "new key" after an
//!   expired prompt needs no retyping. The expired prompt was already
//!   counted as a failure by the server; asking again costs nothing more.
//! - Outside the demo, the session token goes to the OS keyring (as the
//!   CLI's), so a restarted app resumes the session; on a public computer,
//!   or with no keyring, it stays in memory and ends with the app.
//! - The demo keeps everything in memory and in its temp folder: settings
//!   changed during a demo apply to that run only.

use std::path::{Path, PathBuf};
use std::time::Instant;

use kodekort_client::config::{Config, Display};
use kodekort_client::{catalogue, signed_copy, verify_envelope};
use kodekort_client::{
    AuthState, ClientError, Connection, Displayed, Keeping, KeyringOpener, Lang, Login, Overrides,
    SignState, Signing, Target, Verdict,
};
use kodekort_demo::Demo;
use kodekort_proto::wire::{Document, DocumentStatus, PrintedCard, User};
use kodekort_proto::{Envelope, Password, Token};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::error::{AppError, UiError};
use crate::view::*;

mod service_login;
mod trainer;

type Result<T, E = AppError> = std::result::Result<T, E>;

/// How the app starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The configuration file; `None` reads and writes none.
    pub config_path: Option<PathBuf>,
    /// Demo accounts to create when the demo starts.
    pub demo_accounts: usize,
    /// How to reach the OS keyring (tests pass missing or refusing ones).
    pub keyring: KeyringOpener,
}

/// A login between password and code.
struct PendingLogin {
    login: Login,
    /// Kept for "new key" while a prompt is open; `None` after a refusal.
    password: Option<Password>,
    public_computer: bool,
}

/// A logged-in session. The token never leaves this struct for the UI.
struct Active {
    username: String,
    token: Token,
    user: User,
    idle_timeout_s: u64,
}

struct Inner {
    config: Config,
    lang: Lang,
    demo: Option<Demo>,
    /// The demo is being prepared, outside this state's lock (so that the
    /// UI's calls meanwhile are answered at once).
    demo_starting: bool,
    connection: Option<Connection>,
    login: Option<PendingLogin>,
    session: Option<Active>,
    /// The document last shown, exactly as shown, or the signature of it
    /// in progress: what "Sign" signs, never a second fetch.
    signing: Option<Signing>,
    /// A `kodekort:` link the app was opened with, not yet opened.
    login_link: Option<String>,
    /// A service login opened from a link, waiting for its code.
    service_login: Option<service_login::ServiceLogin>,
}

/// The desktop app's state. Methods take `&self`; one request runs at a
/// time, which is what a single-window app needs.
pub struct App {
    inner: Mutex<Inner>,
    options: Options,
    /// One demo start at a time: the one behind the window, or the UI's.
    demo_start: Mutex<()>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("options", &self.options)
            .finish()
    }
}

fn settings_of(config: &Config, lang: Lang) -> Settings {
    Settings {
        lang,
        text_size: config.display.text_size.unwrap_or(100),
        high_contrast: config.display.high_contrast,
        reduced_motion: config.display.reduced_motion,
        check_updates: config.updates.check,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

impl Inner {
    fn connection(&self) -> Result<&Connection> {
        self.connection.as_ref().ok_or(AppError::NoServerConfigured)
    }

    fn session(&self) -> Result<&Active> {
        self.session
            .as_ref()
            .ok_or(AppError::Client(ClientError::NotLoggedIn))
    }

    /// A refusal that means the session is over forgets it here too.
    fn note_error(&mut self, err: &AppError) {
        if let AppError::Client(ClientError::Server { code, .. }) = err {
            use kodekort_proto::ErrorCode::*;
            if matches!(code, SessionExpired | Unauthenticated) {
                self.forget_session();
            }
        }
    }

    /// Ends the session on the server if it can be reached, and here in
    /// any case: a citizen who logs out (or switches to the demo) must not
    /// leave a usable token behind in this app.
    async fn end_session(&mut self) {
        if let (Some(conn), Some(active)) = (&self.connection, self.session.take()) {
            // An unreachable server cannot be told; the session then ends
            // there by its idle limit, and here now.
            let _ = conn.end(&active.username, &active.token).await;
        }
        self.forget_session();
        self.login = None;
    }

    fn forget_session(&mut self) {
        if let (Some(active), Some(conn)) = (self.session.take(), &self.connection) {
            let _ = conn.forget(&active.username);
        }
        self.signing = None;
    }

    /// Where the login stands now: sent with a refusal, so the UI needs
    /// no second call to pick the screen.
    fn login_next(&self) -> NextStep {
        match self.login.as_ref().map(|p| p.login.state()) {
            None => NextStep::new("credentials", None),
            Some(AuthState::Code(p)) => NextStep::new("code", Some(p.attempts_left)),
            Some(state) => NextStep::new(state.step(), None),
        }
    }

    /// Where the signature stands now, sent with a refusal.
    fn sign_next(&self) -> NextStep {
        match self.signing.as_ref().map(Signing::state) {
            None => NextStep::new("document", None),
            Some(SignState::Challenged(p)) => NextStep::new("code", Some(p.attempts_left)),
            Some(state) => NextStep::new(state.step(), None),
        }
    }

    fn demo_card(&self, serial: &str) -> Option<CardPrintView> {
        let demo = self.demo.as_ref()?;
        demo.accounts()
            .iter()
            .map(|a| &a.card)
            .find(|c: &&PrintedCard| c.serial == serial)
            .map(CardPrintView::from)
    }

    fn prompt(
        &self,
        purpose: Purpose,
        card_serial: &str,
        key: &str,
        expires_at: OffsetDateTime,
        attempts_left: u32,
    ) -> PromptView {
        PromptView {
            purpose,
            card_serial: card_serial.to_owned(),
            key: key.to_owned(),
            expires_at: rfc3339(expires_at),
            expires_in_s: (expires_at - OffsetDateTime::now_utc()).whole_seconds(),
            attempts_left,
            document_title: None,
            service_name: None,
            demo_card: self.demo_card(card_serial),
        }
    }

    /// The connection, the token and the signature in progress, borrowed
    /// apart so that a signing step can run on them.
    fn signing_parts(&mut self) -> Result<(&Connection, &Token, &mut Option<Signing>)> {
        let conn = self
            .connection
            .as_ref()
            .ok_or(AppError::NoServerConfigured)?;
        let token = &self.session.as_ref().ok_or(ClientError::NotLoggedIn)?.token;
        Ok((conn, token, &mut self.signing))
    }

    fn sign_prompt(&self) -> Result<PromptView> {
        let signing = self.signing.as_ref().ok_or(ClientError::ChallengeMissing)?;
        match signing.state() {
            SignState::Challenged(p) => Ok(PromptView {
                document_title: Some(signing.displayed().document().title.clone()),
                ..self.prompt(
                    Purpose::Sign,
                    &p.card_serial,
                    &p.key,
                    p.expires_at,
                    p.attempts_left,
                )
            }),
            _ => Err(ClientError::ChallengeMissing.into()),
        }
    }

    fn login_prompt(&self) -> Result<PromptView> {
        let pending = self.login.as_ref().ok_or(ClientError::ChallengeMissing)?;
        match pending.login.state() {
            AuthState::Code(p) => Ok(self.prompt(
                Purpose::Login,
                &p.card_serial,
                &p.key,
                p.expires_at,
                p.attempts_left,
            )),
            _ => Err(ClientError::ChallengeMissing.into()),
        }
    }

    fn state(&self) -> StateView {
        StateView {
            settings: settings_of(&self.config, self.lang),
            demo: self.demo.is_some(),
            demo_starting: self.demo_starting,
            server: self
                .config
                .default_server
                .as_ref()
                .and_then(|name| self.config.servers.get(name))
                .map(|s| s.url.clone()),
            connected: self.connection.is_some(),
            logged_in: self.session.is_some(),
            demo_accounts: self
                .demo
                .as_ref()
                .map(|d| {
                    d.accounts()
                        .iter()
                        .map(|a| DemoAccountView {
                            username: a.username.clone(),
                            password: a.password.clone(),
                            name: a.name.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            demo_guide_key: self.demo.as_ref().map(|_| kodekort_demo::cards::GUIDE_KEY),
            notices: Vec::new(),
            login_link: self.login_link.is_some(),
        }
    }

    async fn home(&mut self) -> Result<HomeView> {
        let conn = self.connection()?;
        let active = self.session()?;
        let me = conn.api().me(&active.token).await?;
        let documents = conn.api().documents(&active.token).await?;
        let of = |status| {
            documents
                .iter()
                .filter(|d| d.status == status)
                .map(DocumentItem::from)
                .collect()
        };
        Ok(HomeView {
            name: me.user.name.clone(),
            username: me.user.username.clone(),
            card: CardView::from(&me.card),
            pending: of(DocumentStatus::Pending),
            signed: of(DocumentStatus::Signed),
            declined: of(DocumentStatus::Declined),
            idle_timeout_s: me.idle_timeout_s,
            session_expires_at: rfc3339(me.expires_at),
            notices: Vec::new(),
        })
    }
}

/// Which flow a command belongs to: a refusal then carries that flow's next step.
#[derive(Clone, Copy)]
enum Flow {
    Other,
    Login,
    Sign,
    ServiceLogin,
}

impl App {
    /// Reads the configuration (a broken file is reported when the citizen
    /// connects, and the defaults are used meanwhile).
    pub fn new(options: Options) -> App {
        let config = options
            .config_path
            .as_deref()
            .map(|p| Config::load(p).0)
            .unwrap_or_default();
        let lang = config.language.unwrap_or_else(Lang::from_env);
        App {
            inner: Mutex::new(Inner {
                config,
                lang,
                demo: None,
                demo_starting: false,
                connection: None,
                login: None,
                session: None,
                signing: None,
                login_link: None,
                service_login: None,
            }),
            options,
            demo_start: Mutex::new(()),
        }
    }

    /// Runs `f` on the state and turns its error into the UI's shape, in the
    /// current language; a refusal that ends the session forgets it.
    async fn run<T>(
        &self,
        f: impl AsyncFnOnce(&mut Inner) -> Result<T>,
    ) -> std::result::Result<T, UiError> {
        self.run_in(Flow::Other, f).await
    }

    /// As `run`, and a refusal says where `flow` stands now.
    async fn run_in<T>(
        &self,
        flow: Flow,
        f: impl AsyncFnOnce(&mut Inner) -> Result<T>,
    ) -> std::result::Result<T, UiError> {
        let mut inner = self.inner.lock().await;
        match f(&mut inner).await {
            Ok(v) => Ok(v),
            Err(err) => {
                inner.note_error(&err);
                let mut ui = err.to_ui(inner.lang);
                ui.next = match flow {
                    Flow::Other => None,
                    Flow::Login => Some(inner.login_next()),
                    Flow::Sign => Some(inner.sign_next()),
                    Flow::ServiceLogin => Some(inner.service_login_next(&err)),
                };
                Err(ui)
            }
        }
    }

    pub async fn state(&self) -> StateView {
        self.inner.lock().await.state()
    }

    /// Says that the demo is about to start behind the window (`start_demo`
    /// follows), so that the first screen says so instead of offering it.
    pub async fn expect_demo(&self) {
        self.inner.lock().await.demo_starting = true;
    }

    /// The `[updates]` section of the configuration file: whether the
    /// shell looks for a new version, and where.
    pub async fn updates_config(&self) -> kodekort_client::config::Updates {
        self.inner.lock().await.config.updates.clone()
    }

    /// The whole catalogue in `lang`, for the UI's texts.
    pub fn catalogue(lang: Lang) -> &'static catalogue::Table {
        catalogue::table(lang)
    }

    /// Applies new settings and saves them, except in the demo.
    pub async fn set_settings(&self, settings: Settings) -> Result<StateView, UiError> {
        let path = self.options.config_path.clone();
        self.run(async move |inner| {
            inner.lang = settings.lang;
            inner.config.language = Some(settings.lang);
            inner.config.display = Display {
                text_size: Some(settings.text_size.clamp(100, 200)),
                high_contrast: settings.high_contrast,
                reduced_motion: settings.reduced_motion,
            };
            inner.config.updates.check = settings.check_updates;
            if let (Some(path), None) = (path, &inner.demo) {
                inner.config.save(&path)?;
            }
            Ok(inner.state())
        })
        .await
    }

    /// Starts the embedded demo backend and connects to it. Any real
    /// session is left first. Creating the demo's accounts takes a few
    /// seconds: that happens outside the state's lock, so the window can
    /// show and answer meanwhile; a second call waits for the first.
    pub async fn start_demo(&self) -> Result<StateView, UiError> {
        let _one_at_a_time = self.demo_start.lock().await;
        {
            let mut inner = self.inner.lock().await;
            inner.demo_starting = inner.demo.is_none();
            if !inner.demo_starting {
                return Ok(inner.state());
            }
        }
        let started = Demo::start(self.options.demo_accounts.max(1)).await;
        let keyring = self.options.keyring.clone();
        self.run(async move |inner| {
            inner.demo_starting = false;
            // If the demo failed, the real connection stays as it was.
            let demo = started?;
            let target = Target {
                server: demo.server(),
                roots: Vec::new(),
                trust_problem: None,
            };
            let (conn, _) = Connection::open(target, Keeping::Demo, &keyring)?;
            inner.end_session().await;
            inner.connection = Some(conn);
            inner.demo = Some(demo);
            Ok(inner.state())
        })
        .await
    }

    /// Connects to the configured server, resuming a saved session if the
    /// server still knows it (with its limits from `GET /me`). A trust file
    /// that cannot be read is said in the state's notices, and stops nothing.
    pub async fn connect(&self) -> Result<StateView, UiError> {
        let path = self.options.config_path.clone();
        let keyring = self.options.keyring.clone();
        self.run(async move |inner| {
            let notices = inner.connect_configured(path.as_deref(), &keyring).await?;
            let mut state = inner.state();
            state.notices = NoticeView::all(&notices, inner.lang);
            Ok(state)
        })
        .await
    }

    /// Step 1 of a login: username and password → the code prompt.
    pub async fn login(
        &self,
        username: &str,
        password: Password,
        public_computer: bool,
    ) -> Result<PromptView, UiError> {
        self.run_in(Flow::Login, async move |inner| {
            let conn = inner.connection()?;
            let mut login = Login::new();
            let result = login
                .submit_credentials(conn.api(), username, &password, false)
                .await
                .map(drop);
            // The password is kept only while a code prompt is open.
            inner.login = Some(PendingLogin {
                login,
                password: result.is_ok().then_some(password),
                public_computer,
            });
            result?;
            inner.login_prompt()
        })
        .await
    }

    /// A new key after the prompt expired, with the password already given.
    pub async fn renew_login_prompt(&self) -> Result<PromptView, UiError> {
        self.run_in(Flow::Login, async move |inner| {
            let conn = inner
                .connection
                .as_ref()
                .ok_or(AppError::NoServerConfigured)?;
            let pending = inner.login.as_mut().ok_or(ClientError::ChallengeMissing)?;
            let username = pending.login.username().to_owned();
            let password = pending
                .password
                .as_ref()
                .ok_or(ClientError::ChallengeMissing)?;
            pending
                .login
                .submit_credentials(conn.api(), &username, password, false)
                .await?;
            inner.login_prompt()
        })
        .await
    }

    /// Abandons a login in progress (the server counts an unanswered prompt
    /// as a failure when it expires; the UI says so before this).
    pub async fn cancel_login(&self) -> Result<(), UiError> {
        self.inner.lock().await.login = None;
        Ok(())
    }

    /// Step 2: the code → the home screen, with what the connection did with
    /// the session (kept in the keyring, or only until the app closes, and why).
    /// A wrong code keeps the prompt; the refusal carries its attempts left.
    pub async fn login_code(&self, code: &str) -> Result<HomeView, UiError> {
        self.run_in(Flow::Login, async move |inner| {
            let conn = inner
                .connection
                .as_ref()
                .ok_or(AppError::NoServerConfigured)?;
            let pending = inner.login.as_mut().ok_or(ClientError::ChallengeMissing)?;
            pending.login.submit_code(conn.api(), code).await?;
            let pending = inner.login.take().ok_or(ClientError::ChallengeMissing)?;
            let public = pending.public_computer;
            let username = pending.login.username().to_owned();
            let session = pending
                .login
                .into_session()
                .ok_or(ClientError::ChallengeMissing)?;
            let conn = inner
                .connection
                .as_mut()
                .ok_or(AppError::NoServerConfigured)?;
            let notice = conn.keep(&username, &session.token, public);
            inner.session = Some(Active {
                username,
                token: session.token,
                user: session.user,
                idle_timeout_s: session.idle_timeout_s,
            });
            let mut home = inner.home().await?;
            home.notices = NoticeView::all(notice.as_slice(), inner.lang);
            Ok(home)
        })
        .await
    }

    pub async fn home(&self) -> Result<HomeView, UiError> {
        self.run(async move |inner| inner.home().await).await
    }

    /// A document's full text for the screen. What is returned here is
    /// kept, byte for byte, as the only thing "Sign" can sign.
    pub async fn document(&self, id: &str) -> Result<DocumentView, UiError> {
        self.run(async move |inner| {
            let conn = inner.connection()?;
            let d = conn.api().document(&inner.session()?.token, id).await?;
            let displayed = Displayed::new(d)?;
            let view = DocumentView::from(displayed.document());
            inner.signing = Some(Signing::new(displayed));
            Ok(view)
        })
        .await
    }

    /// "Sign", and "new key" after a sign prompt expired: asks for a code
    /// bound to the hash of the bytes shown by [`App::document`], which are
    /// not fetched again. A server copy that differs is refused (no code
    /// spent), and the refusal's next step says to read it again.
    pub async fn begin_sign(&self, id: &str) -> Result<PromptView, UiError> {
        self.run_in(Flow::Sign, async move |inner| {
            let (conn, token, signing) = inner.signing_parts()?;
            let signing = signing
                .as_mut()
                .filter(|s| s.displayed().id() == id)
                .ok_or(AppError::NotDisplayed)?;
            signing
                .request_challenge(conn.api(), token, conn.roots())
                .await?;
            inner.sign_prompt()
        })
        .await
    }

    /// The code → the signature, checked by this client against the bytes
    /// it showed before it says "signed".
    pub async fn sign_code(&self, code: &str) -> Result<SignedView, UiError> {
        self.run_in(Flow::Sign, async move |inner| {
            let (conn, token, signing) = inner.signing_parts()?;
            let signing = signing.as_mut().ok_or(ClientError::ChallengeMissing)?;
            signing
                .submit_code(conn.api(), token, code, conn.roots())
                .await?;
            let signing = inner.signing.take().ok_or(ClientError::ChallengeMissing)?;
            let SignState::Signed { verdict, .. } = signing.state() else {
                return Err(ClientError::ChallengeMissing.into());
            };
            let document = signing.displayed().document();
            Ok(SignedView {
                document_id: document.id.clone(),
                title: document.title.clone(),
                verdict: VerdictView::new(verdict, inner.lang),
            })
        })
        .await
    }

    /// Leaves the code step; the document stays shown, so Sign asks anew.
    pub async fn cancel_sign(&self) -> Result<(), UiError> {
        let mut inner = self.inner.lock().await;
        if let Some(signing) = inner.signing.take() {
            inner.signing = Some(Signing::new(signing.displayed().clone()));
        }
        Ok(())
    }

    pub async fn decline(&self, id: &str) -> Result<HomeView, UiError> {
        self.run(async move |inner| {
            let conn = inner.connection()?;
            conn.api().decline(&inner.session()?.token, id).await?;
            inner.home().await
        })
        .await
    }

    /// A signed document's signature, checked again by this client.
    pub async fn signed(&self, id: &str) -> Result<SignedView, UiError> {
        self.run(async move |inner| {
            let (document, _, verdict) = inner.signed_document(id).await?;
            Ok(SignedView {
                document_id: document.id,
                title: document.title,
                verdict: VerdictView::new(&verdict, inner.lang),
            })
        })
        .await
    }

    /// A suggested file name for the signed copy of `id`.
    pub fn signed_file_name(id: &str) -> String {
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        format!("kodekort-{safe}.pdf")
    }

    /// Writes the signed copy of `id` as a PDF at `path`.
    pub async fn save_signed(&self, id: &str, path: &Path) -> Result<SavedView, UiError> {
        self.run(async move |inner| {
            let (document, envelope, verdict) = inner.signed_document(id).await?;
            let pdf = signed_copy::render(&document, &envelope, &verdict, inner.lang)?;
            write_file(path, &pdf)?;
            Ok(SavedView {
                path: path.display().to_string(),
            })
        })
        .await
    }

    /// Checks a signed PDF or an envelope file, against this app's roots.
    pub async fn verify_file(&self, path: &Path) -> Result<FileVerdictView, UiError> {
        self.run(async move |inner| {
            let roots = inner
                .connection
                .as_ref()
                .map(|c| c.roots().to_vec())
                .unwrap_or_default();
            let path = path.to_path_buf();
            let check = tokio::task::spawn_blocking({
                let path = path.clone();
                move || signed_copy::verify_file(&path, &roots)
            })
            .await
            .map_err(|e| ClientError::Pdf(e.to_string()))??;
            Ok(FileVerdictView {
                file_name: file_name(&path),
                verdict: VerdictView::new(&check.verdict, inner.lang),
                has_content: check.content.is_some(),
            })
        })
        .await
    }

    /// "Stay signed in": any authenticated request resets the idle timer.
    pub async fn keep_alive(&self) -> Result<SessionView, UiError> {
        self.run(async move |inner| {
            let conn = inner.connection()?;
            let active = inner.session()?;
            let me = conn.api().me(&active.token).await?;
            Ok(SessionView {
                idle_timeout_s: me.idle_timeout_s,
                session_expires_at: rfc3339(me.expires_at),
            })
        })
        .await
    }

    /// Ends the session on the server and here. An already-ended session,
    /// or an unreachable server, is logged out here all the same.
    pub async fn logout(&self) -> Result<StateView, UiError> {
        self.run(async move |inner| {
            inner.end_session().await;
            Ok(inner.state())
        })
        .await
    }

    /// The About screen's check: can this app reach its server over TLS?
    pub async fn check_connection(&self) -> ConnectionView {
        let inner = self.inner.lock().await;
        let start = Instant::now();
        let result = match inner.connection() {
            Ok(conn) => conn.api().trust().await.map(drop).map_err(AppError::from),
            Err(e) => Err(e),
        };
        ConnectionView {
            ok: result.is_ok(),
            server: inner.connection.as_ref().map(|c| c.url().to_owned()),
            demo: inner.demo.is_some(),
            millis: start.elapsed().as_millis() as u64,
            error: result.err().map(|e| e.to_ui(inner.lang)),
        }
    }

    /// A diagnostics report with nothing secret in it: versions, settings,
    /// the server's URL, and the connection check. No username, no token.
    pub async fn diagnostics(&self) -> String {
        let check = self.check_connection().await;
        let inner = self.inner.lock().await;
        let report = serde_json::json!({
            "app": "Kodekort",
            "version": env!("CARGO_PKG_VERSION"),
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "settings": settings_of(&inner.config, inner.lang),
            "demo": inner.demo.is_some(),
            "server": check.server,
            "logged_in": inner.session.is_some(),
            "connection": {
                "ok": check.ok,
                "millis": check.millis,
                "error": check.error.as_ref().map(|e| &e.code),
            },
            "config_file": self.options.config_path.as_ref().map(|p| p.display().to_string()),
        });
        serde_json::to_string_pretty(&report).unwrap_or_default()
    }

    pub async fn save_diagnostics(&self, path: &Path) -> Result<SavedView, UiError> {
        let report = self.diagnostics().await;
        self.run(async move |_| {
            write_file(path, report.as_bytes())?;
            Ok(SavedView {
                path: path.display().to_string(),
            })
        })
        .await
    }

    /// The language errors are reported in.
    pub async fn lang(&self) -> Lang {
        self.inner.lock().await.lang
    }
}

impl Inner {
    /// Connects to the server of the configuration file, leaving the demo
    /// and any session first, and resumes a saved session there.
    async fn connect_configured(
        &mut self,
        path: Option<&Path>,
        keyring: &KeyringOpener,
    ) -> Result<Vec<kodekort_client::Notice>> {
        if let Some(path) = path {
            let (config, problem) = Config::load(path);
            if let Some(problem) = problem {
                return Err(problem.into());
            }
            self.config = config;
        }
        let target = Target::resolve(&self.config, &Overrides::default())?
            .ok_or(AppError::NoServerConfigured)?;
        let keeping = if self.config.public_computer {
            Keeping::PublicComputer
        } else {
            Keeping::Keyring
        };
        let (conn, notices) = Connection::open(target, keeping, keyring)?;
        self.end_session().await;
        // Stop the demo's listeners (and its temp folder goes with it).
        if let Some(demo) = self.demo.take() {
            let _ = demo.stop().await;
        }
        if let Some((username, session)) = conn.resume().await {
            self.session = Some(Active {
                username,
                token: session.token,
                user: session.user,
                idle_timeout_s: session.idle_timeout_s,
            });
        }
        self.connection = Some(conn);
        Ok(notices)
    }

    /// A signed document, its envelope, and this client's check of the
    /// signature against the text it shows.
    async fn signed_document(&self, id: &str) -> Result<(Document, Envelope, Verdict)> {
        let conn = self.connection()?;
        let token = &self.session()?.token;
        let document = conn.api().document(token, id).await?;
        let envelope = conn.api().signature(token, id).await?;
        let verdict = verify_envelope(&envelope, conn.roots(), Some(document.content.as_bytes()));
        Ok((document, envelope, verdict))
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| {
        ClientError::FileUnwritable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
        .into()
    })
}

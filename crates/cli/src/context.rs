//! The commands, over one server and one session. The demo's interactive
//! session reuses them with a session held in memory.

use std::path::Path;
use std::sync::Arc;

use kodekort_client::config::{read_trust_root, Config};
use kodekort_client::session_store::{KeyringStore, MemoryStore, SessionStore};
use kodekort_client::signed_copy;
use kodekort_client::{
    verify_envelope, ApiClient, AuthState, ClientError, Login, Server, Trust, Verdict,
};
use kodekort_proto::signing::{sha256_hex, TrustRoot};
use kodekort_proto::wire::{CardState, CardStatus, DocumentStatus};
use kodekort_proto::{Envelope, Token};
use serde_json::json;

use crate::output::Out;
use crate::{exit, prompt, Cli, Command};

/// A server, its pinned roots, and the session with it.
pub struct Context {
    pub out: Out,
    /// None for commands that need no server (`verify`).
    api: Option<ApiClient>,
    pub server_url: String,
    pub roots: Vec<TrustRoot>,
    pub store: Arc<dyn SessionStore>,
    /// The user of this run's session, once known.
    pub username: Option<String>,
    /// In the demo: the on-screen demo cards, to show the code beside the prompt.
    pub demo_cards: Vec<kodekort_proto::wire::PrintedCard>,
    /// Say once that the session will not outlive this run (no keyring).
    warn_memory_only: bool,
}

fn status_word(out: &Out, status: DocumentStatus) -> String {
    out.t(status.as_str(), &[])
}

impl Context {
    /// The server and roots from the flags, else from the configuration file.
    pub fn from_cli(cli: &Cli, config: &Config, out: Out) -> Result<Context, ClientError> {
        let mut roots = match &cli.trust {
            Some(path) => vec![read_trust_root(path)?],
            None => Vec::new(),
        };
        if cli.server.is_none() {
            if let Some((server, configured_roots, problem)) = config.server(None) {
                if let Some(problem) = problem {
                    out.error(&problem);
                }
                if roots.is_empty() {
                    roots = configured_roots;
                }
                return Context::with_os_store(
                    &server,
                    roots,
                    out,
                    config.public_computer || cli.public_computer,
                );
            }
        }
        let (Some(url), Some(ca)) = (&cli.server, &cli.ca) else {
            return Ok(Context {
                out,
                api: None,
                server_url: String::new(),
                roots,
                store: Arc::new(MemoryStore::new()),
                username: None,
                demo_cards: Vec::new(),
                warn_memory_only: false,
            });
        };
        let server = Server::new(url, Trust::PinnedCa(ca.clone()))?;
        Context::with_os_store(
            &server,
            roots,
            out,
            config.public_computer || cli.public_computer,
        )
    }

    /// Sessions in the OS keyring, so `login` and later commands meet; on a
    /// public computer, or where there is no keyring, in memory only (and
    /// the citizen is told, once, when they log in).
    fn with_os_store(
        server: &Server,
        roots: Vec<TrustRoot>,
        out: Out,
        public_computer: bool,
    ) -> Result<Context, ClientError> {
        let (store, warn): (Arc<dyn SessionStore>, bool) = if public_computer {
            (Arc::new(MemoryStore::new()), false)
        } else {
            match KeyringStore::open() {
                Ok(keyring) => (Arc::new(keyring), false),
                Err(_) => (Arc::new(MemoryStore::new()), true),
            }
        };
        let mut ctx = Context::new(server, roots, out, store)?;
        ctx.warn_memory_only = warn;
        ctx.username = ctx.store.current_user(&ctx.server_url).unwrap_or(None);
        Ok(ctx)
    }

    pub fn new(
        server: &Server,
        roots: Vec<TrustRoot>,
        out: Out,
        store: Arc<dyn SessionStore>,
    ) -> Result<Context, ClientError> {
        Ok(Context {
            out,
            api: Some(ApiClient::new(server)?),
            server_url: server.url.clone(),
            roots,
            store,
            username: None,
            demo_cards: Vec::new(),
            warn_memory_only: false,
        })
    }

    fn api(&self) -> Result<&ApiClient, ClientError> {
        self.api.as_ref().ok_or_else(|| {
            ClientError::InvalidServerUrl(
                "no server given: use --server URL --ca PEM, or `kodekort demo`".into(),
            )
        })
    }

    fn token(&self) -> Result<Token, ClientError> {
        let username = self.username.as_deref().ok_or(ClientError::NotLoggedIn)?;
        self.store
            .load(&self.server_url, username)?
            .ok_or(ClientError::NotLoggedIn)
    }

    pub async fn run(&mut self, command: &Command) -> Result<u8, ClientError> {
        match command {
            Command::Login {
                username,
                password_stdin,
                replacement_card,
            } => {
                self.login(username.clone(), *password_stdin, *replacement_card)
                    .await
            }
            Command::Logout => self.logout().await,
            Command::Card => self.card().await,
            Command::Documents => self.documents().await,
            Command::Show { id } => self.show(id).await,
            Command::Sign { id } => self.sign(id).await,
            Command::Decline { id } => self.decline(id).await,
            Command::Export { id, output } => self.export(id, output).await,
            Command::Verify { file } => self.verify(file),
            Command::Demo { .. } => Ok(exit::USAGE),
        }
    }

    pub async fn login(
        &mut self,
        username: Option<String>,
        password_stdin: bool,
        replacement_card: bool,
    ) -> Result<u8, ClientError> {
        let out = self.out.clone();
        let username = match username {
            Some(u) => u,
            None => prompt::ask(&out.t("username", &[]))?,
        };
        let password = if password_stdin {
            prompt::password_from_stdin()?
        } else {
            prompt::ask_password(&out.t("password", &[]))?
        };
        let mut login = Login::new();
        out.progress(login.submit_credentials(self.api()?, &username, &password, replacement_card))
            .await?;
        drop(password);
        while let AuthState::Code(prompt_state) = login.state().clone() {
            out.challenge(
                &prompt_state.card_serial,
                &prompt_state.key,
                prompt_state.expires_at,
                prompt_state.attempts_left,
            );
            self.demo_hint(&prompt_state.card_serial, &prompt_state.key);
            out.note(&out.t(
                "expires",
                &[(
                    "time",
                    &kodekort_client::error::format_time(prompt_state.expires_at),
                )],
            ));
            let typed = prompt::ask(&out.t("code", &[("key", &prompt_state.key)]))?;
            let result = out
                .progress(login.submit_code(self.api()?, &typed))
                .await
                .map(drop);
            match result {
                Ok(()) => {}
                // A typo or a wrong code: the prompt stays; say why and ask again.
                Err(err @ (ClientError::CodeFormat | ClientError::Server { .. }))
                    if matches!(login.state(), AuthState::Code(_)) =>
                {
                    out.error(&err);
                }
                Err(err) => return Err(err),
            }
        }
        let username = login.username().to_owned();
        let session = login.into_session().ok_or(ClientError::ChallengeMissing)?;
        if let Err(err) = self.store.save(&self.server_url, &username, &session.token) {
            // The login itself worked: keep the session for this run and say why
            // it will not last, rather than fail.
            out.note(&err.message(out.lang));
            self.store = Arc::new(MemoryStore::new());
            self.store
                .save(&self.server_url, &username, &session.token)?;
        } else if self.warn_memory_only {
            out.note(&out.t("session_memory_only", &[]));
        }
        self.username = Some(username);
        let name = session.user.name.clone();
        out.emit(
            json!({"user": session.user, "card": session.card, "expires_at": session.expires_at.unix_timestamp()}),
            || {
                let mut lines = vec![out.t("logged_in", &[("name", &name)])];
                lines.extend(card_lines(&out, &session.card));
                lines
            },
        );
        Ok(exit::OK)
    }

    /// In the demo, the card is on screen: show the code beside the prompt.
    fn demo_hint(&self, serial: &str, key: &str) {
        let pair = self
            .demo_cards
            .iter()
            .filter(|c| c.serial == serial)
            .flat_map(|c| c.codes.iter())
            .find(|p| p.key == key);
        if let Some(p) = pair {
            let out = &self.out;
            out.emit(json!({"demo_card": {"key": p.key, "code": p.code}}), || {
                vec![format!(
                    "DEMO {}",
                    out.t("demo_card_line", &[("key", &p.key), ("code", &p.code)])
                        .trim()
                )]
            });
        }
    }

    pub async fn logout(&mut self) -> Result<u8, ClientError> {
        let token = self.token()?;
        let result = self.out.progress(self.api()?.logout(&token)).await;
        if let Some(username) = self.username.take() {
            self.store.delete(&self.server_url, &username)?;
        }
        // An already-ended session is logged out all the same.
        match result {
            Ok(()) | Err(ClientError::Server { .. }) => {}
            Err(e) => return Err(e),
        }
        let out = &self.out;
        out.emit(json!({"logged_out": true}), || {
            vec![out.t("logged_out", &[])]
        });
        Ok(exit::OK)
    }

    pub async fn card(&self) -> Result<u8, ClientError> {
        let token = self.token()?;
        let card = self.out.progress(self.api()?.card(&token)).await?;
        let out = &self.out;
        out.emit(json!(card), || card_lines(out, &card));
        Ok(exit::OK)
    }

    pub async fn documents(&self) -> Result<u8, ClientError> {
        let token = self.token()?;
        let docs = self.out.progress(self.api()?.documents(&token)).await?;
        let out = &self.out;
        out.emit(json!(docs), || {
            if docs.is_empty() {
                return vec![out.t("no_documents", &[])];
            }
            docs.iter()
                .enumerate()
                .map(|(i, d)| {
                    format!(
                        "{}. {}",
                        i + 1,
                        out.t(
                            "document_line",
                            &[
                                ("status", &status_word(out, d.status)),
                                ("id", &d.id),
                                ("date", &d.created_at.date().to_string()),
                                ("issuer", &d.issuer),
                                ("title", &d.title),
                            ],
                        )
                    )
                })
                .collect()
        });
        Ok(exit::OK)
    }

    /// Ids of the documents, in the order `documents` lists them.
    pub async fn document_ids(&self) -> Result<Vec<String>, ClientError> {
        let token = self.token()?;
        Ok(self
            .api()?
            .documents(&token)
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect())
    }

    pub async fn show(&self, id: &str) -> Result<u8, ClientError> {
        let token = self.token()?;
        let doc = self.out.progress(self.api()?.document(&token, id)).await?;
        let out = &self.out;
        out.emit(json!(doc), || {
            let mut lines = vec![
                doc.title.clone(),
                format!("{}: {}", out.t("from", &[]), doc.issuer),
                format!("{}: {}", out.t("date", &[]), doc.created_at.date()),
                format!("{}: {}", out.t("sha256", &[]), doc.sha256),
                String::new(),
            ];
            lines.extend(doc.content.lines().map(str::to_owned));
            lines
        });
        Ok(exit::OK)
    }

    pub async fn sign(&self, id: &str) -> Result<u8, ClientError> {
        let token = self.token()?;
        let out = &self.out;
        let doc = out.progress(self.api()?.document(&token, id)).await?;
        // Show what will be signed, then sign the hash of exactly those bytes.
        if !out.json {
            eprintln!("{}\n", doc.title);
            for line in doc.content.lines() {
                eprintln!("{line}");
            }
            eprintln!();
        }
        let displayed = doc.content.as_bytes();
        let ch = out
            .progress(
                self.api()?
                    .begin_sign(&token, &doc.id, &sha256_hex(displayed)),
            )
            .await?;
        out.challenge(&ch.card_serial, &ch.key, ch.expires_at, ch.attempts_left);
        self.demo_hint(&ch.card_serial, &ch.key);
        let envelope = loop {
            let typed = prompt::ask(&out.t("code", &[("key", &ch.key)]))?;
            let code = match kodekort_client::login::normalise_code(&typed) {
                Ok(code) => code,
                Err(err) => {
                    out.error(&err);
                    continue;
                }
            };
            match out
                .progress(self.api()?.sign_code(&token, &ch.sign_id, &code))
                .await
            {
                Ok(envelope) => break envelope,
                Err(
                    err @ ClientError::Server {
                        code: kodekort_proto::ErrorCode::InvalidCode,
                        locked_until: None,
                        ..
                    },
                ) => {
                    out.error(&err);
                }
                Err(err) => return Err(err),
            }
        };
        // The client checks the envelope itself before it says "signed".
        let verdict = verify_envelope(&envelope, &self.roots, Some(displayed));
        report_verdict(out, &verdict, &envelope, true);
        Ok(if matches!(verdict, Verdict::Valid(_) | Verdict::Demo(_)) {
            exit::OK
        } else {
            exit::VERIFY_FAILED
        })
    }

    pub async fn decline(&self, id: &str) -> Result<u8, ClientError> {
        let token = self.token()?;
        let status = self.out.progress(self.api()?.decline(&token, id)).await?;
        let out = &self.out;
        out.emit(json!(status), || vec![out.t("declined_ok", &[])]);
        Ok(exit::OK)
    }

    /// Saves the signed copy of a signed document as PDF, after checking
    /// the signature against the text it will carry.
    pub async fn export(&self, id: &str, output: &Path) -> Result<u8, ClientError> {
        let token = self.token()?;
        let out = &self.out;
        let doc = out.progress(self.api()?.document(&token, id)).await?;
        let envelope = out.progress(self.api()?.signature(&token, id)).await?;
        let verdict = verify_envelope(&envelope, &self.roots, Some(doc.content.as_bytes()));
        let pdf = signed_copy::render(&doc, &envelope, &verdict, out.lang)?;
        std::fs::write(output, pdf).map_err(|e| ClientError::FileUnwritable {
            path: output.to_path_buf(),
            reason: e.to_string(),
        })?;
        let file = output.display().to_string();
        out.emit(json!({"exported": file, "verdict": verdict.code()}), || {
            vec![
                out.t("exported", &[("file", &file)]),
                verdict.message(out.lang),
            ]
        });
        Ok(exit::OK)
    }

    /// Verifies a signed PDF or an envelope.json offline against the pinned roots.
    pub fn verify(&self, file: &Path) -> Result<u8, ClientError> {
        let check = signed_copy::verify_file(file, &self.roots)?;
        report_verdict(&self.out, &check.verdict, &check.envelope, false);
        Ok(if check.verdict.is_valid() {
            exit::OK
        } else {
            exit::VERIFY_FAILED
        })
    }
}

/// Says the verdict; after signing, also that this computer checked it.
fn report_verdict(out: &Out, verdict: &Verdict, envelope: &Envelope, just_signed: bool) {
    out.emit(
        json!({"verdict": verdict.code(), "message": verdict.message(out.lang), "envelope": envelope}),
        || {
            let mut lines = vec![verdict.message(out.lang)];
            if just_signed && matches!(verdict, Verdict::Valid(_) | Verdict::Demo(_)) {
                lines.push(out.t("signed_ok", &[]));
            }
            lines
        },
    );
}

/// The card in plain lines: codes left, replacement, lock.
pub fn card_lines(out: &Out, card: &CardStatus) -> Vec<String> {
    let mut lines = vec![out.t(
        "card_status",
        &[
            ("serial", &card.serial),
            ("remaining", &card.remaining.to_string()),
            ("total", &card.total.to_string()),
        ],
    )];
    if let Some(r) = &card.replacement {
        lines.push(out.t("card_replacement", &[("serial", &r.serial)]));
    }
    match card.status {
        CardState::Locked => lines.push(out.t("card_locked", &[])),
        CardState::UsedUp => lines.push(out.t("card_used_up", &[])),
        CardState::Active => {}
    }
    if let Some(until) = card.locked_until {
        lines.push(out.t(
            "card_waiting",
            &[("until", &kodekort_client::error::format_time(until))],
        ));
    }
    lines
}

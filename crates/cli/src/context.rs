//! The commands, over one connection and one session. The flows are the
//! client core's (`Connection`, `Login`, `Signing`); this file asks, prints
//! and maps. The demo's interactive session reuses it with a demo connection.

use std::path::Path;

use kodekort_client::config::{read_trust_root, Config};
use kodekort_client::signed_copy;
use kodekort_client::{
    verify_envelope, AuthState, ClientError, CodePrompt, Connection, Displayed, Keeping,
    KeyringOpener, Login, Notice, Server, SignState, Signing, Target, Verdict,
};
use kodekort_proto::signing::TrustRoot;
use kodekort_proto::wire::{CardState, CardStatus, DocumentStatus};
use kodekort_proto::{text, Token};
use serde_json::json;

use crate::error::CliError;
use crate::output::Out;
use crate::verify::{self, report_verdict};
use crate::{exit, prompt};
use kodekort_cli::args::{Cli, Command};

/// A server's connection and the session with it.
pub struct Context {
    pub out: Out,
    /// None when no server is configured: every command then says so.
    conn: Option<Connection>,
    /// The pinned roots when there is no server (`--trust`).
    offline_roots: Vec<TrustRoot>,
    /// The user of this run's session, once known.
    pub username: Option<String>,
    /// In the demo: the on-screen demo cards, to show the code beside the prompt.
    pub demo_cards: Vec<kodekort_proto::wire::PrintedCard>,
}

fn status_word(out: &Out, status: DocumentStatus) -> String {
    out.t(status.as_str(), &[])
}

impl Context {
    /// The server and roots from the flags, else from the configuration
    /// file. Sessions go to the OS keyring unless this is a public computer;
    /// what the connection reports is said before anything else.
    pub fn from_cli(cli: &Cli, config: &Config, out: Out) -> Result<Context, CliError> {
        let overrides = crate::overrides(cli);
        let keeping = if config.public_computer || cli.public_computer {
            Keeping::PublicComputer
        } else {
            Keeping::Keyring
        };
        let Some(target) = Target::resolve(config, &overrides)? else {
            let offline_roots = match cli.trust.as_deref().map(read_trust_root) {
                Some(Ok(root)) => vec![root],
                Some(Err(e)) => {
                    out.notice(&Notice::TrustUnreadable(e));
                    Vec::new()
                }
                None => Vec::new(),
            };
            return Ok(Context {
                out,
                conn: None,
                offline_roots,
                username: None,
                demo_cards: Vec::new(),
            });
        };
        let (conn, notices) = Connection::open(target, keeping, &KeyringOpener::os())?;
        for notice in &notices {
            out.notice(notice);
        }
        let username = conn.saved().map(|(user, _)| user);
        Ok(Context {
            out,
            conn: Some(conn),
            offline_roots: Vec::new(),
            username,
            demo_cards: Vec::new(),
        })
    }

    /// A context on the demo's server (or its impostor): memory only.
    pub fn demo(server: &Server, out: Out) -> Result<Context, CliError> {
        let target = Target {
            server: server.clone(),
            roots: Vec::new(),
            trust_problem: None,
        };
        let (conn, _) = Connection::open(target, Keeping::Demo, &KeyringOpener::os())?;
        Ok(Context {
            out,
            conn: Some(conn),
            offline_roots: Vec::new(),
            username: None,
            demo_cards: Vec::new(),
        })
    }

    fn conn(&self) -> Result<&Connection, ClientError> {
        self.conn.as_ref().ok_or(ClientError::NoServer)
    }

    fn roots(&self) -> &[TrustRoot] {
        self.conn
            .as_ref()
            .map_or(&self.offline_roots[..], Connection::roots)
    }

    fn token(&self) -> Result<Token, CliError> {
        let username = self.username.as_deref().ok_or(ClientError::NotLoggedIn)?;
        match self.conn()?.saved() {
            Some((user, token)) if user == username => Ok(token),
            _ => Err(ClientError::NotLoggedIn.into()),
        }
    }

    pub async fn run(&mut self, command: &Command) -> Result<u8, CliError> {
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
    ) -> Result<u8, CliError> {
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
        let conn = self.conn()?;
        let mut login = Login::new();
        out.progress(login.submit_credentials(conn.api(), &username, &password, replacement_card))
            .await?;
        drop(password);
        while let AuthState::Code(prompt_state) = login.state().clone() {
            self.show_prompt(&prompt_state);
            out.note(&out.t(
                "expires",
                &[(
                    "time",
                    &kodekort_client::error::format_local_time(prompt_state.expires_at),
                )],
            ));
            let typed = prompt::ask_code(&out.t("code", &[("key", &prompt_state.key)]))?;
            // A typo or a wrong code leaves the login at the code step: say why
            // and ask again. Any other state ends the command with the refusal.
            if let Err(err) = out.progress(login.submit_code(conn.api(), &typed)).await {
                if !matches!(login.state(), AuthState::Code(_)) {
                    return Err(err.into());
                }
                out.error(&err.into());
            }
        }
        let username = login.username().to_owned();
        let session = login.into_session().ok_or(ClientError::ChallengeMissing)?;
        let conn = self.conn.as_mut().ok_or(ClientError::NoServer)?;
        if let Some(notice) = conn.keep(&username, &session.token, false) {
            out.notice(&notice);
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

    /// The card prompt (and, in the demo, the code beside it), for a login
    /// or a signature alike.
    fn show_prompt(&self, p: &CodePrompt) {
        self.out
            .challenge(&p.card_serial, &p.key, p.expires_at, p.attempts_left);
        self.demo_hint(&p.card_serial, &p.key);
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

    pub async fn logout(&mut self) -> Result<u8, CliError> {
        let token = self.token()?;
        let username = self.username.take().ok_or(ClientError::NotLoggedIn)?;
        self.out
            .progress(self.conn()?.end(&username, &token))
            .await?;
        let out = &self.out;
        out.emit(json!({"logged_out": true}), || {
            vec![out.t("logged_out", &[])]
        });
        Ok(exit::OK)
    }

    pub async fn card(&self) -> Result<u8, CliError> {
        let token = self.token()?;
        let card = self.out.progress(self.conn()?.api().card(&token)).await?;
        let out = &self.out;
        out.emit(json!(card), || card_lines(out, &card));
        Ok(exit::OK)
    }

    pub async fn documents(&self) -> Result<u8, CliError> {
        let token = self.token()?;
        let docs = self
            .out
            .progress(self.conn()?.api().documents(&token))
            .await?;
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
    pub async fn document_ids(&self) -> Result<Vec<String>, CliError> {
        let token = self.token()?;
        Ok(self
            .conn()?
            .api()
            .documents(&token)
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect())
    }

    pub async fn show(&self, id: &str) -> Result<u8, CliError> {
        let token = self.token()?;
        let doc = self
            .out
            .progress(self.conn()?.api().document(&token, id))
            .await?;
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

    /// Shows the text, then signs the hash of exactly the bytes shown (the
    /// client core's `Signing`): a typo or a wrong code asks again, any other
    /// refusal ends the command with its reason.
    pub async fn sign(&self, id: &str) -> Result<u8, CliError> {
        let token = self.token()?;
        let out = &self.out;
        let conn = self.conn()?;
        let doc = out.progress(conn.api().document(&token, id)).await?;
        let displayed = Displayed::new(doc)?;
        show_text(out, &displayed);
        let mut signing = Signing::new(displayed);
        out.progress(signing.request_challenge(conn.api(), &token, conn.roots()))
            .await?;
        loop {
            let prompt_state = match signing.state() {
                SignState::Challenged(p) => p.clone(),
                SignState::Signed { envelope, verdict } => {
                    report_verdict(out, verdict, Some(envelope), true);
                    return Ok(
                        if matches!(**verdict, Verdict::Valid(_) | Verdict::Demo(_)) {
                            exit::OK
                        } else {
                            exit::VERIFY_FAILED
                        },
                    );
                }
                _ => return Err(ClientError::ChallengeMissing.into()),
            };
            self.show_prompt(&prompt_state);
            let typed = prompt::ask_code(&out.t("code", &[("key", &prompt_state.key)]))?;
            let submitted = signing.submit_code(conn.api(), &token, &typed, conn.roots());
            if let Err(err) = out.progress(submitted).await {
                if !matches!(signing.state(), SignState::Challenged(_)) {
                    return Err(err.into());
                }
                out.error(&err.into());
            }
        }
    }

    pub async fn decline(&self, id: &str) -> Result<u8, CliError> {
        let token = self.token()?;
        let status = self
            .out
            .progress(self.conn()?.api().decline(&token, id))
            .await?;
        let out = &self.out;
        out.emit(json!(status), || vec![out.t("declined_ok", &[])]);
        Ok(exit::OK)
    }

    /// Saves the signed copy of a signed document as PDF, after checking
    /// the signature against the text it will carry.
    pub async fn export(&self, id: &str, output: &Path) -> Result<u8, CliError> {
        let token = self.token()?;
        let out = &self.out;
        let doc = out
            .progress(self.conn()?.api().document(&token, id))
            .await?;
        let envelope = out
            .progress(self.conn()?.api().signature(&token, id))
            .await?;
        let verdict = verify_envelope(&envelope, self.roots(), Some(doc.content.as_bytes()));
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

    /// Verifies a signed PDF or an envelope.json offline against this
    /// session's roots (the demo's `verify FILE`).
    pub fn verify(&self, file: &Path) -> Result<u8, CliError> {
        verify::verify_file(&self.out, file, self.roots(), None)
    }
}

/// Shows what is about to be signed: the title and the text for people (on
/// stderr, so stdout stays the answers), the document for scripts.
fn show_text(out: &Out, displayed: &Displayed) {
    let doc = displayed.document();
    if out.json {
        println!("{}", json!({"document": doc}));
    } else {
        eprintln!("{}\n", text::visible_line(&doc.title));
        for line in doc.content.lines() {
            eprintln!("{}", text::visible(line));
        }
        eprintln!();
    }
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
            &[("until", &kodekort_client::error::format_local_time(until))],
        ));
    }
    lines
}

//! One connection to one server, as both front ends use it: the HTTPS
//! client, the pinned signature roots, and where sessions are kept, with one
//! fallback policy. It reports what it did as [`Notice`]s (for example "no
//! keyring: this session lasts until the program closes"); the CLI prints
//! them, the desktop app shows them. Nothing here prints or decides a screen.

use std::path::PathBuf;
use std::sync::Arc;

use kodekort_proto::signing::TrustRoot;
use kodekort_proto::Token;

use crate::api::{ApiClient, Server, Trust};
use crate::catalogue::{self, Lang};
use crate::config::{read_trust_root, Config};
use crate::error::{ClientError, Result};
use crate::login::Session;
use crate::session_store::{KeyringStore, MemoryStore, SessionStore};

/// Something the citizen must be told that stops nothing.
#[derive(Debug)]
pub enum Notice {
    /// The session went to the OS keyring: it lasts until logout.
    SessionKept,
    /// There is no keyring service: the session lasts until the program closes.
    NoKeyring,
    /// The keyring refused to store the session: it lasts until the program closes.
    KeyringWriteFailed(ClientError),
    /// A public computer: nothing is kept.
    PublicComputer,
    /// The pinned signature root could not be read: no signature verifies
    /// as legally valid until it is fixed. Reading documents still works.
    TrustUnreadable(ClientError),
}

impl Notice {
    /// A stable code, the key of its text in the catalogue's `notice` section.
    pub fn code(&self) -> &'static str {
        match self {
            Notice::SessionKept => "session_kept",
            Notice::NoKeyring => "no_keyring",
            Notice::KeyringWriteFailed(_) => "keyring_write_failed",
            Notice::PublicComputer => "public_computer",
            Notice::TrustUnreadable(_) => "trust_unreadable",
        }
    }

    /// What the citizen reads, with the cause where there is one.
    pub fn message(&self, lang: Lang) -> String {
        let text = catalogue::text(lang, "notice", self.code(), &[]);
        match self {
            Notice::KeyringWriteFailed(cause) | Notice::TrustUnreadable(cause) => {
                format!("{text} {}", cause.message(lang))
            }
            _ => text,
        }
    }

    /// Every code, for the catalogue test.
    pub const CODES: &'static [&'static str] = &[
        "session_kept",
        "no_keyring",
        "keyring_write_failed",
        "public_computer",
        "trust_unreadable",
    ];
}

/// Where sessions on this connection may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeping {
    /// The OS keyring, so a later run resumes (falls back to memory, and says so).
    Keyring,
    /// Memory only, said to the citizen: a public computer.
    PublicComputer,
    /// Memory only, said by the demo banner already.
    Demo,
}

/// How to reach the OS keyring. Production uses [`KeyringOpener::os`];
/// tests pass stores that are missing or that refuse writes.
#[derive(Clone)]
pub struct KeyringOpener(Arc<dyn Fn() -> Result<Arc<dyn SessionStore>> + Send + Sync>);

impl KeyringOpener {
    pub fn os() -> KeyringOpener {
        KeyringOpener::new(|| Ok(Arc::new(KeyringStore::open()?) as Arc<dyn SessionStore>))
    }

    pub fn new(
        open: impl Fn() -> Result<Arc<dyn SessionStore>> + Send + Sync + 'static,
    ) -> KeyringOpener {
        KeyringOpener(Arc::new(open))
    }
}

impl Default for KeyringOpener {
    fn default() -> Self {
        KeyringOpener::os()
    }
}

impl std::fmt::Debug for KeyringOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyringOpener")
    }
}

/// Which server to talk to and which roots to pin: from command-line flags
/// where given, else from the configuration file.
#[derive(Debug)]
pub struct Target {
    pub server: Server,
    pub roots: Vec<TrustRoot>,
    /// A trust file that could not be read: said, and then gone on without.
    pub trust_problem: Option<ClientError>,
}

/// Command-line choices that override the configuration file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub server: Option<String>,
    pub ca: Option<PathBuf>,
    pub trust: Option<PathBuf>,
}

impl Target {
    /// The server named by `overrides`, else the configuration's default
    /// one; `None` if neither names one. A trust file that cannot be read
    /// is kept as a problem to report, never a reason to stop.
    pub fn resolve(config: &Config, overrides: &Overrides) -> Result<Option<Target>> {
        let from_flag = overrides.trust.as_ref().map(|p| read_trust_root(p));
        let (server, mut roots, mut trust_problem) = match (&overrides.server, &overrides.ca) {
            (Some(url), Some(ca)) => (
                Server::new(url, Trust::PinnedCa(ca.clone()))?,
                Vec::new(),
                None,
            ),
            (Some(_), None) => return Err(ClientError::NoServer),
            (None, _) => match config.server(None) {
                Some((server, roots, problem)) => (server, roots, problem),
                None => return Ok(None),
            },
        };
        match from_flag {
            Some(Ok(root)) => {
                roots = vec![root];
                trust_problem = None;
            }
            Some(Err(e)) => {
                roots.clear();
                trust_problem = Some(e);
            }
            None => {}
        }
        Ok(Some(Target {
            server,
            roots,
            trust_problem,
        }))
    }
}

/// The connection to one server and the place its sessions are kept.
pub struct Connection {
    api: ApiClient,
    url: String,
    roots: Vec<TrustRoot>,
    keeping: Keeping,
    /// The OS keyring, when `keeping` allows it and one answered.
    keyring: Option<Arc<dyn SessionStore>>,
    /// Sessions that do not outlive this process.
    memory: Arc<MemoryStore>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("keeping", &self.keeping)
            .field("keyring", &self.keyring.is_some())
            .finish()
    }
}

impl Connection {
    /// Connects (no network yet) and says what the citizen must know now:
    /// a trust file that could not be read. Keyring outcomes are said when
    /// a session is kept ([`Connection::keep`]).
    pub fn open(
        target: Target,
        keeping: Keeping,
        keyring: &KeyringOpener,
    ) -> Result<(Connection, Vec<Notice>)> {
        let api = ApiClient::new(&target.server)?;
        let keyring = match keeping {
            Keeping::Keyring => (keyring.0)().ok(),
            Keeping::PublicComputer | Keeping::Demo => None,
        };
        let notices = target
            .trust_problem
            .map(Notice::TrustUnreadable)
            .into_iter()
            .collect();
        Ok((
            Connection {
                api,
                url: target.server.url.clone(),
                roots: target.roots,
                keeping,
                keyring,
                memory: Arc::new(MemoryStore::new()),
            },
            notices,
        ))
    }

    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Talks to `server` from now on, keeping the sessions and the URL they
    /// are kept under (the demo's "server identity" scenario swaps in an
    /// impostor listener this way, and back).
    pub fn switch_server(&mut self, server: &Server) -> Result<()> {
        self.api = ApiClient::new(server)?;
        Ok(())
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn roots(&self) -> &[TrustRoot] {
        &self.roots
    }

    fn stores(&self) -> impl Iterator<Item = &dyn SessionStore> {
        let memory: &dyn SessionStore = self.memory.as_ref();
        std::iter::once(memory).chain(self.keyring.as_deref())
    }

    /// The session saved for this server, if any, without asking the server:
    /// this run's first, then the keyring's.
    pub fn saved(&self) -> Option<(String, Token)> {
        self.stores().find_map(|store| {
            let user = store.current_user(&self.url).ok()??;
            let token = store.load(&self.url, &user).ok()??;
            Some((user, token))
        })
    }

    /// The saved session, if the server still knows it, with its limits as
    /// the server states them (`GET /me`).
    pub async fn resume(&self) -> Option<(String, Session)> {
        let (username, token) = self.saved()?;
        let me = self.api.me(&token).await.ok()?;
        Some((
            username,
            Session {
                token,
                user: me.user,
                card: me.card,
                expires_at: me.expires_at,
                idle_timeout_s: me.idle_timeout_s,
            },
        ))
    }

    /// Keeps a fresh session and says where it went. `public_computer` is
    /// the citizen's choice for this login. A keyring that refuses the write
    /// costs nothing but persistence: the session is kept for this run.
    pub fn keep(&mut self, username: &str, token: &Token, public_computer: bool) -> Option<Notice> {
        let memory_only = |this: &mut Connection, notice| {
            // Memory cannot fail to store.
            let _ = this.memory.save(&this.url, username, token);
            notice
        };
        if public_computer || self.keeping == Keeping::PublicComputer {
            return memory_only(self, Some(Notice::PublicComputer));
        }
        if self.keeping == Keeping::Demo {
            return memory_only(self, None);
        }
        let Some(keyring) = self.keyring.clone() else {
            return memory_only(self, Some(Notice::NoKeyring));
        };
        match keyring.save(&self.url, username, token) {
            Ok(()) => Some(Notice::SessionKept),
            Err(e) => memory_only(self, Some(Notice::KeyringWriteFailed(e))),
        }
    }

    /// Forgets `username`'s session here (memory and keyring).
    pub fn forget(&self, username: &str) -> Result<()> {
        let _ = self.memory.delete(&self.url, username);
        match &self.keyring {
            Some(keyring) => keyring.delete(&self.url, username),
            None => Ok(()),
        }
    }

    /// Ends the session on the server if it can be reached, and here in any
    /// case. A server that cannot be told ends it by its idle limit.
    pub async fn end(&self, username: &str, token: &Token) -> Result<()> {
        let told = self.api.logout(token).await;
        self.forget(username)?;
        match told {
            // An already-ended session is logged out all the same.
            Ok(()) | Err(ClientError::Server { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            server: Server::new("https://localhost:1", Trust::PlatformRoots).unwrap(),
            roots: Vec::new(),
            trust_problem: None,
        }
    }

    /// A keyring that answers but refuses every write.
    struct RefusingStore;

    impl SessionStore for RefusingStore {
        fn load(&self, _: &str, _: &str) -> Result<Option<Token>> {
            Ok(None)
        }
        fn save(&self, _: &str, _: &str, _: &Token) -> Result<()> {
            Err(ClientError::Keyring("locked collection".into()))
        }
        fn delete(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        fn current_user(&self, _: &str) -> Result<Option<String>> {
            Ok(None)
        }
        fn persists(&self) -> bool {
            true
        }
    }

    #[test]
    fn every_keyring_outcome_is_reported_and_the_session_is_kept() {
        let token = Token::new("t");
        let working = KeyringOpener::new(|| Ok(Arc::new(MemoryStore::new()) as _));
        let missing = KeyringOpener::new(|| Err(ClientError::KeyringUnavailable("no bus".into())));
        let refusing = KeyringOpener::new(|| Ok(Arc::new(RefusingStore) as _));
        for (opener, keeping, public, expected) in [
            (&working, Keeping::Keyring, false, Some("session_kept")),
            (&missing, Keeping::Keyring, false, Some("no_keyring")),
            (
                &refusing,
                Keeping::Keyring,
                false,
                Some("keyring_write_failed"),
            ),
            (&working, Keeping::Keyring, true, Some("public_computer")),
            (
                &working,
                Keeping::PublicComputer,
                false,
                Some("public_computer"),
            ),
            (&working, Keeping::Demo, false, None),
        ] {
            let (mut conn, notices) = Connection::open(target(), keeping, opener).unwrap();
            assert!(notices.is_empty());
            let notice = conn.keep("anna", &token, public);
            assert_eq!(notice.as_ref().map(Notice::code), expected);
            // Wherever it went, this run has it.
            assert_eq!(conn.saved(), Some(("anna".to_owned(), token.clone())));
            conn.forget("anna").unwrap();
            assert_eq!(conn.saved(), None);
        }
    }

    #[test]
    fn a_trust_file_that_cannot_be_read_is_said_and_gone_on_from() {
        let overrides = Overrides {
            server: Some("https://localhost:1".into()),
            ca: Some("/nonexistent/ca.pem".into()),
            trust: Some("/nonexistent/trust.json".into()),
        };
        let target = Target::resolve(&Config::default(), &overrides)
            .unwrap()
            .unwrap();
        assert!(target.roots.is_empty());
        assert!(matches!(
            target.trust_problem,
            Some(ClientError::FileUnreadable { .. })
        ));
        let no_ca = Overrides {
            ca: None,
            ..overrides
        };
        assert!(matches!(
            Target::resolve(&Config::default(), &no_ca),
            Err(ClientError::NoServer)
        ));
        assert!(Target::resolve(&Config::default(), &Overrides::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn notices_have_text_in_both_languages() {
        for code in Notice::CODES {
            for lang in Lang::ALL {
                let text = catalogue::text(lang, "notice", code, &[]);
                assert_ne!(text, format!("notice.{code}"), "{code} {lang:?}");
            }
        }
    }
}

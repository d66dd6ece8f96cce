//! Where a session token is kept between runs. The OS keyring is the only
//! persistent place, keyed by server and username; the demo, tests and
//! "public computer" mode keep tokens in memory only. Where no keyring
//! service is available, the client falls back to memory and says so once.
//! A token is never written to a plain file.

use std::collections::HashMap;
use std::sync::Mutex;

use kodekort_proto::Token;

use crate::error::{ClientError, Result};

/// A place for session tokens, keyed by server URL and username.
pub trait SessionStore: Send + Sync {
    fn load(&self, server: &str, username: &str) -> Result<Option<Token>>;
    fn save(&self, server: &str, username: &str, token: &Token) -> Result<()>;
    fn delete(&self, server: &str, username: &str) -> Result<()>;
    /// The user whose session was saved last for `server`.
    fn current_user(&self, server: &str) -> Result<Option<String>>;
    /// Whether tokens outlive this process.
    fn persists(&self) -> bool;
}

/// Tokens in this process's memory only; gone when it exits.
#[derive(Default)]
pub struct MemoryStore {
    tokens: Mutex<HashMap<(String, String), Token>>,
    current: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Forgets every token (logout on a public computer, or exit).
    pub fn wipe(&self) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map(|t| t.len()).unwrap_or(0);
        write!(f, "MemoryStore({n} sessions)")
    }
}

fn key(server: &str, username: &str) -> (String, String) {
    (server.to_owned(), username.trim().to_lowercase())
}

impl SessionStore for MemoryStore {
    fn load(&self, server: &str, username: &str) -> Result<Option<Token>> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key(server, username))
            .cloned())
    }

    fn save(&self, server: &str, username: &str, token: &Token) -> Result<()> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key(server, username), token.clone());
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(server.to_owned(), key(server, username).1);
        Ok(())
    }

    fn delete(&self, server: &str, username: &str) -> Result<()> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(server, username));
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(server);
        Ok(())
    }

    fn current_user(&self, server: &str) -> Result<Option<String>> {
        Ok(self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(server)
            .cloned())
    }

    fn persists(&self) -> bool {
        false
    }
}

/// The OS keyring: Secret Service on Linux, Keychain on macOS, Credential
/// Manager on Windows (the `keyring` crate). Entries are keyed by service
/// `kodekort <server URL>` and the username.
pub struct KeyringStore {
    _private: (),
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyringStore")
    }
}

/// The username whose session a server's entry points at, kept beside it.
const CURRENT_USER: &str = "kodekort:current-user";

fn service(server: &str) -> String {
    format!("kodekort {server}")
}

/// Sorts keyring failures: no service at all, or a failure of one call.
fn keyring_error(err: keyring::Error) -> ClientError {
    use keyring::Error as E;
    match err {
        E::NoDefaultStore | E::NoStorageAccess(_) => {
            ClientError::KeyringUnavailable(err.to_string())
        }
        other => ClientError::Keyring(other.to_string()),
    }
}

impl KeyringStore {
    /// Connects to the OS keyring, or says why there is none.
    pub fn open() -> Result<KeyringStore> {
        if let Err(e) = keyring::Entry::store_status() {
            return Err(ClientError::KeyringUnavailable(e.to_string()));
        }
        // Touch the store once, so an unreachable or locked service shows now
        // rather than at the first login.
        let probe = keyring::Entry::new("kodekort probe", "probe").map_err(keyring_error)?;
        match probe.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(KeyringStore { _private: () }),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn entry(server: &str, user: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&service(server), user).map_err(keyring_error)
    }
}

impl SessionStore for KeyringStore {
    fn load(&self, server: &str, username: &str) -> Result<Option<Token>> {
        match Self::entry(server, &key(server, username).1)?.get_password() {
            Ok(token) => Ok(Some(Token::new(token))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn save(&self, server: &str, username: &str, token: &Token) -> Result<()> {
        let user = key(server, username).1;
        Self::entry(server, &user)?
            .set_password(token.expose())
            .map_err(keyring_error)?;
        Self::entry(server, CURRENT_USER)?
            .set_password(&user)
            .map_err(keyring_error)
    }

    fn delete(&self, server: &str, username: &str) -> Result<()> {
        for user in [key(server, username).1.as_str(), CURRENT_USER] {
            match Self::entry(server, user)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => {}
                Err(e) => return Err(keyring_error(e)),
            }
        }
        Ok(())
    }

    fn current_user(&self, server: &str) -> Result<Option<String>> {
        match Self::entry(server, CURRENT_USER)?.get_password() {
            Ok(user) => Ok(Some(user)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn persists(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trips_per_server_and_user() {
        let store = MemoryStore::new();
        let a = Token::new("token-a");
        store.save("https://a", "Anna", &a).unwrap();
        assert_eq!(store.load("https://a", "anna").unwrap(), Some(a));
        assert_eq!(
            store.current_user("https://a").unwrap().as_deref(),
            Some("anna")
        );
        assert_eq!(store.load("https://b", "anna").unwrap(), None);
        assert!(!format!("{store:?}").contains("token-a"));
        store.delete("https://a", "anna").unwrap();
        assert_eq!(store.load("https://a", "anna").unwrap(), None);
        store.save("https://a", "bo", &Token::new("t")).unwrap();
        store.wipe();
        assert_eq!(store.load("https://a", "bo").unwrap(), None);
        assert!(!store.persists());
    }
}

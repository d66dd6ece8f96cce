//! Where a session token is kept between runs. The OS keyring is the only
//! persistent place (a later step adds it, keyed by server and username);
//! tests, the demo and "public computer" mode keep tokens in memory only.
//! A token is never written to a plain file.

use std::collections::HashMap;
use std::sync::Mutex;

use kodekort_proto::Token;

use crate::error::Result;

/// A place for session tokens, keyed by server URL and username.
pub trait SessionStore: Send + Sync {
    fn load(&self, server: &str, username: &str) -> Result<Option<Token>>;
    fn save(&self, server: &str, username: &str, token: &Token) -> Result<()>;
    fn delete(&self, server: &str, username: &str) -> Result<()>;
    /// Whether tokens outlive this process.
    fn persists(&self) -> bool;
}

/// Tokens in this process's memory only; gone when it exits.
#[derive(Default)]
pub struct MemoryStore {
    tokens: Mutex<HashMap<(String, String), Token>>,
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
        Ok(())
    }

    fn delete(&self, server: &str, username: &str) -> Result<()> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(server, username));
        Ok(())
    }

    fn persists(&self) -> bool {
        false
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

//! Shortcuts for training and demos: put an account into a state that
//! would take a class an hour to reach by hand. Reachable only in-process
//! (the demo engine), never over HTTP.

use kodekort_proto::ErrorCode;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use time::Duration;

use super::Service;
use crate::error::Result;
use crate::lockout;
use crate::store::CardLife;

impl Service {
    fn user_id_of(&self, username: &str) -> Result<String> {
        let username = super::normalise_username(username);
        self.store
            .read(|tx| tx.user_by_username(&username))?
            .map(|u| u.id)
            .ok_or_else(|| ErrorCode::NotFound.into())
    }

    /// Uses codes of the account's active card until `left` remain, as if
    /// logged in that often; at 20 or fewer a replacement is issued and
    /// printed to the outbox, as in real use.
    pub fn training_use_codes(&self, username: &str, left: u32) -> Result<()> {
        let user_id = self.user_id_of(username)?;
        let now = self.now();
        let replacement = self.store.write(|tx| {
            let card = tx
                .card_of(&user_id, CardLife::Active)?
                .ok_or(ErrorCode::NoCard)?;
            let mut keys = tx.unused_keys(&card.serial)?;
            keys.shuffle(&mut OsRng);
            let excess = keys.len().saturating_sub(left as usize);
            for key in &keys[..excess] {
                tx.consume_code(&card.serial, key, now)?;
            }
            self.card_used(tx, &user_id, &card.serial, now)
        })?;
        if let Some((card, holder)) = replacement {
            self.print_replacement(&card, &holder);
        }
        Ok(())
    }

    /// Locks the account's card, as 20 failures in a row would.
    pub fn training_lock_card(&self, username: &str) -> Result<()> {
        let username = super::normalise_username(username);
        self.user_id_of(&username)?;
        let now = self.now();
        self.store.write(|tx| {
            tx.reset_failures(&username)?;
            for _ in 0..lockout::LOCK_AT {
                tx.add_failure(&username, now)?;
            }
            Ok(())
        })
    }

    /// Makes the account's sessions look idle for `idle`, so the client's
    /// "about to expire" warning shows without waiting half an hour.
    pub fn training_idle_sessions(&self, username: &str, idle: Duration) -> Result<()> {
        let user_id = self.user_id_of(username)?;
        let last_seen = self.now() - idle;
        self.store
            .write(|tx| tx.set_last_seen_of_user(&user_id, last_seen))
    }
}

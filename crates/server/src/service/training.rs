//! Shortcuts for training and demos: put an account into a state that
//! would take a class an hour to reach by hand. Reachable only in-process
//! (the demo engine), never over HTTP.

use kodekort_proto::wire::{CardStatus, DocumentStatus};
use kodekort_proto::ErrorCode;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use time::{Duration, OffsetDateTime};

use super::Service;
use crate::error::Result;
use crate::lockout;
use crate::store::CardLife;

/// One account at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingOverview {
    pub card: CardStatus,
    pub pending: u32,
    pub signed: u32,
    pub declined: u32,
}

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

    /// Locks the account's card for the first wait (15 minutes), as five
    /// wrong codes in a row would; returns when it unlocks. The permanent
    /// lock after 20 would leave a class with an account nobody can use.
    pub fn training_lock_card(&self, username: &str) -> Result<OffsetDateTime> {
        let username = super::normalise_username(username);
        self.user_id_of(&username)?;
        let now = self.now();
        self.store.write(|tx| {
            tx.reset_failures(&username)?;
            for _ in 0..lockout::FREE_FAILURES {
                tx.add_failure(&username, now)?;
            }
            Ok(())
        })?;
        let wait = lockout::wait_after(lockout::FREE_FAILURES).unwrap_or(lockout::FIRST_WAIT);
        Ok(now + wait)
    }

    /// Where an account stands, for the trainer's overview: its card and
    /// how many documents are pending, signed and declined.
    pub fn training_overview(&self, username: &str) -> Result<TrainingOverview> {
        let username = super::normalise_username(username);
        self.store.read(|tx| {
            let user = tx.user_by_username(&username)?.ok_or(ErrorCode::NotFound)?;
            let card = self.card_status_in(tx, &user)?;
            let documents = tx.documents_of(&user.id)?;
            let count = |status: DocumentStatus| {
                documents.iter().filter(|d| d.status == status).count() as u32
            };
            Ok(TrainingOverview {
                card,
                pending: count(DocumentStatus::Pending),
                signed: count(DocumentStatus::Signed),
                declined: count(DocumentStatus::Declined),
            })
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

//! Code cards: which card and key to ask, issuing cards and replacements,
//! and a card's status as the citizen sees it.

use kodekort_proto::wire::{CardState, CardStatus, Replacement, CARD_SIZE, REPLACEMENT_THRESHOLD};
use kodekort_proto::ErrorCode;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use time::OffsetDateTime;

use super::{Citizen, Outcome, Service};
use crate::card::{self, NewCard};
use crate::card_pdf;
use crate::error::{Error, Result};
use crate::keys::write_private_file;
use crate::lockout::{self, Standing};
use crate::store::{CardLife, CardRow, Tx, UserRow};

impl Service {
    /// Chooses the card to ask and a random unused key on it. The current
    /// card is asked until it is used up (or the citizen asks for the
    /// replacement); then the replacement.
    pub(super) fn pick_card_key(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        prefer_replacement: bool,
    ) -> Result<Outcome<(CardRow, String)>> {
        let active = tx.card_of(user_id, CardLife::Active)?;
        let pending = tx.card_of(user_id, CardLife::Pending)?;
        let mut candidates = Vec::new();
        if prefer_replacement {
            candidates.extend(pending.clone());
        }
        candidates.extend(active.clone());
        candidates.extend(pending);
        for card in candidates {
            let keys = tx.unused_keys(&card.serial)?;
            if let Some(key) = keys.choose(&mut OsRng) {
                let key = key.clone();
                return Ok(Ok((card, key)));
            }
        }
        Ok(Err(if active.is_some() {
            ErrorCode::CardUsedUp.into()
        } else {
            ErrorCode::NoCard.into()
        }))
    }

    /// Writes a replacement card's PDF to the outbox, after the commit so
    /// that rendering never holds the write lock. If it cannot be written,
    /// the pending card is withdrawn so the next code use issues another.
    pub(super) fn print_replacement(&self, card: &NewCard, holder: &str) {
        let pdf = card_pdf::render(card, holder, card_pdf::Size::Standard);
        let path = self.outbox.join(format!("{}.pdf", card.serial));
        match write_private_file(&path, &pdf) {
            Ok(()) => tracing::info!(serial = %card.serial, path = %path.display(),
                "replacement card issued"),
            Err(err) => {
                tracing::error!(serial = %card.serial, error = %err,
                    "could not write the replacement card; withdrawing it");
                if let Err(err) = self.store.write(|tx| tx.delete_pending_card(&card.serial)) {
                    tracing::error!(serial = %card.serial, error = %err,
                        "could not withdraw the unprinted replacement card");
                }
            }
        }
    }

    /// After a code was used: a replacement card becomes active at its
    /// first use, and at 20 codes left a replacement is issued. Returns a
    /// new card to print, with its holder's name.
    pub(super) fn card_used(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        serial: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(NewCard, String)>> {
        let pending = tx.card_of(user_id, CardLife::Pending)?;
        if pending.as_ref().is_some_and(|p| p.serial == serial) {
            tx.activate_card(user_id, serial, now)?;
            tracing::info!(serial, "replacement card activated at first use");
            return Ok(None);
        }
        let remaining = tx.unused_count(serial)?;
        if remaining > REPLACEMENT_THRESHOLD || pending.is_some() {
            return Ok(None);
        }
        let user = tx
            .user_by_id(user_id)?
            .ok_or(Error::Corrupt("challenge for a missing user"))?;
        let card = self.insert_new_card(tx, &user.id, CardLife::Pending, now)?;
        Ok(Some((card, user.name)))
    }

    /// Generates a card and stores its hashed codes, retrying on a serial clash.
    pub(super) fn insert_new_card(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        life: CardLife,
        now: OffsetDateTime,
    ) -> Result<NewCard> {
        for _ in 0..10 {
            let new = card::generate(card::new_serial());
            if self.insert_card(tx, user_id, life, now, &new)? {
                return Ok(new);
            }
        }
        Err(Error::Corrupt("could not find a free card serial"))
    }

    /// Stores a card's hashed codes. False if the serial is taken.
    pub(super) fn insert_card(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        life: CardLife,
        now: OffsetDateTime,
        card: &NewCard,
    ) -> Result<bool> {
        let hashed: Vec<_> = card
            .pairs
            .iter()
            .map(|p| {
                let salt = card::new_salt();
                let hash = card::hash_code(&self.keys, &salt, &card.serial, &p.key, &p.code);
                (p.key.clone(), salt, hash)
            })
            .collect();
        if !tx.insert_card(&card.serial, user_id, life, now, &hashed)? {
            return Ok(false);
        }
        if life == CardLife::Active {
            tx.activate_card(user_id, &card.serial, now)?;
        }
        Ok(true)
    }

    pub fn card_status(&self, citizen: &Citizen) -> Result<CardStatus> {
        Ok(self.me_of(&citizen.user_id)?.1)
    }

    pub(super) fn card_status_in(&self, tx: &Tx<'_>, user: &UserRow) -> Result<CardStatus> {
        let pending = tx.card_of(&user.id, CardLife::Pending)?;
        let Some(active) = tx.card_of(&user.id, CardLife::Active)? else {
            return Err(ErrorCode::NoCard.into());
        };
        let remaining = tx.unused_count(&active.serial)?;
        let (failures, last) = tx.failures(&user.username)?;
        let standing = lockout::standing(failures, last, self.now());
        let status = if standing == Standing::Locked {
            CardState::Locked
        } else if remaining == 0 && pending.is_none() {
            CardState::UsedUp
        } else {
            CardState::Active
        };
        Ok(CardStatus {
            serial: active.serial,
            total: CARD_SIZE,
            remaining,
            status,
            replacement: pending.map(|p| Replacement {
                serial: p.serial,
                issued_at: p.issued_at,
            }),
            locked_until: match standing {
                Standing::Waiting(until) => Some(until),
                _ => None,
            },
        })
    }
}

//! Operator actions: citizens, cards, providers, documents by hand.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use kodekort_proto::signing::{Certificate, CertificateFields};
use kodekort_proto::wire::{SubmittedDocument, User};
use kodekort_proto::{ErrorCode, Password, ProviderKey};
use rand::rngs::OsRng;
use rand::RngCore;

use super::{
    new_id, normalise_username, valid_username, Service, CERTIFICATE_LIFETIME, MAX_NAME_CHARS,
};
use crate::card::NewCard;
use crate::error::{Error, Result};
use crate::password;
use crate::store::{CardLife, UserRow};

impl Service {
    /// Creates a citizen with a signing key, a certificate and a first card.
    pub fn add_user(
        &self,
        username: &str,
        name: &str,
        password: &Password,
    ) -> Result<(User, NewCard)> {
        self.add_user_with_card(username, name, password, None)
    }

    /// As [`Service::add_user`], with a given first card (the demo keeps its
    /// printed cards valid across resets) or a new one.
    pub fn add_user_with_card(
        &self,
        username: &str,
        name: &str,
        password: &Password,
        card: Option<NewCard>,
    ) -> Result<(User, NewCard)> {
        let username = normalise_username(username);
        if !valid_username(&username) {
            return Err(ErrorCode::InvalidUsername.into());
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ErrorCode::InvalidRequest.into());
        }
        password::check_policy(password, &[&username, name])?;
        let password_hash = password::hash(password)?;
        let now = self.now();
        let id = new_id("user");
        let signing_key = SigningKey::generate(&mut OsRng);
        let certificate = Certificate::issue(
            &CertificateFields {
                user_id: &id,
                name,
                public_key: &signing_key.verifying_key(),
                not_before: now,
                not_after: now + CERTIFICATE_LIFETIME,
            },
            self.keys.root(),
        );
        let row = UserRow {
            id: id.clone(),
            username: username.clone(),
            name: name.to_owned(),
            password_hash,
            sealed_key: self.keys.seal_signing_key(&id, &signing_key),
            certificate,
            created_at: now,
        };
        let card = self.store.write(|tx| {
            if !tx.insert_user(&row)? {
                return Err(ErrorCode::UsernameTaken.into());
            }
            // Guesses at this name from before the account existed were
            // against nobody: the new account starts with a clean count.
            tx.reset_failures(&username)?;
            match &card {
                Some(card) if self.insert_card(tx, &id, CardLife::Active, now, card)? => {
                    Ok(card.clone())
                }
                Some(_) => Err(Error::Corrupt("the given card's serial is taken")),
                None => self.insert_new_card(tx, &id, CardLife::Active, now),
            }
        })?;
        Ok((
            User {
                id,
                username,
                name: name.to_owned(),
            },
            card,
        ))
    }

    /// Issues a new active card, retiring the old ones and lifting any lock.
    pub fn issue_card(&self, username: &str) -> Result<(User, NewCard)> {
        let username = normalise_username(username);
        let now = self.now();
        self.store.write(|tx| {
            let user = tx.user_by_username(&username)?.ok_or(ErrorCode::NotFound)?;
            self.close_all_challenges(tx, &username)?;
            tx.reset_failures(&username)?;
            // A new card is often for a lost one: whoever holds the provider's
            // session in some browser must not log in to services with it.
            tx.revoke_op_sessions_of_user(&user.id, now)?;
            let card = self.insert_new_card(tx, &user.id, CardLife::Active, now)?;
            Ok((
                User {
                    id: user.id,
                    username: user.username,
                    name: user.name,
                },
                card,
            ))
        })
    }

    /// Lifts a wait or a lock on a card.
    pub fn unlock_card(&self, username: &str) -> Result<()> {
        let username = normalise_username(username);
        self.store.write(|tx| {
            tx.user_by_username(&username)?.ok_or(ErrorCode::NotFound)?;
            self.close_all_challenges(tx, &username)?;
            tx.reset_failures(&username)
        })
    }

    /// Registers a provider; its API key exists in plain only in the answer.
    pub fn add_provider(&self, name: &str) -> Result<(String, ProviderKey)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ErrorCode::InvalidRequest.into());
        }
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let key = format!("kkp_{}", B64URL.encode(raw));
        let id = new_id("prov");
        let now = self.now();
        let hash = self.provider_key_hash(&key);
        self.store
            .write(|tx| tx.insert_provider(&id, name, &hash, now))?;
        Ok((id, ProviderKey::new(key)))
    }

    /// Adds a document for a citizen as the operator (demos, tests).
    pub fn add_document(
        &self,
        recipient: &str,
        issuer: &str,
        title: &str,
        content: &str,
    ) -> Result<SubmittedDocument> {
        let issuer = issuer.trim();
        if issuer.is_empty() || issuer.chars().count() > MAX_NAME_CHARS {
            return Err(ErrorCode::InvalidRequest.into());
        }
        self.insert_document(recipient, None, issuer, title, content)
    }
}

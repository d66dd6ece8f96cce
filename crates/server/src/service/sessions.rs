//! Sessions: bearer tokens (stored only as keyed hashes), their idle and
//! absolute limits, and `/me`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use kodekort_proto::wire::{CardStatus, MeResponse, User};
use kodekort_proto::{ErrorCode, Token};
use rand::rngs::OsRng;
use rand::RngCore;
use time::OffsetDateTime;

use super::{Citizen, Service, IDLE_TIMEOUT, SESSION_LIFETIME, TOUCH_INTERVAL};
use crate::error::{Error, Result};
use crate::store::Tx;

impl Service {
    pub(super) fn token_hash(&self, token: &str) -> [u8; 32] {
        self.keys
            .keyed_hash("kodekort session token v1", &[token.as_bytes()])
    }

    pub(super) fn create_session(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Token> {
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = B64URL.encode(raw);
        tx.insert_session(&self.token_hash(&token), user_id, now)?;
        Ok(Token::new(token))
    }

    /// Resolves a bearer token to a citizen, ending idle or old sessions.
    pub fn authenticate(&self, token: &Token) -> Result<Citizen> {
        let hash = self.token_hash(token.expose());
        let now = self.now();
        let (session, user) = self
            .store
            .read(|tx| {
                let Some(session) = tx.session(&hash)? else {
                    return Ok(None);
                };
                let user = tx.user_by_id(&session.user_id)?;
                Ok(user.map(|u| (session, u)))
            })?
            .ok_or(ErrorCode::Unauthenticated)?;
        if session.revoked
            || now - session.last_seen_at > IDLE_TIMEOUT
            || now - session.created_at > SESSION_LIFETIME
        {
            return Err(ErrorCode::SessionExpired.into());
        }
        if now - session.last_seen_at >= TOUCH_INTERVAL {
            self.store.write(|tx| tx.touch_session(&hash, now))?;
        }
        Ok(Citizen {
            user_id: user.id,
            username: user.username,
            session_expires_at: session.created_at + SESSION_LIFETIME,
            token_hash: hash,
        })
    }

    pub fn logout(&self, citizen: &Citizen) -> Result<()> {
        let now = self.now();
        self.store
            .write(|tx| tx.revoke_session(&citizen.token_hash, now))
    }

    /// Who, their card, and the session's limits, so that a client that
    /// resumes a session knows when it ends.
    pub fn me(&self, citizen: &Citizen) -> Result<MeResponse> {
        let (user, card) = self.me_of(&citizen.user_id)?;
        Ok(MeResponse {
            expires_at: citizen.session_expires_at,
            idle_timeout_s: IDLE_TIMEOUT.whole_seconds() as u64,
            user,
            card,
        })
    }

    pub(super) fn me_of(&self, user_id: &str) -> Result<(User, CardStatus)> {
        self.store.read(|tx| {
            let user = tx
                .user_by_id(user_id)?
                .ok_or(Error::Corrupt("session of a missing user"))?;
            let card = self.card_status_in(tx, &user)?;
            let user = User {
                id: user.id,
                username: user.username,
                name: user.name,
            };
            Ok((user, card))
        })
    }
}

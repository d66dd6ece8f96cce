//! Logging in: the password, then the code for a key the server picked.
//! Deliberately two transactions: Argon2 runs between them, outside any
//! write lock.

use std::sync::atomic::Ordering;

use kodekort_proto::wire::{LoginChallenge, LoginRequest, SessionResponse};
use kodekort_proto::{Code, ErrorCode};

use super::{normalise_username, Service, IDLE_TIMEOUT, MAX_USERNAME_BYTES, SESSION_LIFETIME};
use crate::error::{Error, Result};
use crate::password;
use crate::store::ChallengeKind;

impl Service {
    /// Step 1: username and password. An unknown username runs the same
    /// argon2 work and gets the same answer as a wrong password.
    pub fn begin_login(&self, req: &LoginRequest) -> Result<LoginChallenge> {
        let username = normalise_username(&req.username);
        // No account can have a longer name, so nothing is counted or stored
        // for one: a burst of huge names must not grow the database.
        if username.len() > MAX_USERNAME_BYTES {
            return Err(ErrorCode::InvalidUsername.into());
        }
        // Reads first: most attempts have nothing to settle, so they need no
        // write (and no fsync) before argon2.
        let now = self.now();
        let (user, stale) = self.store.read(|tx| {
            let stale = tx
                .open_challenges(&username)?
                .iter()
                .any(|c| now >= c.expires_at);
            Ok((tx.user_by_username(&username)?, stale))
        })?;
        if stale {
            self.store
                .write(|tx| self.settle_challenges(tx, &username, false))?;
        }
        self.store
            .read(|tx| self.check_standing(tx, &username))?
            .map_err(Error::Api)?;

        // Argon2 runs outside any transaction: it must not hold the write lock.
        let phc = user
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |u| u.password_hash.as_str());
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let password_ok = password::verify(&req.password, phc)?;

        self.write_outcome(|tx| {
            let user = match (&user, password_ok) {
                (Some(user), true) => user,
                _ => {
                    return Ok(Err(self.fail(
                        tx,
                        &username,
                        ErrorCode::InvalidCredentials,
                    )?))
                }
            };
            let issued = match self.issue_challenge(
                tx,
                ChallengeKind::Login,
                user,
                req.use_replacement_card,
                None,
            )? {
                Ok(issued) => issued,
                Err(refused) => return Ok(Err(refused)),
            };
            let ch = issued.challenge;
            Ok(Ok(LoginChallenge {
                login_id: ch.id,
                card_serial: ch.serial,
                key: ch.key,
                expires_at: ch.expires_at,
                attempts_left: issued.attempts_left,
            }))
        })
    }

    /// Step 2: the code. A correct code gives a new session.
    pub fn answer_login(&self, login_id: &str, code: &Code) -> Result<SessionResponse> {
        let (user_id, token, now) =
            self.answer_challenge(ChallengeKind::Login, login_id, None, code, |tx, ch, now| {
                let token = self.create_session(tx, &ch.user_id, now)?;
                Ok((ch.user_id.clone(), token, now))
            })?;
        let (user, card) = self.me_of(&user_id)?;
        Ok(SessionResponse {
            token,
            expires_at: now + SESSION_LIFETIME,
            idle_timeout_s: IDLE_TIMEOUT.whole_seconds() as u64,
            user,
            card,
        })
    }
}

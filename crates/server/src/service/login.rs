//! Logging in: the password, then the code for a key the server picked.
//! Deliberately two transactions: Argon2 runs between them, outside any
//! write lock.

use std::sync::atomic::Ordering;

use kodekort_proto::wire::{LoginChallenge, LoginRequest, SessionResponse};
use kodekort_proto::{Code, ErrorCode};

use super::{
    normalise_username, Service, EVALUATION_TTL, IDLE_TIMEOUT, MAX_USERNAME_BYTES, SESSION_LIFETIME,
};
use crate::error::{ApiError, Result};
use crate::lockout;
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
        // Reserve the evaluation before Argon2 runs, in the database: of any
        // number of parallel guesses, no more are evaluated than the account's
        // allowance. A refusal here never looked at the password, so right
        // and wrong ones answer alike.
        let now = self.now();
        let (user, reservation) = self.write_outcome(|tx| {
            tx.forget_lapsed_failures(&username, now - lockout::UNKNOWN_NAME_LAPSE)?;
            self.settle_challenges(tx, &username, false)?;
            if let Err(refused) = self.check_standing(tx, &username)? {
                return Ok(Err(refused));
            }
            let (failures, _) = tx.failures(&username)?;
            if tx.evaluations_in_flight(&username, now)? >= lockout::evaluations_allowed(failures) {
                return Ok(Err(ApiError {
                    code: ErrorCode::TooManyAttempts,
                    attempts_left: Some(0),
                    locked_until: None,
                    detail: None,
                }));
            }
            let reservation = tx.reserve_evaluation(&username, now + EVALUATION_TTL)?;
            Ok(Ok((tx.user_by_username(&username)?, reservation)))
        })?;

        // Argon2 runs outside any transaction: it must not hold the write lock.
        let phc = user
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |u| u.password_hash.as_str());
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let password_ok = match password::verify(&req.password, phc) {
            Ok(ok) => ok,
            Err(e) => {
                // Give the attempt back; if even that fails, it expires.
                let _ = self.store.write(|tx| tx.release_evaluation(reservation));
                return Err(e);
            }
        };

        self.write_outcome(|tx| {
            tx.release_evaluation(reservation)?;
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

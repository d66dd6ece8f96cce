//! Card challenges, shared by login and signing: issuing one (after the
//! account's standing and any stale prompts are settled), answering one,
//! and counting failures.

use kodekort_proto::{Code, ErrorCode};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::{new_id, Outcome, Service, CHALLENGE_TTL};
use crate::card;
use crate::error::{ApiError, Error, Result};
use crate::lockout::{self, Standing};
use crate::store::{ChallengeKind, ChallengeRow, ChallengeState, Tx, UserRow};

/// A refusal that tells what is left of the allowance.
pub(super) fn refusal(code: ErrorCode, failures: u32, standing: Standing) -> ApiError {
    ApiError {
        code,
        attempts_left: Some(lockout::attempts_left(failures)),
        locked_until: match standing {
            Standing::Waiting(until) => Some(until),
            _ => None,
        },
        detail: None,
    }
}

/// A new prompt, and the attempts left when it was issued.
pub(super) struct Issued {
    pub challenge: ChallengeRow,
    pub attempts_left: u32,
}

/// What a sign prompt is bound to: the document and the hash shown.
pub(super) struct Binding<'a> {
    pub document_id: &'a str,
    pub sha256: &'a str,
}

impl Service {
    /// Counts a failure for every open challenge of `username` that expired
    /// unanswered (or is being replaced, with `replace_all`), and closes it.
    pub(super) fn settle_challenges(
        &self,
        tx: &Tx<'_>,
        username: &str,
        replace_all: bool,
    ) -> Result<()> {
        let now = self.now();
        for ch in tx.open_challenges(username)? {
            if replace_all || now >= ch.expires_at {
                self.abandon_challenge(tx, &ch)?;
            }
        }
        Ok(())
    }

    /// Closes a prompt that was left unanswered; it costs one failure,
    /// unless a wrong answer to it was already counted.
    pub(super) fn abandon_challenge(&self, tx: &Tx<'_>, ch: &ChallengeRow) -> Result<()> {
        tx.close_challenge(&ch.id)?;
        if tx.mark_failure_counted(&ch.id)? {
            tx.add_failure(&ch.username, self.now())?;
        }
        Ok(())
    }

    /// The failure count, or a refusal if the account must wait or is locked.
    pub(super) fn check_standing(&self, tx: &Tx<'_>, username: &str) -> Result<Outcome<u32>> {
        let (failures, last) = tx.failures(username)?;
        Ok(match lockout::standing(failures, last, self.now()) {
            Standing::Open => Ok(failures),
            s @ Standing::Waiting(_) => Err(refusal(ErrorCode::TooManyAttempts, failures, s)),
            Standing::Locked => Err(refusal(ErrorCode::CardLocked, failures, Standing::Locked)),
        })
    }

    /// Counts one failure and builds the refusal that tells what is left.
    pub(super) fn fail(&self, tx: &Tx<'_>, username: &str, code: ErrorCode) -> Result<ApiError> {
        let now = self.now();
        let failures = tx.add_failure(username, now)?;
        Ok(refusal(
            code,
            failures,
            lockout::standing(failures, Some(now), now),
        ))
    }

    /// Issues the one open prompt of `user`: replaces any open one (counting
    /// it if unanswered), refuses if the account must wait or is locked, and
    /// asks a random unused key of the card [`Service::pick_card_key`] picks.
    /// Login and signing both come here; only the binding differs.
    pub(super) fn issue_challenge(
        &self,
        tx: &Tx<'_>,
        kind: ChallengeKind,
        user: &UserRow,
        prefer_replacement: bool,
        binding: Option<Binding<'_>>,
    ) -> Result<Outcome<Issued>> {
        self.settle_challenges(tx, &user.username, true)?;
        let failures = match self.check_standing(tx, &user.username)? {
            Ok(n) => n,
            Err(refused) => return Ok(Err(refused)),
        };
        let (card, key) = match self.pick_card_key(tx, &user.id, prefer_replacement)? {
            Ok(pair) => pair,
            Err(refused) => return Ok(Err(refused)),
        };
        let now = self.now();
        let challenge = ChallengeRow {
            id: new_id(match kind {
                ChallengeKind::Login => "login",
                ChallengeKind::Sign => "sign",
            }),
            kind,
            username: user.username.clone(),
            user_id: user.id.clone(),
            serial: card.serial,
            key,
            document_id: binding.as_ref().map(|b| b.document_id.to_owned()),
            sha256: binding.as_ref().map(|b| b.sha256.to_owned()),
            created_at: now,
            expires_at: now + CHALLENGE_TTL,
            state: ChallengeState::Open,
            failure_counted: false,
        };
        tx.insert_challenge(&challenge)?;
        Ok(Ok(Issued {
            challenge,
            attempts_left: lockout::attempts_left(failures),
        }))
    }

    /// Checks a code against a challenge and, if right, consumes it and runs
    /// `on_success` in the same transaction. If `on_success` fails, nothing
    /// is consumed. `owner` restricts the challenge to one citizen.
    pub(super) fn answer_challenge<T>(
        &self,
        kind: ChallengeKind,
        id: &str,
        owner: Option<&str>,
        code: &Code,
        on_success: impl Fn(&Tx<'_>, &ChallengeRow, OffsetDateTime) -> Result<T>,
    ) -> Result<T> {
        let typed = Code::parse(code.expose()).ok_or(ErrorCode::InvalidRequest)?;
        self.write_outcome(|tx| {
            let now = self.now();
            let ch = match tx.challenge(id)? {
                Some(ch) if ch.kind == kind && owner.is_none_or(|o| o == ch.user_id) => ch,
                _ => return Ok(Err(ErrorCode::ChallengeNotFound.into())),
            };
            match ch.state {
                ChallengeState::Succeeded => return Ok(Err(ErrorCode::ChallengeUsed.into())),
                ChallengeState::Closed => return Ok(Err(ErrorCode::ChallengeExpired.into())),
                ChallengeState::Open => {}
            }
            if now >= ch.expires_at {
                tx.close_challenge(&ch.id)?;
                if tx.mark_failure_counted(&ch.id)? {
                    return Ok(Err(self.fail(
                        tx,
                        &ch.username,
                        ErrorCode::ChallengeExpired,
                    )?));
                }
                return Ok(Err(ErrorCode::ChallengeExpired.into()));
            }
            if let Err(refused) = self.check_standing(tx, &ch.username)? {
                return Ok(Err(refused));
            }

            let stored = tx
                .code(&ch.serial, &ch.key)?
                .ok_or(Error::Corrupt("a challenge names a key its card lacks"))?;
            let expected = card::hash_code(
                &self.keys,
                &stored.salt,
                &ch.serial,
                &ch.key,
                typed.expose(),
            );
            let matches: bool = expected.ct_eq(stored.code_hash.as_slice()).into();
            if !matches || stored.used {
                // The challenge stays open so a typo can be corrected; this
                // failure also stands for the challenge itself.
                tx.mark_failure_counted(&ch.id)?;
                return Ok(Err(self.fail(tx, &ch.username, ErrorCode::InvalidCode)?));
            }
            // Both flips must be ours: of concurrent answers exactly one wins.
            if !tx.consume_code(&ch.serial, &ch.key, now)? || !tx.succeed_challenge(&ch.id)? {
                return Ok(Err(ErrorCode::ChallengeUsed.into()));
            }
            tx.reset_failures(&ch.username)?;
            let out = on_success(tx, &ch, now)?;
            let replacement = self.card_used(tx, &ch.user_id, &ch.serial, now)?;
            Ok(Ok((out, replacement)))
        })
        .map(|(out, replacement)| {
            if let Some((card, holder)) = replacement {
                self.print_replacement(&card, &holder);
            }
            out
        })
    }

    pub(super) fn close_all_challenges(&self, tx: &Tx<'_>, username: &str) -> Result<()> {
        for ch in tx.open_challenges(username)? {
            tx.close_challenge(&ch.id)?;
        }
        Ok(())
    }
}

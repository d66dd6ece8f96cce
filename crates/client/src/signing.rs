//! Signing as a stepped state machine, the twin of [`Login`](crate::Login):
//! displayed → challenged → signed, or refused with the state the citizen is
//! in now. Its input is [`Displayed`]: the document exactly as it was shown,
//! kept from the moment it was shown. The hash sent to the server is of
//! those bytes, never of a second fetch, so a server (or anything between)
//! that answers differently the second time cannot get a signature over a
//! text nobody read.

use kodekort_proto::signing::{sha256_hex, TrustRoot};
use kodekort_proto::wire::Document;
use kodekort_proto::{Envelope, ErrorCode, Token};

use crate::api::ApiClient;
use crate::error::{ClientError, Result};
use crate::login::{normalise_code, CodePrompt};
use crate::verify::{verify_envelope, Verdict};

/// A document as it was shown to the citizen, with the SHA-256 of the exact
/// bytes shown. Made once, when the text is displayed; never refetched.
#[derive(Debug, Clone)]
pub struct Displayed {
    document: Document,
    sha256: String,
}

impl Displayed {
    /// Records `document` as shown. The hash is computed here, from the
    /// bytes about to be displayed; an answer whose own `sha256` disagrees
    /// with its text is not a document this client will show.
    pub fn new(document: Document) -> Result<Displayed> {
        let sha256 = sha256_hex(document.content.as_bytes());
        if document.sha256 != sha256 {
            return Err(ClientError::BadResponse(
                "the document's sha256 does not match its content".into(),
            ));
        }
        Ok(Displayed { document, sha256 })
    }

    pub fn document(&self) -> &Document {
        &self.document
    }

    pub fn id(&self) -> &str {
        &self.document.id
    }

    /// The exact bytes that were shown.
    pub fn bytes(&self) -> &[u8] {
        self.document.content.as_bytes()
    }

    /// Lowercase hex SHA-256 of [`Displayed::bytes`].
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// Where a signature stands.
#[derive(Debug, Clone)]
pub enum SignState {
    /// The text was shown; the citizen may ask to sign it.
    Displayed,
    /// Type the code of this prompt.
    Challenged(CodePrompt),
    /// Signed, and checked by this client against the displayed bytes.
    Signed {
        envelope: Box<Envelope>,
        verdict: Box<Verdict>,
    },
    /// The server's copy is not what was shown: read it again. No code was
    /// spent (the server refuses before it consumes one).
    Changed,
    /// Too many failures: no attempt is accepted until `until`.
    Waiting { until: time::OffsetDateTime },
    /// The card is locked until an operator unlocks it or issues a new card.
    Locked,
    /// Already signed or declined: nothing to sign.
    NotPending,
    /// The session is over: log in again.
    LoggedOut,
}

impl SignState {
    /// The step's stable name, for front ends that pick a screen by it.
    pub fn step(&self) -> &'static str {
        match self {
            SignState::Displayed => "document",
            SignState::Challenged(_) => "code",
            SignState::Signed { .. } => "signed",
            SignState::Changed => "changed",
            SignState::Waiting { .. } => "waiting",
            SignState::Locked => "locked",
            SignState::NotPending => "not_pending",
            SignState::LoggedOut => "logged_out",
        }
    }
}

/// One signature, from the displayed text to the checked envelope.
#[derive(Debug)]
pub struct Signing {
    displayed: Displayed,
    state: SignState,
}

impl Signing {
    pub fn new(displayed: Displayed) -> Signing {
        Signing {
            displayed,
            state: SignState::Displayed,
        }
    }

    pub fn state(&self) -> &SignState {
        &self.state
    }

    pub fn displayed(&self) -> &Displayed {
        &self.displayed
    }

    /// "Sign": asks for a code bound to the displayed bytes' hash. Also the
    /// way to a new key after a prompt expired. First the server's root is
    /// compared with the pinned ones (and the demo root): a signature this
    /// client could not confirm is refused before any code is spent.
    pub async fn request_challenge(
        &mut self,
        api: &ApiClient,
        token: &Token,
        roots: &[TrustRoot],
    ) -> Result<&SignState> {
        // The server's word is only compared, never trusted: a server that
        // names a pinned root but signs with another still fails the check
        // of the envelope after the code.
        let offered = api.trust().await?;
        if !crate::verify::can_confirm(&offered.key_id, roots) {
            return Err(ClientError::RootNotPinned {
                key_id: offered.key_id,
            });
        }
        match api
            .begin_sign(token, self.displayed.id(), self.displayed.sha256())
            .await
        {
            Ok(ch) => {
                self.state = SignState::Challenged(ch.into());
                Ok(&self.state)
            }
            Err(e) => Err(self.refused(e)),
        }
    }

    /// The code → the envelope, verified here against `roots` and the
    /// displayed bytes before the state says "signed". A malformed code is
    /// refused locally and costs nothing; a wrong one keeps the prompt.
    pub async fn submit_code(
        &mut self,
        api: &ApiClient,
        token: &Token,
        typed: &str,
        roots: &[TrustRoot],
    ) -> Result<&SignState> {
        let SignState::Challenged(prompt) = &self.state else {
            return Err(ClientError::ChallengeMissing);
        };
        let code = normalise_code(typed)?;
        match api.sign_code(token, &prompt.id, &code).await {
            Ok(envelope) => {
                let verdict = verify_envelope(&envelope, roots, Some(self.displayed.bytes()));
                self.state = SignState::Signed {
                    envelope: Box::new(envelope),
                    verdict: Box::new(verdict),
                };
                Ok(&self.state)
            }
            Err(e) => Err(self.refused(e)),
        }
    }

    /// Moves to the state a refusal implies; returns the refusal for display.
    fn refused(&mut self, err: ClientError) -> ClientError {
        if let ClientError::Server {
            code,
            attempts_left,
            locked_until,
        } = &err
        {
            match code {
                ErrorCode::InvalidCode => {
                    if let (SignState::Challenged(prompt), Some(n)) =
                        (&mut self.state, attempts_left)
                    {
                        prompt.attempts_left = *n;
                    }
                    if let Some(until) = locked_until {
                        self.state = SignState::Waiting { until: *until };
                    }
                }
                ErrorCode::TooManyAttempts => {
                    if let Some(until) = locked_until {
                        self.state = SignState::Waiting { until: *until };
                    }
                }
                ErrorCode::CardLocked | ErrorCode::CardUsedUp | ErrorCode::NoCard => {
                    self.state = SignState::Locked
                }
                ErrorCode::HashMismatch => self.state = SignState::Changed,
                ErrorCode::DocumentNotPending => self.state = SignState::NotPending,
                ErrorCode::ChallengeExpired
                | ErrorCode::ChallengeNotFound
                | ErrorCode::ChallengeUsed => self.state = SignState::Displayed,
                ErrorCode::SessionExpired | ErrorCode::Unauthenticated => {
                    self.state = SignState::LoggedOut
                }
                _ => {}
            }
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn document(content: &str, sha256: String) -> Document {
        Document {
            id: "doc_1".into(),
            title: "Samtykke".into(),
            issuer: "Boligselskabet".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            status: kodekort_proto::wire::DocumentStatus::Pending,
            content_type: "text/plain".into(),
            content: content.into(),
            sha256,
        }
    }

    #[test]
    fn the_hash_is_of_the_displayed_bytes_and_must_match_the_answer() {
        let text = "Jeg samtykker.\n";
        let shown = Displayed::new(document(text, sha256_hex(text.as_bytes()))).unwrap();
        assert_eq!(shown.sha256(), sha256_hex(text.as_bytes()));
        assert_eq!(shown.bytes(), text.as_bytes());
        let lying = document(text, sha256_hex(b"something else"));
        assert!(matches!(
            Displayed::new(lying),
            Err(ClientError::BadResponse(_))
        ));
    }

    #[test]
    fn refusals_move_the_state() {
        let text = "x";
        let mut s = Signing::new(Displayed::new(document(text, sha256_hex(b"x"))).unwrap());
        s.state = SignState::Challenged(CodePrompt {
            id: "sign_1".into(),
            card_serial: "KK-0000-0001".into(),
            key: "0423".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
            attempts_left: 5,
        });
        let server = |code, attempts_left, locked_until| ClientError::Server {
            code,
            attempts_left,
            locked_until,
        };
        s.refused(server(ErrorCode::InvalidCode, Some(4), None));
        assert!(matches!(s.state(), SignState::Challenged(p) if p.attempts_left == 4));
        s.refused(server(ErrorCode::ChallengeExpired, None, None));
        assert_eq!(s.state().step(), "document");
        s.refused(server(ErrorCode::HashMismatch, None, None));
        assert_eq!(s.state().step(), "changed");
        let until = OffsetDateTime::UNIX_EPOCH;
        s.refused(server(ErrorCode::TooManyAttempts, Some(15), Some(until)));
        assert!(matches!(s.state(), SignState::Waiting { until: u } if *u == until));
        s.refused(server(ErrorCode::CardLocked, Some(0), None));
        assert_eq!(s.state().step(), "locked");
        s.refused(server(ErrorCode::SessionExpired, None, None));
        assert_eq!(s.state().step(), "logged_out");
    }
}

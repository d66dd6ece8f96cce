//! Login as a stepped state machine, in the manner of kanidm's
//! AuthStep/AuthState: credentials → card code → session. Each step says
//! what the citizen must do next; a wrong code keeps the prompt, an expired
//! or replaced prompt goes back to the start, and a lock-out says until when.

use kodekort_proto::wire::{CardStatus, LoginChallenge, SignChallenge, User};
use kodekort_proto::{Code, ErrorCode, Password, Token};
use time::OffsetDateTime;

use crate::api::ApiClient;
use crate::error::{ClientError, Result};

/// The code prompt: find `key` on card `card_serial` before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePrompt {
    pub id: String,
    pub card_serial: String,
    pub key: String,
    pub expires_at: OffsetDateTime,
    pub attempts_left: u32,
}

// A login and a signature ask for a code alike; only the id's name differs.
impl From<LoginChallenge> for CodePrompt {
    fn from(ch: LoginChallenge) -> CodePrompt {
        CodePrompt {
            id: ch.login_id,
            card_serial: ch.card_serial,
            key: ch.key,
            expires_at: ch.expires_at,
            attempts_left: ch.attempts_left,
        }
    }
}

impl From<SignChallenge> for CodePrompt {
    fn from(ch: SignChallenge) -> CodePrompt {
        CodePrompt {
            id: ch.sign_id,
            card_serial: ch.card_serial,
            key: ch.key,
            expires_at: ch.expires_at,
            attempts_left: ch.attempts_left,
        }
    }
}

/// A logged-in session. `Debug` hides the token (it is a `Token`).
#[derive(Debug, Clone)]
pub struct Session {
    pub token: Token,
    pub user: User,
    pub card: CardStatus,
    pub expires_at: OffsetDateTime,
    pub idle_timeout_s: u64,
}

/// Where a login stands.
#[derive(Debug, Clone)]
pub enum AuthState {
    /// Ask for username and password.
    Credentials,
    /// Ask for the code of this prompt.
    Code(CodePrompt),
    /// Too many failures: no attempt is accepted until `until`.
    Waiting { until: OffsetDateTime },
    /// The card is locked until an operator unlocks it or issues a new card.
    Locked,
    /// Logged in.
    LoggedIn(Session),
}

impl AuthState {
    /// The step's stable name, for front ends that pick a screen by it.
    pub fn step(&self) -> &'static str {
        match self {
            AuthState::Credentials => "credentials",
            AuthState::Code(_) => "code",
            AuthState::Waiting { .. } => "waiting",
            AuthState::Locked => "locked",
            AuthState::LoggedIn(_) => "home",
        }
    }
}

/// One login attempt from start to session.
#[derive(Debug)]
pub struct Login {
    state: AuthState,
    username: String,
}

impl Default for Login {
    fn default() -> Self {
        Login {
            state: AuthState::Credentials,
            username: String::new(),
        }
    }
}

impl Login {
    pub fn new() -> Login {
        Login::default()
    }

    pub fn state(&self) -> &AuthState {
        &self.state
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// Back to the first step (after an expired prompt, or to switch user).
    pub fn restart(&mut self) {
        self.state = AuthState::Credentials;
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
                ErrorCode::TooManyAttempts => {
                    if let Some(until) = locked_until {
                        self.state = AuthState::Waiting { until: *until };
                    }
                }
                ErrorCode::CardLocked => self.state = AuthState::Locked,
                ErrorCode::InvalidCode => {
                    if let AuthState::Code(prompt) = &mut self.state {
                        if let Some(n) = attempts_left {
                            prompt.attempts_left = *n;
                        }
                    }
                    if let Some(until) = locked_until {
                        self.state = AuthState::Waiting { until: *until };
                    }
                }
                ErrorCode::ChallengeExpired
                | ErrorCode::ChallengeNotFound
                | ErrorCode::InvalidCredentials
                | ErrorCode::CardUsedUp
                | ErrorCode::NoCard => self.state = AuthState::Credentials,
                _ => {}
            }
        }
        err
    }

    /// Step 1: username and password → the code prompt.
    pub async fn submit_credentials(
        &mut self,
        api: &ApiClient,
        username: &str,
        password: &Password,
        use_replacement_card: bool,
    ) -> Result<&AuthState> {
        self.username = username.trim().to_owned();
        match api
            .login(&self.username, password, use_replacement_card)
            .await
        {
            Ok(ch) => {
                self.state = AuthState::Code(ch.into());
                Ok(&self.state)
            }
            Err(e) => Err(self.refused(e)),
        }
    }

    /// Step 2: the code → the session. A wrong code keeps the prompt.
    pub async fn submit_code(&mut self, api: &ApiClient, typed: &str) -> Result<&AuthState> {
        let AuthState::Code(prompt) = &self.state else {
            return Err(ClientError::ChallengeMissing);
        };
        let code = normalise_code(typed)?;
        match api.login_code(&prompt.id, &code).await {
            Ok(s) => {
                self.state = AuthState::LoggedIn(Session {
                    token: s.token,
                    user: s.user,
                    card: s.card,
                    expires_at: s.expires_at,
                    idle_timeout_s: s.idle_timeout_s,
                });
                Ok(&self.state)
            }
            Err(e) => Err(self.refused(e)),
        }
    }

    /// The session, once logged in.
    pub fn into_session(self) -> Option<Session> {
        match self.state {
            AuthState::LoggedIn(s) => Some(s),
            _ => None,
        }
    }
}

/// A code as typed, checked locally: six digits, spaces and dashes ignored.
/// A malformed code never reaches the server, so it costs no attempt.
pub fn normalise_code(typed: &str) -> Result<Code> {
    Code::parse(typed).ok_or(ClientError::CodeFormat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_before_they_are_sent() {
        assert_eq!(normalise_code(" 123 456 ").unwrap().expose(), "123456");
        assert!(matches!(
            normalise_code("12345"),
            Err(ClientError::CodeFormat)
        ));
        assert!(matches!(
            normalise_code("abcdef"),
            Err(ClientError::CodeFormat)
        ));
    }

    #[test]
    fn refusals_move_the_state() {
        let mut login = Login::new();
        login.state = AuthState::Code(CodePrompt {
            id: "login_1".into(),
            card_serial: "KK-0000-0001".into(),
            key: "0423".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
            attempts_left: 5,
        });
        let wrong = ClientError::Server {
            code: ErrorCode::InvalidCode,
            attempts_left: Some(4),
            locked_until: None,
        };
        login.refused(wrong);
        match login.state() {
            AuthState::Code(p) => assert_eq!(p.attempts_left, 4),
            other => panic!("{other:?}"),
        }
        let until = OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(15);
        login.refused(ClientError::Server {
            code: ErrorCode::TooManyAttempts,
            attempts_left: Some(15),
            locked_until: Some(until),
        });
        assert!(matches!(login.state(), AuthState::Waiting { until: u } if *u == until));
        login.refused(ClientError::Server {
            code: ErrorCode::CardLocked,
            attempts_left: Some(0),
            locked_until: None,
        });
        assert!(matches!(login.state(), AuthState::Locked));
    }
}

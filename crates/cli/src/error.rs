//! The CLI's errors: the client core's, and what only a terminal program
//! meets (reading what is typed, the demo engine, the runtime). Each has a
//! stable code, text from the catalogue, and one exit code.

use kodekort_client::{catalogue, ClientError, Lang};
use kodekort_demo::DemoError;
use kodekort_proto::ErrorCode;

use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Reading from the terminal or standard input failed.
    #[error("could not read the input: {0}")]
    Input(std::io::Error),
    /// Standard input ended where an answer was expected.
    #[error("the input ended before an answer")]
    InputEnded,
    /// `quit` or `exit` at a code prompt: the step is left unanswered.
    #[error("stopped at the code prompt")]
    Stopped,
    /// The demo engine could not start, reset, or do what was asked.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// `key USER KEY` in the demo for a key the card does not have.
    #[error("no key {0} on the card")]
    NoSuchDemoKey(String),
    /// The async runtime could not be built.
    #[error("could not start: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Client(e) => e.code(),
            CliError::Input(_) => "input_unreadable",
            CliError::InputEnded => "input_ended",
            CliError::Stopped => "stopped_at_code",
            CliError::Demo(e) => e.code(),
            CliError::NoSuchDemoKey(_) => "no_such_demo_key",
            CliError::Runtime(_) => "runtime_failed",
        }
    }

    /// Codes only the CLI has, for the catalogue test.
    #[cfg(test)]
    pub const LOCAL_CODES: &'static [&'static str] = &[
        "input_unreadable",
        "input_ended",
        "stopped_at_code",
        "no_such_demo_key",
        "runtime_failed",
    ];

    /// What the citizen reads, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            CliError::Client(e) => e.message(lang),
            other => catalogue::text(lang, "error", other.code(), &[]),
        }
    }

    /// The exit code, as `--help` lists them.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Client(e) => client_exit_code(e),
            CliError::Input(_) | CliError::InputEnded => exit::USAGE,
            CliError::Demo(DemoError::NoSuchAccount(_)) | CliError::NoSuchDemoKey(_) => exit::USAGE,
            CliError::Stopped | CliError::Demo(_) | CliError::Runtime(_) => exit::OTHER,
        }
    }
}

fn client_exit_code(err: &ClientError) -> u8 {
    use ErrorCode as E;
    match err {
        ClientError::Server { code, .. } => match code {
            E::InvalidCredentials
            | E::InvalidCode
            | E::ChallengeExpired
            | E::ChallengeUsed
            | E::ChallengeNotFound
            | E::Unauthenticated
            | E::SessionExpired => exit::AUTH_FAILED,
            E::TooManyAttempts | E::CardLocked | E::CardUsedUp | E::NoCard => exit::LOCKED,
            _ => exit::OTHER,
        },
        ClientError::NotLoggedIn | ClientError::CodeFormat | ClientError::ChallengeMissing => {
            exit::AUTH_FAILED
        }
        ClientError::NoNetwork(_)
        | ClientError::Timeout
        | ClientError::ServerIdentity(_)
        | ClientError::SecureConnection(_)
        | ClientError::BadResponse(_)
        | ClientError::UnknownServerError { .. } => exit::NETWORK,
        ClientError::InvalidServerUrl(_) | ClientError::NoServer | ClientError::CaFile { .. } => {
            exit::USAGE
        }
        // A file that holds no signature, or a trust file whose key id is
        // not its key's: the signature is not valid, for a stated reason.
        ClientError::NotASignedFile(_) | ClientError::TrustKeyMismatch(_) => exit::VERIFY_FAILED,
        // The server's signing identity is not one this computer trusts.
        ClientError::RootNotPinned { .. } => exit::NETWORK,
        _ => exit::OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cli_code_has_text_in_both_languages() {
        for code in CliError::LOCAL_CODES {
            for lang in [Lang::Da, Lang::En] {
                let text = catalogue::text(lang, "error", code, &[]);
                assert!(
                    !text.is_empty() && !text.contains(code),
                    "{code} in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn causes_are_told_apart() {
        let ended = CliError::InputEnded;
        let unreadable = CliError::Input(std::io::Error::other("x"));
        assert_ne!(ended.message(Lang::En), unreadable.message(Lang::En));
        assert!(!unreadable.message(Lang::En).contains("stdin"));
        let no_server = CliError::from(ClientError::NoServer);
        let bad_url = CliError::from(ClientError::InvalidServerUrl("x".into()));
        assert_ne!(no_server.message(Lang::En), bad_url.message(Lang::En));
        let files = CliError::from(DemoError::Io(std::io::Error::other("x")));
        let task = CliError::from(DemoError::Task("x".into()));
        assert_ne!(files.message(Lang::En), task.message(Lang::En));
    }
}

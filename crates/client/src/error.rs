//! The client's one error type. Every failure, from the wire or from this
//! computer, has a stable code and text in Danish and English from the
//! catalogue. Raw rustls, hyper or serde text never reaches a citizen: it
//! stays in `Debug`, for logs and bug reports.

use std::path::PathBuf;

use kodekort_proto::ErrorCode;
use time::OffsetDateTime;

use crate::catalogue::{self, Lang};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused, with a stable code.
    #[error("server refused: {code}")]
    Server {
        code: ErrorCode,
        attempts_left: Option<u32>,
        locked_until: Option<OffsetDateTime>,
    },
    /// The server answered with an error code this client does not know.
    #[error("server refused with HTTP {status} and an unknown code")]
    UnknownServerError { status: u16 },
    #[error("could not connect: {0}")]
    NoNetwork(String),
    #[error("timed out")]
    Timeout,
    #[error("server certificate not trusted: {0}")]
    ServerIdentity(String),
    #[error("TLS failed: {0}")]
    SecureConnection(String),
    #[error("unexpected server response: {0}")]
    BadResponse(String),
    #[error("invalid server URL: {0}")]
    InvalidServerUrl(String),
    /// No server was named, by flag or configuration.
    #[error("no server given")]
    NoServer,
    #[error("CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("not logged in")]
    NotLoggedIn,
    #[error("no code prompt to answer")]
    ChallengeMissing,
    #[error("a code has 6 digits")]
    CodeFormat,
    #[error("{}:{line}: {message}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("could not save settings to {}: {reason}", path.display())]
    ConfigUnwritable { path: PathBuf, reason: String },
    #[error("no keyring service: {0}")]
    KeyringUnavailable(String),
    #[error("keyring failed: {0}")]
    Keyring(String),
    #[error("could not read {}: {reason}", path.display())]
    FileUnreadable { path: PathBuf, reason: String },
    #[error("could not write {}: {reason}", path.display())]
    FileUnwritable { path: PathBuf, reason: String },
    #[error("trust file {}: the key id does not belong to the key", .0.display())]
    TrustKeyMismatch(PathBuf),
    #[error("{} is not a Kodekort signed copy or envelope", .0.display())]
    NotASignedFile(PathBuf),
    /// The server certifies signatures with a root this client has not
    /// pinned, so no signature from it could be confirmed: refused before a
    /// code is spent.
    #[error("the server's signature root {key_id} is not pinned")]
    RootNotPinned { key_id: String },
    #[error("PDF: {0}")]
    Pdf(String),
    /// A `kodekort:` link that is not a login link of the provider's pages.
    #[error("not a Kodekort login link")]
    InvalidLoginLink,
}

impl ClientError {
    /// The stable code: the wire code for server refusals, a local one otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Server { code, .. } => code.as_str(),
            ClientError::UnknownServerError { .. } => "unknown_server_error",
            ClientError::NoNetwork(_) => "no_network",
            ClientError::Timeout => "timeout",
            ClientError::ServerIdentity(_) => "server_identity_not_verified",
            ClientError::SecureConnection(_) => "secure_connection_failed",
            ClientError::BadResponse(_) => "bad_server_response",
            ClientError::InvalidServerUrl(_) => "invalid_server_url",
            ClientError::NoServer => "no_server",
            ClientError::CaFile { .. } => "ca_file_unreadable",
            ClientError::NotLoggedIn => "not_logged_in",
            ClientError::ChallengeMissing => "challenge_missing",
            ClientError::CodeFormat => "code_format",
            ClientError::Config { .. } => "config_invalid",
            ClientError::ConfigUnwritable { .. } => "config_unwritable",
            ClientError::KeyringUnavailable(_) => "keyring_unavailable",
            ClientError::Keyring(_) => "keyring_failed",
            ClientError::FileUnreadable { .. } => "file_unreadable",
            ClientError::FileUnwritable { .. } => "file_unwritable",
            ClientError::TrustKeyMismatch(_) => "trust_key_mismatch",
            ClientError::NotASignedFile(_) => "not_a_signed_file",
            ClientError::RootNotPinned { .. } => "trust_root_not_pinned",
            ClientError::Pdf(_) => "pdf_failed",
            ClientError::InvalidLoginLink => "login_link_invalid",
        }
    }

    /// Every local code, for the catalogue test.
    pub const LOCAL_CODES: &'static [&'static str] = &[
        "unknown_server_error",
        "no_network",
        "timeout",
        "server_identity_not_verified",
        "secure_connection_failed",
        "bad_server_response",
        "invalid_server_url",
        "no_server",
        "ca_file_unreadable",
        "not_logged_in",
        "challenge_missing",
        "code_format",
        "config_invalid",
        "config_unwritable",
        "keyring_unavailable",
        "keyring_failed",
        "file_unreadable",
        "file_unwritable",
        "trust_key_mismatch",
        "not_a_signed_file",
        "trust_root_not_pinned",
        "pdf_failed",
        "login_link_invalid",
    ];

    /// What a citizen reads, in `lang`: the catalogue text, with the wait's
    /// end or the attempts left where the server told them.
    pub fn message(&self, lang: Lang) -> String {
        let until = match self {
            ClientError::Server {
                locked_until: Some(t),
                ..
            } => format_local_time(*t),
            _ => String::new(),
        };
        let mut text = catalogue::text(lang, "error", self.code(), &[("until", &until)]);
        if let ClientError::Server {
            code:
                ErrorCode::InvalidCode | ErrorCode::InvalidCredentials | ErrorCode::ChallengeExpired,
            attempts_left: Some(n),
            ..
        } = self
        {
            text.push(' ');
            text.push_str(&catalogue::text(
                lang,
                "card",
                "attempts_left",
                &[("n", &n.to_string())],
            ));
        }
        // A file, line or path helps the citizen find what is wrong and holds no secret.
        match self {
            ClientError::Config { path, line, .. } => {
                text.push_str(&format!(" ({}:{line})", path.display()));
            }
            ClientError::FileUnreadable { path, .. }
            | ClientError::FileUnwritable { path, .. }
            | ClientError::CaFile { path, .. }
            | ClientError::ConfigUnwritable { path, .. } => {
                text.push_str(&format!(" ({})", path.display()));
            }
            _ => {}
        }
        text
    }
}

/// A time as a citizen reads it on this computer: local time, to the
/// minute, with the zone's abbreviation so a wait is never misread. UTC
/// where the computer's zone cannot be found.
pub fn format_local_time(t: OffsetDateTime) -> String {
    let zone = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
    format_in_zone(t, zone)
}

fn format_in_zone(t: OffsetDateTime, zone: jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_second(t.unix_timestamp()) {
        Ok(ts) => ts.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => format_time(t),
    }
}

/// A time in a document that travels (a signed copy, a verdict): UTC, to
/// the minute, the same wherever it is read.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_text_in_both_languages() {
        let codes = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(ClientError::LOCAL_CODES.iter().copied());
        for code in codes {
            for lang in Lang::ALL {
                let text = catalogue::text(lang, "error", code, &[]);
                assert_ne!(text, format!("error.{code}"), "{code} missing in {lang:?}");
            }
        }
    }

    #[test]
    fn times_are_local_with_the_zone_named() {
        let winter = time::macros::datetime!(2026-11-26 14:15 UTC);
        let summer = time::macros::datetime!(2026-07-01 08:05 UTC);
        let copenhagen = jiff::tz::TimeZone::get("Europe/Copenhagen").unwrap();
        assert_eq!(
            format_in_zone(winter, copenhagen.clone()),
            "2026-11-26 15:15 CET"
        );
        assert_eq!(format_in_zone(summer, copenhagen), "2026-07-01 10:05 CEST");
        assert_eq!(
            format_in_zone(winter, jiff::tz::TimeZone::UTC),
            "2026-11-26 14:15 UTC"
        );
    }

    #[test]
    fn messages_carry_attempts_and_wait() {
        let err = ClientError::Server {
            code: ErrorCode::InvalidCode,
            attempts_left: Some(2),
            locked_until: None,
        };
        assert_eq!(
            err.message(Lang::En),
            "The code does not match the key on your card. 2 attempts left."
        );
        let wait = ClientError::Server {
            code: ErrorCode::TooManyAttempts,
            attempts_left: Some(15),
            locked_until: Some(time::macros::datetime!(2026-11-26 14:15 UTC)),
        };
        let shown = format_local_time(time::macros::datetime!(2026-11-26 14:15 UTC));
        assert!(wait.message(Lang::Da).contains(&format!("kl. {shown}")));
        // Raw transport text stays out of the message.
        let tls = ClientError::ServerIdentity("invalid peer certificate: UnknownIssuer".into());
        assert!(!tls.message(Lang::En).contains("UnknownIssuer"));
    }
}

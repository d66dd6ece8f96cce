//! The closed set of error codes that cross the wire.
//!
//! The code is the contract: clients translate by code, never by message.
//! The English message here is what the server puts in `error.message`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $en:literal; )*) => {
        /// Every error code the v1 API can return. Stable snake_case strings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// All codes, for catalogues and tests that must cover each one.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable wire string.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the reference backend answers with.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// English text for `error.message`.
            pub fn english(self) -> &'static str {
                match self { $(ErrorCode::$variant => $en,)* }
            }

            /// Parses a wire string; unknown codes give `None` so that a newer
            /// server cannot crash an older client.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// The body is not valid JSON.
    MalformedJson = "malformed_json", 400, "The request body is not valid JSON.";
    /// Valid JSON of the wrong shape: a missing, unknown or mistyped field.
    InvalidRequest = "invalid_request", 400, "The request has a missing, unknown or invalid field.";
    /// A path parameter is not a well-formed id.
    InvalidId = "invalid_id", 400, "The id in the address is not valid.";
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", 415, "The request must be sent as application/json.";
    /// The body is larger than the server accepts.
    PayloadTooLarge = "payload_too_large", 413, "The request is too large.";
    /// The request took too long to arrive or to answer.
    RequestTimeout = "request_timeout", 408, "The request took too long.";
    /// No such route or object.
    NotFound = "not_found", 404, "Nothing was found at this address.";
    /// The route exists, the method does not.
    MethodNotAllowed = "method_not_allowed", 405, "This method is not allowed here.";
    /// The request is not well-formed HTTP/1.1 (its request line or a header line).
    MalformedHttp = "malformed_http", 400, "The request is not well-formed HTTP.";
    /// The address (path and query) is longer than the server accepts.
    UriTooLong = "uri_too_long", 414, "The address is too long.";
    /// The request headers are larger, or more, than the server accepts.
    HeadersTooLarge = "headers_too_large", 431, "The request headers are too large.";
    /// Wrong password or unknown username; the two are indistinguishable.
    InvalidCredentials = "invalid_credentials", 401, "The username or password is wrong.";
    /// The code does not match the key that was asked for.
    InvalidCode = "invalid_code", 401, "The code does not match the key on your card.";
    /// The code prompt expired or was replaced by a newer one.
    ChallengeExpired = "challenge_expired", 410, "This code prompt has expired. Start again to get a new key.";
    /// The code prompt was already answered correctly (for example a double-click).
    ChallengeUsed = "challenge_used", 409, "This code prompt was already answered.";
    /// No code prompt with this id.
    ChallengeNotFound = "challenge_not_found", 404, "This code prompt does not exist.";
    /// Too many failures in a row: wait until `locked_until`.
    TooManyAttempts = "too_many_attempts", 429, "Too many failed attempts. Wait until the time shown before trying again.";
    /// 20 failures in a row: an operator must unlock the card or issue a new one.
    CardLocked = "card_locked", 423, "Your code card is locked. Contact support to unlock it or get a new card.";
    /// Every code on the card has been used and no replacement is active.
    CardUsedUp = "card_used_up", 423, "Every code on your card has been used. Contact support for a new card.";
    /// The account has no code card.
    NoCard = "no_card", 409, "No code card has been issued for this account.";
    /// No bearer token, or one the server does not know.
    Unauthenticated = "unauthenticated", 401, "You are not logged in.";
    /// The session ended: idle too long, too old, or logged out.
    SessionExpired = "session_expired", 401, "Your session has ended. Log in again.";
    /// The provider API key is missing or wrong.
    InvalidProviderKey = "invalid_provider_key", 401, "The provider key is missing or not valid.";
    /// The document was already signed or declined.
    DocumentNotPending = "document_not_pending", 409, "This document has already been signed or declined.";
    /// The hash the client sent is not the hash of the stored document.
    HashMismatch = "hash_mismatch", 409, "The document you read is not the one stored on the server.";
    /// The document has no signature yet.
    SignatureNotFound = "signature_not_found", 404, "This document has not been signed.";
    /// The recipient named by a provider does not exist.
    UnknownRecipient = "unknown_recipient", 404, "There is no citizen with that username.";
    /// Only `text/plain` documents are accepted.
    UnsupportedContentType = "unsupported_content_type", 422, "Only text/plain documents are supported.";
    /// A title or content is empty or too long.
    InvalidDocument = "invalid_document", 422, "The document title or content is empty or too long.";
    /// A title or content holds a character that could hide text (PROTOCOL.md, "Text that can be signed").
    HidingCharacter = "hiding_character", 422, "The document holds a control character that could hide text. Remove it and submit again.";
    /// Fewer than 8 characters.
    PasswordTooShort = "password_too_short", 422, "The password must have at least 8 characters.";
    /// More than 256 characters.
    PasswordTooLong = "password_too_long", 422, "The password must have at most 256 characters.";
    /// Found in a list of commonly used passwords.
    PasswordCommon = "password_common", 422, "This password is too common. Choose one that is harder to guess.";
    /// The username has characters outside a-z, 0-9, '.', '_' and '-', or is too long.
    InvalidUsername = "invalid_username", 422, "A username has 1 to 64 characters: a-z, 0-9, '.', '_' or '-'.";
    /// The username is taken.
    UsernameTaken = "username_taken", 409, "That username is already taken.";
    /// A desktop-app link of the login pages that is unknown, expired, or already opened.
    AppLinkUnknown = "app_link_unknown", 404, "This login link is unknown, has expired, or was already used. Start the login again in your browser.";
    /// A desktop-app link opened from another network address than the browser's.
    AppLinkOtherComputer = "app_link_other_computer", 403, "This login was started on another computer. Open a login link only on the computer where you started the login.";
    /// Anything the server did not expect. Details are in its log, never on the wire.
    InternalError = "internal_error", 500, "Something went wrong on the server. Try again later.";
    /// The server is shutting down or overloaded.
    ServiceUnavailable = "service_unavailable", 503, "The service is unavailable. Try again later.";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// One error: a stable code, English text, and for card errors the
/// attempts left and the time a wait ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Failures still allowed: before the first wait while there has been
    /// none, and once waits have begun, before the card locks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// When a wait ends (RFC 3339, UTC).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub locked_until: Option<OffsetDateTime>,
    /// What exactly was wrong, for the developer of the calling service:
    /// for `hiding_character`, which character and where. Never for the
    /// citizen's own errors, and never carrying a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ErrorResponse {
    /// An error with the code's English text and no extra fields.
    pub fn new(code: ErrorCode) -> Self {
        ErrorResponse {
            error: ErrorBody {
                code,
                message: code.english().to_owned(),
                attempts_left: None,
                locked_until: None,
                detail: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_snake_case() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!(code
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!code.english().is_empty());
            assert!((400..600).contains(&code.http_status()));
        }
    }

    #[test]
    fn unknown_code_is_none() {
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}

//! Request and response bodies of `https://HOST:PORT/api/v1`.
//!
//! Requests refuse unknown fields, so a typo in a client is an error, not a
//! silently ignored option. Times are RFC 3339 UTC.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::secret::{Code, Password, Token};
use crate::signing::Envelope;

/// Cards have exactly this many key/code pairs.
pub const CARD_SIZE: u32 = 148;
/// At this many codes left a replacement card is issued.
pub const REPLACEMENT_THRESHOLD: u32 = 20;

/// `POST /login`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username; surrounding spaces are trimmed and letters lowercased
    /// before it is looked up.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)
    )]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: Password,
    /// Ask for a code from the replacement card, for a citizen who already
    /// has it in hand. By default the current card is asked until it is used up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_replacement_card: bool,
}

/// A card challenge: find `key` on card `card_serial` and send its code
/// before `expires_at`. Answer to `POST /login` and, with `sign_id`, to
/// `POST /documents/{id}/sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginChallenge {
    pub login_id: String,
    pub card_serial: String,
    /// The 4-digit key number printed on the card.
    pub key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// Failures still allowed: before the first wait while there has been
    /// none, and once waits have begun, before the card locks.
    pub attempts_left: u32,
}

/// `POST /login/{login_id}/code` and `POST /signatures/{sign_id}/code`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Six digits, as printed on the card; spaces and dashes between them
    /// are ignored (`123 456`).
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, example = "123456", pattern = r"^[ -]*(?:[0-9][ -]*){6}$")
    )]
    pub code: Code,
}

/// A citizen as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: String,
}

/// A card's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Active,
    Locked,
    UsedUp,
}

/// The replacement card that was ordered when 20 codes remained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replacement {
    pub serial: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub issued_at: OffsetDateTime,
}

/// `GET /card`: the card the citizen uses now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardStatus {
    pub serial: String,
    pub total: u32,
    pub remaining: u32,
    pub status: CardState,
    /// Set once a replacement card is on its way.
    pub replacement: Option<Replacement>,
    /// End of a temporary wait after repeated failures.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub locked_until: Option<OffsetDateTime>,
}

/// Answer to a correct login code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: Token,
    /// The absolute end of the session (12 hours after login).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// The session ends after this many seconds without a request.
    pub idle_timeout_s: u64,
    pub user: User,
    pub card: CardStatus,
}

/// `GET /me`: also the session's limits, so that a resumed session knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    /// The session ends at this time at the latest (12 hours after login).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// The session ends after this many seconds without a request.
    pub idle_timeout_s: u64,
    pub user: User,
    pub card: CardStatus,
}

/// A document's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Pending,
    Signed,
    Declined,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Pending => "pending",
            DocumentStatus::Signed => "signed",
            DocumentStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DocumentStatus::Pending),
            "signed" => Some(DocumentStatus::Signed),
            "declined" => Some(DocumentStatus::Declined),
            _ => None,
        }
    }
}

/// One entry of `GET /documents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentSummary {
    pub id: String,
    pub title: String,
    pub issuer: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    pub status: DocumentStatus,
    pub sha256: String,
}

/// `GET /documents/{id}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: String,
    pub title: String,
    pub issuer: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    pub status: DocumentStatus,
    pub content_type: String,
    pub content: String,
    pub sha256: String,
}

/// `POST /documents/{id}/sign`: the hash of the bytes the client displayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// SHA-256 of the exact bytes displayed, lowercase hex.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[0-9a-f]{64}$", min_length = 64, max_length = 64)
    )]
    pub sha256: String,
}

/// Answer to `POST /documents/{id}/sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignChallenge {
    pub sign_id: String,
    pub card_serial: String,
    pub key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    pub attempts_left: u32,
}

/// A signature envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeResponse {
    pub envelope: Envelope,
}

/// Answer to `POST /documents/{id}/decline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    pub status: DocumentStatus,
}

/// `POST /provider/documents`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitDocument {
    /// The citizen's username (trimmed and lowercased, as at login).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)
    )]
    pub recipient: String,
    /// One line of at most 300 characters, not blank, with no control
    /// character and no bidi override or isolate (PROTOCOL.md).
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\s][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
            min_length = 1,
            max_length = 300
        )
    )]
    pub title: String,
    /// Only `text/plain` (UTF-8) for now.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^text/plain(?:; ?charset=utf-8)?$")
    )]
    pub content_type: String,
    /// The text: at most 1 MiB of UTF-8 (262,144 characters always fit),
    /// with line feeds, tabs and CRLF, and no other control character, bidi
    /// override or isolate (PROTOCOL.md).
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^(?:[^\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]|\r\n)+$",
            min_length = 1,
            max_length = 262144
        )
    )]
    pub content: String,
}

/// Answer to `POST /provider/documents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmittedDocument {
    pub id: String,
    pub sha256: String,
}

/// `GET /provider/documents/{id}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderDocumentStatus {
    pub status: DocumentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<Envelope>,
}

/// Answer to `POST /app-logins/{link}`: a login started on the OpenID
/// Connect provider's pages, opened in the desktop app. The app names the
/// service and asks the code for `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppLoginPrompt {
    /// The service the citizen is logging in to, as its operator registered it.
    pub client_name: String,
    pub card_serial: String,
    pub key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    pub attempts_left: u32,
}

/// Answer to `POST /app-logins/{link}/code`: the browser that started the
/// login goes on to `client_name` by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppLoginDone {
    pub client_name: String,
}

/// `--card-json` output of the operator CLI: the only place besides the
/// card PDF where plain codes ever exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedCard {
    pub serial: String,
    pub holder: String,
    pub codes: Vec<PrintedPair>,
}

/// One key/code pair on a printed card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedPair {
    pub key: String,
    pub code: String,
}

impl std::fmt::Debug for PrintedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrintedPair {{ key: {}, code: *** }}", self.key)
    }
}

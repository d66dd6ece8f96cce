//! What the UI receives: plain data, serialised as JSON over IPC. Times are
//! RFC 3339 (the UI shows them in the citizen's local time and language);
//! counts are numbers, so the UI can build accessible progress bars. Text
//! from providers reaches the UI with every control character that could
//! hide text written as a visible escape (`kodekort_proto::text`).

use kodekort_client::{Lang, Notice, Verdict};
use kodekort_proto::signing::VerifiedSignature;
use kodekort_proto::text;
use kodekort_proto::wire::{
    CardState, CardStatus, Document, DocumentStatus, DocumentSummary, PrintedCard,
};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// How the citizen wants the UI to look. Saved in the configuration file,
/// except in the demo, which writes nothing outside its temp folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub lang: Lang,
    /// 100, 125, 150 or 200 (per cent).
    pub text_size: u16,
    pub high_contrast: bool,
    pub reduced_motion: bool,
    /// Look for a new version when the app starts.
    pub check_updates: bool,
}

/// The app as a whole: which server, whether it is the demo, who is logged in.
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    pub settings: Settings,
    pub demo: bool,
    /// The demo is being prepared (accounts, cards, letters) behind the
    /// window: the UI says so and waits on `start_demo`.
    pub demo_starting: bool,
    /// The configured server's URL, if there is one.
    pub server: Option<String>,
    /// Whether a server is connected (the demo counts).
    pub connected: bool,
    pub logged_in: bool,
    /// Demo accounts with their passwords: known to everyone in the class.
    pub demo_accounts: Vec<DemoAccountView>,
    /// In the demo: the key every demo card has, for the guide's exercise.
    pub demo_guide_key: Option<&'static str>,
    /// What connecting did that the citizen must know (a trust file that
    /// could not be read); empty but after `connect`.
    pub notices: Vec<NoticeView>,
    /// A `kodekort:` login link arrived and waits to be opened.
    pub login_link: bool,
}

/// A service login whose code was right: the browser goes on to the service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceLoginDoneView {
    pub service_name: String,
}

/// Something the citizen must be told that stops nothing: where the session
/// is kept, or a trust file that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub code: &'static str,
    pub message: String,
}

impl NoticeView {
    pub fn all(notices: &[Notice], lang: Lang) -> Vec<NoticeView> {
        notices
            .iter()
            .map(|n| NoticeView {
                code: n.code(),
                message: n.message(lang),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoAccountView {
    pub username: String,
    pub password: String,
    pub name: String,
}

/// A printed card as the demo shows it on screen.
#[derive(Debug, Clone, Serialize)]
pub struct CardPrintView {
    pub serial: String,
    pub holder: String,
    pub pairs: Vec<PairView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    pub key: String,
    pub code: String,
}

impl From<&PrintedCard> for CardPrintView {
    fn from(card: &PrintedCard) -> Self {
        CardPrintView {
            serial: card.serial.clone(),
            holder: card.holder.clone(),
            pairs: card
                .codes
                .iter()
                .map(|p| PairView {
                    key: p.key.clone(),
                    code: p.code.clone(),
                })
                .collect(),
        }
    }
}

/// Why a code is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Login,
    Sign,
    /// A login to a service, begun on the provider's pages in a browser.
    ServiceLogin,
}

/// A code prompt: find `key` on card `card_serial`.
#[derive(Debug, Clone, Serialize)]
pub struct PromptView {
    pub purpose: Purpose,
    pub card_serial: String,
    pub key: String,
    pub expires_at: String,
    pub expires_in_s: i64,
    pub attempts_left: u32,
    /// For signing: the document's title.
    pub document_title: Option<String>,
    /// For a service login: the service, as its operator registered it.
    pub service_name: Option<String>,
    /// In the demo only: the card, to show beside the prompt.
    pub demo_card: Option<CardPrintView>,
}

/// Where a login stands after a refused code or password.
#[derive(Debug, Clone, Serialize)]
pub struct CardView {
    pub serial: String,
    pub total: u32,
    pub remaining: u32,
    /// `active`, `locked` or `used_up`.
    pub status: CardState,
    /// The replacement card's serial, once one is on its way.
    pub replacement_serial: Option<String>,
    /// End of a temporary wait after repeated failures.
    pub locked_until: Option<String>,
}

impl From<&CardStatus> for CardView {
    fn from(c: &CardStatus) -> Self {
        CardView {
            serial: c.serial.clone(),
            total: c.total,
            remaining: c.remaining,
            status: c.status,
            replacement_serial: c.replacement.as_ref().map(|r| r.serial.clone()),
            locked_until: c.locked_until.map(rfc3339),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentItem {
    pub id: String,
    pub title: String,
    pub issuer: String,
    pub created_at: String,
    pub status: DocumentStatus,
}

impl From<&DocumentSummary> for DocumentItem {
    fn from(d: &DocumentSummary) -> Self {
        DocumentItem {
            id: d.id.clone(),
            title: text::visible_line(&d.title).into_owned(),
            issuer: text::visible_line(&d.issuer).into_owned(),
            created_at: rfc3339(d.created_at),
            status: d.status,
        }
    }
}

/// The home screen: who, their card, their documents, the session's limits.
#[derive(Debug, Clone, Serialize)]
pub struct HomeView {
    pub name: String,
    pub username: String,
    pub card: CardView,
    pub pending: Vec<DocumentItem>,
    pub signed: Vec<DocumentItem>,
    pub declined: Vec<DocumentItem>,
    pub idle_timeout_s: u64,
    pub session_expires_at: String,
    /// Right after a login: where the session is kept (the keyring, or
    /// only until the app closes, and why). Empty otherwise.
    pub notices: Vec<NoticeView>,
}

/// A document as shown. Its `content` is the exact text the app keeps to
/// sign, and `sha256` the hash of those bytes.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    pub id: String,
    pub title: String,
    pub issuer: String,
    pub created_at: String,
    pub status: DocumentStatus,
    pub content: String,
    pub sha256: String,
}

impl From<&Document> for DocumentView {
    fn from(d: &Document) -> Self {
        DocumentView {
            id: d.id.clone(),
            title: text::visible_line(&d.title).into_owned(),
            issuer: text::visible_line(&d.issuer).into_owned(),
            created_at: rfc3339(d.created_at),
            status: d.status,
            content: text::visible(&d.content).into_owned(),
            sha256: d.sha256.clone(),
        }
    }
}

/// A verification result in plain words, and its details when it verified.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    /// `valid`, `demo`, or the reason it failed.
    pub code: String,
    /// Legally valid: verified under a pinned real root.
    pub valid: bool,
    /// Verified under the demo root: not legally valid.
    pub demo: bool,
    pub message: String,
    pub details: Option<SignatureDetails>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureDetails {
    pub title: String,
    pub document_id: String,
    pub signer_name: String,
    pub signer_key_id: String,
    pub signed_at: String,
    pub content_sha256: String,
    pub root_key_id: String,
}

impl VerdictView {
    pub fn new(verdict: &Verdict, lang: Lang) -> VerdictView {
        let details = |v: &VerifiedSignature| SignatureDetails {
            title: text::visible_line(&v.title).into_owned(),
            document_id: v.document_id.clone(),
            signer_name: text::visible_line(&v.signer_name).into_owned(),
            signer_key_id: v.signer_key_id.clone(),
            signed_at: rfc3339(v.signed_at),
            content_sha256: v.content_sha256.clone(),
            root_key_id: v.root_key_id.clone(),
        };
        VerdictView {
            code: verdict.code().to_owned(),
            valid: verdict.is_valid(),
            demo: matches!(verdict, Verdict::Demo(_)),
            message: verdict.message(lang),
            details: match verdict {
                Verdict::Valid(v) | Verdict::Demo(v) => Some(details(v)),
                Verdict::Invalid(_) => None,
            },
        }
    }
}

/// A signed document and this client's own check of its signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignedView {
    pub document_id: String,
    pub title: String,
    pub verdict: VerdictView,
}

/// A file checked on the Verify screen.
#[derive(Debug, Clone, Serialize)]
pub struct FileVerdictView {
    pub file_name: String,
    pub verdict: VerdictView,
    /// Whether the file carried the signed text (a signed PDF does).
    pub has_content: bool,
}

/// A file the app wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SavedView {
    pub path: String,
}

/// The session after "stay signed in".
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub idle_timeout_s: u64,
    pub session_expires_at: String,
}

/// The About screen's connection check.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    pub ok: bool,
    pub server: Option<String>,
    pub demo: bool,
    pub millis: u64,
    /// On failure: the error's code and message.
    pub error: Option<crate::UiError>,
}

/// Where a flow stands after a refusal, sent with it so the UI picks the
/// screen without asking again. Login: `credentials`, `code`, `waiting`,
/// `locked`. Signing: `document` (ask for a new key), `code`, `changed`
/// (read the document again), `waiting`, `locked`, `not_pending`,
/// `logged_out`. `attempts_left` is set at a code step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    pub step: &'static str,
    pub attempts_left: Option<u32>,
}

impl NextStep {
    pub fn new(step: &'static str, attempts_left: Option<u32>) -> NextStep {
        NextStep {
            step,
            attempts_left,
        }
    }
}

/// The trainer panel: the demo's clock, every account at a glance, and the
/// scenarios on offer.
#[derive(Debug, Clone, Serialize)]
pub struct TrainerView {
    pub started_at: String,
    /// `None` until the first reset.
    pub last_reset: Option<String>,
    pub accounts: Vec<TrainerAccountView>,
    /// Scenario names, in the order the panel offers them.
    pub scenarios: Vec<&'static str>,
    /// Whether the "server identity" scenario is on.
    pub server_identity_scenario: bool,
    /// The account logged in on this computer, if any.
    pub signed_in_as: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainerAccountView {
    pub username: String,
    pub password: String,
    pub name: String,
    pub card: CardView,
    pub pending: u32,
    pub signed: u32,
    pub declined: u32,
    /// The printed card, for the panel's card viewer.
    pub printed: CardPrintView,
}

/// What applying a scenario did, and where the UI should take the trainer
/// to see it.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioView {
    pub scenario: &'static str,
    pub username: String,
    /// `home`, `login`, `idle_warning` or `trust_error`.
    pub next: &'static str,
    /// For "card locked": when it opens again.
    pub locked_until: Option<String>,
    /// For "session about to expire": seconds the session has left idle.
    pub idle_left_s: Option<u64>,
    pub state: StateView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_gets_hiding_characters_as_visible_escapes() {
        let doc = Document {
            id: "doc_1".into(),
            title: "Gammel\u{202e}".into(),
            issuer: "Bolig\x1b[2K".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            status: DocumentStatus::Pending,
            content_type: "text/plain".into(),
            content: "Ja.\r\n\x1b[8mOg 100000 DKK.\x1b[0m\n\tslut".into(),
            sha256: String::new(),
        };
        let view = DocumentView::from(&doc);
        assert_eq!(view.title, "Gammel[U+202E]");
        assert_eq!(view.issuer, "Bolig[U+001B][2K");
        assert_eq!(
            view.content,
            "Ja.\r\n[U+001B][8mOg 100000 DKK.[U+001B][0m\n\tslut"
        );
    }
}

//! The code-card rules, sessions, documents and signatures: everything the
//! API and the operator CLI do, as blocking functions over the [`Store`].
//! Handlers call these from `spawn_blocking`; they never touch SQL.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use kodekort_proto::signing::{
    decode_sha256, sha256_hex, Certificate, CertificateFields, Envelope, SignatureFields, TrustRoot,
};
use kodekort_proto::wire::{
    CardState, CardStatus, Document, DocumentStatus, DocumentSummary, LoginChallenge, LoginRequest,
    MeResponse, ProviderDocumentStatus, Replacement, SessionResponse, SignChallenge,
    SubmitDocument, SubmittedDocument, User, CARD_SIZE, REPLACEMENT_THRESHOLD,
};
use kodekort_proto::{Code, ErrorCode, Password, ProviderKey, Token};
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::RngCore;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::card::{self, NewCard};
use crate::card_pdf;
use crate::clock::Clock;
use crate::error::{ApiError, Error, Result};
use crate::keys::{write_private_file, Keys};
use crate::lockout::{self, Standing};
use crate::password;
mod training;
pub use training::TrainingOverview;

use crate::store::{
    CardLife, CardRow, ChallengeKind, ChallengeRow, ChallengeState, DocumentRow, Store, Tx, UserRow,
};

/// How long a card challenge may be answered.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after login, whatever happens.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, to spare a write per read.
const TOUCH_INTERVAL: Duration = Duration::seconds(15);
/// How long a citizen's certificate is valid.
const CERTIFICATE_LIFETIME: Duration = Duration::days(3 * 365);
/// Largest document content providers may submit.
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;
/// Longest document title, in characters.
const MAX_TITLE_CHARS: usize = 300;
/// Longest citizen or provider name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A result whose `Err` is a refusal to be committed along with the
/// transaction's other writes (a counted failure, a closed challenge).
type Outcome<T> = std::result::Result<T, ApiError>;

/// A citizen with a valid session.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub user_id: String,
    pub username: String,
    /// When this session ends at the latest (12 hours after the login).
    pub session_expires_at: OffsetDateTime,
    token_hash: [u8; 32],
}

/// A provider authenticated by its API key.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
}

/// The service over one data dir.
pub struct Service {
    store: Store,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    outbox: PathBuf,
    dummy_hash: String,
    trust: TrustRoot,
    /// Argon2 verifications run, so tests can see that an unknown
    /// username costs the same work as a known one.
    argon2_runs: AtomicU64,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("trust", &self.trust.key_id)
            .finish_non_exhaustive()
    }
}

/// Lowercases and trims a username as typed. Counting and lookup use this.
pub fn normalise_username(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn valid_username(u: &str) -> bool {
    (1..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// A new random id with a readable prefix and 128 random bits.
fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Whether a path segment can be an id at all; others get `invalid_id`.
pub use kodekort_proto::id::is_valid_id as valid_id;

fn refusal(code: ErrorCode, failures: u32, standing: Standing) -> ApiError {
    ApiError {
        code,
        attempts_left: Some(lockout::attempts_left(failures)),
        locked_until: match standing {
            Standing::Waiting(until) => Some(until),
            _ => None,
        },
    }
}

fn parse_status(s: &str) -> Result<DocumentStatus> {
    DocumentStatus::parse(s).ok_or(Error::Corrupt("unknown document status"))
}

impl Service {
    /// Opens the data dir: keys, database, outbox.
    pub fn open(data_dir: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Service> {
        create_private_dir(data_dir)?;
        let keys = Arc::new(Keys::load_or_create(data_dir)?);
        let store = Store::open(&data_dir.join("kodekort.sqlite3"))?;
        let outbox = data_dir.join("outbox");
        std::fs::create_dir_all(&outbox).map_err(|e| Error::io(&outbox, e))?;
        let trust = TrustRoot::from_key(&keys.root().verifying_key());
        // Public: what clients pin to verify signatures (like ca.pem for TLS).
        let trust_path = data_dir.join("trust.json");
        let trust_json = serde_json::to_vec_pretty(&trust).expect("trust root serialises");
        if std::fs::read(&trust_path).ok().as_deref() != Some(trust_json.as_slice()) {
            std::fs::write(&trust_path, &trust_json).map_err(|e| Error::io(&trust_path, e))?;
        }
        Ok(Service {
            store,
            keys,
            clock,
            outbox,
            dummy_hash: password::dummy_hash()?,
            trust,
            argon2_runs: AtomicU64::new(0),
        })
    }

    /// How many login attempts have run argon2 since start.
    pub fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
    }

    pub fn trust(&self) -> &TrustRoot {
        &self.trust
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Runs a write transaction whose refusals are committed too.
    fn write_outcome<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<Outcome<T>>) -> Result<T> {
        self.store.write(f)?.map_err(Error::Api)
    }

    // ---- failure counting --------------------------------------------------

    /// Counts a failure for every open challenge of `username` that expired
    /// unanswered (or is being replaced, with `replace_all`), and closes it.
    fn settle_challenges(&self, tx: &Tx<'_>, username: &str, replace_all: bool) -> Result<()> {
        let now = self.now();
        for ch in tx.open_challenges(username)? {
            if replace_all || now >= ch.expires_at {
                tx.close_challenge(&ch.id)?;
                if tx.mark_failure_counted(&ch.id)? {
                    tx.add_failure(username, now)?;
                }
            }
        }
        Ok(())
    }

    /// The failure count, or a refusal if the account must wait or is locked.
    fn check_standing(&self, tx: &Tx<'_>, username: &str) -> Result<Outcome<u32>> {
        let (failures, last) = tx.failures(username)?;
        Ok(match lockout::standing(failures, last, self.now()) {
            Standing::Open => Ok(failures),
            s @ Standing::Waiting(_) => Err(refusal(ErrorCode::TooManyAttempts, failures, s)),
            Standing::Locked => Err(refusal(ErrorCode::CardLocked, failures, Standing::Locked)),
        })
    }

    /// Counts one failure and builds the refusal that tells what is left.
    fn fail(&self, tx: &Tx<'_>, username: &str, code: ErrorCode) -> Result<ApiError> {
        let now = self.now();
        let failures = tx.add_failure(username, now)?;
        Ok(refusal(
            code,
            failures,
            lockout::standing(failures, Some(now), now),
        ))
    }

    // ---- login -------------------------------------------------------------

    /// Step 1: username and password. An unknown username runs the same
    /// argon2 work and gets the same answer as a wrong password.
    pub fn begin_login(&self, req: &LoginRequest) -> Result<LoginChallenge> {
        let username = normalise_username(&req.username);
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
            self.settle_challenges(tx, &username, true)?;
            let failures = match self.check_standing(tx, &username)? {
                Ok(n) => n,
                Err(refused) => return Ok(Err(refused)),
            };
            let (card, key) = match self.pick_card_key(tx, &user.id, req.use_replacement_card)? {
                Ok(pair) => pair,
                Err(refused) => return Ok(Err(refused)),
            };
            let ch = self.new_challenge(ChallengeKind::Login, &username, user, card, key, None);
            tx.insert_challenge(&ch)?;
            Ok(Ok(LoginChallenge {
                login_id: ch.id,
                card_serial: ch.serial,
                key: ch.key,
                expires_at: ch.expires_at,
                attempts_left: lockout::attempts_left(failures),
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

    fn new_challenge(
        &self,
        kind: ChallengeKind,
        username: &str,
        user: &UserRow,
        card: CardRow,
        key: String,
        document: Option<(&str, &str)>,
    ) -> ChallengeRow {
        let now = self.now();
        ChallengeRow {
            id: new_id(match kind {
                ChallengeKind::Login => "login",
                ChallengeKind::Sign => "sign",
            }),
            kind,
            username: username.to_owned(),
            user_id: user.id.clone(),
            serial: card.serial,
            key,
            document_id: document.map(|d| d.0.to_owned()),
            sha256: document.map(|d| d.1.to_owned()),
            created_at: now,
            expires_at: now + CHALLENGE_TTL,
            state: ChallengeState::Open,
            failure_counted: false,
        }
    }

    /// Chooses the card to ask and a random unused key on it. The current
    /// card is asked until it is used up (or the citizen asks for the
    /// replacement); then the replacement.
    fn pick_card_key(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        prefer_replacement: bool,
    ) -> Result<Outcome<(CardRow, String)>> {
        let active = tx.card_of(user_id, CardLife::Active)?;
        let pending = tx.card_of(user_id, CardLife::Pending)?;
        let mut candidates = Vec::new();
        if prefer_replacement {
            candidates.extend(pending.clone());
        }
        candidates.extend(active.clone());
        candidates.extend(pending);
        for card in candidates {
            let keys = tx.unused_keys(&card.serial)?;
            if let Some(key) = keys.choose(&mut OsRng) {
                let key = key.clone();
                return Ok(Ok((card, key)));
            }
        }
        Ok(Err(if active.is_some() {
            ErrorCode::CardUsedUp.into()
        } else {
            ErrorCode::NoCard.into()
        }))
    }

    /// Checks a code against a challenge and, if right, consumes it and runs
    /// `on_success` in the same transaction. If `on_success` fails, nothing
    /// is consumed. `owner` restricts the challenge to one citizen.
    fn answer_challenge<T>(
        &self,
        kind: ChallengeKind,
        id: &str,
        owner: Option<&str>,
        code: &Code,
        on_success: impl FnOnce(&Tx<'_>, &ChallengeRow, OffsetDateTime) -> Result<T>,
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

    /// Writes a replacement card's PDF to the outbox, after the commit so
    /// that rendering never holds the write lock. If it cannot be written,
    /// the pending card is withdrawn so the next code use issues another.
    fn print_replacement(&self, card: &NewCard, holder: &str) {
        let pdf = card_pdf::render(card, holder, card_pdf::Size::Standard);
        let path = self.outbox.join(format!("{}.pdf", card.serial));
        match write_private_file(&path, &pdf) {
            Ok(()) => tracing::info!(serial = %card.serial, path = %path.display(),
                "replacement card issued"),
            Err(err) => {
                tracing::error!(serial = %card.serial, error = %err,
                    "could not write the replacement card; withdrawing it");
                if let Err(err) = self.store.write(|tx| tx.delete_pending_card(&card.serial)) {
                    tracing::error!(serial = %card.serial, error = %err,
                        "could not withdraw the unprinted replacement card");
                }
            }
        }
    }

    /// After a code was used: a replacement card becomes active at its
    /// first use, and at 20 codes left a replacement is issued. Returns a
    /// new card to print, with its holder's name.
    fn card_used(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        serial: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(NewCard, String)>> {
        let pending = tx.card_of(user_id, CardLife::Pending)?;
        if pending.as_ref().is_some_and(|p| p.serial == serial) {
            tx.activate_card(user_id, serial, now)?;
            tracing::info!(serial, "replacement card activated at first use");
            return Ok(None);
        }
        let remaining = tx.unused_count(serial)?;
        if remaining > REPLACEMENT_THRESHOLD || pending.is_some() {
            return Ok(None);
        }
        let user = tx
            .user_by_id(user_id)?
            .ok_or(Error::Corrupt("challenge for a missing user"))?;
        let card = self.insert_new_card(tx, &user.id, CardLife::Pending, now)?;
        Ok(Some((card, user.name)))
    }

    /// Generates a card and stores its hashed codes, retrying on a serial clash.
    fn insert_new_card(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        life: CardLife,
        now: OffsetDateTime,
    ) -> Result<NewCard> {
        for _ in 0..10 {
            let new = card::generate(card::new_serial());
            if self.insert_card(tx, user_id, life, now, &new)? {
                return Ok(new);
            }
        }
        Err(Error::Corrupt("could not find a free card serial"))
    }

    /// Stores a card's hashed codes. False if the serial is taken.
    fn insert_card(
        &self,
        tx: &Tx<'_>,
        user_id: &str,
        life: CardLife,
        now: OffsetDateTime,
        card: &NewCard,
    ) -> Result<bool> {
        let hashed: Vec<_> = card
            .pairs
            .iter()
            .map(|p| {
                let salt = card::new_salt();
                let hash = card::hash_code(&self.keys, &salt, &card.serial, &p.key, &p.code);
                (p.key.clone(), salt, hash)
            })
            .collect();
        if !tx.insert_card(&card.serial, user_id, life, now, &hashed)? {
            return Ok(false);
        }
        if life == CardLife::Active {
            tx.activate_card(user_id, &card.serial, now)?;
        }
        Ok(true)
    }

    // ---- sessions ----------------------------------------------------------

    fn token_hash(&self, token: &str) -> [u8; 32] {
        self.keys
            .keyed_hash("kodekort session token v1", &[token.as_bytes()])
    }

    fn create_session(&self, tx: &Tx<'_>, user_id: &str, now: OffsetDateTime) -> Result<Token> {
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = B64URL.encode(raw);
        tx.insert_session(&self.token_hash(&token), user_id, now)?;
        Ok(Token::new(token))
    }

    /// Resolves a bearer token to a citizen, ending idle or old sessions.
    pub fn authenticate(&self, token: &Token) -> Result<Citizen> {
        let hash = self.token_hash(token.expose());
        let now = self.now();
        let (session, user) = self
            .store
            .read(|tx| {
                let Some(session) = tx.session(&hash)? else {
                    return Ok(None);
                };
                let user = tx.user_by_id(&session.user_id)?;
                Ok(user.map(|u| (session, u)))
            })?
            .ok_or(ErrorCode::Unauthenticated)?;
        if session.revoked
            || now - session.last_seen_at > IDLE_TIMEOUT
            || now - session.created_at > SESSION_LIFETIME
        {
            return Err(ErrorCode::SessionExpired.into());
        }
        if now - session.last_seen_at >= TOUCH_INTERVAL {
            self.store.write(|tx| tx.touch_session(&hash, now))?;
        }
        Ok(Citizen {
            user_id: user.id,
            username: user.username,
            session_expires_at: session.created_at + SESSION_LIFETIME,
            token_hash: hash,
        })
    }

    pub fn logout(&self, citizen: &Citizen) -> Result<()> {
        let now = self.now();
        self.store
            .write(|tx| tx.revoke_session(&citizen.token_hash, now))
    }

    // ---- citizen views -----------------------------------------------------

    /// Who, their card, and the session's limits, so that a client that
    /// resumes a session knows when it ends.
    pub fn me(&self, citizen: &Citizen) -> Result<MeResponse> {
        let (user, card) = self.me_of(&citizen.user_id)?;
        Ok(MeResponse {
            expires_at: citizen.session_expires_at,
            idle_timeout_s: IDLE_TIMEOUT.whole_seconds() as u64,
            user,
            card,
        })
    }

    fn me_of(&self, user_id: &str) -> Result<(User, CardStatus)> {
        self.store.read(|tx| {
            let user = tx
                .user_by_id(user_id)?
                .ok_or(Error::Corrupt("session of a missing user"))?;
            let card = self.card_status_in(tx, &user)?;
            let user = User {
                id: user.id,
                username: user.username,
                name: user.name,
            };
            Ok((user, card))
        })
    }

    pub fn card_status(&self, citizen: &Citizen) -> Result<CardStatus> {
        Ok(self.me_of(&citizen.user_id)?.1)
    }

    fn card_status_in(&self, tx: &Tx<'_>, user: &UserRow) -> Result<CardStatus> {
        let pending = tx.card_of(&user.id, CardLife::Pending)?;
        let Some(active) = tx.card_of(&user.id, CardLife::Active)? else {
            return Err(ErrorCode::NoCard.into());
        };
        let remaining = tx.unused_count(&active.serial)?;
        let (failures, last) = tx.failures(&user.username)?;
        let standing = lockout::standing(failures, last, self.now());
        let status = if standing == Standing::Locked {
            CardState::Locked
        } else if remaining == 0 && pending.is_none() {
            CardState::UsedUp
        } else {
            CardState::Active
        };
        Ok(CardStatus {
            serial: active.serial,
            total: CARD_SIZE,
            remaining,
            status,
            replacement: pending.map(|p| Replacement {
                serial: p.serial,
                issued_at: p.issued_at,
            }),
            locked_until: match standing {
                Standing::Waiting(until) => Some(until),
                _ => None,
            },
        })
    }

    pub fn documents(&self, citizen: &Citizen) -> Result<Vec<DocumentSummary>> {
        let rows = self.store.read(|tx| tx.documents_of(&citizen.user_id))?;
        rows.into_iter()
            .map(|d| {
                Ok(DocumentSummary {
                    status: parse_status(&d.status)?,
                    id: d.id,
                    title: d.title,
                    issuer: d.issuer,
                    created_at: d.created_at,
                    sha256: d.sha256,
                })
            })
            .collect()
    }

    fn own_document(&self, tx: &Tx<'_>, citizen: &Citizen, id: &str) -> Result<DocumentRow> {
        match tx.document(id)? {
            Some(d) if d.recipient_id == citizen.user_id => Ok(d),
            _ => Err(ErrorCode::NotFound.into()),
        }
    }

    pub fn document(&self, citizen: &Citizen, id: &str) -> Result<Document> {
        let d = self.store.read(|tx| self.own_document(tx, citizen, id))?;
        Ok(Document {
            status: parse_status(&d.status)?,
            id: d.id,
            title: d.title,
            issuer: d.issuer,
            created_at: d.created_at,
            content_type: d.content_type,
            content: d.content,
            sha256: d.sha256,
        })
    }

    /// Asks for a code to sign the document whose content hashes to `sha256`.
    pub fn begin_sign(&self, citizen: &Citizen, id: &str, sha256: &str) -> Result<SignChallenge> {
        if decode_sha256(sha256).is_none() {
            return Err(ErrorCode::InvalidRequest.into());
        }
        self.write_outcome(|tx| {
            let doc = self.own_document(tx, citizen, id)?;
            if doc.status != DocumentStatus::Pending.as_str() {
                return Ok(Err(ErrorCode::DocumentNotPending.into()));
            }
            if doc.sha256 != sha256 {
                return Ok(Err(ErrorCode::HashMismatch.into()));
            }
            self.settle_challenges(tx, &citizen.username, true)?;
            let failures = match self.check_standing(tx, &citizen.username)? {
                Ok(n) => n,
                Err(refused) => return Ok(Err(refused)),
            };
            let user = tx
                .user_by_id(&citizen.user_id)?
                .ok_or(Error::Corrupt("session of a missing user"))?;
            let (card, key) = match self.pick_card_key(tx, &user.id, false)? {
                Ok(pair) => pair,
                Err(refused) => return Ok(Err(refused)),
            };
            let ch = self.new_challenge(
                ChallengeKind::Sign,
                &citizen.username,
                &user,
                card,
                key,
                Some((&doc.id, &doc.sha256)),
            );
            tx.insert_challenge(&ch)?;
            Ok(Ok(SignChallenge {
                sign_id: ch.id,
                card_serial: ch.serial,
                key: ch.key,
                expires_at: ch.expires_at,
                attempts_left: lockout::attempts_left(failures),
            }))
        })
    }

    /// The code for a signature: signs with the citizen's key and stores the envelope.
    pub fn answer_sign(&self, citizen: &Citizen, sign_id: &str, code: &Code) -> Result<Envelope> {
        self.answer_challenge(
            ChallengeKind::Sign,
            sign_id,
            Some(&citizen.user_id),
            code,
            |tx, ch, now| {
                let doc_id = ch.document_id.as_deref().unwrap_or_default();
                let doc = self.own_document(tx, citizen, doc_id)?;
                if doc.status != DocumentStatus::Pending.as_str() {
                    return Err(ErrorCode::DocumentNotPending.into());
                }
                if ch.sha256.as_deref() != Some(doc.sha256.as_str()) {
                    return Err(ErrorCode::HashMismatch.into());
                }
                let user = tx
                    .user_by_id(&citizen.user_id)?
                    .ok_or(Error::Corrupt("session of a missing user"))?;
                let certificate: Certificate = serde_json::from_str(&user.certificate)
                    .map_err(|_| Error::Corrupt("a stored certificate does not parse"))?;
                let key = self.keys.open_signing_key(&user.id, &user.sealed_key)?;
                let envelope = Envelope::sign(
                    &SignatureFields {
                        document_id: &doc.id,
                        title: &doc.title,
                        content_sha256: decode_sha256(&doc.sha256)
                            .ok_or(Error::Corrupt("a stored hash is not hex"))?,
                        signed_at: now,
                        challenge_id: &ch.id,
                    },
                    &key,
                    certificate,
                );
                let json = serde_json::to_string(&envelope).expect("envelopes serialise");
                tx.decide_document(&doc.id, DocumentStatus::Signed.as_str(), Some(&json), now)?;
                Ok(envelope)
            },
        )
    }

    pub fn decline(&self, citizen: &Citizen, id: &str) -> Result<DocumentStatus> {
        let now = self.now();
        self.store.write(|tx| {
            self.own_document(tx, citizen, id)?;
            if tx.decide_document(id, DocumentStatus::Declined.as_str(), None, now)? {
                Ok(DocumentStatus::Declined)
            } else {
                Err(ErrorCode::DocumentNotPending.into())
            }
        })
    }

    pub fn signature(&self, citizen: &Citizen, id: &str) -> Result<Envelope> {
        let doc = self.store.read(|tx| self.own_document(tx, citizen, id))?;
        parse_envelope(doc.envelope.as_deref())?.ok_or(ErrorCode::SignatureNotFound.into())
    }

    // ---- providers ---------------------------------------------------------

    fn provider_key_hash(&self, key: &str) -> [u8; 32] {
        self.keys
            .keyed_hash("kodekort provider key v1", &[key.as_bytes()])
    }

    pub fn authenticate_provider(&self, key: &ProviderKey) -> Result<Provider> {
        let hash = self.provider_key_hash(key.expose());
        let (id, name) = self
            .store
            .read(|tx| tx.provider_by_key_hash(&hash))?
            .ok_or(ErrorCode::InvalidProviderKey)?;
        Ok(Provider { id, name })
    }

    pub fn submit_document(
        &self,
        provider: &Provider,
        req: &SubmitDocument,
    ) -> Result<SubmittedDocument> {
        let essence = req.content_type.split(';').next().unwrap_or("").trim();
        let charset_ok = req.content_type.split(';').skip(1).all(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "charset=utf-8" || p == "charset=\"utf-8\""
        });
        if !essence.eq_ignore_ascii_case("text/plain") || !charset_ok {
            return Err(ErrorCode::UnsupportedContentType.into());
        }
        self.insert_document(
            &req.recipient,
            Some(provider),
            &provider.name,
            &req.title,
            &req.content,
        )
    }

    fn insert_document(
        &self,
        recipient: &str,
        provider: Option<&Provider>,
        issuer: &str,
        title: &str,
        content: &str,
    ) -> Result<SubmittedDocument> {
        let title_chars = title.chars().count();
        if title.trim().is_empty()
            || title_chars > MAX_TITLE_CHARS
            || content.is_empty()
            || content.len() > MAX_CONTENT_BYTES
        {
            return Err(ErrorCode::InvalidDocument.into());
        }
        let recipient = normalise_username(recipient);
        let now = self.now();
        let sha256 = sha256_hex(content.as_bytes());
        let id = new_id("doc");
        self.store.write(|tx| {
            let user = tx
                .user_by_username(&recipient)?
                .ok_or(ErrorCode::UnknownRecipient)?;
            tx.insert_document(&DocumentRow {
                id: id.clone(),
                recipient_id: user.id,
                provider_id: provider.map(|p| p.id.clone()),
                issuer: issuer.to_owned(),
                title: title.to_owned(),
                content_type: "text/plain".to_owned(),
                content: content.to_owned(),
                sha256: sha256.clone(),
                status: DocumentStatus::Pending.as_str().to_owned(),
                created_at: now,
                envelope: None,
            })
        })?;
        Ok(SubmittedDocument { id, sha256 })
    }

    pub fn provider_document(
        &self,
        provider: &Provider,
        id: &str,
    ) -> Result<ProviderDocumentStatus> {
        let doc = self
            .store
            .read(|tx| tx.document(id))?
            .filter(|d| d.provider_id.as_deref() == Some(provider.id.as_str()))
            .ok_or(ErrorCode::NotFound)?;
        Ok(ProviderDocumentStatus {
            status: parse_status(&doc.status)?,
            envelope: parse_envelope(doc.envelope.as_deref())?,
        })
    }

    // ---- operator ----------------------------------------------------------

    /// Creates a citizen with a signing key, a certificate and a first card.
    pub fn add_user(
        &self,
        username: &str,
        name: &str,
        password: &Password,
    ) -> Result<(User, NewCard)> {
        self.add_user_with_card(username, name, password, None)
    }

    /// As [`Service::add_user`], with a given first card (the demo keeps its
    /// printed cards valid across resets) or a new one.
    pub fn add_user_with_card(
        &self,
        username: &str,
        name: &str,
        password: &Password,
        card: Option<NewCard>,
    ) -> Result<(User, NewCard)> {
        let username = normalise_username(username);
        if !valid_username(&username) {
            return Err(ErrorCode::InvalidUsername.into());
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ErrorCode::InvalidRequest.into());
        }
        password::check_policy(password, &[&username, name])?;
        let password_hash = password::hash(password)?;
        let now = self.now();
        let id = new_id("user");
        let signing_key = SigningKey::generate(&mut OsRng);
        let certificate = Certificate::issue(
            &CertificateFields {
                user_id: &id,
                name,
                public_key: &signing_key.verifying_key(),
                not_before: now,
                not_after: now + CERTIFICATE_LIFETIME,
            },
            self.keys.root(),
        );
        let row = UserRow {
            id: id.clone(),
            username: username.clone(),
            name: name.to_owned(),
            password_hash,
            sealed_key: self.keys.seal_signing_key(&id, &signing_key),
            certificate: serde_json::to_string(&certificate).expect("certificates serialise"),
            created_at: now,
        };
        let card = self.store.write(|tx| {
            if !tx.insert_user(&row)? {
                return Err(ErrorCode::UsernameTaken.into());
            }
            match card {
                Some(card) if self.insert_card(tx, &id, CardLife::Active, now, &card)? => Ok(card),
                Some(_) => Err(Error::Corrupt("the given card's serial is taken")),
                None => self.insert_new_card(tx, &id, CardLife::Active, now),
            }
        })?;
        Ok((
            User {
                id,
                username,
                name: name.to_owned(),
            },
            card,
        ))
    }

    /// Issues a new active card, retiring the old ones and lifting any lock.
    pub fn issue_card(&self, username: &str) -> Result<(User, NewCard)> {
        let username = normalise_username(username);
        let now = self.now();
        self.store.write(|tx| {
            let user = tx.user_by_username(&username)?.ok_or(ErrorCode::NotFound)?;
            self.close_all_challenges(tx, &username)?;
            tx.reset_failures(&username)?;
            let card = self.insert_new_card(tx, &user.id, CardLife::Active, now)?;
            Ok((
                User {
                    id: user.id,
                    username: user.username,
                    name: user.name,
                },
                card,
            ))
        })
    }

    /// Lifts a wait or a lock on a card.
    pub fn unlock_card(&self, username: &str) -> Result<()> {
        let username = normalise_username(username);
        self.store.write(|tx| {
            tx.user_by_username(&username)?.ok_or(ErrorCode::NotFound)?;
            self.close_all_challenges(tx, &username)?;
            tx.reset_failures(&username)
        })
    }

    fn close_all_challenges(&self, tx: &Tx<'_>, username: &str) -> Result<()> {
        for ch in tx.open_challenges(username)? {
            tx.close_challenge(&ch.id)?;
        }
        Ok(())
    }

    /// Registers a provider; its API key exists in plain only in the answer.
    pub fn add_provider(&self, name: &str) -> Result<(String, ProviderKey)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ErrorCode::InvalidRequest.into());
        }
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let key = format!("kkp_{}", B64URL.encode(raw));
        let id = new_id("prov");
        let now = self.now();
        let hash = self.provider_key_hash(&key);
        self.store
            .write(|tx| tx.insert_provider(&id, name, &hash, now))?;
        Ok((id, ProviderKey::new(key)))
    }

    /// Adds a document for a citizen as the operator (demos, tests).
    pub fn add_document(
        &self,
        recipient: &str,
        issuer: &str,
        title: &str,
        content: &str,
    ) -> Result<SubmittedDocument> {
        let issuer = issuer.trim();
        if issuer.is_empty() || issuer.chars().count() > MAX_NAME_CHARS {
            return Err(ErrorCode::InvalidRequest.into());
        }
        self.insert_document(recipient, None, issuer, title, content)
    }
}

/// Creates the data dir readable by the owner only (it holds the database
/// and the key files). An existing dir is left as the operator made it.
fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

fn parse_envelope(json: Option<&str>) -> Result<Option<Envelope>> {
    json.map(|j| {
        serde_json::from_str(j).map_err(|_| Error::Corrupt("a stored envelope does not parse"))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_normalise_and_validate() {
        assert_eq!(normalise_username("  Anna.Hansen "), "anna.hansen");
        assert!(valid_username("anna.hansen-2_b"));
        assert!(!valid_username(""));
        assert!(!valid_username("anna hansen"));
        assert!(!valid_username("søren"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn ids_are_random_and_checked() {
        let a = new_id("doc");
        assert!(valid_id(&a) && a.starts_with("doc_") && a.len() == 36);
        assert_ne!(a, new_id("doc"));
        assert!(!valid_id("../etc/passwd"));
        assert!(!valid_id(""));
    }
}

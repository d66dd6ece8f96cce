//! "Continue in the Kodekort app": a login begun on the provider's pages
//! whose code the citizen types in the desktop app instead.
//!
//! The code page offers a `kodekort://login/LINK` link. LINK is opaque: a
//! keyed hash of the request and its card prompt, so every load of the page
//! shows the same one and nothing but its hash is stored. The app opens the
//! link once, from the network address the browser typed the password from,
//! and answers the prompt with the same rules (and counting) as the page.
//! The page's browser then takes the provider session on its next load:
//! only that browser, by its binding cookie, ever gets it. A link sent to
//! someone else opens nowhere else (other address), and if it is opened
//! there it is spent, so the sender's browser gets nothing from it either.

use std::net::IpAddr;

use kodekort_proto::wire::{AppLoginDone, AppLoginPrompt};
use kodekort_proto::{Code, ErrorCode};
use time::OffsetDateTime;

use super::{random_secret, Next, Step, B64URL};
use crate::error::{Error, Result};
use crate::lockout;
use crate::oidc::Issuer;
use crate::service::Service;
use crate::store::{AppLinkRow, AuthRequestRow, ChallengeKind, ChallengeState, Stage, Tx};
use base64::Engine as _;

/// How a link is written on the code page; the desktop app accepts this form only.
pub const APP_LINK_PREFIX: &str = "kodekort://login/";

/// The link of a code page, as the page shows it.
#[derive(Debug, Clone)]
pub struct AppLinkView {
    pub href: String,
    /// An app has opened it: the page says the login is open there.
    pub opened: bool,
}

fn address(ip: IpAddr) -> String {
    // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d.
    ip.to_canonical().to_string()
}

fn unknown() -> Error {
    ErrorCode::AppLinkUnknown.into()
}

impl Service {
    /// The link of one card prompt of one request.
    fn app_link_value(&self, request_id: &str, login_id: &str) -> String {
        B64URL.encode(self.keys.keyed_hash(
            "kodekort oidc app link v1",
            &[request_id.as_bytes(), login_id.as_bytes()],
        ))
    }

    fn app_link_hash(&self, link: &str) -> [u8; 32] {
        self.hash_of("kodekort oidc app link lookup v1", link)
    }

    /// Offers the app link for a prompt just asked on the pages, bound to
    /// the address the browser sent its password from.
    pub(super) fn offer_app_link(
        &self,
        tx: &Tx<'_>,
        request: &AuthRequestRow,
        login_id: &str,
        expires_at: OffsetDateTime,
        browser_ip: IpAddr,
    ) -> Result<()> {
        let link = self.app_link_value(&request.id, login_id);
        tx.put_app_link(&AppLinkRow {
            link_hash: self.app_link_hash(&link).to_vec(),
            request_id: request.id.clone(),
            login_id: login_id.to_owned(),
            browser_ip: address(browser_ip),
            expires_at,
            opened_at: None,
        })
    }

    /// The link the code page of `request` shows, if it has one.
    pub(super) fn app_link_view(
        &self,
        tx: &Tx<'_>,
        request: &AuthRequestRow,
    ) -> Result<Option<AppLinkView>> {
        let Some(login_id) = request
            .login_id
            .as_deref()
            .filter(|_| request.stage == Stage::Code && request.user_id.is_none())
        else {
            return Ok(None);
        };
        let link = self.app_link_value(&request.id, login_id);
        Ok(tx
            .app_link(&self.app_link_hash(&link))?
            .filter(|row| row.login_id == login_id && self.now() < row.expires_at)
            .map(|row| AppLinkView {
                href: format!("{APP_LINK_PREFIX}{link}"),
                opened: row.opened_at.is_some(),
            }))
    }

    /// The app opens a link: once, from the browser's address. What it
    /// shows: the service, and the key to find on the card.
    pub fn oidc_app_open(&self, link: &str, ip: IpAddr) -> Result<AppLoginPrompt> {
        let hash = self.app_link_hash(link);
        self.write_outcome(|tx| {
            let now = self.now();
            let Some(row) = tx.app_link(&hash)?.filter(|r| now < r.expires_at) else {
                return Ok(Err(ErrorCode::AppLinkUnknown.into()));
            };
            // Spent by any attempt, a refused one too: a link that reached
            // another computer must not work later on this one.
            if !tx.open_app_link(&hash, now)? {
                return Ok(Err(ErrorCode::AppLinkUnknown.into()));
            }
            if row.browser_ip != address(ip) {
                tracing::warn!("a login link was opened from another address than its browser's");
                tx.delete_app_link(&hash)?;
                return Ok(Err(ErrorCode::AppLinkOtherComputer.into()));
            }
            let waiting = self.waiting_for_app(tx, &row)?;
            let open_prompt = tx.challenge(&row.login_id)?.filter(|ch| {
                ch.kind == ChallengeKind::Login
                    && ch.state == ChallengeState::Open
                    && now < ch.expires_at
            });
            let (Some(request), Some(ch)) = (waiting, open_prompt) else {
                return Ok(Err(ErrorCode::AppLinkUnknown.into()));
            };
            let client = tx
                .client(&request.client_id)?
                .ok_or(Error::Corrupt("a request of a removed client"))?;
            let (failures, _) = tx.failures(&ch.username)?;
            Ok(Ok(AppLoginPrompt {
                client_name: client.name,
                card_serial: ch.serial,
                key: ch.key,
                expires_at: ch.expires_at,
                attempts_left: lockout::attempts_left(failures),
            }))
        })
    }

    /// The request a link answers, if it still waits at the link's prompt.
    fn waiting_for_app(&self, tx: &Tx<'_>, row: &AppLinkRow) -> Result<Option<AuthRequestRow>> {
        let now = self.now();
        Ok(tx.auth_request(&row.request_id)?.filter(|r| {
            r.stage == Stage::Code
                && r.user_id.is_none()
                && r.login_id.as_deref() == Some(row.login_id.as_str())
                && now < r.expires_at
        }))
    }

    /// The app's code for an opened link, counted as on the pages. A right
    /// code marks the request as logged in; its browser takes it from there.
    pub fn oidc_app_code(&self, link: &str, ip: IpAddr, code: &Code) -> Result<AppLoginDone> {
        let hash = self.app_link_hash(link);
        let now = self.now();
        let row = self
            .store
            .read(|tx| tx.app_link(&hash))?
            .filter(|r| r.opened_at.is_some() && now < r.expires_at)
            .ok_or_else(unknown)?;
        if row.browser_ip != address(ip) {
            return Err(ErrorCode::AppLinkOtherComputer.into());
        }
        self.answer_challenge(
            ChallengeKind::Login,
            &row.login_id,
            None,
            code,
            |tx, ch, now| {
                // Checked inside the answer: if the page moved on meanwhile
                // (its own code, a cancel), nothing is consumed here.
                let mut request = self.waiting_for_app(tx, &row)?.ok_or_else(unknown)?;
                let client = tx
                    .client(&request.client_id)?
                    .ok_or(Error::Corrupt("a request of a removed client"))?;
                request.user_id = Some(ch.user_id.clone());
                request.auth_time = Some(now);
                tx.update_auth_request(&request)?;
                tx.delete_app_link(&hash)?;
                Ok(AppLoginDone {
                    client_name: client.name,
                })
            },
        )
    }

    /// Whether the code page of a request should load again: the app (or
    /// another tab) moved the login on. `None` if the request is gone.
    pub fn oidc_app_waiting(&self, id: &str, browser: &str) -> Result<Option<bool>> {
        self.store.read(|tx| {
            Ok(self
                .live_request(tx, id, browser)?
                .map(|r| r.stage == Stage::Code && r.user_id.is_none()))
        })
    }

    /// A request whose code the app took: this browser gets the provider
    /// session, then consent or the way back to the client.
    pub(super) fn take_from_app(
        &self,
        tx: &Tx<'_>,
        issuer: &Issuer,
        mut request: AuthRequestRow,
        browser: &str,
    ) -> Result<Step> {
        let (Some(user_id), Some(auth_time)) = (request.user_id.clone(), request.auth_time) else {
            return Err(Error::Corrupt(
                "a request taken from the app without a citizen",
            ));
        };
        let cookie = random_secret();
        tx.insert_op_session(&self.op_session_hash(&cookie), &user_id, auth_time)?;
        let next = if self.consented(tx, &request)? {
            Next::Redirect(self.issue_code(tx, issuer, &request)?)
        } else {
            request.stage = Stage::Consent;
            tx.update_auth_request(&request)?;
            self.view(tx, &request, browser, None)?
        };
        Ok(Step {
            next,
            new_session: Some(cookie),
        })
    }
}

/// Whether a request's code was typed in the app and its browser has not
/// taken the session yet.
pub(super) fn finished_in_app(request: &AuthRequestRow) -> bool {
    request.stage == Stage::Code && request.user_id.is_some()
}

//! Logins on the provider's pages that the citizen finishes in the desktop
//! app: one link per card prompt, stored as a keyed hash, with the address
//! the browser came from and how far the app got.

use time::OffsetDateTime;

use super::sql::{args, ts};
use super::Tx;
use crate::error::Result;

/// The link of one card prompt on the pages.
#[derive(Debug, Clone)]
pub struct AppLinkRow {
    pub link_hash: Vec<u8>,
    pub request_id: String,
    /// The card challenge the link answers; a new prompt gets a new link.
    pub login_id: String,
    /// The address the browser sent the password from.
    pub browser_ip: String,
    pub expires_at: OffsetDateTime,
    /// When an app opened the link: it opens once.
    pub opened_at: Option<OffsetDateTime>,
}

impl Tx<'_> {
    /// The request's link, replacing the link of its earlier prompt.
    pub fn put_app_link(&self, link: &AppLinkRow) -> Result<()> {
        self.exec(
            "DELETE FROM oidc_app_links WHERE request_id = ?1",
            args![&link.request_id],
        )?;
        self.exec(
            "INSERT INTO oidc_app_links
                 (link_hash, request_id, login_id, browser_ip, expires_at, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![
                &link.link_hash,
                &link.request_id,
                &link.login_id,
                &link.browser_ip,
                ts(link.expires_at),
                link.opened_at.map(ts)
            ],
        )?;
        Ok(())
    }

    pub fn app_link(&self, link_hash: &[u8]) -> Result<Option<AppLinkRow>> {
        self.query_opt(
            "SELECT link_hash, request_id, login_id, browser_ip, expires_at, opened_at
             FROM oidc_app_links WHERE link_hash = ?1",
            args![link_hash],
            |r| {
                Ok(AppLinkRow {
                    link_hash: r.bytes(0)?,
                    request_id: r.text(1)?,
                    login_id: r.text(2)?,
                    browser_ip: r.text(3)?,
                    expires_at: r.time(4)?,
                    opened_at: r.opt_time(5)?,
                })
            },
        )
    }

    /// Marks the link opened; `false` if it already was (it opens once).
    pub fn open_app_link(&self, link_hash: &[u8], now: OffsetDateTime) -> Result<bool> {
        Ok(self.exec(
            "UPDATE oidc_app_links SET opened_at = ?2 WHERE link_hash = ?1 AND opened_at IS NULL",
            args![link_hash, ts(now)],
        )? == 1)
    }

    pub fn delete_app_link(&self, link_hash: &[u8]) -> Result<()> {
        self.exec(
            "DELETE FROM oidc_app_links WHERE link_hash = ?1",
            args![link_hash],
        )?;
        Ok(())
    }
}

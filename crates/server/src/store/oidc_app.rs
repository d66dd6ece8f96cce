//! Logins on the provider's pages that the citizen finishes in the desktop
//! app: one link per card prompt, stored as a keyed hash, with the address
//! the browser came from and how far the app got.

use r2d2_sqlite::rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{from_ts, ts, Tx};
use crate::error::Result;

/// Migration 7: the app links.
pub(super) const MIGRATION: &str = "
    CREATE TABLE oidc_app_links (
        link_hash       BLOB PRIMARY KEY,
        request_id      TEXT NOT NULL UNIQUE REFERENCES oidc_requests(id) ON DELETE CASCADE,
        login_id        TEXT NOT NULL,
        browser_ip      TEXT NOT NULL,
        expires_at      INTEGER NOT NULL,
        opened_at       INTEGER
    ) STRICT, WITHOUT ROWID;
";

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
        self.0.execute(
            "DELETE FROM oidc_app_links WHERE request_id = ?1",
            [&link.request_id],
        )?;
        self.0.execute(
            "INSERT INTO oidc_app_links
                 (link_hash, request_id, login_id, browser_ip, expires_at, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                link.link_hash,
                link.request_id,
                link.login_id,
                link.browser_ip,
                ts(link.expires_at),
                link.opened_at.map(ts)
            ],
        )?;
        Ok(())
    }

    pub fn app_link(&self, link_hash: &[u8]) -> Result<Option<AppLinkRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT link_hash, request_id, login_id, browser_ip, expires_at, opened_at
                 FROM oidc_app_links WHERE link_hash = ?1",
                [link_hash],
                |r| {
                    Ok(AppLinkRow {
                        link_hash: r.get(0)?,
                        request_id: r.get(1)?,
                        login_id: r.get(2)?,
                        browser_ip: r.get(3)?,
                        expires_at: from_ts(r.get(4)?)?,
                        opened_at: r.get::<_, Option<i64>>(5)?.map(from_ts).transpose()?,
                    })
                },
            )
            .optional()?)
    }

    /// Marks the link opened; `false` if it already was (it opens once).
    pub fn open_app_link(&self, link_hash: &[u8], now: OffsetDateTime) -> Result<bool> {
        Ok(self.0.execute(
            "UPDATE oidc_app_links SET opened_at = ?2 WHERE link_hash = ?1 AND opened_at IS NULL",
            params![link_hash, ts(now)],
        )? == 1)
    }

    pub fn delete_app_link(&self, link_hash: &[u8]) -> Result<()> {
        self.0.execute(
            "DELETE FROM oidc_app_links WHERE link_hash = ?1",
            [link_hash],
        )?;
        Ok(())
    }
}

//! The provider's signing keys over the store: one current key per
//! algorithm, made on first use; rotation adds a new one and retires the
//! old, which stays in the JWKS until every token it signed has expired.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use time::OffsetDateTime;

use super::Service;
use crate::error::{Error, Result};
use crate::oidc::signing::{self, Alg, LoadedKey};
use crate::oidc::ID_TOKEN_LIFETIME;
use crate::store::{OidcKeyRow, Tx};

/// How long a retired key stays published: the longest an ID token it
/// signed is valid, with a margin for clocks that differ.
const RETIRED_KEY_KEPT: time::Duration = time::Duration::minutes(5);

/// A key as the operator sees it in `oidc-key list`.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Alg,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

fn aad(kid_row: &str) -> Vec<u8> {
    format!("kodekort oidc signing key v1 {kid_row}").into_bytes()
}

impl Service {
    /// The key that signs new ID tokens for `alg`, made if there is none.
    pub(super) fn current_oidc_key(&self, alg: Alg) -> Result<Arc<LoadedKey>> {
        if let Some(key) = self.store.read(|tx| self.current_in(tx, alg))? {
            return Ok(key);
        }
        // Made outside the write lock (RSA takes a moment); whoever commits
        // first wins, and the other's key is dropped unused.
        let fresh = self.new_key_row(alg)?;
        self.store.write(|tx| {
            if self.current_in(tx, alg)?.is_none() {
                tx.insert_oidc_key(&fresh)?;
            }
            Ok(())
        })?;
        self.store
            .read(|tx| self.current_in(tx, alg))?
            .ok_or(Error::Corrupt("no OpenID Connect key after making one"))
    }

    fn current_in(&self, tx: &Tx<'_>, alg: Alg) -> Result<Option<Arc<LoadedKey>>> {
        let row = tx
            .oidc_keys()?
            .into_iter()
            .filter(|k| k.alg == alg.as_str() && k.retired_at.is_none())
            .max_by_key(|k| k.created_at);
        row.map(|row| self.loaded(&row)).transpose()
    }

    fn loaded(&self, row: &OidcKeyRow) -> Result<Arc<LoadedKey>> {
        let alg = Alg::parse(&row.alg).ok_or(Error::Corrupt("an OpenID Connect key's alg"))?;
        self.oidc_keys.get_or_load(&row.kid, || {
            let der = self.keys.open(
                &aad(&row.kid),
                &row.sealed_private,
                "an OpenID Connect key does not decrypt with data.key",
            )?;
            signing::load(alg, &der)
        })
    }

    fn new_key_row(&self, alg: Alg) -> Result<OidcKeyRow> {
        let der = signing::generate(alg)?;
        let kid = signing::load(alg, &der)?.kid;
        Ok(OidcKeyRow {
            sealed_private: self.keys.seal(&aad(&kid), &der),
            kid,
            alg: alg.as_str().to_owned(),
            created_at: self.now(),
            retired_at: None,
        })
    }

    /// Every published key: the current one of each algorithm, and retired
    /// ones while a token they signed may still be valid.
    pub fn oidc_jwks(&self) -> Result<JwkSet> {
        for alg in Alg::ALL {
            self.current_oidc_key(alg)?;
        }
        let published = self.published_key_rows()?;
        let keys = published
            .iter()
            .map(|row| self.loaded(row))
            .collect::<Result<Vec<_>>>()?;
        Ok(signing::jwks(keys.iter().map(|k| k.as_ref())))
    }

    /// A published key by its id (current, or retired but still published).
    pub(super) fn published_key(&self, kid: &str) -> Result<Option<Arc<LoadedKey>>> {
        self.published_key_rows()?
            .iter()
            .find(|row| row.kid == kid)
            .map(|row| self.loaded(row))
            .transpose()
    }

    fn published_key_rows(&self) -> Result<Vec<OidcKeyRow>> {
        let now = self.now();
        let oldest_kept = now - ID_TOKEN_LIFETIME - RETIRED_KEY_KEPT;
        Ok(self
            .store
            .read(|tx| tx.oidc_keys())?
            .into_iter()
            .filter(|k| k.retired_at.is_none_or(|at| at >= oldest_kept))
            .collect())
    }

    /// Adds a new current key for each of `algs` and retires the old ones
    /// (they stay published until their tokens have expired), and deletes
    /// keys retired long enough ago.
    pub fn rotate_oidc_keys(&self, algs: &[Alg]) -> Result<Vec<KeyInfo>> {
        let rows = algs
            .iter()
            .map(|&alg| self.new_key_row(alg))
            .collect::<Result<Vec<_>>>()?;
        let now = self.now();
        self.store.write(|tx| {
            for row in &rows {
                tx.insert_oidc_key(row)?;
                tx.retire_oidc_keys(&row.alg, &row.kid, now)?;
            }
            tx.delete_oidc_keys_retired_before(now - ID_TOKEN_LIFETIME - RETIRED_KEY_KEPT)?;
            Ok(())
        })?;
        self.oidc_key_list()
    }

    /// Every stored key, oldest first.
    pub fn oidc_key_list(&self) -> Result<Vec<KeyInfo>> {
        self.store
            .read(|tx| tx.oidc_keys())?
            .into_iter()
            .map(|row| {
                Ok(KeyInfo {
                    alg: Alg::parse(&row.alg)
                        .ok_or(Error::Corrupt("an OpenID Connect key's alg"))?,
                    kid: row.kid,
                    created_at: row.created_at,
                    retired_at: row.retired_at,
                })
            })
            .collect()
    }
}

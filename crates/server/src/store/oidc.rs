//! The OpenID Connect provider's tables: signing keys (sealed), registered
//! clients, authorization requests in progress, codes, access tokens, the
//! provider's browser sessions and consents. Secrets (codes, tokens, cookie
//! values, client secrets) are stored only as keyed hashes.

use time::OffsetDateTime;

use super::sql::{args, ts, Row};
use super::{to_json, Tx};
use crate::error::{Error, Result};

/// A signing key of the provider, its private part sealed under `data.key`.
#[derive(Debug, Clone)]
pub struct OidcKeyRow {
    pub kid: String,
    pub alg: String,
    pub sealed_private: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

/// A registered relying party.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    /// For `client_secret_basic`; `None` for a public client or one with keys.
    pub secret_hash: Option<Vec<u8>>,
    /// For `private_key_jwt`: the client's public keys, a JWKS as JSON.
    pub jwks: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub sector: String,
    pub id_token_alg: String,
    pub created_at: OffsetDateTime,
}

/// Where an authorization request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Credentials,
    Code,
    Consent,
    Done,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Credentials => "credentials",
            Stage::Code => "code",
            Stage::Consent => "consent",
            Stage::Done => "done",
        }
    }

    fn parse(text: &str) -> Option<Stage> {
        Some(match text {
            "credentials" => Stage::Credentials,
            "code" => Stage::Code,
            "consent" => Stage::Consent,
            "done" => Stage::Done,
            _ => return None,
        })
    }
}

/// An authorization request in progress at the provider's pages.
#[derive(Debug, Clone)]
pub struct AuthRequestRow {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// The keyed hash of the browser cookie this request is bound to.
    pub browser_hash: Vec<u8>,
    pub lang: String,
    /// The card challenge of this login, once the password was right.
    pub login_id: Option<String>,
    pub user_id: Option<String>,
    pub auth_time: Option<OffsetDateTime>,
    pub stage: Stage,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// `prompt=consent`: ask even if the citizen agreed before.
    pub force_consent: bool,
}

/// An authorization code, bound to its client, redirect URI and challenge.
#[derive(Debug, Clone)]
pub struct AuthCodeRow {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

/// An access token for userinfo.
#[derive(Debug, Clone)]
pub struct AccessTokenRow {
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub expires_at: OffsetDateTime,
    pub revoked: bool,
}

/// The provider's own session with a browser (single sign-on).
#[derive(Debug, Clone)]
pub struct OpSessionRow {
    pub user_id: String,
    pub auth_time: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub revoked: bool,
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
     sector, id_token_alg, created_at, jwks";

fn client_from_row(r: &Row<'_>) -> Result<ClientRow> {
    Ok(ClientRow {
        id: r.text(0)?,
        name: r.text(1)?,
        secret_hash: r.opt_bytes(2)?,
        redirect_uris: r.json(3, "oidc_clients.redirect_uris")?,
        post_logout_redirect_uris: r.json(4, "oidc_clients.post_logout_redirect_uris")?,
        sector: r.text(5)?,
        id_token_alg: r.text(6)?,
        created_at: r.time(7)?,
        jwks: r.opt_text(8)?,
    })
}

const REQUEST_COLUMNS: &str = "id, client_id, redirect_uri, scope, state, nonce, code_challenge, \
     browser_hash, lang, login_id, user_id, auth_time, stage, created_at, expires_at, force_consent";

fn request_from_row(r: &Row<'_>) -> Result<AuthRequestRow> {
    Ok(AuthRequestRow {
        id: r.text(0)?,
        client_id: r.text(1)?,
        redirect_uri: r.text(2)?,
        scope: r.text(3)?,
        state: r.opt_text(4)?,
        nonce: r.opt_text(5)?,
        code_challenge: r.opt_text(6)?,
        browser_hash: r.bytes(7)?,
        lang: r.text(8)?,
        login_id: r.opt_text(9)?,
        user_id: r.opt_text(10)?,
        auth_time: r.opt_time(11)?,
        stage: Stage::parse(&r.text(12)?).ok_or(Error::Corrupt("oidc_requests.stage"))?,
        created_at: r.time(13)?,
        expires_at: r.time(14)?,
        force_consent: r.flag(15)?,
    })
}

impl Tx<'_> {
    // ---- signing keys ------------------------------------------------------

    pub fn insert_oidc_key(&self, k: &OidcKeyRow) -> Result<()> {
        self.exec(
            "INSERT INTO oidc_keys (kid, alg, sealed_private, created_at, retired_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            args![
                &k.kid,
                &k.alg,
                &k.sealed_private,
                ts(k.created_at),
                k.retired_at.map(ts)
            ],
        )?;
        Ok(())
    }

    /// Every key, oldest first.
    pub fn oidc_keys(&self) -> Result<Vec<OidcKeyRow>> {
        self.query(
            "SELECT kid, alg, sealed_private, created_at, retired_at FROM oidc_keys
             ORDER BY created_at, kid",
            args![],
            |r| {
                Ok(OidcKeyRow {
                    kid: r.text(0)?,
                    alg: r.text(1)?,
                    sealed_private: r.bytes(2)?,
                    created_at: r.time(3)?,
                    retired_at: r.opt_time(4)?,
                })
            },
        )
    }

    /// Retires every current key of `alg` (a newer one has been added).
    pub fn retire_oidc_keys(&self, alg: &str, except: &str, now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE oidc_keys SET retired_at = ?3
             WHERE alg = ?1 AND kid <> ?2 AND retired_at IS NULL",
            args![alg, except, ts(now)],
        )?;
        Ok(())
    }

    /// Deletes keys retired before `before`: no token they signed is valid.
    pub fn delete_oidc_keys_retired_before(&self, before: OffsetDateTime) -> Result<usize> {
        self.exec(
            "DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < ?1",
            args![ts(before)],
        )
    }

    // ---- clients -----------------------------------------------------------

    /// Inserts a client; `Ok(false)` if the id is taken.
    pub fn insert_client(&self, c: &ClientRow) -> Result<bool> {
        let n = self.exec(
            &format!(
                "INSERT INTO oidc_clients ({CLIENT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING"
            ),
            args![
                &c.id,
                &c.name,
                &c.secret_hash,
                to_json(&c.redirect_uris),
                to_json(&c.post_logout_redirect_uris),
                &c.sector,
                &c.id_token_alg,
                ts(c.created_at),
                &c.jwks
            ],
        )?;
        Ok(n == 1)
    }

    pub fn client(&self, id: &str) -> Result<Option<ClientRow>> {
        self.query_opt(
            &format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE id = ?1"),
            args![id],
            client_from_row,
        )
    }

    pub fn clients(&self) -> Result<Vec<ClientRow>> {
        self.query(
            &format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY created_at, id"),
            args![],
            client_from_row,
        )
    }

    /// Removes a client and everything issued to it; `false` if unknown.
    pub fn delete_client(&self, id: &str) -> Result<bool> {
        for table in [
            "oidc_tokens",
            "oidc_codes",
            "oidc_requests",
            "oidc_consents",
        ] {
            self.exec(
                &format!("DELETE FROM {table} WHERE client_id = ?1"),
                args![id],
            )?;
        }
        Ok(self.exec("DELETE FROM oidc_clients WHERE id = ?1", args![id])? == 1)
    }

    // ---- authorization requests -------------------------------------------

    pub fn insert_auth_request(&self, a: &AuthRequestRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO oidc_requests ({REQUEST_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ),
            args![
                &a.id,
                &a.client_id,
                &a.redirect_uri,
                &a.scope,
                &a.state,
                &a.nonce,
                &a.code_challenge,
                &a.browser_hash,
                &a.lang,
                &a.login_id,
                &a.user_id,
                a.auth_time.map(ts),
                a.stage.as_str(),
                ts(a.created_at),
                ts(a.expires_at),
                a.force_consent
            ],
        )?;
        Ok(())
    }

    pub fn auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>> {
        self.query_opt(
            &format!("SELECT {REQUEST_COLUMNS} FROM oidc_requests WHERE id = ?1"),
            args![id],
            request_from_row,
        )
    }

    /// Writes the request's progress (stage, challenge, citizen, language).
    pub fn update_auth_request(&self, a: &AuthRequestRow) -> Result<()> {
        self.exec(
            "UPDATE oidc_requests SET lang = ?2, login_id = ?3, user_id = ?4, auth_time = ?5,
                 stage = ?6 WHERE id = ?1",
            args![
                &a.id,
                &a.lang,
                &a.login_id,
                &a.user_id,
                a.auth_time.map(ts),
                a.stage.as_str()
            ],
        )?;
        Ok(())
    }

    /// Marks the password step of a request as running; `false` if it is
    /// not at that step or another submission runs it.
    pub fn claim_auth_request(&self, id: &str, claim: &str) -> Result<bool> {
        Ok(self.exec(
            "UPDATE oidc_requests SET login_id = ?2
             WHERE id = ?1 AND stage = 'credentials' AND login_id IS NULL",
            args![id, claim],
        )? == 1)
    }

    /// Ends a claim that did not lead to a card prompt.
    pub fn release_auth_request(&self, id: &str, claim: &str) -> Result<()> {
        self.exec(
            "UPDATE oidc_requests SET login_id = NULL WHERE id = ?1 AND login_id = ?2",
            args![id, claim],
        )?;
        Ok(())
    }

    /// Drops requests that ended or expired before `before`.
    pub fn delete_auth_requests_before(&self, before: OffsetDateTime) -> Result<()> {
        self.exec(
            "DELETE FROM oidc_requests WHERE expires_at < ?1",
            args![ts(before)],
        )?;
        Ok(())
    }

    // ---- codes and tokens --------------------------------------------------

    pub fn insert_auth_code(&self, c: &AuthCodeRow) -> Result<()> {
        self.exec(
            "INSERT INTO oidc_codes (code_hash, client_id, redirect_uri, user_id, scope, nonce,
                 code_challenge, auth_time, expires_at, used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)",
            args![
                &c.code_hash,
                &c.client_id,
                &c.redirect_uri,
                &c.user_id,
                &c.scope,
                &c.nonce,
                &c.code_challenge,
                ts(c.auth_time),
                ts(c.expires_at)
            ],
        )?;
        Ok(())
    }

    pub fn auth_code(&self, code_hash: &[u8]) -> Result<Option<AuthCodeRow>> {
        self.query_opt(
            "SELECT code_hash, client_id, redirect_uri, user_id, scope, nonce, code_challenge,
                    auth_time, expires_at, used_at
             FROM oidc_codes WHERE code_hash = ?1",
            args![code_hash],
            |r| {
                Ok(AuthCodeRow {
                    code_hash: r.bytes(0)?,
                    client_id: r.text(1)?,
                    redirect_uri: r.text(2)?,
                    user_id: r.text(3)?,
                    scope: r.text(4)?,
                    nonce: r.opt_text(5)?,
                    code_challenge: r.opt_text(6)?,
                    auth_time: r.time(7)?,
                    expires_at: r.time(8)?,
                    used: !r.is_null(9)?,
                })
            },
        )
    }

    /// Marks a code used; `false` if it already was (of two racing
    /// exchanges exactly one gets `true`).
    pub fn use_auth_code(&self, code_hash: &[u8], now: OffsetDateTime) -> Result<bool> {
        Ok(self.exec(
            "UPDATE oidc_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL",
            args![code_hash, ts(now)],
        )? == 1)
    }

    pub fn insert_access_token(
        &self,
        token_hash: &[u8],
        code_hash: &[u8],
        t: &AccessTokenRow,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO oidc_tokens (token_hash, code_hash, client_id, user_id, scope, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![
                token_hash,
                code_hash,
                &t.client_id,
                &t.user_id,
                &t.scope,
                ts(t.expires_at)
            ],
        )?;
        Ok(())
    }

    pub fn access_token(&self, token_hash: &[u8]) -> Result<Option<AccessTokenRow>> {
        self.query_opt(
            "SELECT client_id, user_id, scope, expires_at, revoked_at
             FROM oidc_tokens WHERE token_hash = ?1",
            args![token_hash],
            |r| {
                Ok(AccessTokenRow {
                    client_id: r.text(0)?,
                    user_id: r.text(1)?,
                    scope: r.text(2)?,
                    expires_at: r.time(3)?,
                    revoked: !r.is_null(4)?,
                })
            },
        )
    }

    /// Revokes every token issued for a code (the code was replayed).
    pub fn revoke_tokens_of_code(&self, code_hash: &[u8], now: OffsetDateTime) -> Result<usize> {
        self.exec(
            "UPDATE oidc_tokens SET revoked_at = ?2 WHERE code_hash = ?1 AND revoked_at IS NULL",
            args![code_hash, ts(now)],
        )
    }

    /// Records a client assertion's id; `false` if it was seen before (a
    /// replay). Ids of expired assertions are forgotten.
    pub fn record_assertion(
        &self,
        jti_hash: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.exec(
            "DELETE FROM oidc_assertions WHERE expires_at < ?1",
            args![ts(now)],
        )?;
        Ok(self.exec(
            "INSERT INTO oidc_assertions (jti_hash, expires_at) VALUES (?1, ?2)
             ON CONFLICT DO NOTHING",
            args![jti_hash, ts(expires_at)],
        )? == 1)
    }

    // ---- the provider's browser sessions and consents ---------------------

    pub fn insert_op_session(
        &self,
        cookie_hash: &[u8],
        user_id: &str,
        auth_time: OffsetDateTime,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO oidc_sessions (cookie_hash, user_id, auth_time, created_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?3, ?3)",
            args![cookie_hash, user_id, ts(auth_time)],
        )?;
        Ok(())
    }

    pub fn op_session(&self, cookie_hash: &[u8]) -> Result<Option<OpSessionRow>> {
        self.query_opt(
            "SELECT user_id, auth_time, created_at, last_seen_at, revoked_at
             FROM oidc_sessions WHERE cookie_hash = ?1",
            args![cookie_hash],
            |r| {
                Ok(OpSessionRow {
                    user_id: r.text(0)?,
                    auth_time: r.time(1)?,
                    created_at: r.time(2)?,
                    last_seen_at: r.time(3)?,
                    revoked: !r.is_null(4)?,
                })
            },
        )
    }

    pub fn touch_op_session(&self, cookie_hash: &[u8], now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE oidc_sessions SET last_seen_at = ?2 WHERE cookie_hash = ?1",
            args![cookie_hash, ts(now)],
        )?;
        Ok(())
    }

    pub fn revoke_op_session(&self, cookie_hash: &[u8], now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE oidc_sessions SET revoked_at = ?2 WHERE cookie_hash = ?1 AND revoked_at IS NULL",
            args![cookie_hash, ts(now)],
        )?;
        Ok(())
    }

    /// Ends every provider session of a citizen.
    pub fn revoke_op_sessions_of_user(&self, user_id: &str, now: OffsetDateTime) -> Result<()> {
        self.exec(
            "UPDATE oidc_sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            args![user_id, ts(now)],
        )?;
        Ok(())
    }

    /// Forgets what can no longer be used: codes and access tokens a day
    /// past their end (kept that long so a replay is still recognised), and
    /// provider sessions past the longest a session lives.
    pub fn purge_oidc(
        &self,
        codes_before: OffsetDateTime,
        sessions_before: OffsetDateTime,
    ) -> Result<()> {
        self.exec(
            "DELETE FROM oidc_codes WHERE expires_at < ?1",
            args![ts(codes_before)],
        )?;
        self.exec(
            "DELETE FROM oidc_tokens WHERE expires_at < ?1",
            args![ts(codes_before)],
        )?;
        self.exec(
            "DELETE FROM oidc_sessions WHERE created_at < ?1",
            args![ts(sessions_before)],
        )?;
        Ok(())
    }

    /// The scopes the citizen already agreed to share with the client.
    pub fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<String>> {
        self.query_opt(
            "SELECT scope FROM oidc_consents WHERE user_id = ?1 AND client_id = ?2",
            args![user_id, client_id],
            |r| r.text(0),
        )
    }

    pub fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO oidc_consents (user_id, client_id, scope, granted_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = ?3, granted_at = ?4",
            args![user_id, client_id, scope, ts(now)],
        )?;
        Ok(())
    }
}

//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): a service
//! sends the browser here to end the provider's session, and may name
//! where to go afterwards. That address must be registered for the client
//! the request identifies, or nobody is sent there: the endpoint is never
//! an open redirect.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::oidc::PageError;
use super::Service;
use crate::error::Result;
use crate::oidc::pages::Lang;
use crate::oidc::signing::Alg;
use crate::oidc::{Issuer, MAX_PARAM_CHARS};

/// A logout request's parameters (query or form).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub ui_locales: Option<String>,
}

/// Where a logout request goes.
#[derive(Debug, Clone)]
pub enum Logout {
    /// The session ended; back to the client's registered address.
    Redirect(String),
    /// The session ended; a page says so.
    Done(Lang),
    /// No proof that the client asked (no valid `id_token_hint`): the
    /// citizen confirms first, so a forged link cannot log anyone out.
    Confirm {
        lang: Lang,
        csrf: String,
        params: LogoutParams,
        /// The origin of the registered address the form leads on to, for
        /// the page's CSP `form-action`.
        back_to_origin: Option<String>,
    },
    ErrorPage(PageError, Lang),
}

/// The claims a logout reads from an ID token it issued.
#[derive(Deserialize)]
struct HintClaims {
    aud: String,
    sub: String,
}

impl Service {
    /// The value the logout confirmation form carries, tied to the browser.
    fn logout_csrf(&self, browser: &str) -> String {
        B64URL.encode(
            self.keys
                .keyed_hash("kodekort oidc logout csrf v1", &[browser.as_bytes()]),
        )
    }

    /// The client and subject of an ID token this provider signed, if the
    /// token is ours. It may have expired: a hint is still a hint.
    fn hint_claims(&self, issuer: &Issuer, token: &str) -> Result<Option<HintClaims>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let Some(kid) = header.kid else {
            return Ok(None);
        };
        let Some(key) = self.published_key(&kid)? else {
            return Ok(None);
        };
        if Alg::from_jose(header.alg) != Some(key.alg) {
            return Ok(None);
        }
        let Ok(decoding) = DecodingKey::from_jwk(&key.jwk) else {
            return Ok(None);
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["iss", "aud", "sub"]);
        validation.set_issuer(&[issuer.as_str()]);
        Ok(
            jsonwebtoken::decode::<HintClaims>(token, &decoding, &validation)
                .ok()
                .map(|data| data.claims),
        )
    }

    /// A logout request from a client, through the browser. `confirmed`
    /// carries the CSRF value of the confirmation form, once the citizen
    /// has answered it.
    pub fn oidc_logout(
        &self,
        issuer: &Issuer,
        params: &LogoutParams,
        browser: &str,
        session_cookie: Option<&str>,
        confirmed: Option<&str>,
    ) -> Result<Logout> {
        let lang = Lang::from_ui_locales(params.ui_locales.as_deref());
        let too_long =
            |v: &Option<String>| v.as_ref().is_some_and(|v| v.len() > 4 * MAX_PARAM_CHARS);
        if too_long(&params.id_token_hint) || too_long(&params.state) {
            return Ok(Logout::ErrorPage(PageError::LogoutNotAllowed, lang));
        }
        let hint = match &params.id_token_hint {
            Some(token) => self.hint_claims(issuer, token)?,
            None => None,
        };
        let hinted = hint.as_ref().map(|h| h.aud.clone());
        let client_id = match (&hinted, &params.client_id) {
            (Some(a), Some(b)) if a != b => {
                return Ok(Logout::ErrorPage(PageError::LogoutNotAllowed, lang))
            }
            (Some(id), _) | (None, Some(id)) => Some(id.clone()),
            (None, None) => None,
        };
        let client = match &client_id {
            Some(id) if id.len() <= MAX_PARAM_CHARS => self.store.read(|tx| tx.client(id))?,
            _ => None,
        };
        // Only an address the identified client registered, exactly.
        let back_to = match (&params.post_logout_redirect_uri, &client) {
            (None, _) => None,
            (Some(uri), Some(client)) if client.post_logout_redirect_uris.contains(uri) => {
                Some(uri.clone())
            }
            (Some(_), _) => return Ok(Logout::ErrorPage(PageError::LogoutNotAllowed, lang)),
        };
        // A hint proves the request only for the citizen it names: someone
        // else's ID token must not log this browser out unasked.
        let session_user = self.store.read(|tx| {
            Ok(self
                .live_op_session_of(tx, session_cookie)?
                .map(|s| s.user_id))
        })?;
        let hint_matches = match (&hint, &client, &session_user) {
            (Some(hint), Some(client), Some(user)) => {
                self.pairwise_sub(&client.sector, user) == hint.sub
            }
            // No session here: there is nothing to end, and nobody to protect.
            (Some(_), Some(_), None) => true,
            _ => false,
        };
        let proven = hint_matches
            || confirmed.is_some_and(|sent| {
                self.logout_csrf(browser)
                    .as_bytes()
                    .ct_eq(sent.as_bytes())
                    .into()
            });
        if !proven {
            return Ok(Logout::Confirm {
                lang,
                csrf: self.logout_csrf(browser),
                params: params.clone(),
                back_to_origin: back_to.as_deref().map(super::oidc::origin_of),
            });
        }
        if let Some(cookie) = session_cookie {
            self.oidc_end_session(cookie)?;
        }
        Ok(match back_to {
            Some(uri) => {
                let mut url = url::Url::parse(&uri).expect("registered URIs parse");
                if let Some(state) = &params.state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Logout::Redirect(url.into())
            }
            None => Logout::Done(lang),
        })
    }
}

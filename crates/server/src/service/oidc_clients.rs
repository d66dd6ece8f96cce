//! Registering the services that log citizens in (OpenID Connect clients):
//! exact redirect URIs, a secret shown once and stored as a keyed hash, the
//! sector that their pairwise `sub` values are computed for, and the
//! algorithm of their ID tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use kodekort_proto::ErrorCode;
use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;

use super::{new_id, Service, MAX_NAME_CHARS};
use crate::error::{ApiError, Error, Result};
use crate::oidc::signing::Alg;
use crate::oidc::MAX_PARAM_CHARS;
use crate::store::ClientRow;

/// What an operator asks for in `client add`.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (a browser or native app) has no secret and must
    /// use PKCE.
    pub public: bool,
    /// A confidential client that authenticates with `private_key_jwt`:
    /// its public keys, as a JWKS (JSON). It gets no secret.
    pub jwks: Option<String>,
    /// The sector of its pairwise `sub`; by default the redirect URIs' host.
    pub sector: Option<String>,
    pub id_token_alg: Alg,
}

/// A registered client, as `client list` shows it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: String,
    pub name: String,
    pub public: bool,
    /// `client_secret_basic`, `private_key_jwt`, or `none` (public).
    pub auth_method: &'static str,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub sector: String,
    pub id_token_alg: Alg,
    pub created_at: OffsetDateTime,
}

/// A client secret, shown once. `Debug` prints `***`.
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

fn refused(detail: String) -> Error {
    ApiError {
        code: ErrorCode::InvalidRequest,
        attempts_left: None,
        locked_until: None,
        detail: Some(detail),
    }
    .into()
}

/// A redirect URI a client may register: absolute, no fragment, and HTTPS,
/// or plain HTTP to a loopback address only (RFC 8252 7.3, native apps).
pub fn check_redirect_uri(uri: &str) -> std::result::Result<Url, String> {
    if uri.chars().count() > MAX_PARAM_CHARS {
        return Err(format!("{uri}: longer than {MAX_PARAM_CHARS} characters"));
    }
    let url = Url::parse(uri).map_err(|e| format!("{uri}: not an absolute URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri}: a redirect URI has no fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{uri}: a redirect URI has no user name or password"
        ));
    }
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "{uri}: must be https (or http to a loopback address)"
        )),
    }
}

impl Service {
    pub(super) fn client_secret_hash(&self, secret: &str) -> [u8; 32] {
        self.keys
            .keyed_hash("kodekort oidc client secret v1", &[secret.as_bytes()])
    }

    /// Whether `secret` is the client's, in constant time.
    pub(super) fn client_secret_matches(&self, client: &ClientRow, secret: &str) -> bool {
        match &client.secret_hash {
            Some(stored) => self
                .client_secret_hash(secret)
                .ct_eq(stored.as_slice())
                .into(),
            None => false,
        }
    }

    /// Registers a client; the secret (for a confidential client) is
    /// returned once and stored only as a keyed hash.
    pub fn add_client(&self, new: &NewClient) -> Result<(ClientInfo, Option<ClientSecret>)> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(refused(format!(
                "the name must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if new.redirect_uris.is_empty() {
            return Err(refused("give at least one --redirect-uri".into()));
        }
        let mut hosts = Vec::new();
        let mut loopback = false;
        for uri in new
            .redirect_uris
            .iter()
            .chain(&new.post_logout_redirect_uris)
        {
            let url = check_redirect_uri(uri).map_err(refused)?;
            loopback |= url.scheme() == "http";
            hosts.push(url.host_str().unwrap_or_default().to_owned());
        }
        let id = new_id("client");
        let sector = match &new.sector {
            Some(sector) if !sector.trim().is_empty() => sector.trim().to_owned(),
            Some(_) => return Err(refused("the sector is empty".into())),
            // Every native app on every computer has the loopback host: a
            // sector of its own, or unrelated apps could match citizens.
            None if loopback => id.clone(),
            None => {
                hosts.sort();
                hosts.dedup();
                match hosts.as_slice() {
                    [one] => one.clone(),
                    _ => {
                        return Err(refused(
                            "the redirect URIs have different hosts: give --sector, the one \
                             name their pairwise subject identifiers are made for"
                                .into(),
                        ))
                    }
                }
            }
        };
        if new.public && new.jwks.is_some() {
            return Err(refused(
                "a public client has no keys: drop --public or --jwks".into(),
            ));
        }
        if let Some(jwks) = &new.jwks {
            check_client_jwks(jwks).map_err(refused)?;
        }
        let secret = (!new.public && new.jwks.is_none()).then(|| {
            let mut raw = [0u8; 32];
            OsRng.fill_bytes(&mut raw);
            ClientSecret(B64URL.encode(raw))
        });
        let row = ClientRow {
            id,
            name: name.to_owned(),
            secret_hash: secret
                .as_ref()
                .map(|s| self.client_secret_hash(s.expose()).to_vec()),
            jwks: new.jwks.clone(),
            redirect_uris: new.redirect_uris.clone(),
            post_logout_redirect_uris: new.post_logout_redirect_uris.clone(),
            sector,
            id_token_alg: new.id_token_alg.as_str().to_owned(),
            created_at: self.now(),
        };
        if !self.store.write(|tx| tx.insert_client(&row))? {
            return Err(Error::Corrupt("a new client id was taken"));
        }
        Ok((client_info(row)?, secret))
    }

    /// Every registered client, oldest first.
    pub fn clients(&self) -> Result<Vec<ClientInfo>> {
        self.store
            .read(|tx| tx.clients())?
            .into_iter()
            .map(client_info)
            .collect()
    }

    /// Removes a client and ends everything issued to it.
    pub fn remove_client(&self, id: &str) -> Result<()> {
        if self.store.write(|tx| tx.delete_client(id))? {
            Ok(())
        } else {
            Err(ErrorCode::NotFound.into())
        }
    }
}

/// A client's public keys: a JWKS of RSA, EC or OKP keys usable for
/// signatures, each with a `kid` when there are several, and no private or
/// symmetric key (a client that sends its private key has made a mistake
/// that must not be stored).
pub fn check_client_jwks(text: &str) -> std::result::Result<(), String> {
    let raw: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
    let keys = raw["keys"]
        .as_array()
        .filter(|k| !k.is_empty())
        .ok_or("the JWKS has no \"keys\"")?;
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            if key.get(private).is_some() {
                return Err(format!(
                    "the JWKS holds a private or symmetric key (member \"{private}\"): give only public keys"
                ));
            }
        }
        if keys.len() > 1 && key["kid"].as_str().is_none_or(str::is_empty) {
            return Err("with several keys, each needs a \"kid\"".into());
        }
    }
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(raw).map_err(|e| format!("the JWKS is not valid: {e}"))?;
    for jwk in &set.keys {
        jsonwebtoken::DecodingKey::from_jwk(jwk)
            .map_err(|e| format!("a key of the JWKS cannot verify signatures: {e}"))?;
    }
    Ok(())
}

fn client_info(row: ClientRow) -> Result<ClientInfo> {
    Ok(ClientInfo {
        public: row.secret_hash.is_none() && row.jwks.is_none(),
        auth_method: match (&row.secret_hash, &row.jwks) {
            (Some(_), _) => "client_secret_basic",
            (None, Some(_)) => "private_key_jwt",
            (None, None) => "none",
        },
        id_token_alg: Alg::parse(&row.id_token_alg)
            .ok_or(Error::Corrupt("a client's id_token_alg"))?,
        id: row.id,
        name: row.name,
        redirect_uris: row.redirect_uris,
        post_logout_redirect_uris: row.post_logout_redirect_uris,
        sector: row.sector,
        created_at: row.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http_without_fragment() {
        assert!(check_redirect_uri("https://skat.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8080/cb").is_ok());
        assert!(check_redirect_uri("http://[::1]/cb").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("http://skat.example/cb").is_err());
        assert!(check_redirect_uri("https://skat.example/cb#x").is_err());
        assert!(check_redirect_uri("https://u:p@skat.example/cb").is_err());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }
}

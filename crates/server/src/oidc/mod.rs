//! The OpenID Connect provider: a service's web site sends the citizen here
//! and gets back a verified identity, with the same username, password,
//! code card and lock-out rules as the API.
//!
//! - `signing`: the ID-token keys and the JWKS (aws-lc-rs, jsonwebtoken);
//! - `web`: the HTTP endpoints (discovery, authorize, the login pages,
//!   token, userinfo) and the browser's cookies;
//! - `pages`: the login pages as HTML, in Danish and English, without
//!   JavaScript;
//! - the rules are in `service/oidc.rs` (flows), `service/oidc_clients.rs`
//!   (registration) and `service/oidc_keys.rs` (key life), over the store.

use serde::Serialize;
use time::Duration;

pub mod openapi;
pub mod pages;
pub mod signing;
pub mod web;

/// An authorization code is exchanged within this (RFC 9700: short-lived).
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// An access token (for userinfo) is valid this long.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(10);
/// An ID token's `exp` is this long after it was issued.
pub const ID_TOKEN_LIFETIME: Duration = Duration::minutes(5);
/// How long the citizen has to get through the login pages.
pub const REQUEST_LIFETIME: Duration = Duration::minutes(15);
/// Single sign-on: a second service logs the citizen in without a new code
/// only this long after the last code was typed (and while the provider's
/// session lives: 30 minutes idle, 12 hours in all).
pub const SSO_MAX_AGE: Duration = Duration::hours(1);

/// The level of assurance of a password and a code card: "substantial" in
/// eIDAS terms, named by the URI that eIDAS nodes use for it.
pub const ACR_SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";
/// How the citizen authenticated (RFC 8176): a password and a one-time code.
pub const AMR: [&str; 2] = ["pwd", "otp"];

/// The scopes this provider knows. Others in a request are ignored.
pub const SCOPES: [&str; 2] = ["openid", "profile"];

/// Longest `state`, `nonce`, `client_id` or URI accepted from a client.
pub const MAX_PARAM_CHARS: usize = 1024;

/// The provider's public base URL: `iss` in every token, and the base of
/// every endpoint in the discovery document. No trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    /// `url` must be `https://host[:port]`, with no path, query or
    /// fragment: the endpoints are served from the root.
    pub fn parse(url: &str) -> Option<Issuer> {
        let parsed = url::Url::parse(url).ok()?;
        if parsed.scheme() != "https"
            || parsed.host_str().is_none()
            || parsed.path() != "/"
            || parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
        {
            return None;
        }
        Some(Issuer(url.trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An endpoint's full URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// An OAuth error answer (RFC 6749 5.2), as RP libraries parse it: the
/// provider's endpoints speak OAuth's error format, not the API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    #[schema(value_type = String)]
    pub error: &'static str,
    pub error_description: String,
    #[serde(skip)]
    pub status: u16,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = match error {
            "invalid_client" | "invalid_token" => 401,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        };
        OAuthError {
            error,
            error_description: description.into(),
            status,
        }
    }
}

/// The ID token's claims (OIDC Core 2, 5.1).
#[derive(Debug, Clone, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: &'static str,
    pub amr: [&'static str; 2],
    pub at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the token endpoint answers (RFC 6749 5.1, OIDC Core 3.1.3.3).
/// No `Debug`: it holds the access token.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(value_type = String)]
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub scope: String,
}

/// The discovery document (OpenID Connect Discovery 1.0, section 3).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    #[schema(value_type = Vec<String>)]
    pub scopes_supported: [&'static str; 2],
    #[schema(value_type = Vec<String>)]
    pub response_types_supported: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    pub response_modes_supported: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    pub grant_types_supported: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    pub subject_types_supported: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    pub id_token_signing_alg_values_supported: [&'static str; 3],
    #[schema(value_type = Vec<String>)]
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    #[schema(value_type = Vec<String>)]
    pub token_endpoint_auth_signing_alg_values_supported: [&'static str; 3],
    #[schema(value_type = Vec<String>)]
    pub code_challenge_methods_supported: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    pub claims_supported: [&'static str; 12],
    #[schema(value_type = Vec<String>)]
    pub acr_values_supported: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    pub ui_locales_supported: [&'static str; 2],
    #[schema(value_type = Vec<String>)]
    pub prompt_values_supported: [&'static str; 3],
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub authorization_response_iss_parameter_supported: bool,
}

impl Discovery {
    pub fn new(issuer: &Issuer) -> Discovery {
        Discovery {
            issuer: issuer.as_str().to_owned(),
            authorization_endpoint: issuer.url(web::AUTHORIZE_PATH),
            token_endpoint: issuer.url(web::TOKEN_PATH),
            userinfo_endpoint: issuer.url(web::USERINFO_PATH),
            jwks_uri: issuer.url(web::JWKS_PATH),
            end_session_endpoint: issuer.url(web::LOGOUT_PATH),
            scopes_supported: SCOPES,
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: ["authorization_code"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256", "ES256", "EdDSA"],
            token_endpoint_auth_methods_supported: [
                "client_secret_basic",
                "private_key_jwt",
                "none",
            ],
            token_endpoint_auth_signing_alg_values_supported: ["RS256", "ES256", "EdDSA"],
            code_challenge_methods_supported: ["S256"],
            claims_supported: [
                "iss",
                "sub",
                "aud",
                "azp",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "at_hash",
                "name",
            ],
            acr_values_supported: [ACR_SUBSTANTIAL],
            ui_locales_supported: ["da", "en"],
            prompt_values_supported: ["none", "login", "consent"],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_is_an_https_url_without_query_or_trailing_slash() {
        assert_eq!(
            Issuer::parse("https://id.example/").unwrap().as_str(),
            "https://id.example"
        );
        assert_eq!(
            Issuer::parse("https://localhost:8443")
                .unwrap()
                .url("/oidc/token"),
            "https://localhost:8443/oidc/token"
        );
        assert!(Issuer::parse("https://id.example/op").is_none(), "no path");
        assert!(Issuer::parse("http://id.example").is_none());
        assert!(Issuer::parse("https://id.example/?x=1").is_none());
        assert!(Issuer::parse("https://user@id.example").is_none());
        assert!(Issuer::parse("not a url").is_none());
    }
}

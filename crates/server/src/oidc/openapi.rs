//! The OpenAPI document of the provider's JSON endpoints (discovery, JWKS,
//! token, userinfo), served at `/oidc/openapi.json`. It is a document of
//! its own because these endpoints live at the root, not under `/api/v1`,
//! and answer in OAuth's error format. The HTML pages are not in it.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{Discovery, OAuthError, TokenResponse};
use crate::service::oidc::TokenRequest;

/// One public key of the JWKS (RFC 7517): RSA (`n`, `e`), EC (`crv`, `x`,
/// `y`) or OKP (`crv`, `x`).
#[derive(Serialize, ToSchema)]
pub struct JwkDoc {
    pub kty: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    #[schema(rename = "use")]
    pub use_: String,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

/// The provider's published keys.
#[derive(Serialize, ToSchema)]
pub struct JwksDoc {
    pub keys: Vec<JwkDoc>,
}

/// What userinfo answers: the pairwise subject, and the name with `profile`.
#[derive(Serialize, ToSchema)]
pub struct UserinfoDoc {
    pub sub: String,
    pub name: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kodekort OpenID Connect provider",
        version = "1",
        description = "The provider's JSON endpoints. Errors are OAuth's `{\"error\", \"error_description\"}` (RFC 6749 5.2). The login pages are HTML and not described here."
    ),
    servers((url = "/")),
    components(schemas(OAuthError, TokenRequest, TokenResponse, Discovery, JwksDoc, JwkDoc, UserinfoDoc)),
    modifiers(&ClientAuth),
    tags((name = "oidc", description = "OpenID Connect"))
)]
pub struct OidcDoc;

struct ClientAuth;

impl utoipa::Modify for ClientAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

//! Links from the OpenID Connect provider's code page,
//! `kodekort://login/LINK`: a login begun in a browser whose code the
//! citizen types in the desktop app. LINK is opaque to the client; only
//! its shape is checked here, and the server it came from is the one the
//! app is set up for (a link of another server is simply unknown there).

use crate::error::{ClientError, Result};

/// The only form the provider's pages write.
const PREFIX: &str = "kodekort://login/";

/// A login link, checked for shape.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginLink(String);

impl LoginLink {
    /// `kodekort://login/` and 43 base64url characters (32 bytes), nothing
    /// more: no query, no fragment, no other host.
    pub fn parse(url: &str) -> Result<LoginLink> {
        let id = url
            .strip_prefix(PREFIX)
            .ok_or(ClientError::InvalidLoginLink)?;
        let shaped = id.len() == 43
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if shaped {
            Ok(LoginLink(id.to_owned()))
        } else {
            Err(ClientError::InvalidLoginLink)
        }
    }

    /// The opaque part, for `POST /app-logins/{link}`.
    pub fn id(&self) -> &str {
        &self.0
    }
}

/// The link is a capability for minutes: not for logs.
impl std::fmt::Debug for LoginLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLink(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pages_own_form_is_a_link() {
        let id = "a".repeat(43);
        assert_eq!(
            LoginLink::parse(&format!("kodekort://login/{id}"))
                .unwrap()
                .id(),
            id
        );
        for bad in [
            format!("kodekort://login/{id}?x=1"),
            format!("kodekort://login/{id}/"),
            format!("kodekort://other/{id}"),
            format!("https://login/{id}"),
            format!("KODEKORT://login/{id}"),
            "kodekort://login/short".to_owned(),
            format!("kodekort://login/{}", "a".repeat(44)),
            format!("kodekort://login/{}%2F", "a".repeat(40)),
            String::new(),
        ] {
            assert!(
                matches!(LoginLink::parse(&bad), Err(ClientError::InvalidLoginLink)),
                "{bad}"
            );
        }
    }
}

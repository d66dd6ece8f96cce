//! Secrets that cross the wire. Their `Debug` prints `***` so that a
//! `tracing::debug!(?request)` can never leak one; reading the value takes
//! an explicit `expose()`.

use serde::{Deserialize, Serialize};

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret itself. Call sites are easy to audit with grep.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }
    };
}

secret_string!(
    /// A citizen's password.
    Password
);
secret_string!(
    /// A one-time code from the code card.
    Code
);
impl Code {
    /// A code as typed: six ASCII digits, with spaces and dashes ignored
    /// (cards print codes as `123 456`). Anything else is `None`.
    pub fn parse(typed: &str) -> Option<Code> {
        let digits: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Code(digits))
    }
}

secret_string!(
    /// A session token (bearer).
    Token
);
secret_string!(
    /// A service provider's API key (bearer).
    ProviderKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let p = Password::new("correct horse");
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(format!("{:?}", Code::new("123456")), "Code(***)");
        assert_eq!(format!("{:?}", Token::new("abc")), "Token(***)");
        assert_eq!(format!("{:?}", ProviderKey::new("k")), "ProviderKey(***)");
        assert_eq!(p.expose(), "correct horse");
    }

    #[test]
    fn a_code_is_six_digits_with_spaces_and_dashes_ignored() {
        assert_eq!(Code::parse(" 123 456\n").unwrap().expose(), "123456");
        assert_eq!(Code::parse("123-456").unwrap().expose(), "123456");
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦", "１２３４５６", ""] {
            assert!(Code::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn serializes_as_plain_string() {
        let c: Code = serde_json::from_str("\"123456\"").unwrap();
        assert_eq!(c.expose(), "123456");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"123456\"");
    }
}

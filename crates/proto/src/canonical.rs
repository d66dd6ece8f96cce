//! The one canonical form of every envelope field (PROTOCOL.md, "Canonical
//! form"). An envelope that spells any field another way is `malformed`,
//! even where it would decode to the same bytes: a verifier in another
//! language must accept exactly what this one accepts.
//!
//! Two checks: [`parse_envelope`] reads JSON text (members exactly once,
//! strings with only the escapes JSON requires, a plain integer version),
//! and [`check_fields`] checks the decoded values (ids, key ids, hex,
//! base64), whichever way the envelope arrived.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::id::{is_key_id, is_sha256_hex, is_valid_id};
use crate::signing::{Envelope, VerifyError};

/// Where an envelope left its canonical form, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformation {
    /// The member's path, such as `certificate.not_before`; empty for the
    /// file as a whole.
    pub field: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not UTF-8 JSON text, or something after the value.
    NotJson,
    /// A member the envelope does not have.
    Unknown,
    Missing,
    /// A member given twice.
    Repeated,
    /// A value of the wrong type, or not written in its one form.
    Form,
}

impl Problem {
    /// A stable word for machine output.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::NotJson => "not_json",
            Problem::Unknown => "unknown_member",
            Problem::Missing => "missing_member",
            Problem::Repeated => "repeated_member",
            Problem::Form => "not_canonical",
        }
    }
}

impl std::fmt::Display for Malformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {:?}", self.problem.as_str(), self.field)
    }
}

/// Reads an envelope file: the envelope object itself, or the API's answer
/// `{"envelope": …}` with no other member. Insignificant whitespace and the
/// order of members are free; everything else has one form.
pub fn parse_envelope(json: &[u8]) -> Result<Envelope, VerifyError> {
    let text =
        std::str::from_utf8(json).map_err(|_| VerifyError::Malformed(whole(Problem::NotJson)))?;
    if let Ok(wrapper) = from_str::<Wrapper<'_>>(text) {
        return parse_bare(wrapper.envelope.get(), "envelope.");
    }
    parse_bare(text, "")
}

/// The bare envelope, with `prefix` before every field path in errors.
fn parse_bare(text: &str, prefix: &str) -> Result<Envelope, VerifyError> {
    let at = |mut m: Malformation| {
        if !m.field.is_empty() {
            m.field.insert_str(0, prefix);
        }
        VerifyError::Malformed(m)
    };
    // The typed pass names the first missing, repeated, unknown or
    // mistyped member, and refuses times not in their one spelling.
    let envelope: Envelope = from_str(text).map_err(at)?;
    // The raw pass sees how each value was written.
    let raw: RawEnvelope<'_> = from_str(text).map_err(at)?;
    raw.check().map_err(|path| {
        at(Malformation {
            field: path.to_owned(),
            problem: Problem::Form,
        })
    })?;
    Ok(envelope)
}

fn whole(problem: Problem) -> Malformation {
    Malformation {
        field: String::new(),
        problem,
    }
}

/// Deserialises all of `text`, saying where and how it first went wrong.
fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, Malformation> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let parent = if path == "." { String::new() } else { path };
        classify(parent, e.inner())
    })?;
    de.end().map_err(|_| whole(Problem::NotJson))?;
    Ok(value)
}

/// serde names a member that is unknown, missing or repeated only in its
/// message (`unknown field `x``, the wording serde's derive has always
/// used).
fn classify(parent: String, err: &serde_json::Error) -> Malformation {
    if err.is_syntax() || err.is_eof() || err.is_io() {
        return Malformation {
            field: parent,
            problem: Problem::NotJson,
        };
    }
    let text = err.to_string();
    let named = [
        ("unknown field `", Problem::Unknown),
        ("missing field `", Problem::Missing),
        ("duplicate field `", Problem::Repeated),
    ]
    .into_iter()
    .find_map(|(start, problem)| {
        let name = text.strip_prefix(start)?.split('`').next()?;
        Some((name.to_owned(), problem))
    });
    match named {
        Some((name, problem)) => Malformation {
            // The path ends at the member itself for an unknown one, and
            // at the object that holds it otherwise.
            field: if parent.is_empty() {
                name
            } else if parent == name || parent.ends_with(&format!(".{name}")) {
                parent
            } else {
                format!("{parent}.{name}")
            },
            problem,
        },
        None => Malformation {
            field: parent,
            problem: Problem::Form,
        },
    }
}

fn malformed(path: &str) -> VerifyError {
    VerifyError::Malformed(Malformation {
        field: path.to_owned(),
        problem: Problem::Form,
    })
}

/// The checks on values that JSON text does not show: run by `verify` on
/// every envelope, however it was read.
pub fn check_fields(envelope: &Envelope) -> Result<(), VerifyError> {
    let cert = &envelope.certificate;
    let ids = [
        ("document.id", &envelope.document.id),
        ("signer.id", &envelope.signer.id),
        ("challenge_id", &envelope.challenge_id),
        ("certificate.user_id", &cert.user_id),
    ];
    let key_ids = [
        ("signer.key_id", &envelope.signer.key_id),
        ("certificate.key_id", &cert.key_id),
        ("certificate.issuer_key_id", &cert.issuer_key_id),
    ];
    let base64 = [
        ("signature", &envelope.signature, 64),
        ("certificate.signature", &cert.signature, 64),
        ("certificate.public_key", &cert.public_key, 32),
    ];
    let first_bad = ids
        .iter()
        .find(|(_, v)| !is_valid_id(v))
        .or_else(|| key_ids.iter().find(|(_, v)| !is_key_id(v)))
        .map(|(path, _)| *path)
        .or_else(|| (!is_sha256_hex(&envelope.document.sha256)).then_some("document.sha256"))
        .or_else(|| {
            base64
                .iter()
                .find(|(_, v, len)| !is_canonical_base64(v, *len))
                .map(|(path, _, _)| *path)
        });
    match first_bad {
        Some(path) => Err(malformed(path)),
        None => Ok(()),
    }
}

/// Standard alphabet, padded, exactly `len` bytes, and the only spelling of
/// them (unused bits zero).
fn is_canonical_base64(text: &str, len: usize) -> bool {
    B64.decode(text)
        .is_ok_and(|bytes| bytes.len() == len && B64.encode(&bytes) == text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapper<'a> {
    #[serde(borrow)]
    envelope: &'a RawValue,
}

/// Every member as written. The typed pass has already refused unknown,
/// missing and repeated members; this mirror sees the text of each value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    version: &'a RawValue,
    #[serde(borrow)]
    document: RawDocument<'a>,
    #[serde(borrow)]
    signer: RawSigner<'a>,
    #[serde(borrow)]
    signed_at: &'a RawValue,
    #[serde(borrow)]
    challenge_id: &'a RawValue,
    #[serde(borrow)]
    signature: &'a RawValue,
    #[serde(borrow)]
    certificate: RawCertificate<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(borrow)]
    title: &'a RawValue,
    #[serde(borrow)]
    sha256: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow)]
    key_id: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCertificate<'a> {
    #[serde(borrow)]
    version: &'a RawValue,
    #[serde(borrow)]
    user_id: &'a RawValue,
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow)]
    public_key: &'a RawValue,
    #[serde(borrow)]
    key_id: &'a RawValue,
    #[serde(borrow)]
    not_before: &'a RawValue,
    #[serde(borrow)]
    not_after: &'a RawValue,
    #[serde(borrow)]
    issuer_key_id: &'a RawValue,
    #[serde(borrow)]
    signature: &'a RawValue,
}

impl RawEnvelope<'_> {
    /// The path of the first value not written in its one form.
    fn check(&self) -> Result<(), &'static str> {
        let (d, s, c) = (&self.document, &self.signer, &self.certificate);
        integer(self.version, "version")?;
        integer(c.version, "certificate.version")?;
        for (raw, path) in [
            (d.id, "document.id"),
            (d.title, "document.title"),
            (d.sha256, "document.sha256"),
            (s.id, "signer.id"),
            (s.name, "signer.name"),
            (s.key_id, "signer.key_id"),
            (self.signed_at, "signed_at"),
            (self.challenge_id, "challenge_id"),
            (self.signature, "signature"),
            (c.user_id, "certificate.user_id"),
            (c.name, "certificate.name"),
            (c.public_key, "certificate.public_key"),
            (c.key_id, "certificate.key_id"),
            (c.not_before, "certificate.not_before"),
            (c.not_after, "certificate.not_after"),
            (c.issuer_key_id, "certificate.issuer_key_id"),
            (c.signature, "certificate.signature"),
        ] {
            string(raw, path)?;
        }
        Ok(())
    }
}

/// A version is a plain decimal integer: no sign, fraction or exponent.
fn integer(raw: &RawValue, path: &'static str) -> Result<(), &'static str> {
    let text = raw.get();
    match text.parse::<u16>() {
        Ok(n) if n.to_string() == text => Ok(()),
        _ => Err(path),
    }
}

/// A string is written with every character as itself, except those JSON
/// must escape: `\"`, `\\`, and the controls U+0000 to U+001F as `\b`,
/// `\t`, `\n`, `\f`, `\r` or else `\u00xx` in lowercase hex. That is what
/// serde_json writes, so writing the decoded text again must give the same.
fn string(raw: &RawValue, path: &'static str) -> Result<(), &'static str> {
    let decoded: String = serde_json::from_str(raw.get()).map_err(|_| path)?;
    let rewritten = serde_json::to_string(&decoded).map_err(|_| path)?;
    if rewritten == raw.get() {
        Ok(())
    } else {
        Err(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_have_one_spelling() {
        let ok = |s: &str| string(&RawValue::from_string(s.into()).unwrap(), "x").is_ok();
        assert!(ok(r#""Søren""#));
        assert!(ok(r#""a\"b\\c\nd\u001f""#));
        assert!(!ok(r#""S\u00f8ren""#));
        assert!(!ok(r#""a\/b""#));
        assert!(!ok(r#""\u000a""#));
        assert!(!ok(r#""\u001F""#));
        assert!(!ok("1"));
    }

    #[test]
    fn versions_are_plain_integers() {
        let ok = |s: &str| integer(&RawValue::from_string(s.into()).unwrap(), "v").is_ok();
        assert!(ok("1") && ok("2"));
        assert!(!ok("1.0") && !ok("1e0") && !ok("-1") && !ok("\"1\""));
    }

    #[test]
    fn base64_is_padded_standard_and_canonical() {
        let key = B64.encode([0xfbu8; 32]);
        assert!(key.contains('+') && key.contains('/'));
        assert!(is_canonical_base64(&key, 32));
        assert!(!is_canonical_base64(key.trim_end_matches('='), 32));
        assert!(!is_canonical_base64(
            &key.replace('+', "-").replace('/', "_"),
            32
        ));
        assert!(!is_canonical_base64(&B64.encode([7u8; 31]), 32));
        // Same bytes, non-zero unused bits: "Bw==" is [7]; "Bx==" also
        // decodes leniently to [7] elsewhere, but is not its spelling.
        assert!(is_canonical_base64("Bw==", 1));
        assert!(!is_canonical_base64("Bx==", 1));
    }
}

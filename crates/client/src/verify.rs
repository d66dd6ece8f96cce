//! Verification as a citizen hears it: valid, demo, or invalid with the
//! reason in plain words. Roots come from the configuration (pinned), plus
//! the built-in demo root; a key offered by a server is never trusted on
//! first use.

use ed25519_dalek::SigningKey;
use kodekort_proto::canonical::{Malformation, Problem};
use kodekort_proto::signing::{self, TrustRoot, VerifiedSignature, VerifyError};
use kodekort_proto::Envelope;
use sha2::{Digest, Sha256};

use crate::catalogue::{self, Lang};
use crate::error::format_time;

/// The demo root's seed is public on purpose: demo signatures must never
/// pass for real ones, and every client knows this root as "demo".
pub const DEMO_ROOT_LABEL: &[u8] = b"kodekort demo root v1 - not legally valid";

/// The demo engine's root signing key (derived from the public label).
pub fn demo_root_signing_key() -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(DEMO_ROOT_LABEL).into())
}

/// The demo root as clients pin it.
pub fn demo_root() -> TrustRoot {
    TrustRoot::from_key(&demo_root_signing_key().verifying_key())
}

/// Why a signature is not valid, in the terms a citizen is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    SignatureInvalid,
    ContentAltered,
    UnknownIssuer,
    CertificateExpired,
    /// Not in the protocol's one form; says where.
    Malformed(Malformation),
    /// A format version this program does not know (a newer Kodekort).
    UnsupportedVersion(u16),
    /// The pinned trust file's key id does not belong to its key, so no
    /// signature can be checked against it.
    TrustMismatch,
}

impl Reason {
    pub fn key(&self) -> &'static str {
        match self {
            Reason::SignatureInvalid => "signature_invalid",
            Reason::ContentAltered => "content_altered",
            Reason::UnknownIssuer => "unknown_issuer",
            Reason::CertificateExpired => "certificate_expired",
            Reason::Malformed(_) => "malformed",
            Reason::UnsupportedVersion(_) => "unsupported_version",
            Reason::TrustMismatch => "trust_mismatch",
        }
    }

    /// The reason in plain words: for a malformed envelope, also which
    /// member and what is wrong with it.
    pub fn message(&self, lang: Lang) -> String {
        let version = match self {
            Reason::UnsupportedVersion(n) => n.to_string(),
            _ => String::new(),
        };
        let text = catalogue::text(lang, "verify", self.key(), &[("version", &version)]);
        match self {
            Reason::Malformed(m) if !m.field.is_empty() => {
                let detail = match m.problem {
                    Problem::Unknown => "member_unknown",
                    Problem::Missing => "member_missing",
                    Problem::Repeated => "member_repeated",
                    Problem::NotJson | Problem::Form => "member_form",
                };
                let detail = catalogue::text(lang, "verify", detail, &[("field", &m.field)]);
                format!("{text} {detail}")
            }
            _ => text,
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid under a pinned real root.
    Valid(VerifiedSignature),
    /// Valid under the demo root: not legally valid.
    Demo(VerifiedSignature),
    Invalid(Reason),
}

impl Verdict {
    /// A stable word for machine output: `valid`, `demo` or the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Valid(_) => "valid",
            Verdict::Demo(_) => "demo",
            Verdict::Invalid(r) => r.key(),
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid(_))
    }

    /// The verdict in plain words, with who signed and when if it verified.
    pub fn message(&self, lang: Lang) -> String {
        let detail = |v: &VerifiedSignature| {
            catalogue::text(
                lang,
                "verify",
                "valid_detail",
                &[
                    ("name", &v.signer_name),
                    ("time", &format_time(v.signed_at)),
                ],
            )
        };
        match self {
            Verdict::Valid(v) => format!(
                "{} {}",
                catalogue::text(lang, "verify", "valid", &[]),
                detail(v)
            ),
            Verdict::Demo(v) => format!(
                "{} {}",
                catalogue::text(lang, "verify", "demo", &[]),
                detail(v)
            ),
            Verdict::Invalid(r) => r.message(lang),
        }
    }
}

/// The citizen's reason for a verifier's error.
pub fn reason(err: &VerifyError) -> Reason {
    match err {
        VerifyError::Malformed(m) => Reason::Malformed(m.clone()),
        VerifyError::UnsupportedVersion(n) => Reason::UnsupportedVersion(*n),
        VerifyError::UnknownRoot => Reason::UnknownIssuer,
        VerifyError::BadCertificate | VerifyError::BadSignature => Reason::SignatureInvalid,
        VerifyError::CertificateExpired => Reason::CertificateExpired,
        VerifyError::ContentMismatch => Reason::ContentAltered,
    }
}

/// Whether a signature certified by the root `issuer_key_id` could be
/// confirmed here: a pinned root, or the demo root (as "demo"). The rule
/// [`verify_envelope`] applies, asked before there is an envelope.
pub fn can_confirm(issuer_key_id: &str, roots: &[TrustRoot]) -> bool {
    issuer_key_id == demo_root().key_id || roots.iter().any(|r| r.key_id == issuer_key_id)
}

/// Verifies against the pinned roots, then the demo root; with `content`,
/// also that it is exactly what was signed.
pub fn verify_envelope(
    envelope: &Envelope,
    roots: &[TrustRoot],
    content: Option<&[u8]>,
) -> Verdict {
    let check = |root: &TrustRoot| match content {
        Some(bytes) => signing::verify_with_content(envelope, root, bytes),
        None => signing::verify(envelope, root),
    };
    // The form first: a malformed envelope is malformed whoever issued it.
    if let Err(e) = kodekort_proto::canonical::check_fields(envelope) {
        return Verdict::Invalid(reason(&e));
    }
    let demo = demo_root();
    let root = roots
        .iter()
        .find(|r| r.key_id == envelope.certificate.issuer_key_id && r.key_id != demo.key_id);
    match root {
        Some(root) => match check(root) {
            Ok(v) => Verdict::Valid(v),
            Err(e) => Verdict::Invalid(reason(&e)),
        },
        None if envelope.certificate.issuer_key_id == demo.key_id => match check(&demo) {
            Ok(v) => Verdict::Demo(v),
            Err(e) => Verdict::Invalid(reason(&e)),
        },
        None => Verdict::Invalid(Reason::UnknownIssuer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kodekort_proto::signing::{Certificate, CertificateFields, SignatureFields};
    use time::OffsetDateTime;

    fn envelope_under(root: &SigningKey) -> Envelope {
        let citizen = SigningKey::from_bytes(&[5; 32]);
        let now = OffsetDateTime::now_utc();
        let cert = Certificate::issue(
            &CertificateFields {
                user_id: "u",
                name: "Søren Demo",
                public_key: &citizen.verifying_key(),
                not_before: now - time::Duration::days(1),
                not_after: now + time::Duration::days(1),
            },
            root,
        );
        Envelope::sign(
            &SignatureFields {
                document_id: "d",
                title: "t",
                content_sha256: Sha256::digest(b"content").into(),
                signed_at: now,
                challenge_id: "c",
            },
            &citizen,
            cert,
        )
    }

    #[test]
    fn demo_signatures_verify_as_demo_never_as_valid() {
        let env = envelope_under(&demo_root_signing_key());
        let verdict = verify_envelope(&env, &[], Some(b"content"));
        assert!(matches!(verdict, Verdict::Demo(_)), "{verdict:?}");
        // Even if someone pins the demo root as if it were real.
        let verdict = verify_envelope(&env, &[demo_root()], Some(b"content"));
        assert!(matches!(verdict, Verdict::Demo(_)));
        assert!(verdict
            .message(Lang::Da)
            .starts_with("Demo-underskrift, ikke juridisk gyldig."));
    }

    #[test]
    fn reasons_are_plain() {
        let real = SigningKey::from_bytes(&[8; 32]);
        let pinned = [TrustRoot::from_key(&real.verifying_key())];
        let env = envelope_under(&real);
        assert!(verify_envelope(&env, &pinned, Some(b"content")).is_valid());
        assert_eq!(
            verify_envelope(&env, &pinned, Some(b"c0ntent")),
            Verdict::Invalid(Reason::ContentAltered)
        );
        assert_eq!(
            verify_envelope(&env, &[], None),
            Verdict::Invalid(Reason::UnknownIssuer)
        );
        let mut tampered = env.clone();
        tampered.document.title.push('!');
        assert_eq!(
            verify_envelope(&tampered, &pinned, None),
            Verdict::Invalid(Reason::SignatureInvalid)
        );
        assert_eq!(
            Verdict::Invalid(Reason::ContentAltered).message(Lang::En),
            "The content has been altered since it was signed."
        );
    }
}

//! Checks the committed test vectors in `testdata/vectors.json`, which
//! PROTOCOL.md documents. Regenerate with `KODEKORT_BLESS=1 cargo test -p kodekort-proto`
//! only when the encoding version changes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use kodekort_proto::canonical::Problem;
use kodekort_proto::signing::{
    verify, verify_with_content, Certificate, CertificateFields, Envelope, SignatureFields,
    TrustRoot, VerifyError,
};
use kodekort_proto::{parse_envelope, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vectors {
    description: String,
    cases: Vec<Case>,
    /// Other spellings of case "ascii"'s envelope that verify: member order,
    /// whitespace and the API's `{"envelope": …}` wrapper are free.
    accepted: Vec<Spelling>,
    /// Envelope files that every verifier must refuse, checked against case
    /// "ascii"'s root, each with the cause (PROTOCOL.md, "Verification").
    rejected: Vec<Rejection>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Spelling {
    name: String,
    /// The file's exact text.
    envelope_json: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Rejection {
    name: String,
    /// The file's exact text.
    envelope_json: String,
    /// `malformed`, `unsupported_version`, `unknown_root`, `bad_certificate`,
    /// `certificate_expired` or `bad_signature`.
    expect: String,
    /// For `malformed`: the member, and what is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Case {
    name: String,
    root_secret_seed_hex: String,
    root_public_key_b64: String,
    root_key_id: String,
    citizen_secret_seed_hex: String,
    citizen_public_key_b64: String,
    citizen_key_id: String,
    user_id: String,
    name_of_signer: String,
    not_before: String,
    not_after: String,
    certificate_signed_bytes_hex: String,
    certificate_signature_b64: String,
    document_id: String,
    title: String,
    content_utf8: String,
    content_sha256_hex: String,
    signed_at: String,
    challenge_id: String,
    signature_signed_bytes_hex: String,
    signature_b64: String,
    envelope: Envelope,
}

fn seed(hex_str: &str) -> SigningKey {
    SigningKey::from_bytes(&hex::decode(hex_str).unwrap().try_into().unwrap())
}

fn at(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn make_case(
    name: &str,
    root_seed: [u8; 32],
    citizen_seed: [u8; 32],
    user_id: &str,
    signer: &str,
    document_id: &str,
    title: &str,
    content: &str,
) -> Case {
    let root = SigningKey::from_bytes(&root_seed);
    let citizen = SigningKey::from_bytes(&citizen_seed);
    let (not_before, not_after, signed_at) = (
        "2026-01-01T00:00:00Z",
        "2028-01-01T00:00:00Z",
        "2026-11-26T12:34:56Z",
    );
    let cert = Certificate::issue(
        &CertificateFields {
            user_id,
            name: signer,
            public_key: &citizen.verifying_key(),
            not_before: at(not_before),
            not_after: at(not_after),
        },
        &root,
    );
    let sha: [u8; 32] = Sha256::digest(content.as_bytes()).into();
    let envelope = Envelope::sign(
        &SignatureFields {
            document_id,
            title,
            content_sha256: sha,
            signed_at: at(signed_at),
            challenge_id: "c-0001",
        },
        &citizen,
        cert.clone(),
    );
    let trust = TrustRoot::from_key(&root.verifying_key());
    Case {
        name: name.into(),
        root_secret_seed_hex: hex::encode(root_seed),
        root_public_key_b64: trust.public_key.clone(),
        root_key_id: trust.key_id.clone(),
        citizen_secret_seed_hex: hex::encode(citizen_seed),
        citizen_public_key_b64: B64.encode(citizen.verifying_key().as_bytes()),
        citizen_key_id: cert.key_id.clone(),
        user_id: user_id.into(),
        name_of_signer: signer.into(),
        not_before: not_before.into(),
        not_after: not_after.into(),
        certificate_signed_bytes_hex: hex::encode(cert.signed_bytes().unwrap()),
        certificate_signature_b64: cert.signature.clone(),
        document_id: document_id.into(),
        title: title.into(),
        content_utf8: content.into(),
        content_sha256_hex: hex::encode(sha),
        signed_at: signed_at.into(),
        challenge_id: "c-0001".into(),
        signature_signed_bytes_hex: hex::encode(envelope.signed_bytes().unwrap()),
        signature_b64: envelope.signature.clone(),
        envelope,
    }
}

fn generated() -> Vectors {
    let cases = vec![
        make_case(
            "ascii",
            [1; 32],
            [2; 32],
            "u-1",
            "Alice Example",
            "d-1",
            "Consent",
            "I agree.\n",
        ),
        make_case(
            "unicode",
            *b"kodekort test vector root key 02",
            *b"kodekort test vector citizen 002",
            "u-7f3a",
            "Søren Ærø-Łukasiewicz Öztürk Παπαδόπουλος",
            "d-9c2e",
            "Samtykke til deling af helbredsdata – ÆØÅ",
            "Jeg giver samtykke.\nŻółć, ğüşıöç, αβγ.\n",
        ),
    ];
    let (accepted, rejected) = spellings(&cases[0].envelope);
    Vectors {
        description: "Kodekort signature encoding v1 test vectors; see PROTOCOL.md".into(),
        cases,
        accepted,
        rejected,
    }
}

/// `text` with `from` replaced by `to`, exactly once.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} is not unique");
    text.replacen(from, to, 1)
}

/// The base64 text with its unused low bits set: the same bytes to a
/// lenient decoder, but not their one spelling.
fn dirty_padding(b64: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = b64.trim_end_matches('=');
    let last = data.as_bytes()[data.len() - 1];
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    let dirty = ALPHABET[index | 1] as char;
    assert_ne!(dirty as u8, last, "the unused bits were already set");
    format!("{}{dirty}{}", &data[..data.len() - 1], &b64[data.len()..])
}

fn spellings(envelope: &Envelope) -> (Vec<Spelling>, Vec<Rejection>) {
    let pretty = serde_json::to_string_pretty(envelope).unwrap();
    let compact = serde_json::to_string(envelope).unwrap();
    let cert = &envelope.certificate;
    let mut reordered: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    let value = serde_json::to_value(envelope).unwrap();
    for (k, v) in value.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let accepted = vec![
        Spelling {
            name: "pretty".into(),
            envelope_json: pretty.clone(),
        },
        Spelling {
            name: "compact".into(),
            envelope_json: compact.clone(),
        },
        Spelling {
            name: "members_in_another_order".into(),
            envelope_json: serde_json::to_string(&reordered).unwrap(),
        },
        Spelling {
            name: "api_answer".into(),
            envelope_json: format!("{{\"envelope\": {compact}}}"),
        },
    ];

    let malformed = |name: &str, text: String, field: &str, problem: Problem| Rejection {
        name: name.into(),
        envelope_json: text,
        expect: "malformed".into(),
        field: Some(field.into()),
        problem: Some(problem.as_str().into()),
    };
    let other = |name: &str, text: String, expect: &str| Rejection {
        name: name.into(),
        envelope_json: text,
        expect: expect.into(),
        field: None,
        problem: None,
    };
    let signed_at = format!("\"signed_at\": \"{}\"", envelope.signed_at);
    let time_edit = |to: &str| edit(&pretty, &signed_at, &format!("\"signed_at\": \"{to}\""));
    let form = Problem::Form;
    let signature = format!("\"{}\"", envelope.signature);
    let public_key = format!("\"{}\"", cert.public_key);
    let rejected = vec![
        malformed(
            "time_with_fraction",
            time_edit("2026-11-26T12:34:56.000Z"),
            "signed_at",
            form,
        ),
        malformed(
            "time_with_offset",
            time_edit("2026-11-26T12:34:56+00:00"),
            "signed_at",
            form,
        ),
        malformed(
            "time_in_lowercase",
            time_edit("2026-11-26t12:34:56z"),
            "signed_at",
            form,
        ),
        malformed(
            "time_without_zone",
            time_edit("2026-11-26T12:34:56"),
            "signed_at",
            form,
        ),
        malformed(
            "certificate_time_with_fraction",
            edit(
                &pretty,
                "\"not_before\": \"2026-01-01T00:00:00Z\"",
                "\"not_before\": \"2026-01-01T00:00:00.0Z\"",
            ),
            "certificate.not_before",
            form,
        ),
        malformed(
            "sha256_in_uppercase",
            edit(
                &pretty,
                &envelope.document.sha256,
                &envelope.document.sha256.to_uppercase(),
            ),
            "document.sha256",
            form,
        ),
        malformed(
            "key_id_in_uppercase",
            edit(
                &pretty,
                &format!("\"key_id\": \"{}\",\n    \"not_before\"", cert.key_id),
                &format!(
                    "\"key_id\": \"{}\",\n    \"not_before\"",
                    cert.key_id.to_uppercase()
                ),
            ),
            "certificate.key_id",
            form,
        ),
        malformed(
            "key_id_without_prefix",
            edit(
                &pretty,
                &format!("\"issuer_key_id\": \"{}\"", cert.issuer_key_id),
                &format!(
                    "\"issuer_key_id\": \"{}\"",
                    &cert.issuer_key_id["ed25519:".len()..]
                ),
            ),
            "certificate.issuer_key_id",
            form,
        ),
        malformed(
            "base64_without_padding",
            edit(&pretty, &signature, &signature.replace('=', "")),
            "signature",
            form,
        ),
        malformed(
            "base64_with_unused_bits_set",
            edit(
                &pretty,
                &public_key,
                &format!("\"{}\"", dirty_padding(&cert.public_key)),
            ),
            "certificate.public_key",
            form,
        ),
        malformed(
            "base64url_alphabet",
            edit(
                &pretty,
                &public_key,
                &public_key.replace('+', "-").replace('/', "_"),
            ),
            "certificate.public_key",
            form,
        ),
        malformed(
            "escaped_letter_in_text",
            edit(
                &pretty,
                "\"title\": \"Consent\"",
                "\"title\": \"Cons\\u0065nt\"",
            ),
            "document.title",
            form,
        ),
        malformed(
            "escaped_space_in_name",
            edit(
                &pretty,
                "\"name\": \"Alice Example\",\n    \"key_id\"",
                "\"name\": \"Alice\\u0020Example\",\n    \"key_id\"",
            ),
            "signer.name",
            form,
        ),
        malformed(
            "escaped_solidus",
            edit(
                &pretty,
                "\"challenge_id\": \"c-0001\"",
                "\"challenge_id\": \"c\\/0001\"",
            ),
            "challenge_id",
            form,
        ),
        malformed(
            "id_outside_the_id_alphabet",
            edit(&pretty, "\"id\": \"d-1\"", "\"id\": \"d 1\""),
            "document.id",
            form,
        ),
        malformed(
            "version_as_a_fraction",
            edit(&pretty, "{\n  \"version\": 1,", "{\n  \"version\": 1.0,"),
            "version",
            form,
        ),
        malformed(
            "version_as_a_string",
            edit(&pretty, "{\n  \"version\": 1,", "{\n  \"version\": \"1\","),
            "version",
            form,
        ),
        malformed(
            "repeated_member",
            edit(
                &pretty,
                "\"challenge_id\": \"c-0001\",",
                "\"challenge_id\": \"c-0001\",\n  \"challenge_id\": \"c-0001\",",
            ),
            "challenge_id",
            Problem::Repeated,
        ),
        malformed(
            "missing_member",
            edit(&pretty, "\n  \"challenge_id\": \"c-0001\",", ""),
            "challenge_id",
            Problem::Missing,
        ),
        malformed(
            "unknown_member",
            edit(
                &pretty,
                "{\n  \"version\": 1,",
                "{\n  \"version\": 1,\n  \"comment\": \"ok\",",
            ),
            "comment",
            Problem::Unknown,
        ),
        malformed(
            "unknown_member_in_certificate",
            edit(
                &pretty,
                "\"certificate\": {",
                "\"certificate\": {\n    \"serial\": \"1\",",
            ),
            "certificate.serial",
            Problem::Unknown,
        ),
        malformed(
            "api_answer_with_another_member",
            format!("{{\"envelope\": {compact}, \"verdict\": \"valid\"}}"),
            "envelope",
            Problem::Unknown,
        ),
        malformed(
            "text_after_the_envelope",
            format!("{compact} {{}}"),
            "",
            Problem::NotJson,
        ),
        other(
            "version_2",
            edit(&pretty, "{\n  \"version\": 1,", "{\n  \"version\": 2,"),
            "unsupported_version",
        ),
        other(
            "title_changed",
            edit(&pretty, "\"title\": \"Consent\"", "\"title\": \"Consent!\""),
            "bad_signature",
        ),
        other(
            "signer_name_differs_from_certificate",
            edit(
                &pretty,
                "\"name\": \"Alice Example\",\n    \"key_id\"",
                "\"name\": \"Alice Exampel\",\n    \"key_id\"",
            ),
            "bad_certificate",
        ),
        other(
            "signed_after_the_certificate",
            time_edit("2028-01-01T00:00:01Z"),
            "certificate_expired",
        ),
    ];
    (accepted, rejected)
}

fn ascii_root(vectors: &Vectors) -> TrustRoot {
    let case = &vectors.cases[0];
    TrustRoot {
        key_id: case.root_key_id.clone(),
        public_key: case.root_public_key_b64.clone(),
    }
}

#[test]
fn other_spellings_of_the_layout_verify() {
    let committed: Vectors = serde_json::from_slice(&std::fs::read(path()).unwrap()).unwrap();
    let root = ascii_root(&committed);
    for spelling in &committed.accepted {
        let envelope = parse_envelope(spelling.envelope_json.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", spelling.name));
        assert_eq!(envelope, committed.cases[0].envelope, "{}", spelling.name);
        verify(&envelope, &root).unwrap_or_else(|e| panic!("{}: {e}", spelling.name));
    }
}

#[test]
fn every_rejection_vector_is_refused_for_its_reason() {
    let committed: Vectors = serde_json::from_slice(&std::fs::read(path()).unwrap()).unwrap();
    let root = ascii_root(&committed);
    assert!(committed.rejected.len() >= 20);
    for case in &committed.rejected {
        let outcome =
            parse_envelope(case.envelope_json.as_bytes()).and_then(|env| verify(&env, &root));
        let err = outcome.expect_err(&case.name);
        assert_eq!(err.kind(), case.expect, "{}: {err}", case.name);
        if let VerifyError::Malformed(m) = &err {
            assert_eq!(Some(&m.field), case.field.as_ref(), "{}", case.name);
            assert_eq!(
                Some(m.problem.as_str()),
                case.problem.as_deref(),
                "{}",
                case.name
            );
        }
    }
}

fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vectors.json")
}

#[test]
fn committed_vectors_match_the_encoder() {
    let fresh = generated();
    if std::env::var_os("KODEKORT_BLESS").is_some() {
        let json = serde_json::to_string_pretty(&fresh).unwrap() + "\n";
        std::fs::write(path(), json).unwrap();
    }
    let committed: Vectors = serde_json::from_slice(&std::fs::read(path()).unwrap()).unwrap();
    assert_eq!(committed, fresh);
}

#[test]
fn committed_vectors_verify_from_their_fields_alone() {
    let committed: Vectors = serde_json::from_slice(&std::fs::read(path()).unwrap()).unwrap();
    for case in &committed.cases {
        // The keys come from the seeds, as an independent implementation would do.
        let root = seed(&case.root_secret_seed_hex);
        assert_eq!(
            B64.encode(root.verifying_key().as_bytes()),
            case.root_public_key_b64
        );
        let trust = TrustRoot {
            key_id: case.root_key_id.clone(),
            public_key: case.root_public_key_b64.clone(),
        };
        let verified = verify_with_content(&case.envelope, &trust, case.content_utf8.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.signer_name, case.name_of_signer);
        assert_eq!(
            hex::encode(case.envelope.signed_bytes().unwrap()),
            case.signature_signed_bytes_hex
        );
        assert_eq!(
            hex::encode(case.envelope.certificate.signed_bytes().unwrap()),
            case.certificate_signed_bytes_hex
        );
        // The bytes start with the length-prefixed domain tag and the version.
        let bytes = hex::decode(&case.signature_signed_bytes_hex).unwrap();
        let tag = b"kodekort/document-signature";
        assert_eq!(&bytes[..4], &(tag.len() as u32).to_be_bytes());
        assert_eq!(&bytes[4..4 + tag.len()], tag);
        assert_eq!(&bytes[4 + tag.len()..6 + tag.len()], &1u16.to_be_bytes());
    }
}

#[test]
fn every_verify_error_has_its_own_cause() {
    let case = &generated().cases[1];
    let trust = TrustRoot {
        key_id: case.root_key_id.clone(),
        public_key: case.root_public_key_b64.clone(),
    };
    let good = case.envelope.clone();

    let other_root = TrustRoot::from_key(&SigningKey::from_bytes(&[9; 32]).verifying_key());
    assert_eq!(verify(&good, &other_root), Err(VerifyError::UnknownRoot));

    let mut bad_cert = good.clone();
    bad_cert.certificate.name.push('x');
    bad_cert.signer.name.push('x');
    assert_eq!(verify(&bad_cert, &trust), Err(VerifyError::BadCertificate));

    let mut late = good.clone();
    late.signed_at = Timestamp::parse("2029-01-01T00:00:00Z").unwrap();
    assert_eq!(verify(&late, &trust), Err(VerifyError::CertificateExpired));

    let mut bad_sig = good.clone();
    bad_sig.document.title.push('!');
    assert_eq!(verify(&bad_sig, &trust), Err(VerifyError::BadSignature));

    assert_eq!(
        verify_with_content(&good, &trust, b"something else"),
        Err(VerifyError::ContentMismatch)
    );

    let mut future = good.clone();
    future.version = 2;
    assert_eq!(
        verify(&future, &trust),
        Err(VerifyError::UnsupportedVersion(2))
    );
}

#[test]
fn flipping_any_bit_of_the_signed_fields_or_signatures_fails() {
    let case = &generated().cases[1];
    let trust = TrustRoot {
        key_id: case.root_key_id.clone(),
        public_key: case.root_public_key_b64.clone(),
    };
    let json = serde_json::to_vec(&case.envelope).unwrap();
    let mut checked = 0;
    for i in 0..json.len() {
        for bit in [0x01u8, 0x20] {
            let mut tampered = json.clone();
            tampered[i] ^= bit;
            // A change that is no longer a valid envelope is rejected at parsing:
            // that is a failure too.
            if let Ok(env) = serde_json::from_slice::<Envelope>(&tampered) {
                if env == case.envelope {
                    continue; // e.g. a flipped bit inside base64 padding that decodes equal
                }
                assert!(
                    verify(&env, &trust).is_err(),
                    "byte {i} bit {bit:#x} still verifies"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} tampered envelopes parsed");
}

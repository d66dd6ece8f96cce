//! Checks the committed test vectors in `testdata/vectors.json`, which
//! PROTOCOL.md documents. Regenerate with `KODEKORT_BLESS=1 cargo test -p kodekort-proto`
//! only when the encoding version changes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use kodekort_proto::signing::{
    verify, verify_with_content, Certificate, CertificateFields, Envelope, SignatureFields,
    TrustRoot, VerifyError,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vectors {
    description: String,
    cases: Vec<Case>,
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
    Vectors {
        description: "Kodekort signature encoding v1 test vectors; see PROTOCOL.md".into(),
        cases: vec![
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
        ],
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
    late.signed_at = at("2029-01-01T00:00:00Z");
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

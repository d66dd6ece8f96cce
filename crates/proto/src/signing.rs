//! Signed bytes, certificates, envelopes and their verification.
//!
//! The exact byte layout is specified in `PROTOCOL.md`; `testdata/vectors.json`
//! pins it. In short, every signed message is
//!
//! ```text
//! u32be(len(tag)) || tag || u16be(version) || field*   where field = u32be(len) || bytes
//! ```
//!
//! with a distinct tag per kind of message, so a signature over one kind can
//! never be replayed as another.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::canonical::{self, Malformation};
use crate::timestamp::Timestamp;

/// Domain tag of a citizen's document signature.
pub const SIGNATURE_TAG: &[u8] = b"kodekort/document-signature";
/// Domain tag of a certificate (root key over a citizen's key).
pub const CERTIFICATE_TAG: &[u8] = b"kodekort/citizen-certificate";
/// The only encoding version so far.
pub const ENCODING_VERSION: u16 = 1;

/// Builds one length-prefixed message.
struct Encoder(Vec<u8>);

impl Encoder {
    fn new(tag: &[u8], version: u16) -> Self {
        let mut enc = Encoder(Vec::with_capacity(256));
        enc.field(tag);
        enc.0.extend_from_slice(&version.to_be_bytes());
        enc
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).expect("field longer than 4 GiB");
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    fn time(&mut self, t: Timestamp) -> &mut Self {
        self.field(&t.unix_seconds().to_be_bytes())
    }

    fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// A key id: `ed25519:` and the first 16 bytes of SHA-256 of the public key, in hex.
pub fn key_id(public_key: &VerifyingKey) -> String {
    let digest = Sha256::digest(public_key.as_bytes());
    format!("ed25519:{}", hex::encode(&digest[..16]))
}

/// SHA-256 of content, lowercase hex, as the wire carries it.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// The root key that certifies citizens' keys, as `GET /trust` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustRoot {
    pub key_id: String,
    /// Ed25519 public key, standard base64.
    pub public_key: String,
}

impl TrustRoot {
    pub fn from_key(key: &VerifyingKey) -> Self {
        TrustRoot {
            key_id: key_id(key),
            public_key: B64.encode(key.as_bytes()),
        }
    }

    /// The public key, checked to match the key id.
    pub fn verifying_key(&self) -> Result<VerifyingKey, VerifyError> {
        let key = decode_public_key(&self.public_key).ok_or(VerifyError::UnknownRoot)?;
        if key_id(&key) != self.key_id {
            return Err(VerifyError::UnknownRoot);
        }
        Ok(key)
    }
}

/// Binds a citizen's public key to the citizen. Signed by the root key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub version: u16,
    pub user_id: String,
    pub name: String,
    /// Ed25519 public key, standard base64.
    pub public_key: String,
    pub key_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub not_before: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub not_after: Timestamp,
    /// Key id of the root key that signed this certificate.
    pub issuer_key_id: String,
    /// Ed25519 signature by the root key over [`Certificate::signed_bytes`], base64.
    pub signature: String,
}

/// What a certificate says before it is signed.
#[derive(Debug, Clone)]
pub struct CertificateFields<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub public_key: &'a VerifyingKey,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Certificate {
    /// Signs a new certificate with the root key.
    pub fn issue(fields: &CertificateFields<'_>, root: &SigningKey) -> Certificate {
        let mut cert = Certificate {
            version: ENCODING_VERSION,
            user_id: fields.user_id.to_owned(),
            name: fields.name.to_owned(),
            public_key: B64.encode(fields.public_key.as_bytes()),
            key_id: key_id(fields.public_key),
            not_before: Timestamp::truncating(fields.not_before),
            not_after: Timestamp::truncating(fields.not_after),
            issuer_key_id: key_id(&root.verifying_key()),
            signature: String::new(),
        };
        let bytes = cert.signed_bytes().expect("own certificate encodes");
        cert.signature = B64.encode(root.sign(&bytes).to_bytes());
        cert
    }

    /// The bytes the root key signs. Fails on a version this code does not know.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        if self.version != ENCODING_VERSION {
            return Err(VerifyError::UnsupportedVersion(self.version));
        }
        let public_key = decode_public_key(&self.public_key).ok_or(VerifyError::BadCertificate)?;
        let mut enc = Encoder::new(CERTIFICATE_TAG, self.version);
        enc.field(self.user_id.as_bytes())
            .field(self.name.as_bytes())
            .field(public_key.as_bytes())
            .field(self.key_id.as_bytes())
            .time(self.not_before)
            .time(self.not_after)
            .field(self.issuer_key_id.as_bytes());
        Ok(enc.finish())
    }
}

/// The document part of a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedDocument {
    pub id: String,
    pub title: String,
    /// SHA-256 of the exact content bytes, lowercase hex.
    pub sha256: String,
}

/// Who signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub id: String,
    pub name: String,
    pub key_id: String,
}

/// A signature with everything needed to verify it offline against the root key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub version: u16,
    pub document: SignedDocument,
    pub signer: Signer,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub signed_at: Timestamp,
    /// The card challenge that authorised this signature.
    pub challenge_id: String,
    /// Ed25519 signature by the citizen's key over [`Envelope::signed_bytes`], base64.
    pub signature: String,
    pub certificate: Certificate,
}

/// What a signature says before it is signed.
#[derive(Debug, Clone)]
pub struct SignatureFields<'a> {
    pub document_id: &'a str,
    pub title: &'a str,
    pub content_sha256: [u8; 32],
    pub signed_at: OffsetDateTime,
    pub challenge_id: &'a str,
}

impl Envelope {
    /// Signs a document with a citizen's key and wraps it with the certificate.
    pub fn sign(
        fields: &SignatureFields<'_>,
        citizen: &SigningKey,
        certificate: Certificate,
    ) -> Envelope {
        let mut envelope = Envelope {
            version: ENCODING_VERSION,
            document: SignedDocument {
                id: fields.document_id.to_owned(),
                title: fields.title.to_owned(),
                sha256: hex::encode(fields.content_sha256),
            },
            signer: Signer {
                id: certificate.user_id.clone(),
                name: certificate.name.clone(),
                key_id: certificate.key_id.clone(),
            },
            signed_at: Timestamp::truncating(fields.signed_at),
            challenge_id: fields.challenge_id.to_owned(),
            signature: String::new(),
            certificate,
        };
        let bytes = envelope.signed_bytes().expect("own envelope encodes");
        envelope.signature = B64.encode(citizen.sign(&bytes).to_bytes());
        envelope
    }

    /// The bytes the citizen's key signs.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        if self.version != ENCODING_VERSION {
            return Err(VerifyError::UnsupportedVersion(self.version));
        }
        let sha = decode_sha256(&self.document.sha256).ok_or_else(|| {
            VerifyError::Malformed(Malformation {
                field: "document.sha256".into(),
                problem: canonical::Problem::Form,
            })
        })?;
        let mut enc = Encoder::new(SIGNATURE_TAG, self.version);
        enc.field(self.document.id.as_bytes())
            .field(self.document.title.as_bytes())
            .field(&sha)
            .field(self.signer.id.as_bytes())
            .field(self.signer.name.as_bytes())
            .field(self.signer.key_id.as_bytes())
            .time(self.signed_at)
            .field(self.challenge_id.as_bytes());
        Ok(enc.finish())
    }
}

/// Why an envelope did not verify. Each cause is distinct so that a client
/// can say it in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the envelope is malformed: {0}")]
    Malformed(Malformation),
    #[error("encoding version {0} is not supported")]
    UnsupportedVersion(u16),
    #[error("the certificate was issued by a key that is not trusted")]
    UnknownRoot,
    #[error("the certificate is not valid")]
    BadCertificate,
    #[error("the certificate was not valid at the signing time")]
    CertificateExpired,
    #[error("the signature does not match the signed data")]
    BadSignature,
    #[error("the content does not match the signed hash")]
    ContentMismatch,
}

impl VerifyError {
    /// A stable word for each cause, as PROTOCOL.md and the vectors name it.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnsupportedVersion(_) => "unsupported_version",
            VerifyError::UnknownRoot => "unknown_root",
            VerifyError::BadCertificate => "bad_certificate",
            VerifyError::CertificateExpired => "certificate_expired",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::ContentMismatch => "content_mismatch",
        }
    }
}

/// A signature that verified, with what it proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub document_id: String,
    pub title: String,
    pub content_sha256: String,
    pub signer_id: String,
    pub signer_name: String,
    pub signer_key_id: String,
    pub signed_at: OffsetDateTime,
    pub root_key_id: String,
}

impl VerifiedSignature {
    /// Checks that `content` is exactly what was signed.
    pub fn check_content(&self, content: &[u8]) -> Result<(), VerifyError> {
        if sha256_hex(content) == self.content_sha256 {
            Ok(())
        } else {
            Err(VerifyError::ContentMismatch)
        }
    }
}

/// Verifies an envelope against a trusted root, with `verify_strict`
/// throughout. Checks the certificate chain, the validity at signing time,
/// that the signer fields match the certificate, and the signature.
pub fn verify(envelope: &Envelope, root: &TrustRoot) -> Result<VerifiedSignature, VerifyError> {
    canonical::check_fields(envelope)?;
    let cert = &envelope.certificate;
    if cert.issuer_key_id != root.key_id {
        return Err(VerifyError::UnknownRoot);
    }
    let root_key = root.verifying_key()?;

    let cert_bytes = cert.signed_bytes()?;
    let cert_sig = decode_signature(&cert.signature).ok_or(VerifyError::BadCertificate)?;
    root_key
        .verify_strict(&cert_bytes, &cert_sig)
        .map_err(|_| VerifyError::BadCertificate)?;
    let citizen_key = decode_public_key(&cert.public_key).ok_or(VerifyError::BadCertificate)?;
    if key_id(&citizen_key) != cert.key_id {
        return Err(VerifyError::BadCertificate);
    }

    let signer = &envelope.signer;
    if signer.id != cert.user_id || signer.name != cert.name || signer.key_id != cert.key_id {
        return Err(VerifyError::BadCertificate);
    }
    if envelope.signed_at < cert.not_before || envelope.signed_at > cert.not_after {
        return Err(VerifyError::CertificateExpired);
    }

    let bytes = envelope.signed_bytes()?;
    let sig = decode_signature(&envelope.signature).ok_or(VerifyError::BadSignature)?;
    citizen_key
        .verify_strict(&bytes, &sig)
        .map_err(|_| VerifyError::BadSignature)?;

    Ok(VerifiedSignature {
        document_id: envelope.document.id.clone(),
        title: envelope.document.title.clone(),
        content_sha256: envelope.document.sha256.clone(),
        signer_id: signer.id.clone(),
        signer_name: signer.name.clone(),
        signer_key_id: signer.key_id.clone(),
        signed_at: envelope.signed_at.as_datetime(),
        root_key_id: root.key_id.clone(),
    })
}

/// Verifies an envelope and that `content` is exactly what was signed.
pub fn verify_with_content(
    envelope: &Envelope,
    root: &TrustRoot,
    content: &[u8],
) -> Result<VerifiedSignature, VerifyError> {
    let verified = verify(envelope, root)?;
    verified.check_content(content)?;
    Ok(verified)
}

/// Signed times have whole seconds: the encoding carries Unix seconds.
pub fn truncate_to_seconds(t: OffsetDateTime) -> OffsetDateTime {
    Timestamp::truncating(t).as_datetime()
}

fn decode_public_key(b64: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = B64.decode(b64).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn decode_signature(b64: &str) -> Option<Signature> {
    let bytes: [u8; 64] = B64.decode(b64).ok()?.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// Parses a lowercase-hex SHA-256.
pub fn decode_sha256(hex_str: &str) -> Option<[u8; 32]> {
    if !crate::id::is_sha256_hex(hex_str) {
        return None;
    }
    hex::decode(hex_str).ok()?.try_into().ok()
}

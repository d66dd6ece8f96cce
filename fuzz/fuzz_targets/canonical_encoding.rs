//! The signed bytes of an envelope and of a certificate, from any field
//! values. A decoder written from PROTOCOL.md alone (a length-prefixed
//! field per value, after the tag and the version) must get back exactly
//! the values, in order, with nothing left over: so two different
//! messages never share signed bytes, and a signature and a certificate
//! never share a tag.

#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use kodekort_proto::signing::{
    Certificate, Envelope, SignedDocument, Signer, CERTIFICATE_TAG, ENCODING_VERSION, SIGNATURE_TAG,
};
use kodekort_proto::Timestamp;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

#[derive(Debug, Arbitrary)]
struct Fields {
    document_id: String,
    title: String,
    sha256: [u8; 32],
    signer_id: String,
    signer_name: String,
    signer_key_id: String,
    signed_at: i64,
    challenge_id: String,
    user_id: String,
    name: String,
    key_seed: [u8; 32],
    key_id: String,
    not_before: i64,
    not_after: i64,
    issuer_key_id: String,
}

/// A time the encoding can carry: years 0000 to 9999, whole seconds.
fn timestamp(seconds: i64) -> Timestamp {
    let min = OffsetDateTime::from_unix_timestamp(-62_167_219_200).unwrap(); // 0000-01-01
    let max = OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap(); // 9999-12-31
    let s = seconds.clamp(min.unix_timestamp(), max.unix_timestamp());
    Timestamp::truncating(OffsetDateTime::from_unix_timestamp(s).unwrap())
}

/// Reads PROTOCOL.md's message: field(tag), u16 version, then fields.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn field(&mut self) -> &'a [u8] {
        let (len, rest) = self.0.split_at(4);
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let (value, rest) = rest.split_at(len);
        self.0 = rest;
        value
    }

    fn version(&mut self) -> u16 {
        let (v, rest) = self.0.split_at(2);
        self.0 = rest;
        u16::from_be_bytes(v.try_into().unwrap())
    }

    fn time(&mut self) -> i64 {
        i64::from_be_bytes(self.field().try_into().expect("a time is 8 bytes"))
    }
}

fuzz_target!(|f: Fields| {
    let key = SigningKey::from_bytes(&f.key_seed).verifying_key();
    let certificate = Certificate {
        version: ENCODING_VERSION,
        user_id: f.user_id.clone(),
        name: f.name.clone(),
        public_key: B64.encode(key.as_bytes()),
        key_id: f.key_id.clone(),
        not_before: timestamp(f.not_before),
        not_after: timestamp(f.not_after),
        issuer_key_id: f.issuer_key_id.clone(),
        signature: String::new(),
    };
    let envelope = Envelope {
        version: ENCODING_VERSION,
        document: SignedDocument {
            id: f.document_id.clone(),
            title: f.title.clone(),
            sha256: f.sha256.iter().map(|b| format!("{b:02x}")).collect(),
        },
        signer: Signer {
            id: f.signer_id.clone(),
            name: f.signer_name.clone(),
            key_id: f.signer_key_id.clone(),
        },
        signed_at: timestamp(f.signed_at),
        challenge_id: f.challenge_id.clone(),
        signature: String::new(),
        certificate: certificate.clone(),
    };

    let bytes = envelope
        .signed_bytes()
        .expect("version 1 with a hex hash encodes");
    let mut r = Reader(&bytes);
    assert_eq!(r.field(), SIGNATURE_TAG);
    assert_eq!(r.version(), ENCODING_VERSION);
    assert_eq!(r.field(), f.document_id.as_bytes());
    assert_eq!(r.field(), f.title.as_bytes());
    assert_eq!(r.field(), &f.sha256);
    assert_eq!(r.field(), f.signer_id.as_bytes());
    assert_eq!(r.field(), f.signer_name.as_bytes());
    assert_eq!(r.field(), f.signer_key_id.as_bytes());
    assert_eq!(r.time(), envelope.signed_at.unix_seconds());
    assert_eq!(r.field(), f.challenge_id.as_bytes());
    assert!(r.0.is_empty(), "bytes after the last field");

    let bytes = certificate.signed_bytes().expect("a valid key encodes");
    let mut r = Reader(&bytes);
    assert_eq!(r.field(), CERTIFICATE_TAG);
    assert_eq!(r.version(), ENCODING_VERSION);
    assert_eq!(r.field(), f.user_id.as_bytes());
    assert_eq!(r.field(), f.name.as_bytes());
    assert_eq!(r.field(), key.as_bytes());
    assert_eq!(r.field(), f.key_id.as_bytes());
    assert_eq!(r.time(), certificate.not_before.unix_seconds());
    assert_eq!(r.time(), certificate.not_after.unix_seconds());
    assert_eq!(r.field(), f.issuer_key_id.as_bytes());
    assert!(r.0.is_empty(), "bytes after the last field");
    assert_ne!(SIGNATURE_TAG, CERTIFICATE_TAG);
});

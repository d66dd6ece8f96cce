//! Kodekort's v1 protocol: the wire types of the HTTPS API, the closed set of
//! error codes, secrets whose `Debug` hides them, and the signed-bytes
//! encoding of signatures and certificates with their verification.
//!
//! Invariant: this crate does no I/O. It is what an independent verifier needs.

pub mod canonical;
pub mod error;
pub mod id;
pub mod secret;
pub mod signing;
pub mod text;
pub mod timestamp;
pub mod wire;

pub use canonical::parse_envelope;
pub use error::{ErrorBody, ErrorCode, ErrorResponse};
pub use secret::{Code, Password, ProviderKey, Token};
pub use signing::{
    verify, verify_with_content, Envelope, TrustRoot, VerifiedSignature, VerifyError,
};
pub use timestamp::Timestamp;

/// Path prefix of every v1 call.
pub const API_PREFIX: &str = "/api/v1";

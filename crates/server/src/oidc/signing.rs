//! The provider's ID-token signing keys: one current key per algorithm,
//! made with aws-lc-rs (ring cannot make RSA keys; the RustCrypto `rsa`
//! crate is banned for RUSTSEC-2023-0071), kept as PKCS#8 sealed under
//! `data.key` in the database, so every instance on it signs with the same
//! keys. Tokens are JWS made by `jsonwebtoken`; nothing here encodes a JWT.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The algorithms ID tokens can be signed with. RS256 is what OIDC Core
/// requires of every provider, and the default for a new client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Rs256,
    Es256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name, as in `alg` and `id_token_signed_response_alg`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(text: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The algorithm of a JWS header, if it is one of ours.
    pub fn from_jose(alg: Algorithm) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.jose() == alg)
    }

    pub fn jose(self) -> Algorithm {
        match self {
            Alg::Rs256 => Algorithm::RS256,
            Alg::Es256 => Algorithm::ES256,
            Alg::EdDsa => Algorithm::EdDSA,
        }
    }

    /// `at_hash` (OIDC Core 3.1.3.6): the left half of the hash that goes
    /// with the signature's algorithm. For Ed25519 that is SHA-512, as the
    /// RP libraries we test with compute it.
    pub fn half_hash(self, value: &str) -> Vec<u8> {
        let full = match self {
            Alg::Rs256 | Alg::Es256 => Sha256::digest(value.as_bytes()).to_vec(),
            Alg::EdDsa => Sha512::digest(value.as_bytes()).to_vec(),
        };
        full[..full.len() / 2].to_vec()
    }
}

/// A new private key for `alg`, as PKCS#8 DER.
pub fn generate(alg: Alg) -> Result<Zeroizing<Vec<u8>>> {
    let failed = |_| Error::Crypto("generating an OpenID Connect signing key");
    let der = match alg {
        Alg::Rs256 => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(failed)?
            .as_der()
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        Alg::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(failed)?
                .as_ref()
                .to_vec()
        }
        // Version 1, without the public key: the form jsonwebtoken's JWK
        // export reads.
        Alg::EdDsa => Ed25519KeyPair::generate()
            .map_err(failed)?
            .to_pkcs8v1()
            .map_err(failed)?
            .as_ref()
            .to_vec(),
    };
    Ok(Zeroizing::new(der))
}

/// A key ready to sign, with its public JWK.
pub struct LoadedKey {
    pub kid: String,
    pub alg: Alg,
    encoding: EncodingKey,
    pub jwk: Jwk,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Reads a PKCS#8 key; its key id is the RFC 7638 thumbprint of its JWK.
pub fn load(alg: Alg, pkcs8: &[u8]) -> Result<LoadedKey> {
    let bad = |_| Error::Corrupt("an OpenID Connect signing key cannot be read");
    let pem = Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec())));
    let encoding = match alg {
        Alg::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Alg::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Alg::EdDsa => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .map_err(bad)?;
    let mut jwk = Jwk::from_encoding_key(&encoding, alg.jose()).map_err(bad)?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(bad)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(match alg {
        Alg::Rs256 => KeyAlgorithm::RS256,
        Alg::Es256 => KeyAlgorithm::ES256,
        Alg::EdDsa => KeyAlgorithm::EdDSA,
    });
    Ok(LoadedKey {
        kid,
        alg,
        encoding,
        jwk,
    })
}

impl LoadedKey {
    /// Signs `claims` as a compact JWS with this key's `kid`.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String> {
        let mut header = Header::new(self.alg.jose());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|_| Error::Crypto("signing an ID token"))
    }
}

/// The public keys, as the JWKS endpoint serves them.
pub fn jwks<'a>(keys: impl IntoIterator<Item = &'a LoadedKey>) -> JwkSet {
    JwkSet {
        keys: keys.into_iter().map(|k| k.jwk.clone()).collect(),
    }
}

/// Parsed keys by the id of their database row, so a token does not
/// decrypt and parse its key again. Rows are read on every use, so a key
/// another process added or retired is seen at once.
#[derive(Default)]
pub struct KeyCache {
    loaded: Mutex<HashMap<String, Arc<LoadedKey>>>,
}

impl KeyCache {
    pub fn get_or_load(
        &self,
        row_kid: &str,
        load_key: impl FnOnce() -> Result<LoadedKey>,
    ) -> Result<Arc<LoadedKey>> {
        if let Some(key) = self.lock().get(row_kid) {
            return Ok(key.clone());
        }
        let key = Arc::new(load_key()?);
        self.lock().insert(row_kid.to_owned(), key.clone());
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<LoadedKey>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_algorithm_makes_a_key_that_signs_and_has_a_thumbprint_kid() {
        for alg in Alg::ALL {
            let der = generate(alg).unwrap();
            let key = load(alg, &der).unwrap();
            assert_eq!(key.kid.len(), 43, "{alg:?}: base64url of SHA-256");
            let again = load(alg, &der).unwrap();
            assert_eq!(key.kid, again.kid, "{alg:?}: the kid is the key's own");
            let token = key.sign(&serde_json::json!({"sub": "x"})).unwrap();
            assert_eq!(token.split('.').count(), 3);
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(header.alg, alg.jose());
        }
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_algorithms_hash() {
        assert_eq!(Alg::Rs256.half_hash("token").len(), 16);
        assert_eq!(Alg::EdDsa.half_hash("token").len(), 32);
        assert_eq!(
            Alg::Es256.half_hash("token"),
            Sha256::digest(b"token")[..16].to_vec()
        );
    }
}

//! Passwords: the policy (length only, plus a list of common passwords) and
//! Argon2id hashing with the parameters stored in each PHC string.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kodekort_proto::{ErrorCode, Password};
use rand::rngs::OsRng;

use crate::error::Error;

/// Fewest characters accepted (NIST SP 800-63B).
pub const MIN_CHARS: usize = 8;
/// Most characters accepted: room for passphrases, a bound on hashing work.
pub const MAX_CHARS: usize = 256;

/// Argon2id at m = 19 MiB, t = 2, p = 1: the OWASP minimum.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the policy: 8 to 256 characters, no
/// composition rules, and not one that zxcvbn's lists (common passwords,
/// words, names) make guessable in under a million tries.
pub fn check_policy(password: &Password, user_inputs: &[&str]) -> Result<(), ErrorCode> {
    let chars = password.expose().chars().count();
    if chars < MIN_CHARS {
        return Err(ErrorCode::PasswordTooShort);
    }
    if chars > MAX_CHARS {
        return Err(ErrorCode::PasswordTooLong);
    }
    let estimate = zxcvbn::zxcvbn(password.expose(), user_inputs);
    if estimate.score() < zxcvbn::Score::Two {
        return Err(ErrorCode::PasswordCommon);
    }
    Ok(())
}

/// Hashes a password into a PHC string that carries its own parameters.
pub fn hash(password: &Password) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::PasswordHash(e.to_string()))
}

/// Verifies against a PHC string, with the parameters it names. A
/// malformed stored hash is a fault, not a wrong password.
pub fn verify(password: &Password, phc: &str) -> Result<bool, Error> {
    let parsed = PasswordHash::new(phc).map_err(|e| Error::PasswordHash(e.to_string()))?;
    // Too-long input never reaches argon2 from a login, but be safe here too.
    let input = password.expose().as_bytes();
    let input = &input[..input.len().min(MAX_CHARS * 4)];
    match hasher().verify_password(input, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(Error::PasswordHash(e.to_string())),
    }
}

/// A hash of a random password with the live parameters. An unknown
/// username is verified against it, so it costs the same argon2 work as a
/// wrong password.
pub fn dummy_hash() -> Result<String, Error> {
    let mut random = [0u8; 16];
    rand::RngCore::fill_bytes(&mut OsRng, &mut random);
    hash(&Password::new(hex::encode(random)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_is_length_and_common_list() {
        let p = |s: &str| check_policy(&Password::new(s), &[]);
        assert_eq!(p("short"), Err(ErrorCode::PasswordTooShort));
        assert_eq!(p(&"x".repeat(257)), Err(ErrorCode::PasswordTooLong));
        assert_eq!(p("password"), Err(ErrorCode::PasswordCommon));
        assert_eq!(p("12345678"), Err(ErrorCode::PasswordCommon));
        assert_eq!(p("iloveyou1"), Err(ErrorCode::PasswordCommon));
        // No composition rules: a lowercase passphrase is fine, and so is 64+.
        assert_eq!(p("bumpy lantern orchard"), Ok(()));
        assert_eq!(p(&"kæmpe blæksprutte ".repeat(4)), Ok(()));
        // Counted in characters, not bytes.
        assert_eq!(p("æøåæøåæ"), Err(ErrorCode::PasswordTooShort));
    }

    #[test]
    fn hash_carries_parameters_and_verifies() {
        let phc = hash(&Password::new("bumpy lantern orchard")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(&Password::new("bumpy lantern orchard"), &phc).unwrap());
        assert!(!verify(&Password::new("bumpy lantern orcharD"), &phc).unwrap());
        assert!(verify(&Password::new("x"), "not a phc").is_err());
    }
}

//! Passwords: the policy (length only, plus a list of common passwords) and
//! Argon2id hashing with the parameters stored in each PHC string.

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
///
/// The 19 MiB of argon2 working memory come from a pool: allocating it
/// afresh for each login costs page faults and zeroing that, measured, took
/// a fifth of a login's CPU time (BENCHMARKS.md).
pub fn verify(password: &Password, phc: &str) -> Result<bool, Error> {
    let parsed = PasswordHash::new(phc).map_err(fault)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(fault)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(fault)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(fault)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(Error::PasswordHash(
            "the stored hash lacks salt or output".into(),
        ));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(fault)?;

    let mut memory = MEMORY.take(params.block_count());
    let mut out = vec![0u8; expected.len()];
    let result = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.expose().as_bytes(),
        salt,
        &mut out,
        &mut memory[..],
    );
    MEMORY.put(memory);
    result.map_err(fault)?;
    Ok(bool::from(subtle::ConstantTimeEq::ct_eq(
        out.as_slice(),
        expected.as_bytes(),
    )))
}

fn fault(e: impl std::fmt::Display) -> Error {
    Error::PasswordHash(e.to_string())
}

/// Argon2 working memory, reused, and at most one buffer per core in use:
/// a second argon2 on a core only thrashes the caches (19 MiB each) and
/// keeps other requests waiting. `take` blocks until a buffer is free.
struct MemoryPool {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    free: Vec<Vec<Block>>,
    in_use: usize,
}

static MEMORY: MemoryPool = MemoryPool {
    state: Mutex::new(PoolState {
        free: Vec::new(),
        in_use: 0,
    }),
    freed: Condvar::new(),
};

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

impl MemoryPool {
    fn take(&self, blocks: usize) -> Vec<Block> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.in_use >= cores() {
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.in_use += 1;
        match state.free.pop() {
            Some(buf) if buf.len() == blocks => buf,
            _ => vec![Block::default(); blocks],
        }
    }

    fn put(&self, buf: Vec<Block>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.in_use -= 1;
        state.free.push(buf);
        self.freed.notify_one();
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

//! Code cards: generation from the OS CSPRNG, and the keyed hash under
//! which codes are stored. Plain codes exist only in a [`NewCard`], which
//! goes straight to the printed outputs.

use std::collections::BTreeSet;

use kodekort_proto::wire::{PrintedPair, CARD_SIZE};
use rand::rngs::OsRng;
use rand::Rng;

use crate::keys::Keys;

/// Bytes of random salt per code.
pub const SALT_LEN: usize = 16;

/// A freshly generated card, with its plain codes.
#[derive(Clone)]
pub struct NewCard {
    pub serial: String,
    pub pairs: Vec<PrintedPair>,
}

impl std::fmt::Debug for NewCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NewCard {{ serial: {}, pairs: {} }}",
            self.serial,
            self.pairs.len()
        )
    }
}

/// Draws a serial such as `KK-4821-0097`.
pub fn new_serial() -> String {
    let mut rng = OsRng;
    format!(
        "KK-{:04}-{:04}",
        rng.gen_range(0..10_000),
        rng.gen_range(0..10_000)
    )
}

/// Draws 148 distinct 4-digit keys, each with a 6-digit code, sorted by key
/// so the printed grid is easy to scan.
pub fn generate(serial: String) -> NewCard {
    let mut rng = OsRng;
    let mut keys = BTreeSet::new();
    while keys.len() < CARD_SIZE as usize {
        keys.insert(rng.gen_range(0..10_000u32));
    }
    let pairs = keys
        .into_iter()
        .map(|key| PrintedPair {
            key: format!("{key:04}"),
            code: format!("{:06}", rng.gen_range(0..1_000_000u32)),
        })
        .collect();
    NewCard { serial, pairs }
}

/// A fresh random salt for one code.
pub fn new_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill(&mut salt);
    salt
}

/// The stored form of a code: HMAC under the pepper (kept outside the
/// database) of the salt, the card serial, the key and the code.
pub fn hash_code(keys: &Keys, salt: &[u8], serial: &str, key: &str, code: &str) -> [u8; 32] {
    keys.keyed_hash(
        "kodekort card code v1",
        &[salt, serial.as_bytes(), key.as_bytes(), code.as_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_has_148_unique_keys_and_six_digit_codes() {
        let card = generate(new_serial());
        assert_eq!(card.pairs.len(), 148);
        let keys: BTreeSet<_> = card.pairs.iter().map(|p| p.key.clone()).collect();
        assert_eq!(keys.len(), 148);
        for p in &card.pairs {
            assert_eq!(p.key.len(), 4);
            assert_eq!(p.code.len(), 6);
            assert!(p.code.bytes().all(|b| b.is_ascii_digit()));
        }
        assert!(card.serial.starts_with("KK-") && card.serial.len() == 12);
        assert!(!format!("{card:?}").contains(&card.pairs[0].code));
    }
}

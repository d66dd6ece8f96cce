//! Demo code cards, derived from the username alone. Every demo on every
//! computer, today and after any reset or upgrade, gives `demo3` the same
//! card, so a class kit printed once serves every PC in the room and every
//! class after. This is safe only because demo cards are public and sign
//! under the public demo root, which no client takes for real.

use std::collections::BTreeSet;

use kodekort_proto::wire::{PrintedPair, CARD_SIZE};
use kodekort_server::card::NewCard;
use sha2::{Digest, Sha256};

/// On every demo card, so the trainer guide can say "find key 0423".
pub const GUIDE_KEY: &str = "0423";
const GUIDE_KEY_NUMBER: u32 = 423;

const LABEL: &[u8] = b"kodekort demo card v1";

/// A stream of numbers from SHA-256 in counter mode over the username.
struct Draws<'a> {
    username: &'a str,
    counter: u64,
    block: Vec<u8>,
}

impl Draws<'_> {
    fn next(&mut self, below: u32) -> u32 {
        if self.block.len() < 4 {
            let mut hash = Sha256::new();
            hash.update(LABEL);
            hash.update(self.username.as_bytes());
            hash.update(self.counter.to_be_bytes());
            self.counter += 1;
            self.block = hash.finalize().to_vec();
        }
        let bytes: Vec<u8> = self.block.drain(..4).collect();
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % below
    }
}

/// The serial of demo account number `n` (from 1): it says DEMO.
pub fn serial(n: usize) -> String {
    format!("DEMO-{n:04}")
}

/// The card of demo account `username`, number `n`.
pub fn card(username: &str, n: usize) -> NewCard {
    let mut draws = Draws {
        username,
        counter: 0,
        block: Vec::new(),
    };
    let mut keys = BTreeSet::from([GUIDE_KEY_NUMBER]);
    while keys.len() < CARD_SIZE as usize {
        keys.insert(draws.next(10_000));
    }
    let pairs = keys
        .into_iter()
        .map(|key| PrintedPair {
            key: format!("{key:04}"),
            code: format!("{:06}", draws.next(1_000_000)),
        })
        .collect();
    NewCard {
        serial: serial(n),
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_username_same_card_and_every_card_has_the_guide_key() {
        let a = card("demo1", 1);
        // PrintedPair has no Debug (codes stay out of logs): compare plainly.
        assert!(a.pairs == card("demo1", 1).pairs);
        assert!(a.pairs != card("demo2", 2).pairs);
        assert_eq!(a.pairs.len(), CARD_SIZE as usize);
        let keys: BTreeSet<_> = a.pairs.iter().map(|p| p.key.clone()).collect();
        assert_eq!(keys.len(), a.pairs.len(), "keys are distinct");
        assert!(keys.contains(GUIDE_KEY));
        assert!(a.pairs.windows(2).all(|w| w[0].key < w[1].key), "sorted");
        assert!(a.pairs.iter().all(|p| p.code.len() == 6));
        assert_eq!(a.serial, "DEMO-0001");
    }

    /// Printed kits must stay valid across versions: these pairs are on
    /// paper in classrooms. Changing the derivation breaks them.
    #[test]
    fn demo_cards_never_change() {
        let pair = |card: &NewCard, key: &str| {
            card.pairs
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.code.clone())
        };
        let demo1 = card("demo1", 1);
        assert_eq!(pair(&demo1, "0004").as_deref(), Some("462194"));
        assert_eq!(pair(&demo1, GUIDE_KEY).as_deref(), Some("092803"));
        assert_eq!(pair(&demo1, "9971").as_deref(), Some("885867"));
    }
}

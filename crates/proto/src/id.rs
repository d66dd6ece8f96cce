//! The shapes of identifiers: object ids in paths and envelopes, and key ids.

/// Whether `id` can name an object (document, user, challenge): 1 to 64 of
/// `A-Z a-z 0-9 _ -`. The server's own ids are `prefix_` and 32 hex digits.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Prefix of every key id.
pub const KEY_ID_PREFIX: &str = "ed25519:";

/// Whether `key_id` is written as a key id: `ed25519:` and 32 lowercase hex
/// digits. (Whether it names the right key is checked against the key.)
pub fn is_key_id(key_id: &str) -> bool {
    key_id
        .strip_prefix(KEY_ID_PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(is_lower_hex))
}

/// Whether `s` is a SHA-256 in lowercase hex: 64 digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_lower_hex)
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("doc_0123abcd") && is_valid_id("c-0001"));
        for bad in ["", "../etc/passwd", "a b", "ä", &"x".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn key_ids_and_hashes_are_lowercase_hex_of_fixed_length() {
        assert!(is_key_id("ed25519:34750f98bd59fcfc946da45aaabe933b"));
        for bad in [
            "ed25519:34750F98BD59FCFC946DA45AAABE933B",
            "ED25519:34750f98bd59fcfc946da45aaabe933b",
            "ed25519:34750f98bd59fcfc946da45aaabe933",
            "ed25519:34750f98bd59fcfc946da45aaabe933bb",
            "34750f98bd59fcfc946da45aaabe933b",
        ] {
            assert!(!is_key_id(bad), "{bad:?}");
        }
        assert!(is_sha256_hex(&"0a".repeat(32)));
        assert!(!is_sha256_hex(&"0A".repeat(32)));
        assert!(!is_sha256_hex(&"0a".repeat(31)));
    }
}

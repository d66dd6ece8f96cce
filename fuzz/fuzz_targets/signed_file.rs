//! A file given to `kodekort verify`: a signed PDF (lopdf, then its
//! attachments) or an envelope. Beyond "no panic": a file that verifies
//! carries the content whose hash it signs.

#![no_main]

use std::sync::OnceLock;

use kodekort_client::signed_copy::verify_bytes;
use kodekort_proto::signing::{sha256_hex, TrustRoot};
use libfuzzer_sys::fuzz_target;

fn roots() -> &'static [TrustRoot] {
    static ROOTS: OnceLock<Vec<TrustRoot>> = OnceLock::new();
    ROOTS.get_or_init(kodekort_fuzz::vector_roots)
}

fuzz_target!(|data: &[u8]| {
    let Some(check) = verify_bytes(data, roots()) else {
        return;
    };
    if check.verdict.is_valid() {
        let envelope = check.envelope.expect("a valid file has its envelope");
        if let Some(content) = &check.content {
            assert_eq!(sha256_hex(content), envelope.document.sha256);
        }
    }
});

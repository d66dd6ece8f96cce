//! Envelope JSON → the strict reader → verification. Beyond "no panic":
//! what the reader accepts, written out again, is read back to the same
//! envelope and the same verdict (one canonical form, PROTOCOL.md).

#![no_main]

use std::sync::OnceLock;

use kodekort_client::verify_envelope;
use kodekort_proto::signing::TrustRoot;
use libfuzzer_sys::fuzz_target;

fn roots() -> &'static [TrustRoot] {
    static ROOTS: OnceLock<Vec<TrustRoot>> = OnceLock::new();
    ROOTS.get_or_init(kodekort_fuzz::vector_roots)
}

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = kodekort_proto::parse_envelope(data) else {
        return;
    };
    let verdict = verify_envelope(&envelope, roots(), None);
    let written = serde_json::to_vec(&envelope).expect("an envelope serialises");
    let reread = kodekort_proto::parse_envelope(&written)
        .unwrap_or_else(|e| panic!("our own writing of an accepted envelope is refused: {e}"));
    assert_eq!(reread, envelope);
    assert_eq!(
        verify_envelope(&reread, roots(), None).code(),
        verdict.code()
    );
});

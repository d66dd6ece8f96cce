//! What the fuzz targets share: the trust roots of the test vectors, so
//! that inputs grown from the vectors reach the verification itself.

use kodekort_proto::signing::TrustRoot;

const VECTORS: &str = include_str!("../../crates/proto/testdata/vectors.json");

/// The root of every case in `crates/proto/testdata/vectors.json`.
pub fn vector_roots() -> Vec<TrustRoot> {
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
    vectors["cases"]
        .as_array()
        .expect("vectors.json has cases")
        .iter()
        .map(|case| TrustRoot {
            key_id: case["root_key_id"]
                .as_str()
                .expect("root_key_id")
                .to_owned(),
            public_key: case["root_public_key_b64"]
                .as_str()
                .expect("root_public_key_b64")
                .to_owned(),
        })
        .collect()
}

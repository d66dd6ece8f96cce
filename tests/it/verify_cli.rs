//! `kodekort verify` through the binary, offline: every committed rejection
//! vector is exit 6 with its reason in plain words, every accepted spelling
//! exit 0, and exit 1 only for a file that cannot be read.

use std::path::{Path, PathBuf};

use kodekort_tests::run_bin;
use serde_json::Value;

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/proto/testdata/vectors.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `kodekort --json --lang en [--trust T] verify FILE`: exit code and answer.
fn verify(trust: Option<&Path>, file: &Path) -> (Option<i32>, Value, String) {
    let mut args = vec!["--json", "--lang", "en"];
    if let Some(t) = trust {
        args.extend(["--trust", t.to_str().unwrap()]);
    }
    args.extend(["verify", file.to_str().unwrap()]);
    let out = run_bin(
        "kodekort",
        &args,
        &[("KODEKORT_CONFIG", "/nonexistent/kodekort.toml")],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let answer = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (out.status.code(), answer, stdout)
}

/// The ascii case's root as a trust file, and a place for envelope files.
fn setup() -> (tempfile::TempDir, PathBuf, Value) {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let case = &v["cases"][0];
    let trust = dir.path().join("trust.json");
    let root = serde_json::json!({
        "key_id": case["root_key_id"],
        "public_key": case["root_public_key_b64"],
    });
    std::fs::write(&trust, root.to_string()).unwrap();
    (dir, trust, v)
}

#[test]
fn every_rejection_vector_exits_6_with_a_reason_and_every_spelling_exits_0() {
    let (dir, trust, v) = setup();
    for spelling in v["accepted"].as_array().unwrap() {
        let file = dir.path().join("accepted.json");
        std::fs::write(&file, spelling["envelope_json"].as_str().unwrap()).unwrap();
        let (code, answer, out) = verify(Some(&trust), &file);
        assert_eq!(code, Some(0), "{}: {out}", spelling["name"]);
        assert_eq!(answer["verdict"], "valid", "{}", spelling["name"]);
    }
    let mut malformed = 0;
    for case in v["rejected"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, case["envelope_json"].as_str().unwrap()).unwrap();
        let (code, answer, out) = verify(Some(&trust), &file);
        assert_eq!(code, Some(6), "{name}: {out}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{name}: {out}");
        assert!(
            !message.contains("serde") && !message.contains("line "),
            "{name}: {message}"
        );
        if case["expect"] == "malformed" {
            malformed += 1;
            assert_eq!(answer["verdict"], "malformed", "{name}");
            let field = case["field"].as_str().unwrap();
            if !field.is_empty() {
                assert!(message.contains(field), "{name}: {message}");
            }
        } else {
            assert_ne!(answer["verdict"], "malformed", "{name}");
        }
    }
    assert!(malformed >= 20, "only {malformed} malformed vectors");
}

#[test]
fn a_fraction_of_a_second_is_malformed_in_plain_words() {
    let (dir, trust, v) = setup();
    let case = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "time_with_fraction")
        .unwrap();
    let text = case["envelope_json"].as_str().unwrap();
    assert!(text.contains("\"signed_at\": \"2026-11-26T12:34:56.000Z\""));
    let file = dir.path().join("fraction.json");
    std::fs::write(&file, text).unwrap();
    let out = run_bin(
        "kodekort",
        &[
            "--lang",
            "en",
            "--trust",
            trust.to_str().unwrap(),
            "verify",
            file.to_str().unwrap(),
        ],
        &[("KODEKORT_CONFIG", "/nonexistent/kodekort.toml")],
        "",
    );
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "The signature data is damaged or not in a known format. \
         The member signed_at is not written in the one form the protocol allows."
    );
}

#[test]
fn a_trust_file_whose_key_id_is_not_its_keys_is_exit_6_and_an_unreadable_file_exit_1() {
    let (dir, trust, v) = setup();
    let file = dir.path().join("envelope.json");
    std::fs::write(&file, v["accepted"][0]["envelope_json"].as_str().unwrap()).unwrap();

    let mut root: Value = serde_json::from_slice(&std::fs::read(&trust).unwrap()).unwrap();
    root["key_id"] = "ed25519:00000000000000000000000000000000".into();
    let wrong = dir.path().join("wrong-trust.json");
    std::fs::write(&wrong, root.to_string()).unwrap();
    let (code, answer, out) = verify(Some(&wrong), &file);
    assert_eq!(code, Some(6), "{out}");
    assert_eq!(answer["verdict"], "trust_mismatch");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .starts_with("The trust file's key id does not belong to its key"));

    // Could not read: the file, or the trust file.
    let (code, answer, _) = verify(Some(&trust), &dir.path().join("missing.json"));
    assert_eq!(code, Some(1));
    assert_eq!(answer["error"]["code"], "file_unreadable");
    let (code, answer, _) = verify(Some(&dir.path().join("missing-trust.json")), &file);
    assert_eq!(code, Some(1));
    assert_eq!(answer["error"]["code"], "file_unreadable");

    // No trust file at all: the issuer is unknown, which is a verdict.
    let (code, answer, _) = verify(None, &file);
    assert_eq!(code, Some(6));
    assert_eq!(answer["verdict"], "unknown_issuer");
}

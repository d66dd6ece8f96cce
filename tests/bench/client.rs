//! `cargo xtask bench client`: the client's own work, no server needed.
//! 1. Export of a 20-page signed document to PDF (goal ≤ 50 ms).
//! 2. Verification of that signed PDF from the file (goal ≤ 5 ms).

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kodekort_client::signed_copy::{render, verify_file};
use kodekort_client::{verify_envelope, Lang};
use kodekort_proto::signing::{
    sha256_hex, Certificate, CertificateFields, Envelope, SignatureFields, TrustRoot,
};
use kodekort_proto::wire::{Document, DocumentStatus};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const RUNS: usize = 40;

fn stats(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (
        times[times.len() / 2],
        times[(times.len() * 95 / 100).min(times.len() - 1)],
    )
}

fn main() {
    // About 20 pages of Danish text with long and short paragraphs.
    let paragraph = "Lejer og udlejer er enige om, at lejemålet på Demovej 1, 2. tv. overdrages til den nye lejer, \
        som er nævnt i ansøgningen, og at depositum, forudbetalt leje og vedligeholdelsespligt følger lejemålet. ";
    let mut content = String::new();
    for i in 0..152 {
        content.push_str(&format!("§ {}. {}\n\n", i + 1, paragraph.repeat(1 + i % 3)));
    }
    let now = OffsetDateTime::now_utc();
    let root = SigningKey::from_bytes(&[3; 32]);
    let citizen = SigningKey::from_bytes(&[4; 32]);
    let cert = Certificate::issue(
        &CertificateFields {
            user_id: "user_bench",
            name: "Søren Ærø Παπαδόπουλος",
            public_key: &citizen.verifying_key(),
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(365),
        },
        &root,
    );
    let envelope = Envelope::sign(
        &SignatureFields {
            document_id: "doc_bench",
            title: "Lejekontrakt – overdragelse",
            content_sha256: Sha256::digest(content.as_bytes()).into(),
            signed_at: now,
            challenge_id: "sign_bench",
        },
        &citizen,
        cert,
    );
    let document = Document {
        id: "doc_bench".into(),
        title: "Lejekontrakt – overdragelse".into(),
        issuer: "Boligselskabet".into(),
        created_at: now,
        status: DocumentStatus::Signed,
        content_type: "text/plain".into(),
        sha256: sha256_hex(content.as_bytes()),
        content,
    };
    let roots = [TrustRoot::from_key(&root.verifying_key())];
    let verdict = verify_envelope(&envelope, &roots, Some(document.content.as_bytes()));
    assert!(verdict.is_valid());

    let mut export = Vec::new();
    let mut pdf = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        pdf = render(&document, &envelope, &verdict, Lang::Da).unwrap();
        export.push(t.elapsed());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let pages = pdf
        .windows(b"/Type /Page\n".len())
        .filter(|w| *w == b"/Type /Page\n")
        .count();

    let mut verify = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let check = verify_file(&path, &roots).unwrap();
        verify.push(t.elapsed());
        assert!(check.verdict.is_valid());
    }
    let (e50, e95) = stats(export);
    let (v50, v95) = stats(verify);
    println!(
        "Kodekort client benchmark: {RUNS} runs each, {} KiB PDF",
        pdf.len() / 1024
    );
    println!();
    println!("| measure | median | p95 | goal |");
    println!("|---|---|---|---|");
    println!("| export signed copy ({pages} pages incl. signature page) | {e50:.1?} | {e95:.1?} | ≤ 50 ms |");
    println!("| verify signed PDF from file | {v50:.2?} | {v95:.2?} | ≤ 5 ms |");
}

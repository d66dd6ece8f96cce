//! The operator commands of the `kodekort-server` binary, on a data dir a
//! server is using, and the card PDF read back with pdftotext.

use std::process::Command;

use kodekort_proto::wire::PrintedCard;
use kodekort_tests::{run_bin, Harness};
use reqwest::StatusCode;
use serde_json::json;

fn server_cmd(args: &[&str], stdin: &str) -> std::process::Output {
    run_bin("kodekort-server", args, &[("RUST_LOG", "warn")], stdin)
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_adds_a_user_while_the_server_runs_and_the_card_pdf_reads_back() {
    let h = Harness::start().await;
    let data = h.data_dir().to_str().unwrap().to_owned();
    let pdf = h.data_dir().join("card.pdf");
    let json_path = h.data_dir().join("card.json");
    let out = tokio::task::spawn_blocking({
        let (data, pdf, json_path) = (data.clone(), pdf.clone(), json_path.clone());
        move || {
            // A username outside a-z0-9._- is refused before anything is written.
            let refused = server_cmd(
                &[
                    "user",
                    "add",
                    "--data",
                    &data,
                    "--username",
                    "Søs",
                    "--name",
                    "x",
                    "--password-stdin",
                    "--card-pdf",
                    pdf.to_str().unwrap(),
                ],
                "bumpy lantern orchard\n",
            );
            assert!(String::from_utf8_lossy(&refused.stderr).contains("invalid_username"));
            assert!(!pdf.exists());
            server_cmd(
                &[
                    "user",
                    "add",
                    "--data",
                    &data,
                    "--username",
                    "soeren",
                    "--name",
                    "Søren Ærø-Łukasiewicz Öztürk Παπαδόπουλος",
                    "--password-stdin",
                    "--card-pdf",
                    pdf.to_str().unwrap(),
                    "--card-json",
                    json_path.to_str().unwrap(),
                ],
                "bumpy lantern orchard\n",
            )
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let card: PrintedCard = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(card.codes.len(), 148);
    let text = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&card.serial));
    assert!(
        text.contains("Søren Ærø-Łukasiewicz Öztürk Παπαδόπουλος"),
        "{text}"
    );
    let pairs = crate::cards::parse_card_text(&text);
    assert_eq!(pairs.len(), 148);
    for pair in &card.codes {
        assert_eq!(pairs.get(&pair.key), Some(&pair.code), "key {}", pair.key);
    }

    // The running server sees the new citizen; the code from the card works.
    let (status, ch) = h
        .post(
            "/login",
            None,
            json!({"username": "soeren", "password": "bumpy lantern orchard"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ch}");
    let key = ch["key"].as_str().unwrap();
    let (status, session) = h
        .post(
            &format!("/login/{}/code", ch["login_id"].as_str().unwrap()),
            None,
            json!({"code": pairs[key]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");

    // Large print: every pair still reads back.
    let large = h.data_dir().join("large.pdf");
    let out = server_cmd(
        &[
            "card",
            "issue",
            "--data",
            &data,
            "--username",
            "soeren",
            "--card-pdf",
            large.to_str().unwrap(),
            "--large-print",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext")
        .args(["-layout", large.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    assert_eq!(
        crate::cards::parse_card_text(&String::from_utf8(text.stdout).unwrap()).len(),
        148
    );
}

#[test]
fn operator_errors_are_clear_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let json_out = dir.path().join("c.json");
    let json_out = json_out.to_str().unwrap();

    let weak = server_cmd(
        &[
            "user",
            "add",
            "--data",
            data,
            "--username",
            "anna",
            "--name",
            "Anna",
            "--password-stdin",
            "--card-json",
            json_out,
        ],
        "password\n",
    );
    assert_eq!(weak.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(
        stderr.contains("too common") && stderr.contains("password_common"),
        "{stderr}"
    );

    let no_output = server_cmd(
        &[
            "user",
            "add",
            "--data",
            data,
            "--username",
            "anna",
            "--name",
            "Anna",
            "--password-stdin",
        ],
        "bumpy lantern orchard\n",
    );
    assert_eq!(no_output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_output.stderr).contains("--card-pdf"));

    let ok = server_cmd(
        &[
            "user",
            "add",
            "--data",
            data,
            "--username",
            "anna",
            "--name",
            "Anna",
            "--password-stdin",
            "--card-json",
            json_out,
        ],
        "bumpy lantern orchard\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let taken = server_cmd(
        &[
            "user",
            "add",
            "--data",
            data,
            "--username",
            "ANNA",
            "--name",
            "Anna",
            "--password-stdin",
            "--card-json",
            json_out,
        ],
        "bumpy lantern orchard\n",
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("username_taken"));

    let provider = server_cmd(&["provider", "add", "--data", data, "--name", "Banken"], "");
    assert!(provider.status.success());
    let key = String::from_utf8(provider.stdout).unwrap();
    assert!(
        key.trim().starts_with("kkp_") && key.trim().len() > 40,
        "{key}"
    );

    let doc_file = dir.path().join("doc.txt");
    std::fs::write(&doc_file, "Lejekontrakt\nJeg samtykker.\n").unwrap();
    let doc = server_cmd(
        &[
            "document",
            "add",
            "--data",
            data,
            "--recipient",
            "anna",
            "--title",
            "Samtykke",
            "--file",
            doc_file.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        doc.status.success(),
        "{}",
        String::from_utf8_lossy(&doc.stderr)
    );
    std::fs::write(&doc_file, [0xff, 0xfe, 0x00]).unwrap();
    let bad = server_cmd(
        &[
            "document",
            "add",
            "--data",
            data,
            "--recipient",
            "anna",
            "--title",
            "T",
            "--file",
            doc_file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not UTF-8"));

    let unlock = server_cmd(
        &["card", "unlock", "--data", data, "--username", "nobody"],
        "",
    );
    assert_eq!(unlock.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unlock.stderr).contains("not_found"));
}

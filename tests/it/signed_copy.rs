//! The signed copy PDF: real text with any name, tagged, two attachments,
//! and verification of the file on its own, down to one flipped byte.

use kodekort_client::signed_copy::{render, verify_file};
use kodekort_client::{verify_envelope, Lang, Verdict};
use kodekort_proto::wire::Document;
use kodekort_proto::Envelope;
use kodekort_tests::{poppler as tool, Harness};

const NAME: &str = "Søren Ærø-Łukasiewicz Öztürk Παπαδόπουλος";
const CONTENT: &str = "Samtykke til fremleje\n\nJeg, Søren, giver samtykke. Zażółć gęślą jaźń; çğıöşü; αβγδ.\n\nLast line.\n";

async fn signed(h: &Harness) -> (Document, Envelope) {
    let user = h.add_user("soeren", NAME).await;
    let submitted = h
        .with_service(|s| {
            s.add_document(
                "soeren",
                "Boligselskabet Øst",
                "Samtykke – fremleje",
                CONTENT,
            )
        })
        .await
        .unwrap();
    let token = h.login(&user).await;
    let (_, doc) = h
        .get(&format!("/documents/{}", submitted.id), Some(&token))
        .await;
    let env = h
        .sign(&user, &token, &submitted.id, &submitted.sha256)
        .await;
    (
        serde_json::from_value(doc).unwrap(),
        serde_json::from_value(env["envelope"].clone()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signed_copy_reads_is_tagged_carries_both_files_and_verifies_alone() {
    let h = Harness::start().await;
    let (doc, envelope) = signed(&h).await;
    let roots = [h.service.trust().clone()];
    let verdict = verify_envelope(&envelope, &roots, Some(doc.content.as_bytes()));
    assert!(verdict.is_valid());
    let pdf = render(&doc, &envelope, &verdict, Lang::Da).unwrap();
    let path = h.data_dir().join("signed.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let p = path.to_str().unwrap();

    let text = tool("pdftotext", &["-layout", p, "-"]);
    for needle in [
        NAME,
        "Zażółć gęślą jaźń; çğıöşü; αβγδ.",
        "Samtykke – fremleje",
        &envelope.document.sha256,
        "Side 2 af 2",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let info = tool("pdfinfo", &[p]);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Tagged:") && l.ends_with("yes")),
        "{info}"
    );
    assert!(
        info.contains("Samtykke – fremleje"),
        "title in metadata: {info}"
    );
    let structure = tool("pdfinfo", &["-struct-text", p]);
    assert!(
        structure.contains("H1") && structure.contains(NAME),
        "{structure}"
    );
    let attachments = tool("pdfdetach", &["-list", p]);
    assert!(attachments.contains("2 embedded files"), "{attachments}");
    assert!(attachments.contains("envelope.json") && attachments.contains("content.txt"));

    // The file verifies on its own: valid with the pinned root, unknown without.
    let check = verify_file(&path, &roots).unwrap();
    assert!(check.verdict.is_valid(), "{:?}", check.verdict);
    assert_eq!(check.content.as_deref(), Some(CONTENT.as_bytes()));
    assert_eq!(
        verify_file(&path, &[]).unwrap().verdict.code(),
        "unknown_issuer"
    );

    // Any single flipped byte in the content attachment: "content altered".
    let start = pdf
        .windows(CONTENT.len())
        .position(|w| w == CONTENT.as_bytes())
        .expect("content.txt is stored as is");
    for offset in [0, 25, CONTENT.len() - 2] {
        let mut tampered = pdf.clone();
        tampered[start + offset] ^= 0x01;
        let bad = h.data_dir().join(format!("tampered-{offset}.pdf"));
        std::fs::write(&bad, &tampered).unwrap();
        let check = verify_file(&bad, &roots).unwrap();
        assert_eq!(check.verdict.code(), "content_altered", "offset {offset}");
        assert_eq!(
            check.verdict.message(Lang::En),
            "The content has been altered since it was signed."
        );
    }
    // Something that is not a signed file says so.
    let err = verify_file(&h.data_dir().join("trust.json"), &roots).unwrap_err();
    assert_eq!(err.code(), "not_a_signed_file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demo_signed_copy_says_demo_on_every_page_and_verifies_as_demo() {
    let demo = kodekort_demo::Demo::start(1).await.unwrap();
    let account = demo.account("demo1").unwrap().clone();
    let api = kodekort_client::ApiClient::new(&demo.server()).unwrap();
    let mut login = kodekort_client::Login::new();
    let state = login
        .submit_credentials(
            &api,
            "demo1",
            &kodekort_proto::Password::new(&account.password),
            false,
        )
        .await
        .unwrap();
    let kodekort_client::AuthState::Code(prompt) = state.clone() else {
        panic!()
    };
    let code = |key: &str| {
        account
            .card
            .codes
            .iter()
            .find(|p| p.key == key)
            .unwrap()
            .code
            .clone()
    };
    login.submit_code(&api, &code(&prompt.key)).await.unwrap();
    let session = login.into_session().unwrap();
    let id = api.documents(&session.token).await.unwrap()[0].id.clone();
    let doc = api.document(&session.token, &id).await.unwrap();
    let ch = api
        .begin_sign(
            &session.token,
            &id,
            &kodekort_proto::signing::sha256_hex(doc.content.as_bytes()),
        )
        .await
        .unwrap();
    let envelope = api
        .sign_code(
            &session.token,
            &ch.sign_id,
            &kodekort_client::login::normalise_code(&code(&ch.key)).unwrap(),
        )
        .await
        .unwrap();
    let verdict = verify_envelope(&envelope, &[], Some(doc.content.as_bytes()));
    assert!(matches!(verdict, Verdict::Demo(_)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.pdf");
    std::fs::write(&path, render(&doc, &envelope, &verdict, Lang::En).unwrap()).unwrap();
    let text = tool("pdftotext", &[path.to_str().unwrap(), "-"]);
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 2);
    for page in pages {
        assert!(
            page.contains("DEMO · practice document · not legally valid"),
            "{page}"
        );
    }
    let check = verify_file(&path, &[]).unwrap();
    assert_eq!(check.verdict.code(), "demo");
    demo.stop().await.unwrap();
}

//! The signed copy: a tagged PDF with the document's full text, a
//! signature page (who, when, SHA-256, key ids, how to verify), and the
//! envelope and the exact signed content embedded as attachments, so the
//! file verifies on its own. [`verify_file`] reads one back (or a bare
//! envelope.json) and says whether it is valid, in plain words.

use std::path::Path;

use kodekort_pdf::{Document as Pdf, Relationship, Role, Weight, A4};
use kodekort_proto::signing::TrustRoot;
use kodekort_proto::wire::Document;
use kodekort_proto::{text, Envelope};

use crate::catalogue::{self, Lang};
use crate::error::{format_time, ClientError, Result};
use crate::verify::{reason, verify_envelope, Verdict};

/// Name of the embedded envelope.
pub const ENVELOPE_NAME: &str = "envelope.json";
/// Name of the embedded signed content.
pub const CONTENT_NAME: &str = "content.txt";

const MARGIN: f32 = 56.0;
const BODY: f32 = 11.0;
const LINE: f32 = 15.5;
const TITLE: f32 = 18.0;
const SMALL: f32 = 8.5;

fn t(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    catalogue::text(lang, "pdf", key, args)
}

/// Lays out tagged paragraphs top to bottom, starting new pages as needed.
struct Flow {
    pdf: Pdf,
    page: usize,
    y: f32,
    demo: bool,
    lang: Lang,
}

impl Flow {
    fn new(title: &str, lang: Lang, demo: bool) -> Result<Flow> {
        let pdf = Pdf::new(title, lang.tag()).map_err(pdf_error)?;
        let mut flow = Flow {
            pdf,
            page: 0,
            y: 0.0,
            demo,
            lang,
        };
        flow.new_page()?;
        Ok(flow)
    }

    fn new_page(&mut self) -> Result<()> {
        self.page = self.pdf.add_page();
        let top = A4.1 - MARGIN * 0.6;
        let header = t(self.lang, "header", &[]);
        self.pdf
            .text_gray(
                self.page,
                MARGIN,
                top,
                SMALL,
                Weight::Regular,
                0.35,
                &header,
            )
            .map_err(pdf_error)?;
        if self.demo {
            // Every page says DEMO, large, so a printout cannot pass for real;
            // on the first page it is also text a screen reader reads.
            let banner = t(self.lang, "demo_banner", &[]);
            let y = top - 22.0;
            if self.page == 0 {
                let p = self.pdf.element(Role::P);
                self.pdf
                    .text_in(p, self.page, MARGIN, y, 16.0, Weight::Bold, &banner)
                    .map_err(pdf_error)?;
            } else {
                self.pdf
                    .text_gray(self.page, MARGIN, y, 16.0, Weight::Bold, 0.45, &banner)
                    .map_err(pdf_error)?;
            }
            self.y = top - 46.0;
        } else {
            self.y = top - 24.0;
        }
        Ok(())
    }

    /// One paragraph (a structure element), wrapped to the text width.
    fn paragraph(&mut self, role: Role, size: f32, weight: Weight, text: &str) -> Result<()> {
        let width = A4.0 - 2.0 * MARGIN;
        let line_height = size * LINE / BODY;
        let lines = self.pdf.wrap(text, size, weight, width);
        let element = self.pdf.element(role);
        for line in lines {
            if self.y - line_height < MARGIN + 20.0 {
                self.new_page()?;
            }
            self.y -= line_height;
            if !line.is_empty() {
                self.pdf
                    .text_in(element, self.page, MARGIN, self.y, size, weight, &line)
                    .map_err(pdf_error)?;
            }
        }
        Ok(())
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

fn pdf_error(e: kodekort_pdf::PdfError) -> ClientError {
    ClientError::Pdf(e.to_string())
}

/// Renders the signed copy of `document`, signed by `envelope`, with the
/// verdict this client reached when it saved it.
pub fn render(
    document: &Document,
    envelope: &Envelope,
    verdict: &Verdict,
    lang: Lang,
) -> Result<Vec<u8>> {
    let demo = matches!(verdict, Verdict::Demo(_));
    // Shown as everywhere else: a control character as a visible escape.
    let title = text::visible_line(&document.title);
    let content = text::visible(&document.content);
    let mut flow = Flow::new(&title, lang, demo)?;

    flow.paragraph(Role::H1, TITLE, Weight::Bold, &title)?;
    flow.gap(4.0);
    flow.paragraph(
        Role::P,
        BODY,
        Weight::Regular,
        &t(
            lang,
            "from",
            &[("issuer", &text::visible_line(&document.issuer))],
        ),
    )?;
    flow.paragraph(
        Role::P,
        BODY,
        Weight::Regular,
        &t(lang, "date", &[("date", &format_time(document.created_at))]),
    )?;
    flow.gap(10.0);
    // The text as signed: a paragraph per blank-line-separated block.
    for block in content.split("\n\n") {
        flow.paragraph(Role::P, BODY, Weight::Regular, block.trim_end_matches('\n'))?;
        flow.gap(LINE * 0.5);
    }

    flow.new_page()?;
    flow.paragraph(Role::H1, TITLE, Weight::Bold, &t(lang, "signature", &[]))?;
    flow.gap(6.0);
    let facts = [
        t(
            lang,
            "signed_by",
            &[("name", &text::visible_line(&envelope.signer.name))],
        ),
        t(
            lang,
            "signed_at",
            &[("time", &format_time(envelope.signed_at.as_datetime()))],
        ),
        t(lang, "document_id", &[("id", &envelope.document.id)]),
        t(lang, "sha256", &[("hash", &envelope.document.sha256)]),
        t(lang, "key_id", &[("key", &envelope.signer.key_id)]),
        t(
            lang,
            "root_key_id",
            &[("key", &envelope.certificate.issuer_key_id)],
        ),
        t(lang, "verdict", &[("verdict", &verdict.message(lang))]),
    ];
    for fact in &facts {
        flow.paragraph(Role::P, BODY, Weight::Regular, fact)?;
    }
    flow.gap(12.0);
    flow.paragraph(Role::H2, 13.0, Weight::Bold, &t(lang, "how_heading", &[]))?;
    for key in ["how_1", "how_2", "how_3"] {
        flow.paragraph(Role::P, BODY, Weight::Regular, &t(lang, key, &[]))?;
        flow.gap(4.0);
    }

    let Flow { mut pdf, page, .. } = flow;
    let total = page + 1;
    for n in 0..total {
        let label = t(
            lang,
            "page",
            &[("n", &(n + 1).to_string()), ("total", &total.to_string())],
        );
        pdf.text_right(
            n,
            A4.0 - MARGIN,
            MARGIN * 0.6,
            SMALL,
            Weight::Regular,
            &label,
        )
        .map_err(pdf_error)?;
    }
    let envelope_json = serde_json::to_vec_pretty(envelope).expect("envelopes serialise");
    pdf.attach(
        ENVELOPE_NAME,
        "application/json",
        "Kodekort signature envelope (PROTOCOL.md)",
        Relationship::Supplement,
        &envelope_json,
    );
    pdf.attach(
        CONTENT_NAME,
        "text/plain",
        "The exact signed text, UTF-8",
        Relationship::Source,
        document.content.as_bytes(),
    );
    pdf.finish().map_err(pdf_error)
}

/// What a file check found.
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub verdict: Verdict,
    /// The envelope, when it could be read in its canonical form.
    pub envelope: Option<Envelope>,
    /// The signed content, when the file carries it (a signed PDF).
    pub content: Option<Vec<u8>>,
}

/// Checks a signed PDF (its attachments) or an envelope JSON file.
pub fn verify_file(path: &Path, roots: &[TrustRoot]) -> Result<FileCheck> {
    let bytes = std::fs::read(path).map_err(|e| ClientError::FileUnreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    verify_bytes(&bytes, roots).ok_or_else(|| ClientError::NotASignedFile(path.to_path_buf()))
}

/// [`verify_file`] over a file's bytes: `None` when they are neither a
/// signed copy nor an envelope.
pub fn verify_bytes(bytes: &[u8], roots: &[TrustRoot]) -> Option<FileCheck> {
    let (envelope_json, content) = if bytes.starts_with(b"%PDF-") {
        let (env, content) = read_attachments(bytes)?;
        (env, Some(content))
    } else {
        (bytes.to_vec(), None)
    };
    if !looks_like_an_envelope(&envelope_json) {
        return None;
    }
    let (verdict, envelope) = match kodekort_proto::parse_envelope(&envelope_json) {
        Ok(envelope) => (
            verify_envelope(&envelope, roots, content.as_deref()),
            Some(envelope),
        ),
        Err(e) => (Verdict::Invalid(reason(&e)), None),
    };
    Some(FileCheck {
        verdict,
        envelope,
        content,
    })
}

/// Whether a file means to be an envelope, so that a fault in it is a
/// malformed signature rather than some other file: a JSON object with a
/// `certificate` member, or the API's `{"envelope": …}`.
fn looks_like_an_envelope(json: &[u8]) -> bool {
    // Only the first value counts here, and a repeated member still parses
    // (the last wins): what follows it, or the repeat, is for the strict
    // reader to call malformed. Text that is not JSON is some other file.
    let first = serde_json::Deserializer::from_slice(json)
        .into_iter::<serde_json::Value>()
        .next();
    let Some(Ok(serde_json::Value::Object(members))) = first else {
        return false;
    };
    members.contains_key("certificate") || members.contains_key("envelope")
}

/// The envelope and content attachments of a PDF, by name.
fn read_attachments(pdf: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let doc = lopdf::Document::load_mem(pdf).ok()?;
    let names = doc
        .catalog()
        .ok()?
        .get_deref(b"Names", &doc)
        .ok()?
        .as_dict()
        .ok()?;
    let files = names
        .get_deref(b"EmbeddedFiles", &doc)
        .ok()?
        .as_dict()
        .ok()?;
    let list = files.get_deref(b"Names", &doc).ok()?.as_array().ok()?;
    let (mut envelope, mut content) = (None, None);
    for pair in list.chunks(2) {
        let [name, spec] = pair else { continue };
        let name = name.as_str().ok()?;
        let (_, spec) = doc.dereference(spec).ok()?;
        let ef = spec
            .as_dict()
            .ok()?
            .get_deref(b"EF", &doc)
            .ok()?
            .as_dict()
            .ok()?;
        let stream = ef.get_deref(b"F", &doc).ok()?.as_stream().ok()?;
        let data = if stream.dict.get(b"Filter").is_ok() {
            stream.decompressed_content().ok()?
        } else {
            stream.content.clone()
        };
        match name {
            b"envelope.json" => envelope = Some(data),
            b"content.txt" => content = Some(data),
            _ => {}
        }
    }
    Some((envelope?, content?))
}

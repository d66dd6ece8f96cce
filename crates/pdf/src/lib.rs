//! A small PDF writer for Kodekort's printed outputs (code cards, and later
//! signed copies and class kits): A4 pages of positioned text and boxes,
//! with DejaVu Sans embedded and subsetted so that any name renders, from
//! Danish æøå to Polish, Turkish and Greek. Text stays real text: every
//! glyph maps back to Unicode, so `pdftotext` and screen readers read it.
//!
//! No I/O: a [`Document`] becomes bytes; callers decide where they go.

use std::collections::BTreeMap;

mod grid;
pub use grid::Grid;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;
use ttf_parser::Face;

/// A4 in points.
pub const A4: (f32, f32) = (595.28, 841.89);

const REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Errors while writing a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font could not be read")]
    Font,
    #[error("the embedded font could not be subsetted: {0}")]
    Subset(String),
    #[error("page {0} does not exist")]
    NoSuchPage(usize),
    #[error("structure element {0} does not exist")]
    NoSuchElement(usize),
}

/// The two weights shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// One embedded font and the glyphs used so far.
struct FontUse {
    data: &'static [u8],
    face: Face<'static>,
    postscript_name: &'static str,
    remapper: GlyphRemapper,
    /// New glyph id → advance width in 1/1000 em.
    widths: BTreeMap<u16, f32>,
    /// New glyph id → the text it stands for.
    unicode: BTreeMap<u16, char>,
}

impl FontUse {
    fn new(data: &'static [u8], postscript_name: &'static str) -> Result<Self, PdfError> {
        Ok(FontUse {
            data,
            face: Face::parse(data, 0).map_err(|_| PdfError::Font)?,
            postscript_name,
            remapper: GlyphRemapper::new(),
            widths: BTreeMap::new(),
            unicode: BTreeMap::new(),
        })
    }

    fn units(&self) -> f32 {
        f32::from(self.face.units_per_em())
    }

    fn advance(&self, c: char) -> f32 {
        let gid = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        f32::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) * 1000.0 / self.units()
    }

    /// Maps text to 2-byte CIDs (the subset's glyph ids), recording widths.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let gid = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
            let cid = self.remapper.remap(gid.0);
            let width = self.advance(c);
            self.widths.insert(cid, width);
            self.unicode.entry(cid).or_insert(c);
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }
}

/// What a run of text is in the document's structure (tagged PDF), so
/// that screen readers announce headings and read paragraphs in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    H1,
    H2,
    P,
}

/// A structure element: its role and its marked-content pieces.
struct Element {
    role: Role,
    /// (page index, MCID) of each piece, in reading order.
    parts: Vec<(usize, i32)>,
}

/// A file embedded in the PDF (EmbeddedFiles and /AF).
struct Attachment {
    name: String,
    mime: String,
    description: String,
    relationship: Relationship,
    bytes: Vec<u8>,
}

/// How an attachment relates to the document (PDF /AFRelationship).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    /// The document was made from it (the signed text).
    Source,
    /// Extra material (the signature envelope).
    Supplement,
}

struct Page {
    content: Content,
    /// Element index of each MCID on this page.
    mcid_owners: Vec<usize>,
}

/// A PDF being built. Every text is either part of a structure element or
/// marked as an artifact (page furniture), so the PDF is fully tagged.
pub struct Document {
    title: String,
    lang: String,
    pages: Vec<Page>,
    fonts: [FontUse; 2],
    elements: Vec<Element>,
    attachments: Vec<Attachment>,
}

/// A gray level, 0 black to 1 white.
pub type Gray = f32;

impl Document {
    /// A new empty document with a title (shown by viewers) and a language tag.
    pub fn new(title: &str, lang: &str) -> Result<Self, PdfError> {
        Ok(Document {
            title: title.to_owned(),
            lang: lang.to_owned(),
            pages: Vec::new(),
            elements: Vec::new(),
            attachments: Vec::new(),
            fonts: [
                FontUse::new(REGULAR_TTF, "DejaVuSans")?,
                FontUse::new(BOLD_TTF, "DejaVuSans-Bold")?,
            ],
        })
    }

    /// Adds an A4 page; returns its index.
    pub fn add_page(&mut self) -> usize {
        self.pages.push(Page {
            content: Content::new(),
            mcid_owners: Vec::new(),
        });
        self.pages.len() - 1
    }

    /// Starts a structure element; its text comes with [`Document::text_in`].
    pub fn element(&mut self, role: Role) -> usize {
        self.elements.push(Element {
            role,
            parts: Vec::new(),
        });
        self.elements.len() - 1
    }

    /// Embeds a file, listed as an attachment and associated with the document.
    pub fn attach(
        &mut self,
        name: &str,
        mime: &str,
        description: &str,
        relationship: Relationship,
        bytes: &[u8],
    ) {
        self.attachments.push(Attachment {
            name: name.to_owned(),
            mime: mime.to_owned(),
            description: description.to_owned(),
            relationship,
            bytes: bytes.to_vec(),
        });
    }

    /// Splits text into lines no wider than `width`, at spaces where it can,
    /// inside a word where it must. Line breaks in the text are kept.
    pub fn wrap(&self, text: &str, size: f32, weight: Weight, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ') {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.text_width(&candidate, size, weight) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line is cut where it must be.
                for c in word.chars() {
                    line.push(c);
                    if self.text_width(&line, size, weight) > width {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    fn font(&self, weight: Weight) -> &FontUse {
        &self.fonts[weight as usize]
    }

    /// Width of `text` at `size` points.
    pub fn text_width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let font = self.font(weight);
        text.chars().map(|c| font.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// Draws one line of page furniture (headers, page numbers, column
    /// labels), marked as an artifact so screen readers skip it. The baseline starts at (`x`, `y`),
    /// in points from the bottom-left corner.
    pub fn text(
        &mut self,
        page: usize,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: &str,
    ) -> Result<(), PdfError> {
        let encoded = self.fonts[weight as usize].encode(text);
        let page = self.pages.get_mut(page).ok_or(PdfError::NoSuchPage(page))?;
        page.content.begin_marked_content(Name(b"Artifact"));
        show(&mut page.content, x, y, size, weight, &encoded);
        page.content.end_marked_content();
        Ok(())
    }

    /// Draws one line of text that belongs to a structure element.
    #[allow(clippy::too_many_arguments)]
    pub fn text_in(
        &mut self,
        element: usize,
        page: usize,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: &str,
    ) -> Result<(), PdfError> {
        let encoded = self.fonts[weight as usize].encode(text);
        let role = self
            .elements
            .get(element)
            .ok_or(PdfError::NoSuchElement(element))?
            .role;
        let p = self.pages.get_mut(page).ok_or(PdfError::NoSuchPage(page))?;
        let mcid = p.mcid_owners.len() as i32;
        p.mcid_owners.push(element);
        p.content
            .begin_marked_content_with_properties(role_tag(role))
            .properties()
            .identify(mcid);
        show(&mut p.content, x, y, size, weight, &encoded);
        p.content.end_marked_content();
        self.elements[element].parts.push((page, mcid));
        Ok(())
    }

    /// Draws text so that it ends at `right`.
    pub fn text_right(
        &mut self,
        page: usize,
        right: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: &str,
    ) -> Result<(), PdfError> {
        let x = right - self.text_width(text, size, weight);
        self.text(page, x, y, size, weight, text)
    }

    /// Draws a rectangle, filled and/or stroked.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(
        &mut self,
        page: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Gray>,
        stroke: Option<(Gray, f32)>,
    ) -> Result<(), PdfError> {
        let content = &mut self
            .pages
            .get_mut(page)
            .ok_or(PdfError::NoSuchPage(page))?
            .content;
        content.begin_marked_content(Name(b"Artifact"));
        content.save_state();
        if let Some(gray) = fill {
            content.set_fill_gray(gray);
        }
        if let Some((gray, width)) = stroke {
            content.set_stroke_gray(gray).set_line_width(width);
        }
        content.rect(x, y, w, h);
        match (fill.is_some(), stroke.is_some()) {
            (true, true) => content.fill_nonzero_and_stroke(),
            (true, false) => content.fill_nonzero(),
            (false, true) => content.stroke(),
            (false, false) => content.end_path(),
        };
        content.restore_state();
        content.end_marked_content();
        Ok(())
    }

    /// Draws text in a gray level (for watermarks and fine print).
    #[allow(clippy::too_many_arguments)]
    pub fn text_gray(
        &mut self,
        page: usize,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        gray: Gray,
        text: &str,
    ) -> Result<(), PdfError> {
        let content = &mut self
            .pages
            .get_mut(page)
            .ok_or(PdfError::NoSuchPage(page))?
            .content;
        content.save_state().set_fill_gray(gray);
        self.text(page, x, y, size, weight, text)?;
        self.pages[page].content.restore_state();
        Ok(())
    }

    /// Draws `text` large, light and diagonal across the page centre, as
    /// an artifact. Call it right after [`Document::add_page`] so that the
    /// page's content is drawn over it.
    pub fn watermark(&mut self, page: usize, text: &str) -> Result<(), PdfError> {
        let size = 150.0;
        let encoded = self.fonts[Weight::Bold as usize].encode(text);
        let width = self.text_width(text, size, Weight::Bold);
        let (cos, sin) = (
            std::f32::consts::FRAC_PI_4.cos(),
            std::f32::consts::FRAC_PI_4.sin(),
        );
        // Start so that the rotated text's midpoint lands on the page's.
        let (cx, cy) = (A4.0 / 2.0, A4.1 / 2.0);
        let (half_w, half_h) = (width / 2.0, size * 0.35);
        let x = cx - cos * half_w + sin * half_h;
        let y = cy - sin * half_w - cos * half_h;
        let content = &mut self
            .pages
            .get_mut(page)
            .ok_or(PdfError::NoSuchPage(page))?
            .content;
        content.begin_marked_content(Name(b"Artifact"));
        content.save_state().set_fill_gray(0.88);
        content
            .begin_text()
            .set_font(font_name(Weight::Bold), size)
            .set_text_matrix([cos, sin, -sin, cos, x, y])
            .show(Str(&encoded))
            .end_text();
        content.restore_state();
        content.end_marked_content();
        Ok(())
    }

    /// Writes the PDF: fonts subsetted and embedded with ToUnicode maps,
    /// the structure tree, and the attachments.
    pub fn finish(self) -> Result<Vec<u8>, PdfError> {
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog_id = alloc();
        let tree_id = alloc();
        let info_id = alloc();
        let struct_root_id = alloc();
        let document_elem_id = alloc();
        let font_ids: Vec<Ref> = self.fonts.iter().map(|_| alloc()).collect();
        let page_ids: Vec<(Ref, Ref, Ref)> = self
            .pages
            .iter()
            .map(|_| (alloc(), alloc(), alloc()))
            .collect();
        let element_ids: Vec<Ref> = self.elements.iter().map(|_| alloc()).collect();
        let attachment_ids: Vec<(Ref, Ref)> = self
            .attachments
            .iter()
            .map(|_| (alloc(), alloc()))
            .collect();

        let mut pdf = Pdf::new();
        let mut catalog = pdf.catalog(catalog_id);
        catalog
            .pages(tree_id)
            .lang(TextStr(&self.lang))
            .pair(Name(b"StructTreeRoot"), struct_root_id);
        catalog.mark_info().marked(true);
        catalog.viewer_preferences().display_doc_title(true);
        if !self.attachments.is_empty() {
            let mut names = catalog.names();
            let mut files = names.embedded_files();
            let mut entries = files.names();
            // Name trees are sorted by key.
            let mut sorted: Vec<_> = self.attachments.iter().zip(&attachment_ids).collect();
            sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
            for (a, (spec, _)) in sorted {
                entries.insert(Str(a.name.as_bytes()), *spec);
            }
            entries.finish();
            files.finish();
            names.finish();
            catalog
                .insert(Name(b"AF"))
                .array()
                .items(attachment_ids.iter().map(|(spec, _)| *spec));
        }
        catalog.finish();

        pdf.document_info(info_id)
            .title(TextStr(&self.title))
            .producer(TextStr("Kodekort"));
        pdf.pages(tree_id)
            .kids(page_ids.iter().map(|(page, _, _)| *page))
            .count(page_ids.len() as i32);

        // Structure: StructTreeRoot → Document → H1/H2/P with marked content.
        let mut root = pdf
            .indirect(struct_root_id)
            .start::<pdf_writer::writers::StructTreeRoot>();
        root.child(document_elem_id);
        let mut parent_tree = root.parent_tree();
        let mut nums = parent_tree.nums();
        for (i, (_, _, parents_id)) in page_ids.iter().enumerate() {
            nums.insert(i as i32, *parents_id);
        }
        nums.finish();
        parent_tree.finish();
        root.parent_tree_next_key(page_ids.len() as i32);
        root.finish();
        let mut document = pdf.struct_element(document_elem_id);
        document
            .kind(pdf_writer::types::StructRole::Document)
            .parent(struct_root_id)
            .lang(TextStr(&self.lang));
        document.children().items(element_ids.iter().copied());
        document.finish();
        for (element, id) in self.elements.iter().zip(&element_ids) {
            let mut e = pdf.struct_element(*id);
            e.kind(match element.role {
                Role::H1 => pdf_writer::types::StructRole::H1,
                Role::H2 => pdf_writer::types::StructRole::H2,
                Role::P => pdf_writer::types::StructRole::P,
            })
            .parent(document_elem_id);
            let mut children = e.children();
            for (page, mcid) in &element.parts {
                children
                    .marked_content_ref()
                    .marked_content_id(*mcid)
                    .page(page_ids[*page].0);
            }
            children.finish();
            e.finish();
        }

        for (i, ((page_id, content_id, parents_id), page)) in
            page_ids.iter().zip(self.pages).enumerate()
        {
            let mut p = pdf.page(*page_id);
            p.media_box(Rect::new(0.0, 0.0, A4.0, A4.1))
                .parent(tree_id)
                .contents(*content_id)
                .struct_parents(i as i32)
                .tab_order(pdf_writer::types::TabOrder::StructureOrder);
            let mut resources = p.resources();
            let mut fonts = resources.fonts();
            for (i, id) in font_ids.iter().enumerate() {
                fonts.pair(
                    font_name(if i == 0 {
                        Weight::Regular
                    } else {
                        Weight::Bold
                    }),
                    *id,
                );
            }
            fonts.finish();
            resources.finish();
            p.finish();
            pdf.stream(*content_id, &page.content.finish());
            pdf.indirect(*parents_id)
                .array()
                .items(page.mcid_owners.iter().map(|e| element_ids[*e]));
        }

        for (a, (spec_id, file_id)) in self.attachments.iter().zip(&attachment_ids) {
            let mut file = pdf.embedded_file(*file_id, &a.bytes);
            file.subtype(Name(a.mime.as_bytes()));
            file.params().size(a.bytes.len() as i32);
            file.finish();
            let mut spec = pdf.file_spec(*spec_id);
            spec.path(Str(a.name.as_bytes()))
                .unic_file(TextStr(&a.name))
                .description(TextStr(&a.description))
                .association_kind(match a.relationship {
                    Relationship::Source => pdf_writer::types::AssociationKind::Source,
                    Relationship::Supplement => pdf_writer::types::AssociationKind::Supplement,
                });
            spec.insert(Name(b"EF"))
                .dict()
                .pair(Name(b"F"), *file_id)
                .pair(Name(b"UF"), *file_id);
            spec.finish();
        }

        for (font, type0_id) in self.fonts.iter().zip(font_ids) {
            write_font(&mut pdf, font, type0_id, &mut alloc)?;
        }
        Ok(pdf.finish())
    }
}

fn show(content: &mut Content, x: f32, y: f32, size: f32, weight: Weight, encoded: &[u8]) {
    content
        .begin_text()
        .set_font(font_name(weight), size)
        .next_line(x, y)
        .show(Str(encoded))
        .end_text();
}

fn role_tag(role: Role) -> Name<'static> {
    match role {
        Role::H1 => Name(b"H1"),
        Role::H2 => Name(b"H2"),
        Role::P => Name(b"P"),
    }
}

fn font_name(weight: Weight) -> Name<'static> {
    match weight {
        Weight::Regular => Name(b"F0"),
        Weight::Bold => Name(b"F1"),
    }
}

/// Writes a Type0 font with a CIDFontType2 descendant over the subset,
/// CIDs equal to the subset's glyph ids.
fn write_font(
    pdf: &mut Pdf,
    font: &FontUse,
    type0_id: Ref,
    alloc: &mut impl FnMut() -> Ref,
) -> Result<(), PdfError> {
    let (cid_id, descriptor_id, file_id, cmap_id) = (alloc(), alloc(), alloc(), alloc());
    let subset = subsetter::subset(font.data, 0, &font.remapper)
        .map_err(|e| PdfError::Subset(e.to_string()))?;
    // The subset tag: six letters derived from the glyph set, as PDF asks.
    let tag: String = {
        let mut h: u32 = 2166136261;
        for (cid, c) in &font.unicode {
            h = (h ^ u32::from(*cid) ^ (*c as u32)).wrapping_mul(16777619);
        }
        (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
            .collect()
    };
    let base = format!("{tag}+{}", font.postscript_name);
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0_id)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(system_info)
        .font_descriptor(descriptor_id)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let mut widths = cid.widths();
    for (cid, width) in &font.widths {
        widths.consecutive(*cid, [*width]);
    }
    widths.finish();
    cid.finish();

    let scale = 1000.0 / font.units();
    let bbox = font.face.global_bounding_box();
    pdf.font_descriptor(descriptor_id)
        .name(Name(base.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(font.face.ascender()) * scale)
        .descent(f32::from(font.face.descender()) * scale)
        .cap_height(f32::from(font.face.capital_height().unwrap_or(font.face.ascender())) * scale)
        .stem_v(80.0)
        .font_file2(file_id);
    pdf.stream(file_id, &subset);

    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system_info);
    for (cid, c) in &font.unicode {
        cmap.pair(*cid, *c);
    }
    pdf.cmap(cmap_id, &cmap.finish());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pdf_with_subsetted_fonts() {
        let mut doc = Document::new("Test – æøå", "da").unwrap();
        let p = doc.add_page();
        doc.text(
            p,
            72.0,
            700.0,
            12.0,
            Weight::Regular,
            "Søren Łukasz Öztürk Παπαδόπουλος",
        )
        .unwrap();
        doc.text(p, 72.0, 680.0, 12.0, Weight::Bold, "KK-1234-5678")
            .unwrap();
        let bytes = doc.finish().unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        // Subsetting keeps the file small: far below the 760 KB font.
        assert!(bytes.len() < 100_000, "{} bytes", bytes.len());
        assert!(bytes.windows(10).any(|w| w == b"DejaVuSans"));
    }

    #[test]
    fn width_grows_with_text() {
        let doc = Document::new("t", "en").unwrap();
        let one = doc.text_width("0", 10.0, Weight::Regular);
        assert!(one > 4.0 && one < 8.0, "{one}");
        assert!((doc.text_width("0000", 10.0, Weight::Regular) - 4.0 * one).abs() < 0.01);
    }
}

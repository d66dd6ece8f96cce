//! A small PDF writer for Kodekort's printed outputs (code cards, and later
//! signed copies and class kits): A4 pages of positioned text and boxes,
//! with DejaVu Sans embedded and subsetted so that any name renders, from
//! Danish æøå to Polish, Turkish and Greek. Text stays real text: every
//! glyph maps back to Unicode, so `pdftotext` and screen readers read it.
//!
//! No I/O: a [`Document`] becomes bytes; callers decide where they go.

use std::collections::BTreeMap;

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

/// A PDF being built.
pub struct Document {
    title: String,
    lang: String,
    pages: Vec<Content>,
    fonts: [FontUse; 2],
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
            fonts: [
                FontUse::new(REGULAR_TTF, "DejaVuSans")?,
                FontUse::new(BOLD_TTF, "DejaVuSans-Bold")?,
            ],
        })
    }

    /// Adds an A4 page; returns its index.
    pub fn add_page(&mut self) -> usize {
        self.pages.push(Content::new());
        self.pages.len() - 1
    }

    fn font(&self, weight: Weight) -> &FontUse {
        &self.fonts[weight as usize]
    }

    /// Width of `text` at `size` points.
    pub fn text_width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let font = self.font(weight);
        text.chars().map(|c| font.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// Draws one line of text with its baseline starting at (`x`, `y`),
    /// measured in points from the bottom-left corner.
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
        let content = self.pages.get_mut(page).ok_or(PdfError::NoSuchPage(page))?;
        content
            .begin_text()
            .set_font(font_name(weight), size)
            .next_line(x, y)
            .show(Str(&encoded))
            .end_text();
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
        let content = self.pages.get_mut(page).ok_or(PdfError::NoSuchPage(page))?;
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
        let content = self.pages.get_mut(page).ok_or(PdfError::NoSuchPage(page))?;
        content.save_state().set_fill_gray(gray);
        self.text(page, x, y, size, weight, text)?;
        self.pages[page].restore_state();
        Ok(())
    }

    /// Writes the PDF: fonts subsetted and embedded, with ToUnicode maps.
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
        let font_ids: Vec<Ref> = self.fonts.iter().map(|_| alloc()).collect();
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();

        let mut pdf = Pdf::new();
        pdf.catalog(catalog_id)
            .pages(tree_id)
            .lang(TextStr(&self.lang))
            .viewer_preferences()
            .display_doc_title(true);
        pdf.document_info(info_id)
            .title(TextStr(&self.title))
            .producer(TextStr("Kodekort"));
        pdf.pages(tree_id)
            .kids(page_ids.iter().map(|(page, _)| *page))
            .count(page_ids.len() as i32);

        for ((page_id, content_id), content) in page_ids.iter().zip(self.pages) {
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, A4.0, A4.1))
                .parent(tree_id)
                .contents(*content_id);
            let mut resources = page.resources();
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
            page.finish();
            pdf.stream(*content_id, &content.finish());
        }

        for (font, type0_id) in self.fonts.iter().zip(font_ids) {
            write_font(&mut pdf, font, type0_id, &mut alloc)?;
        }
        Ok(pdf.finish())
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

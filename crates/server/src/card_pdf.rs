//! The printable code card: A4, serial and holder on top, then the 148
//! key/code pairs in key order, in columns with shaded bands so that a key
//! is quick to find. The text is real text (pdftotext reads every pair).
//! The large-print variant spreads the grid over three pages.

use kodekort_pdf::{Document, Grid, PdfError, Role, Weight, A4};

use crate::card::NewCard;

/// Print size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Standard,
    Large,
}

struct Layout {
    columns: usize,
    rows_per_page: usize,
    font: f32,
    row_height: f32,
}

impl Size {
    fn layout(self) -> Layout {
        match self {
            Size::Standard => Layout {
                columns: 4,
                rows_per_page: 37,
                font: 11.0,
                row_height: 16.0,
            },
            Size::Large => Layout {
                columns: 3,
                rows_per_page: 21,
                font: 17.0,
                row_height: 24.0,
            },
        }
    }
}

const MARGIN: f32 = 42.0;

/// How to use the card, in Danish and English.
const INSTRUCTIONS: [&str; 6] = [
    "Find nøglen, du bliver spurgt om, og skriv koden ved siden af.",
    "Find the key you are asked for and type the code beside it.",
    "Hver kode virker én gang. Opbevar kortet sikkert.",
    "Each code works once. Keep the card safe.",
    "Kodekort spørger aldrig om mere end én kode ad gangen.",
    "Kodekort never asks for more than one code at a time.",
];

/// Renders a card as PDF bytes.
pub fn render(card: &NewCard, holder: &str, size: Size) -> Vec<u8> {
    // Every input is bounded and the font is embedded: failure here is a bug.
    try_render(card, holder, size).expect("card PDF renders")
}

fn try_render(card: &NewCard, holder: &str, size: Size) -> Result<Vec<u8>, PdfError> {
    let layout = size.layout();
    let title = format!("Kodekort nøglekort / code card {}", card.serial);
    let mut doc = Document::new(&title, "da")?;
    let per_page = layout.columns * layout.rows_per_page;
    let pages = card.pairs.len().div_ceil(per_page);
    let (width, height) = A4;
    let header_size = if size == Size::Large { 22.0 } else { 16.0 };

    for (page_no, chunk) in card.pairs.chunks(per_page).enumerate() {
        let page = doc.add_page();
        let small = layout.font * 0.85;
        let mut y = height - MARGIN - header_size;
        let h1 = doc.element(Role::H1);
        doc.text_in(
            h1,
            page,
            MARGIN,
            y,
            header_size,
            Weight::Bold,
            "Kodekort · Nøglekort / Code card",
        )?;
        y -= header_size * 1.4;
        let h2 = doc.element(Role::H2);
        doc.text_in(h2, page, MARGIN, y, header_size, Weight::Bold, &card.serial)?;
        doc.text_right(
            page,
            width - MARGIN,
            y,
            small,
            Weight::Regular,
            &format!("Side / Page {} / {pages}", page_no + 1),
        )?;
        y -= layout.font * 1.6;
        let holder_p = doc.element(Role::P);
        let holder_line = format!("Kortholder / Holder: {holder}");
        doc.text_in(
            holder_p,
            page,
            MARGIN,
            y,
            layout.font,
            Weight::Regular,
            &holder_line,
        )?;
        y -= layout.font * 1.6;
        let instructions = if page_no == 0 { &INSTRUCTIONS[..] } else { &[] };
        for line in instructions {
            let p = doc.element(Role::P);
            doc.text_in(p, page, MARGIN, y, small, Weight::Regular, line)?;
            y -= small * 1.4;
        }
        y -= layout.row_height * 0.5;

        let pairs: Vec<(&str, &str)> = chunk
            .iter()
            .map(|p| (p.key.as_str(), p.code.as_str()))
            .collect();
        let grid = Grid {
            columns: layout.columns,
            font: layout.font,
            row_height: layout.row_height,
        };
        doc.code_grid(page, MARGIN, y, width - 2.0 * MARGIN, grid, &pairs)?;
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{generate, new_serial};

    #[test]
    fn both_sizes_render() {
        let card = generate(new_serial());
        for size in [Size::Standard, Size::Large] {
            let pdf = render(&card, "Søren Ærø-Łukasiewicz", size);
            assert!(pdf.starts_with(b"%PDF-"));
        }
    }
}

//! The class kit: a PDF the trainer prints before class, one sheet per
//! demo account with its username, password and whole code card. Texts
//! are Danish over English, like the printed card. Every page carries a
//! large DEMO watermark and a line saying the account is not real.
//!
//! Standard print fits an account on one A4 page. Large print (for weak
//! eyesight) gives each account a page of credentials in large type and
//! then its card over two pages; every page names its account.

use kodekort_pdf::{Document, Grid, PdfError, Role, Weight, A4};

use crate::DemoAccount;

/// Print size of the kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrintSize {
    #[default]
    Standard,
    Large,
}

struct Layout {
    body: f32,
    credentials: f32,
    heading: f32,
    grid: Grid,
    /// Pairs per card page.
    per_page: usize,
}

impl PrintSize {
    fn layout(self) -> Layout {
        match self {
            PrintSize::Standard => Layout {
                body: 10.0,
                credentials: 16.0,
                heading: 18.0,
                grid: Grid {
                    columns: 4,
                    font: 10.0,
                    row_height: 13.0,
                },
                per_page: 148,
            },
            PrintSize::Large => Layout {
                body: 16.0,
                credentials: 30.0,
                heading: 26.0,
                grid: Grid {
                    columns: 3,
                    font: 17.0,
                    row_height: 22.0,
                },
                per_page: 75,
            },
        }
    }
}

const MARGIN: f32 = 42.0;
const TITLE: &str = "Kodekort · Øvelsessæt / Class kit";
const NOT_REAL: [&str; 2] = [
    "DEMO – ikke en rigtig konto. Underskrifter med den er ikke gyldige.",
    "DEMO – not a real account. Signatures made with it are not legally valid.",
];
const FICTITIOUS: &str = "Fiktiv person / fictitious person";
/// Under the heading of a large-print card page, which has no other such line.
const FICTITIOUS_NOT_REAL: &str =
    "Fiktiv person, ikke en rigtig konto.\nFictitious person, not a real account.";
const HOW_TO: [&str; 4] = [
    "Log ind: skriv brugernavn og adgangskode, og så koden ud for den nøgle, Kodekort spørger om.",
    "Log in: type the username and password, then the code beside the key Kodekort asks for.",
    "Hver kode virker én gang. Kortet er det samme efter hver nulstilling.",
    "Each code works once. The card stays the same after every reset.",
];

/// Renders the class kit for `accounts`.
pub fn render(accounts: &[DemoAccount], size: PrintSize) -> Result<Vec<u8>, PdfError> {
    let layout = size.layout();
    let mut doc = Document::new("Kodekort DEMO – øvelsessæt / class kit", "da")?;
    let card_pages = 148usize.div_ceil(layout.per_page);
    let pages_each = if size == PrintSize::Large {
        1 + card_pages
    } else {
        1
    };
    let total = accounts.len() * pages_each;
    let mut page_no = 0;
    let mut new_page = |doc: &mut Document| -> Result<(usize, f32), PdfError> {
        page_no += 1;
        let page = doc.add_page();
        doc.watermark(page, "DEMO")?;
        let top = A4.1 - MARGIN;
        let small = layout.body * 0.85;
        doc.text_gray(page, MARGIN, top, small, Weight::Regular, 0.35, TITLE)?;
        doc.text_right(
            page,
            A4.0 - MARGIN,
            top,
            small,
            Weight::Regular,
            &format!("Side / Page {page_no} / {total}"),
        )?;
        Ok((page, top - small * 1.2))
    };

    for account in accounts {
        let (page, mut y) = new_page(&mut doc)?;
        y = heading(&mut doc, page, y, &layout, account, None)?;
        y = credentials(&mut doc, page, y, &layout, account)?;
        for line in NOT_REAL.iter().chain(HOW_TO.iter()) {
            for wrapped in doc.wrap(line, layout.body, Weight::Regular, A4.0 - 2.0 * MARGIN) {
                y -= layout.body * 1.4;
                let p = doc.element(Role::P);
                doc.text_in(p, page, MARGIN, y, layout.body, Weight::Regular, &wrapped)?;
            }
        }
        let chunks: Vec<_> = account.card.codes.chunks(layout.per_page).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let (page, top) = if size == PrintSize::Large {
                let (page, y) = new_page(&mut doc)?;
                let part = (i + 1, chunks.len());
                (
                    page,
                    heading(&mut doc, page, y, &layout, account, Some(part))?,
                )
            } else {
                (page, y - layout.body)
            };
            let h2 = doc.element(Role::H2);
            let serial = format!("Nøglekort / Code card {}", account.card.serial);
            let y = top - layout.heading * 1.2;
            doc.text_in(
                h2,
                page,
                MARGIN,
                y,
                layout.heading * 0.8,
                Weight::Bold,
                &serial,
            )?;
            let pairs: Vec<(&str, &str)> = chunk
                .iter()
                .map(|p| (p.key.as_str(), p.code.as_str()))
                .collect();
            let grid_top = y - layout.heading;
            doc.code_grid(
                page,
                MARGIN,
                grid_top,
                A4.0 - 2.0 * MARGIN,
                layout.grid,
                &pairs,
            )?;
        }
    }
    doc.finish()
}

/// The account's name as the page's heading; on a card page, which part.
fn heading(
    doc: &mut Document,
    page: usize,
    y: f32,
    layout: &Layout,
    account: &DemoAccount,
    part: Option<(usize, usize)>,
) -> Result<f32, PdfError> {
    let y = y - layout.heading * 1.3;
    let h1 = doc.element(Role::H1);
    let text = match part {
        Some((n, of)) => format!("{} ({}) – {n}/{of}", account.name, account.username),
        None => format!("{} ({})", account.name, account.username),
    };
    doc.text_in(h1, page, MARGIN, y, layout.heading, Weight::Bold, &text)?;
    // Tagged text, not page furniture: a screen reader reads it too.
    let p = doc.element(Role::P);
    let note = if part.is_some() {
        FICTITIOUS_NOT_REAL
    } else {
        FICTITIOUS
    };
    let mut y = y;
    for line in doc.wrap(note, layout.body, Weight::Regular, A4.0 - 2.0 * MARGIN) {
        y -= layout.body * 1.4;
        doc.text_in(p, page, MARGIN, y, layout.body, Weight::Regular, &line)?;
    }
    Ok(y)
}

/// Username and password in large type, in a box.
fn credentials(
    doc: &mut Document,
    page: usize,
    y: f32,
    layout: &Layout,
    account: &DemoAccount,
) -> Result<f32, PdfError> {
    let size = layout.credentials;
    let label = layout.body;
    let row = size + label * 1.6;
    let height = row * 2.0 + size * 0.6;
    let top = y - label;
    doc.rect(
        page,
        MARGIN,
        top - height,
        A4.0 - 2.0 * MARGIN,
        height,
        Some(0.97),
        Some((0.2, 1.2)),
    )?;
    let mut y = top;
    for (caption, value) in [
        ("Brugernavn / Username", account.username.as_str()),
        ("Adgangskode / Password", account.password.as_str()),
    ] {
        y -= label * 1.5;
        let p = doc.element(Role::P);
        doc.text_in(p, page, MARGIN + 12.0, y, label, Weight::Regular, caption)?;
        y -= size * 1.1;
        doc.text_in(p, page, MARGIN + 12.0, y, size, Weight::Bold, value)?;
    }
    Ok(top - height - label * 0.4)
}

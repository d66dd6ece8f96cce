//! The key/code grid of a printed code card, shared by the citizen's card
//! and the trainer's class kit so both look like the same card: pairs run
//! down each column in key order, every other row shaded, thin rules
//! between columns. Each pair is one tagged paragraph, so a screen reader
//! reads "0423 123456" and `pdftotext` gives every pair on a line.

use crate::{Document, PdfError, Role, Weight};

/// The grid's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub columns: usize,
    /// Text size of keys and codes, in points.
    pub font: f32,
    pub row_height: f32,
}

/// Column headings, Danish over English.
const HEADINGS: [(&str, &str); 2] = [("Nøgle", "Kode"), ("Key", "Code")];

impl Document {
    /// Draws `pairs` (key, code) as a grid whose headings start at `top`,
    /// `width` wide from `x`. Returns the y of the grid's bottom edge.
    #[allow(clippy::too_many_arguments)]
    pub fn code_grid(
        &mut self,
        page: usize,
        x: f32,
        top: f32,
        width: f32,
        grid: Grid,
        pairs: &[(&str, &str)],
    ) -> Result<f32, PdfError> {
        let small = grid.font * 0.85;
        let col_width = width / grid.columns as f32;
        let code_offset = col_width * 0.45;
        let rows = pairs.len().div_ceil(grid.columns);
        for col in 0..grid.columns {
            let cx = x + col as f32 * col_width + 6.0;
            for (line, (key, code)) in HEADINGS.iter().enumerate() {
                let y = top - line as f32 * small * 1.15;
                self.text_gray(page, cx, y, small, Weight::Bold, 0.3, key)?;
                self.text_gray(page, cx + code_offset, y, small, Weight::Bold, 0.3, code)?;
            }
        }
        let grid_top = top - small * 1.15 - grid.row_height * 0.4;
        for row in (0..rows).step_by(2) {
            let row_y = grid_top - (row + 1) as f32 * grid.row_height;
            self.rect(page, x, row_y, width, grid.row_height, Some(0.92), None)?;
        }
        for (i, (key, code)) in pairs.iter().enumerate() {
            let (col, row) = (i / rows, i % rows);
            let cx = x + col as f32 * col_width + 6.0;
            let baseline = grid_top - (row + 1) as f32 * grid.row_height + grid.row_height * 0.3;
            let p = self.element(Role::P);
            self.text_in(p, page, cx, baseline, grid.font, Weight::Bold, key)?;
            self.text_in(
                p,
                page,
                cx + code_offset,
                baseline,
                grid.font,
                Weight::Regular,
                code,
            )?;
        }
        let bottom = grid_top - rows as f32 * grid.row_height;
        for col in 1..grid.columns {
            let rule_x = x + col as f32 * col_width;
            let height = rows as f32 * grid.row_height;
            self.rect(page, rule_x, bottom, 0.0, height, None, Some((0.5, 0.6)))?;
        }
        Ok(bottom)
    }
}

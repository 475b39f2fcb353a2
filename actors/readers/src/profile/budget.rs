//! How large a profile table may grow: cells (rows × width, the nulls that pad a row included)
//! and an estimate of its bytes, checked before a row, column or join output is allocated.

use super::frame::Value;

/// The most cells a profile table may hold, nulls included.
///
/// `max_columns` bounds a table's width, not rows × width, and every row is padded to the full
/// width: 16,384 one-key elements (~250 KB) would make 16,384 × 16,384 ≈ 268M cells (~8.6
/// GB). With [`CELL_BYTES`] a cell this is 128 MiB, within the process promise of ~200 MiB
/// (SPEC §7) with the document itself beside it.
pub(crate) const MAX_CELLS: usize = 4_194_304;

/// The most bytes a profile table may hold by [`Budget::admit`]'s estimate: [`CELL_BYTES`] per
/// cell plus the length of its texts. Bounds what the cell count does not: a join copies each
/// left row once per match, so a 1 MiB string matched 60,000 times would be 60 GB.
pub(crate) const MAX_BYTES: usize = 128 << 20;

/// What one cell takes in a frame's row before its text: an `Option<(ColumnType, String)>`, 32
/// bytes on 64-bit targets.
pub(crate) const CELL_BYTES: usize = std::mem::size_of::<Value>();

/// What a table (or the part of it still to be built) may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    cells: usize,
    bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::TABLE
    }
}

impl Budget {
    /// A whole table's budget.
    pub(crate) const TABLE: Budget = Budget { cells: MAX_CELLS, bytes: MAX_BYTES };

    /// Whether a table of `rows` × `width` cells with `text` bytes of cell text fits.
    ///
    /// # Errors
    /// Past the cells or the bytes, naming the numbers: the caller fails the table.
    pub(crate) fn admit(self, rows: usize, width: usize, text: usize) -> Result<(), String> {
        let cells = rows.saturating_mul(width);
        let bytes = cells.saturating_mul(CELL_BYTES).saturating_add(text);
        let of = |limit: usize, whole: usize, unit: &str| {
            if self == Budget::TABLE {
                format!("the {limit} {unit} a profile table may hold")
            } else {
                format!("the {limit} {unit} its lists leave of the {whole} a profile table may hold")
            }
        };
        if cells > self.cells {
            return Err(format!(
                "the table would hold {rows} × {width} cells, more than {}",
                of(self.cells, MAX_CELLS, "cells")
            ));
        }
        if bytes > self.bytes {
            return Err(format!(
                "the table would hold about {bytes} bytes ({rows} × {width} cells of {CELL_BYTES} bytes and {text} bytes of \
                 text), more than {}",
                of(self.bytes, MAX_BYTES, "bytes")
            ));
        }
        Ok(())
    }

    /// What is left once `cells` cells with `text` bytes of text are held.
    pub(crate) fn less(self, cells: usize, text: usize) -> Budget {
        Budget {
            cells: self.cells.saturating_sub(cells),
            bytes: self.bytes.saturating_sub(cells.saturating_mul(CELL_BYTES).saturating_add(text)),
        }
    }
}

/// The bytes of a cell's text.
pub(crate) fn text_len(value: &Value) -> usize {
    value.as_ref().map_or(0, |(_, text)| text.len())
}

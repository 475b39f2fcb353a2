//! An open workbook and the rows of its sheets, one row at a time. xlsx/xlsm and xlsb sheets are
//! streamed cell by cell from the zip (calamine's cells readers): memory holds the shared
//! strings and one row, whatever the sheet's size. `.xls` and `.ods` have no such reader in
//! calamine (it loads them whole), so they are read only up to a size limit.

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;

use calamine::{open_workbook, DataRef, Ods, Reader, Sheet, Xls, Xlsb, Xlsx};
use dat_contracts::ColumnType;

use super::cell::{as_ref, is_blank, is_error, is_out_of_date_range, typed_text};

type Disk = BufReader<File>;
/// A workbook read whole: calamine opens the very bytes dat checked (see `open`).
type Whole = std::io::Cursor<Vec<u8>>;

/// A workbook opened for reading its sheets.
pub(super) enum Book {
    /// Streamed.
    Xlsx(Xlsx<Disk>),
    /// Streamed.
    Xlsb(Xlsb<Disk>),
    /// Read whole by calamine, under the size limit.
    Xls(Xls<Whole>),
    /// Read whole by calamine, under the size limit.
    Ods(Ods<Whole>),
}

/// One row of a sheet: its cells' types and texts, back to back.
#[derive(Debug, Default)]
pub(super) struct Row {
    /// The row's index in the sheet, from 0.
    pub(super) index: u32,
    /// Each cell's column (from 0), type and text range; error cells are `Null` with their
    /// spelling as text (for header names).
    pub(super) cells: Vec<(u32, ColumnType, std::ops::Range<usize>)>,
    pub(super) text: String,
    /// Cells holding Excel errors.
    pub(super) errors: u64,
    /// Date-formatted numbers outside Excel's dates, kept as their numbers (see
    /// [`is_out_of_date_range`]).
    pub(super) undated: u64,
    /// The row's text passed the cap: its cells past that are not kept.
    pub(super) too_long: bool,
    /// Cells holding a value or an error past the first `max_cells` (a sheet row may be 16M
    /// cells): counted, not kept, so that a row's entries stay bounded; such a row is a reject,
    /// since it cannot fit in `max_columns` columns. Blank cells past them are dropped.
    pub(super) beyond: u64,
}

impl Row {
    fn clear(&mut self, index: u32) {
        self.index = index;
        self.cells.clear();
        self.text.clear();
        self.errors = 0;
        self.undated = 0;
        self.too_long = false;
        self.beyond = 0;
    }

    /// Whether the row has no value (only empty or blank cells). A row of error cells is not
    /// blank: it is a row of nulls with its errors counted, as errors are in any other row. Nor
    /// is a row past the cap (its cells were dropped) or with cells beyond `max_cells`: each
    /// is a reject, never skipped.
    pub(super) fn is_blank(&self) -> bool {
        self.errors == 0
            && !self.too_long
            && self.beyond == 0
            && self.cells.iter().all(|(_, kind, _)| *kind == ColumnType::Null)
    }

    /// A cell's text.
    pub(super) fn text(&self, range: &std::ops::Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }

    fn push(&mut self, column: u32, cell: &DataRef<'_>, cap: usize, max_cells: usize) {
        if self.too_long {
            return;
        }
        if self.cells.len() >= max_cells {
            if !is_blank(cell) {
                self.beyond += 1;
            }
            return;
        }
        let start = self.text.len();
        let mut kind = typed_text(cell, &mut self.text);
        if is_error(cell) {
            self.errors += 1;
            self.text.push_str(&super::cell::header_text(cell));
            kind = ColumnType::Null;
        }
        if is_out_of_date_range(cell) {
            self.undated += 1;
        }
        if self.text.len() > cap {
            self.too_long = true;
            self.text.truncate(start);
            return;
        }
        self.cells.push((column, kind, start..self.text.len()));
    }
}

/// Why a sheet could not be read (on).
pub(super) type SheetError = String;

/// A sheet's declared dimensions: `(first row, first column)`, `(last row, last column)`.
pub(super) type Dimensions = Option<((u32, u32), (u32, u32))>;

impl Book {
    /// Opens the workbook with the reader its extension names (case ignored). `.xls` and
    /// `.ods` above `whole_limit` bytes are refused before calamine loads them.
    ///
    /// # Errors
    /// Why it is not a readable workbook (not one at all, truncated, encrypted, too large for a
    /// format read whole), naming no path.
    pub(super) fn open(disk: &std::path::Path, ext: &str, whole_limit: u64) -> Result<Book, String> {
        let opened = if matches!(ext, "xls" | "ods") {
            let bytes = read_whole(disk, ext, whole_limit)?;
            // What calamine builds from such a file can be far larger than the file: held to
            // 16 times the file limit (256 MiB by default). calamine then opens the bytes
            // checked, not the file again (which could have changed in between).
            let budget = whole_limit.saturating_mul(16);
            if ext == "xls" {
                super::biff::check(&bytes, budget)?;
                Xls::new(std::io::Cursor::new(bytes)).map(Book::Xls).map_err(|e| e.to_string())
            } else {
                super::repeats::check(&bytes, budget)?;
                Ods::new(std::io::Cursor::new(bytes)).map(Book::Ods).map_err(|e| e.to_string())
            }
        } else if ext == "xlsb" {
            open_workbook::<Xlsb<_>, _>(disk).map(Book::Xlsb).map_err(|e| e.to_string())
        } else {
            super::declared::check_shared_strings(disk)?;
            open_workbook::<Xlsx<_>, _>(disk).map(Book::Xlsx).map_err(|e| e.to_string())
        };
        opened.map_err(|e| format!("not a readable {ext} workbook (wrong format, truncated or encrypted): {e}"))
    }

    /// The sheets, in workbook order.
    pub(super) fn sheets(&self) -> Vec<Sheet> {
        match self {
            Book::Xlsx(b) => b.sheets_metadata().to_vec(),
            Book::Xlsb(b) => b.sheets_metadata().to_vec(),
            Book::Xls(b) => b.sheets_metadata().to_vec(),
            Book::Ods(b) => b.sheets_metadata().to_vec(),
        }
    }

    /// Hands each non-empty row of `sheet` to `on_row`, in order, until it breaks, keeping at
    /// most `cap` bytes of text and `max_cells` cells of a row (see [`Row`]). The
    /// declared dimensions (`(first row, first column)`, `(last row, last column)`) come first,
    /// when the sheet declares them.
    ///
    /// # Errors
    /// Why the sheet cannot be read (on).
    pub(super) fn rows(
        &mut self,
        sheet: &str,
        cap: usize,
        max_cells: usize,
        on_dimensions: &mut dyn FnMut(Dimensions),
        on_row: &mut dyn FnMut(&Row) -> ControlFlow<()>,
    ) -> Result<(), SheetError> {
        let mut rows = RowGatherer { row: Row::default(), started: false, cap, max_cells, on_row };
        match self {
            Book::Xlsx(book) => {
                let mut cells = book.worksheet_cells_reader(sheet).map_err(|e| e.to_string())?;
                on_dimensions(declared(cells.dimensions()));
                while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
                    if rows.cell(cell.get_position(), cell.get_value()).is_break() {
                        return Ok(());
                    }
                }
            }
            Book::Xlsb(book) => {
                let mut cells = book.worksheet_cells_reader(sheet).map_err(|e| e.to_string())?;
                on_dimensions(declared(cells.dimensions()));
                while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
                    if rows.cell(cell.get_position(), cell.get_value()).is_break() {
                        return Ok(());
                    }
                }
            }
            Book::Xls(book) => {
                let range = book.worksheet_range(sheet).map_err(|e| e.to_string())?;
                whole(&range, &mut rows, on_dimensions);
                return Ok(());
            }
            Book::Ods(book) => {
                let range = book.worksheet_range(sheet).map_err(|e| e.to_string())?;
                whole(&range, &mut rows, on_dimensions);
                return Ok(());
            }
        }
        rows.finish();
        Ok(())
    }
}

/// The rows of a sheet calamine loaded whole.
fn whole(
    range: &calamine::Range<calamine::Data>,
    rows: &mut RowGatherer<'_>,
    on_dimensions: &mut dyn FnMut(Dimensions),
) {
    on_dimensions(range.start().zip(range.end()));
    for (row, column, value) in range.used_cells() {
        let (start_row, start_column) = range.start().unwrap_or_default();
        let at = (start_row + row as u32, start_column + column as u32);
        if rows.cell(at, &as_ref(value)).is_break() {
            return;
        }
    }
    rows.finish();
}

/// Declared dimensions, unless the sheet declared none (calamine then gives all zeros).
fn declared(d: calamine::Dimensions) -> Dimensions {
    (d.end != (0, 0) || d.start != (0, 0)).then_some((d.start, d.end))
}

/// Gathers cells (given in row order) into rows.
struct RowGatherer<'f> {
    row: Row,
    started: bool,
    cap: usize,
    max_cells: usize,
    on_row: &'f mut dyn FnMut(&Row) -> ControlFlow<()>,
}

impl RowGatherer<'_> {
    fn cell(&mut self, (row, column): (u32, u32), value: &DataRef<'_>) -> ControlFlow<()> {
        if matches!(value, DataRef::Empty) {
            return ControlFlow::Continue(());
        }
        if !self.started || row != self.row.index {
            if self.started && (self.on_row)(&self.row).is_break() {
                return ControlFlow::Break(());
            }
            self.started = true;
            self.row.clear(row);
        }
        self.row.push(column, value, self.cap, self.max_cells);
        ControlFlow::Continue(())
    }

    fn finish(&mut self) {
        if self.started {
            let _ = (self.on_row)(&self.row);
            self.started = false;
        }
    }
}

/// The bytes of an `.xls` or `.ods` (which calamine reads whole), read once and at most
/// `limit` of them.
///
/// # Errors
/// The file cannot be read, or holds more than `limit` bytes.
fn read_whole(disk: &std::path::Path, ext: &str, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = File::open(disk).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > limit {
        let size = std::fs::metadata(disk).map_or(bytes.len() as u64, |m| m.len());
        return Err(format!(
            "{ext} workbooks are read whole and this one is {} MiB, above the limit of {} MiB \
             (setting whole_workbook_limit_mib); save it as xlsx, which is streamed",
            size.div_ceil(1 << 20),
            limit >> 20
        ));
    }
    Ok(bytes)
}

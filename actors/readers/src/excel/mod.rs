//! Workbooks (xlsx, xlsm, xls, xlsb, ods): every sheet is a table with id `path#sheet`. The
//! header is the first non-empty row; the rows below it are the data, each row's `_source_row`
//! the row number Excel shows. xlsx/xlsm/xlsb are streamed cell by cell at probe and at read
//! (the probe reads the header and the first rows only); `.xls`/`.ods` are read whole by
//! calamine, so files above [`ReadOptions::whole_workbook_limit`] are an `error` table.

mod biff;
mod book;
mod cell;
mod compound;
mod declared;
mod repeats;

use std::collections::HashMap;
use std::ops::ControlFlow;

use calamine::{SheetType, SheetVisible};
use dat_contracts::{table_id, ColumnType, TableProbe, TableStatus};

use self::book::{Book, Dimensions, Row};
use crate::chunk::{Cell, ChunkBuilder};
use crate::sink::{ReadEnd, ReadError, Reject, Sink, Stop};
use crate::typing::{unique_names, TypeTally};
use crate::{Adapter, ReadOptions, SourceFile};
use dat_contracts::bundle::RowAccount;

/// How many data rows below the header the probe reads to infer column types.
const TYPE_SAMPLE_ROWS: usize = 100;

/// Excel and OpenDocument workbooks, read with calamine.
pub struct ExcelAdapter;

impl Adapter for ExcelAdapter {
    fn id(&self) -> &'static str {
        "excel"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["xlsx", "xlsm", "xls", "xlsb", "ods"]
    }
    fn compressible(&self) -> bool {
        false
    }
    fn description(&self) -> &'static str {
        "Excel and OpenDocument workbooks (xlsx, xlsm, xls, xlsb, ods); every sheet is a table"
    }

    fn probe(&self, file: &SourceFile<'_>, options: &ReadOptions) -> Vec<TableProbe> {
        let path = file.path.as_str();
        let mut book = match open(file, options) {
            Ok(book) => book,
            Err(reason) => return vec![TableProbe::failed(path, self.id(), TableStatus::Error, reason)],
        };
        book.sheets().iter().map(|sheet| probe_sheet(&mut book, path, sheet, options)).collect()
    }

    /// With no `table`, the first sheet.
    fn read(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        let path = file.path.as_str();
        let mut book = open(file, options).map_err(|e| ReadError::format(path, e))?;
        let names: Vec<String> = book.sheets().into_iter().map(|s| s.name).collect();
        let sheet = match table {
            Some(wanted) => names.iter().find(|n| n.as_str() == wanted),
            None => names.first(),
        }
        .cloned()
        .ok_or_else(|| ReadError::NoSuchTable { path: path.to_owned(), table: table.unwrap_or_default().to_owned() })?;
        read_sheet(&mut book, path, &sheet, options, sink)
    }
}

/// Opens the workbook named by `file`.
fn open(file: &SourceFile<'_>, options: &ReadOptions) -> Result<Book, String> {
    let ext = file.path.as_str().rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    Book::open(file.disk, &ext, options.whole_workbook_limit)
}

/// The columns of a sheet: named by its header row, found by the cells' columns.
struct Columns {
    names: Vec<String>,
    /// Absolute sheet column → position in `names`.
    by_column: HashMap<u32, usize>,
    /// The sheet's first column (declared, else A): blank header cells are `column_<n>` counted
    /// from it.
    origin: u32,
    warnings: Vec<String>,
}

impl Columns {
    /// Columns from the header row, spanning the declared width when there is one, at most
    /// `max_columns` of them (cells further right are rejected with their row).
    fn of(header: &Row, dimensions: Dimensions, max_columns: usize) -> Columns {
        let origin = dimensions.map_or(0, |(start, _)| start.1);
        let last_header = header.cells.iter().map(|(c, _, _)| *c).max().unwrap_or(origin);
        let last = dimensions.map_or(last_header, |(_, end)| end.1.max(last_header)).max(origin);
        let widest = origin.saturating_add(u32::try_from(max_columns.max(1) - 1).unwrap_or(u32::MAX));
        let last = last.min(widest);
        let texts: HashMap<u32, &str> = header.cells.iter().map(|(c, _, r)| (*c, header.text(r))).collect();
        let raw = (origin..=last).map(|c| texts.get(&c).map(|t| (*t).to_owned()).unwrap_or_default());
        let (names, warnings) = unique_names(raw);
        let by_column = (origin..=last).zip(0..).collect();
        Columns { names, by_column, origin, warnings }
    }

    /// The position of a cell's column, adding a column for a data cell outside the header's
    /// span; `None` when that would pass `max_columns`.
    fn index(&mut self, column: u32, builder: &mut ChunkBuilder, max_columns: usize) -> Option<usize> {
        if let Some(&i) = self.by_column.get(&column) {
            return Some(i);
        }
        if self.names.len() >= max_columns {
            return None;
        }
        let name = format!("column_{}", u64::from(column.saturating_sub(self.origin)) + 1);
        let (mut unique, _) = unique_names(self.names.iter().cloned().chain([name]));
        let name = unique.pop().unwrap_or_default();
        let i = builder.column_index(&name);
        self.names.push(name);
        self.by_column.insert(column, i);
        Some(i)
    }
}

/// One sheet's table: hidden sheets are tables too, with a warning; chart and macro sheets
/// hold no cells and are `empty`; a sheet calamine cannot read is `error`, the others go on.
fn probe_sheet(book: &mut Book, path: &str, sheet: &calamine::Sheet, options: &ReadOptions) -> TableProbe {
    let mut table = TableProbe {
        table_id: table_id(path, Some(&sheet.name)),
        sheet: Some(sheet.name.clone()),
        row_estimate: Some(0),
        row_count_exact: true,
        error: None,
        ..TableProbe::failed(path, "excel", TableStatus::Empty, "")
    };
    match sheet.visible {
        SheetVisible::Visible => {}
        SheetVisible::Hidden => table.warnings.push("sheet is hidden".into()),
        SheetVisible::VeryHidden => {
            table.warnings.push("sheet is hidden (very hidden: only a macro can show it)".into())
        }
    }
    if sheet.typ != SheetType::WorkSheet {
        table.warnings.push(format!("{:?} holds no cells", sheet.typ).to_lowercase());
        return table;
    }
    let dimensions = std::cell::Cell::new(None);
    let mut columns: Option<(Columns, u32)> = None;
    let mut tallies: Vec<TypeTally> = Vec::new();
    let (mut data_rows, mut error_cells, mut undated_cells, mut ended) = (0usize, 0u64, 0u64, true);
    let mut header_too_long = None;
    let read =
        book.rows(&sheet.name, options.record_cap, options.max_columns, &mut |d| dimensions.set(d), &mut |row| {
            if row.is_blank() {
                return ControlFlow::Continue(());
            }
            let Some((columns, _)) = &columns else {
                if row.too_long {
                    header_too_long = Some(row.index);
                    return ControlFlow::Break(());
                }
                let found = Columns::of(row, dimensions.get(), options.max_columns);
                tallies = vec![TypeTally::default(); found.names.len()];
                columns = Some((found, row.index));
                return ControlFlow::Continue(());
            };
            if data_rows == TYPE_SAMPLE_ROWS {
                ended = false;
                return ControlFlow::Break(());
            }
            data_rows += 1;
            if row.too_long || row.beyond > 0 {
                // A reject at read: counted as a row, its partial cells not typed.
                return ControlFlow::Continue(());
            }
            error_cells += row.errors;
            undated_cells += row.undated;
            let mut seen = vec![false; tallies.len()];
            for (column, kind, _) in &row.cells {
                if let Some(&i) = columns.by_column.get(column) {
                    if let (Some(tally), Some(seen)) = (tallies.get_mut(i), seen.get_mut(i)) {
                        tally.observe(*kind);
                        *seen = true;
                    }
                }
            }
            for (tally, seen) in tallies.iter_mut().zip(seen) {
                if !seen {
                    tally.mark_null();
                }
            }
            ControlFlow::Continue(())
        });
    if let Err(e) = read {
        table.status = TableStatus::Error;
        table.row_estimate = None;
        table.row_count_exact = false;
        table.error = Some(format!("cannot read the sheet: {e}"));
        return table;
    }
    if let Some(index) = header_too_long {
        table.status = TableStatus::Error;
        table.row_estimate = None;
        table.row_count_exact = false;
        table.error = Some(header_too_long_reason(index, options));
        return table;
    }
    let Some((columns, header_row)) = columns else {
        table.warnings.push("sheet has no cells".into());
        return table;
    };
    if error_cells > 0 {
        table.warnings.push(format!(
            "{error_cells} cell(s) in the first {TYPE_SAMPLE_ROWS} rows hold Excel errors (#DIV/0!, #N/A…); they read as null"
        ));
    }
    if undated_cells > 0 {
        table.warnings.push(undated_warning(undated_cells, &format!(" in the first {TYPE_SAMPLE_ROWS} rows")));
    }
    table.warnings.extend(columns.warnings.iter().cloned());
    table.columns = columns.names.iter().zip(&tallies).map(|(name, tally)| tally.info(name.as_str())).collect();
    let declared_rows = dimensions.get().map(|(_, end)| u64::from(end.0.saturating_sub(header_row)));
    (table.row_estimate, table.row_count_exact) = match (ended, declared_rows) {
        (true, _) => (Some(data_rows as u64), true),
        (false, Some(rows)) => (Some(rows.max(data_rows as u64)), false),
        (false, None) => (Some(data_rows as u64), false),
    };
    if data_rows > 0 {
        table.status = TableStatus::Available;
    }
    table
}

/// Why a sheet whose header row passed the record cap cannot be read: its columns cannot be
/// named, and taking the next row as the header would lose a row and misname every column.
fn header_too_long_reason(index: u32, options: &ReadOptions) -> String {
    format!("header row {} is longer than the record cap ({} MiB)", u64::from(index) + 1, options.record_cap >> 20)
}

/// The warning for `n` date-formatted numbers outside Excel's dates (`within`: where counted).
fn undated_warning(n: u64, within: &str) -> String {
    format!(
        "{n} date-formatted cell(s){within} hold numbers outside Excel's dates (before the \
         workbook's 1900/1904 epoch, after 9999-12-31); they are kept as numbers"
    )
}

/// Reads every data row of `sheet` into `sink`.
fn read_sheet(
    book: &mut Book,
    path: &str,
    sheet: &str,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    let dimensions = std::cell::Cell::new(None);
    let mut columns: Option<Columns> = None;
    let mut builder = ChunkBuilder::default();
    let mut stopped = false;
    let (mut error_cells, mut undated_cells) = (0u64, 0u64);
    let mut header_too_long = None;
    let mut handle = |row: &Row, columns: &mut Columns, builder: &mut ChunkBuilder| -> Result<(), Stop> {
        let line = u64::from(row.index) + 1;
        if row.too_long {
            let reason = format!("row {line} is longer than the record cap ({} MiB)", options.record_cap >> 20);
            return sink.reject(Reject::new(line, reason, row.text.as_bytes()));
        }
        let too_wide = || {
            let reason = format!("row {line} has a cell beyond the limit of {} columns", options.max_columns);
            Reject::new(line, reason, row.text.as_bytes())
        };
        if row.beyond > 0 {
            return sink.reject(too_wide());
        }
        let mut cells = Vec::with_capacity(row.cells.len());
        for (column, kind, range) in &row.cells {
            let Some(i) = columns.index(*column, builder, options.max_columns) else {
                return sink.reject(too_wide());
            };
            let cell = match kind {
                ColumnType::Null => Cell::Null,
                kind => Cell::Typed(*kind, row.text(range)),
            };
            cells.push((i, cell));
        }
        error_cells += row.errors;
        undated_cells += row.undated;
        builder.push_sparse(line, cells);
        if builder.is_full(options) {
            sink.chunk(builder.take())?;
        }
        Ok(())
    };
    let mut account = RowAccount::new("rows", 0);
    let read = book.rows(sheet, options.record_cap, options.max_columns, &mut |d| dimensions.set(d), &mut |row| {
        account.read += 1;
        if row.is_blank() {
            account.skip("blank", 1);
            return ControlFlow::Continue(());
        }
        let Some(columns) = columns.as_mut() else {
            if row.too_long {
                header_too_long = Some(row.index);
                return ControlFlow::Break(());
            }
            account.skip("header", 1);
            let found = Columns::of(row, dimensions.get(), options.max_columns);
            builder = ChunkBuilder::new(found.names.clone());
            columns = Some(found);
            return ControlFlow::Continue(());
        };
        match handle(row, columns, &mut builder) {
            Ok(()) => ControlFlow::Continue(()),
            Err(Stop) => {
                stopped = true;
                ControlFlow::Break(())
            }
        }
    });
    if stopped {
        return Err(ReadError::Stopped);
    }
    read.map_err(|e| ReadError::format(path, format!("sheet `{sheet}` cannot be read: {e}")))?;
    if let Some(index) = header_too_long {
        return Err(ReadError::format(path, format!("sheet `{sheet}`: {}", header_too_long_reason(index, options))));
    }
    if builder.rows() > 0 {
        sink.chunk(builder.take())?;
    }
    let mut end = ReadEnd { accounting: Some(account), ..ReadEnd::default() };
    if error_cells > 0 {
        end.warnings.push(format!("{error_cells} cell(s) hold Excel errors (#DIV/0!, #N/A…); they read as null"));
    }
    if undated_cells > 0 {
        end.warnings.push(undated_warning(undated_cells, ""));
    }
    Ok(end)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod whole_tests;

//! Workbooks (xlsx, xlsm, xls, xlsb, ods): every sheet is a table with id `path#sheet`. The
//! header is the first non-empty row of the sheet's used range; the rows below it are the data.

pub(crate) mod cell;

use std::fs::File;
use std::io::BufReader;

use calamine::{open_workbook, Data, Ods, Range, Reader, Sheet, SheetType, SheetVisible, Sheets, Xls, Xlsb, Xlsx};
use dat_contracts::{table_id, TablePreview, TableProbe, TableStatus};

use crate::adapters::cells::{unique_names, TypeTally};
use crate::adapters::{Adapter, AdapterError, SourceFile};

/// How many data rows below the header the probe reads to infer column types.
const TYPE_SAMPLE_ROWS: usize = 100;

/// Excel and OpenDocument workbooks, read with calamine.
///
/// The probe reads the sheet list and then each sheet's cells once: calamine gives a sheet's
/// used range only by loading its cells, so a sheet is held in memory while it is probed (and
/// dropped before the next). Dimensions and the row count are therefore exact.
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

    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        let path = file.path.as_str();
        let mut workbook = match open(file) {
            Ok(workbook) => workbook,
            Err(reason) => return vec![TableProbe::failed(path, self.id(), TableStatus::Error, reason)],
        };
        let sheets = workbook.sheets_metadata().to_vec();
        sheets.iter().map(|sheet| probe_sheet(&mut workbook, path, sheet)).collect()
    }

    /// With no `sheet`, the first sheet.
    fn preview(&self, file: &SourceFile<'_>, sheet: Option<&str>, rows: usize) -> Result<TablePreview, AdapterError> {
        let sheet = read_sheet(file, sheet)?;
        let Some(layout) = sheet.layout else {
            return Ok(TablePreview {
                table_id: sheet.table_id,
                columns: vec![],
                rows: vec![],
                total_estimate: Some(0),
            });
        };
        let width = layout.names.len();
        let preview_rows = sheet
            .range
            .rows()
            .skip(layout.first_data)
            .take(rows)
            .map(|row| (0..width).map(|i| row.get(i).map_or(serde_json::Value::Null, cell::to_json)).collect())
            .collect();
        Ok(TablePreview {
            table_id: sheet.table_id,
            columns: layout.names,
            rows: preview_rows,
            total_estimate: Some(layout.data_rows as u64),
        })
    }
}

/// One sheet's cells, read whole (calamine has no streaming reader), with its layout.
pub(crate) struct SheetCells {
    /// `path#Sheet`.
    pub(crate) table_id: String,
    /// Every cell of the used range.
    pub(crate) range: calamine::Range<calamine::Data>,
    /// Header names and where data starts; `None` for a sheet without cells.
    pub(crate) layout: Option<Layout>,
}

/// Reads `sheet` (the first sheet when `None`).
///
/// # Errors
/// [`AdapterError::NoSuchTable`] for an unknown sheet, [`AdapterError::Format`] when the
/// workbook or sheet cannot be read.
pub(crate) fn read_sheet(file: &SourceFile<'_>, sheet: Option<&str>) -> Result<SheetCells, AdapterError> {
    let path = file.path.as_str();
    let format_error = |message: String| AdapterError::Format { path: path.to_owned(), message };
    let mut workbook = open(file).map_err(format_error)?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names.iter().find(|n| n.as_str() == wanted),
        None => names.first(),
    }
    .cloned()
    .ok_or_else(|| AdapterError::NoSuchTable { path: path.to_owned(), table: sheet.unwrap_or_default().to_owned() })?;
    let range = workbook.worksheet_range(&name).map_err(|e| format_error(format!("sheet `{name}`: {e}")))?;
    let layout = Layout::of(&range);
    Ok(SheetCells { table_id: table_id(path, Some(&name)), range, layout })
}

/// Opens the workbook with the reader its extension names (case ignored).
///
/// # Errors
/// Why it is not a readable workbook (not one at all, truncated, encrypted), naming no path.
fn open(file: &SourceFile<'_>) -> Result<Sheets<BufReader<File>>, String> {
    let ext = file.path.as_str().rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let disk = file.disk;
    let opened = match ext.as_str() {
        "xls" => open_workbook::<Xls<_>, _>(disk).map(Sheets::Xls).map_err(|e| e.to_string()),
        "xlsb" => open_workbook::<Xlsb<_>, _>(disk).map(Sheets::Xlsb).map_err(|e| e.to_string()),
        "ods" => open_workbook::<Ods<_>, _>(disk).map(Sheets::Ods).map_err(|e| e.to_string()),
        _ => open_workbook::<Xlsx<_>, _>(disk).map(Sheets::Xlsx).map_err(|e| e.to_string()),
    };
    opened.map_err(|e| format!("not a readable {ext} workbook (wrong format, truncated or encrypted): {e}"))
}

/// One sheet's table: hidden sheets are tables too, with a warning; chart and macro sheets
/// hold no cells and are `empty`; a sheet calamine cannot read is `error`, the others go on.
fn probe_sheet(workbook: &mut Sheets<BufReader<File>>, path: &str, sheet: &Sheet) -> TableProbe {
    let mut table = TableProbe {
        table_id: table_id(path, Some(&sheet.name)),
        file: path.to_owned(),
        sheet: Some(sheet.name.clone()),
        adapter: "excel".to_owned(),
        status: TableStatus::Empty,
        columns: vec![],
        row_estimate: Some(0),
        row_count_exact: true,
        sniff: None,
        warnings: vec![],
        error: None,
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
    let range = match workbook.worksheet_range(&sheet.name) {
        Ok(range) => range,
        Err(e) => {
            table.status = TableStatus::Error;
            table.row_estimate = None;
            table.row_count_exact = false;
            table.error = Some(format!("cannot read the sheet: {e}"));
            return table;
        }
    };
    let Some(layout) = Layout::of(&range) else {
        table.warnings.push("sheet has no cells".into());
        return table;
    };
    let mut tallies = vec![TypeTally::default(); layout.names.len()];
    let mut error_cells = 0usize;
    for row in range.rows().skip(layout.first_data).take(TYPE_SAMPLE_ROWS) {
        for (i, tally) in tallies.iter_mut().enumerate() {
            let value = row.get(i).unwrap_or(&Data::Empty);
            error_cells += usize::from(cell::is_error(value));
            tally.observe(cell::kind(value));
        }
    }
    if error_cells > 0 {
        table.warnings.push(format!(
            "{error_cells} cell(s) in the first {TYPE_SAMPLE_ROWS} rows hold Excel errors (#DIV/0!, #N/A…); they read as null"
        ));
    }
    table.warnings.extend(layout.warnings.iter().cloned());
    table.columns = layout.names.iter().zip(&tallies).map(|(name, tally)| tally.info(name.as_str())).collect();
    table.row_estimate = Some(layout.data_rows as u64);
    if layout.data_rows > 0 {
        table.status = TableStatus::Available;
    }
    table
}

/// Where a sheet's table sits in its used range.
pub(crate) struct Layout {
    /// Column names from the header row, one per column of the range, made unique.
    pub(crate) names: Vec<String>,
    /// Index (within the range) of the first data row: the row after the header.
    pub(crate) first_data: usize,
    /// Rows below the header, blank ones included: exact, as the whole range is loaded.
    data_rows: usize,
    /// Renamed repeated header names.
    warnings: Vec<String>,
}

impl Layout {
    /// `None` when the range has no non-empty cell.
    fn of(range: &Range<Data>) -> Option<Layout> {
        let (height, width) = range.get_size();
        let (header_index, header) =
            range.rows().enumerate().find(|(_, row)| row.iter().any(|c| !matches!(c, Data::Empty)))?;
        let raw = (0..width).map(|i| header.get(i).map(cell::header_text).unwrap_or_default());
        let (names, warnings) = unique_names(raw);
        Some(Layout {
            names,
            first_data: header_index + 1,
            data_rows: height.saturating_sub(header_index + 1),
            warnings,
        })
    }
}

#[cfg(test)]
mod tests;

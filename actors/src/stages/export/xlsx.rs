//! The xlsx format: rust_xlsxwriter in constant-memory mode (each sheet streams through a temp
//! file next to the output), a new sheet `data_2`, `data_3`, … whenever one is full, each with
//! the header row. Dates and datetimes are real Excel dates with a date format.
//!
//! Excel limits, and what dat does about them: whole numbers beyond ±2^53 (Excel keeps 15
//! digits) are written as text so no digit is lost; NaN and infinities become the text `NAN`,
//! `INF`, `-INF` (rust_xlsxwriter's defaults); dates before 1900-03-01 (Excel's calendar starts
//! in 1900 with a leap-year bug) are ISO text; a text value above 32,767 characters or more than
//! 16,384 columns fails the export with a message saying so. The workbook's creation date is
//! fixed, so the same data always gives the same bytes.

use std::path::Path;

use calamine::DataRef;
use dat_contracts::ColumnType;
use polars::prelude::*;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use serde_json::Value;

use super::cells::{self, DatasetRows, Datum};

/// Data rows per sheet in Excel: 1,048,576 rows minus the header row.
pub(crate) const EXCEL_SHEET_ROWS: usize = 1_048_575;
/// Columns per sheet in Excel.
const EXCEL_COLUMNS: usize = 16_384;
/// Characters per cell in Excel.
const EXCEL_TEXT_CHARS: usize = 32_767;
/// Largest whole number an Excel number (an f64) holds exactly.
const EXACT_INT: i64 = 1 << 53;
/// Excel's serial day of 1970-01-01 (day 0 is 1899-12-30).
const UNIX_EPOCH_SERIAL: f64 = 25_569.0;
/// Excel's serial day of 1900-03-01, the first day after its 1900 leap-year bug.
const FIRST_SAFE_SERIAL: f64 = 61.0;
/// Microseconds per day.
const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Why a workbook could not be written; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum XlsxExportError {
    /// A limit of Excel itself.
    #[error("{0}; export as csv, json or parquet instead")]
    Limit(String),
    /// Reading a batch.
    #[error(transparent)]
    Polars(#[from] PolarsError),
    /// Writing the workbook (disk full, temp file).
    #[error(transparent)]
    Xlsx(#[from] XlsxError),
}

/// A workbook being written batch by batch.
pub(crate) struct XlsxSink {
    workbook: Workbook,
    columns: Vec<String>,
    /// Data rows per sheet (a parameter so tests can split small data).
    sheet_rows: usize,
    /// Sheets started.
    sheets: usize,
    /// Data rows in the current sheet.
    rows_in_sheet: usize,
    date: Format,
    datetime: Format,
}

impl XlsxSink {
    /// A workbook for `columns`, keeping its sheets' temp files in `temp_dir`.
    ///
    /// # Errors
    /// More columns than Excel holds, or `temp_dir` is not writable.
    pub(crate) fn new(columns: Vec<String>, sheet_rows: usize, temp_dir: &Path) -> Result<Self, XlsxExportError> {
        if columns.len() > EXCEL_COLUMNS {
            return Err(XlsxExportError::Limit(format!(
                "the dataset has {} columns and an Excel sheet holds at most {EXCEL_COLUMNS}",
                columns.len()
            )));
        }
        let mut workbook = Workbook::new();
        workbook.set_tempdir(temp_dir)?;
        // A fixed creation date instead of now: the same data gives a byte-identical workbook
        // (so the same `version_id`).
        workbook.set_properties(&DocProperties::new().set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?));
        let mut sink = XlsxSink {
            workbook,
            columns,
            sheet_rows: sheet_rows.max(1),
            sheets: 0,
            rows_in_sheet: 0,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
        };
        sink.new_sheet()?;
        Ok(sink)
    }

    /// Starts the next sheet and writes its header row.
    fn new_sheet(&mut self) -> Result<(), XlsxExportError> {
        self.sheets += 1;
        let name = if self.sheets == 1 { "data".to_owned() } else { format!("data_{}", self.sheets) };
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, name) in self.columns.iter().enumerate() {
            sheet.write_string(0, col as u16, name)?;
        }
        self.rows_in_sheet = 0;
        Ok(())
    }

    /// Appends the rows of `batch`.
    ///
    /// # Errors
    /// A value beyond Excel's limits, or the disk.
    pub(crate) fn write(&mut self, batch: &DataFrame) -> Result<(), XlsxExportError> {
        let columns = cells::normalize(batch)?;
        let mut rows = DatasetRows::new(&columns)?;
        let mut row = Vec::with_capacity(columns.len());
        while rows.next_into(&mut row) {
            if self.rows_in_sheet == self.sheet_rows {
                self.new_sheet()?;
            }
            self.rows_in_sheet += 1;
            let (index, at) = (self.sheets - 1, self.rows_in_sheet as u32);
            let sheet = self.workbook.worksheet_from_index(index)?;
            for (col, cell) in row.iter().enumerate() {
                write_cell(sheet, at, col as u16, *cell, &self.date, &self.datetime).map_err(|e| {
                    let data_row = index * self.sheet_rows + self.rows_in_sheet;
                    locate(e, &self.columns[col], data_row)
                })?;
            }
        }
        Ok(())
    }

    /// Writes the workbook to `path`; returns the number of sheets.
    ///
    /// # Errors
    /// The disk (full, gone).
    pub(crate) fn finish(mut self, path: &Path) -> Result<usize, XlsxExportError> {
        self.workbook.save(path)?;
        Ok(self.sheets)
    }
}

/// Says where a limit was hit: the column and the data row (1-based, across sheets).
fn locate(e: XlsxExportError, column: &str, data_row: usize) -> XlsxExportError {
    match e {
        XlsxExportError::Limit(message) => {
            XlsxExportError::Limit(format!("column `{column}`, data row {data_row}: {message}"))
        }
        other => other,
    }
}

fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cell: Datum<'_>,
    date: &Format,
    datetime: &Format,
) -> Result<(), XlsxExportError> {
    match cell {
        // Constant-memory sheets keep no empty cells: a null is simply not written.
        Datum::Null => {}
        Datum::Int(v) if (-EXACT_INT..=EXACT_INT).contains(&v) => {
            sheet.write_number(row, col, v as f64)?;
        }
        Datum::Int(v) => {
            sheet.write_string(row, col, v.to_string())?;
        }
        Datum::Float(v) => {
            sheet.write_number(row, col, v)?;
        }
        Datum::Bool(v) => {
            sheet.write_boolean(row, col, v)?;
        }
        Datum::Text(v) => {
            if v.len() > EXCEL_TEXT_CHARS && v.chars().count() > EXCEL_TEXT_CHARS {
                return Err(XlsxExportError::Limit(format!(
                    "a value of {} characters, and an Excel cell holds at most {EXCEL_TEXT_CHARS}",
                    v.chars().count()
                )));
            }
            sheet.write_string(row, col, v)?;
        }
        Datum::Date(days) => {
            let serial = f64::from(days) + UNIX_EPOCH_SERIAL;
            if serial >= FIRST_SAFE_SERIAL {
                sheet.write_number_with_format(row, col, serial, date)?;
            } else {
                sheet.write_string(row, col, cell.to_json().as_str().unwrap_or_default())?;
            }
        }
        Datum::Datetime(us) => {
            let serial = us as f64 / MICROS_PER_DAY + UNIX_EPOCH_SERIAL;
            if serial >= FIRST_SAFE_SERIAL {
                sheet.write_number_with_format(row, col, serial, datetime)?;
            } else {
                sheet.write_string(row, col, cell.to_json().as_str().unwrap_or_default())?;
            }
        }
    }
    Ok(())
}

/// An Excel date cell's serial read back: days for a `date` column, else microseconds rounded to
/// the millisecond (what Excel keeps).
pub(crate) fn from_serial(serial: f64, date: bool) -> Datum<'static> {
    let days = serial - UNIX_EPOCH_SERIAL;
    if date {
        Datum::Date(days.round() as i32)
    } else {
        Datum::Datetime((days * MICROS_PER_DAY / 1000.0).round() as i64 * 1000)
    }
}

/// A cell of a workbook dat wrote, read back (with calamine) as JSON and typed by its column's
/// `dtype`: a date cell as ISO text (a date in a `date` column), a whole number in an `int`
/// column as an integer (also when the export wrote it as text because Excel could not hold it
/// exactly).
pub(crate) fn read_back(data: &DataRef<'_>, dtype: ColumnType) -> Value {
    match data {
        DataRef::Int(v) => Value::from(*v),
        DataRef::Float(v) if dtype == ColumnType::Int && v.fract() == 0.0 && v.abs() < 9.0e15 => Value::from(*v as i64),
        DataRef::Float(v) => Datum::Float(*v).to_json(),
        DataRef::String(v) => text(v, dtype),
        DataRef::SharedString(v) => text(v, dtype),
        DataRef::Bool(v) => Value::Bool(*v),
        DataRef::DateTime(v) => from_serial(v.as_f64(), dtype == ColumnType::Date).to_json(),
        DataRef::DateTimeIso(v) | DataRef::DurationIso(v) => Value::from(v.as_str()),
        DataRef::Error(e) => Value::from(e.to_string()),
        DataRef::Empty => Value::Null,
    }
}

fn text(v: &str, dtype: ColumnType) -> Value {
    match v.parse::<i64>() {
        Ok(n) if dtype == ColumnType::Int => Value::from(n),
        _ => Value::from(v),
    }
}

//! Tables and what the probe says about them (SPEC §6). A table is one sheet of a workbook or
//! the whole of any other file; its id is the file's workspace path, `path#sheet` for sheets.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Availability of a table, from the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// Readable and has rows.
    Available,
    /// Readable, but problems were found (ragged rows, undecodable bytes, bad lines).
    Partial,
    /// Readable, no data rows (0-byte file, header only, empty sheet).
    Empty,
    /// The file is gone or not readable by this user.
    Missing,
    /// Unreadable: corrupt, truncated, wrong format, encrypted; `error` says why.
    Error,
}

impl TableStatus {
    /// Whether table selection takes the table by default.
    pub fn selectable(self) -> bool {
        matches!(self, TableStatus::Available | TableStatus::Partial)
    }
}

/// The type of a column as far as the probe could tell from what it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Whole numbers.
    Int,
    /// Numbers with a fraction (or mixed whole and fractional).
    Float,
    /// true/false.
    Bool,
    /// Calendar dates.
    Date,
    /// Dates with a time of day.
    Datetime,
    /// Text (or a mix the probe cannot narrow down).
    String,
    /// Nested objects (JSON, Parquet structs).
    Struct,
    /// Nested arrays.
    List,
    /// Raw bytes.
    Binary,
    /// Only nulls were seen.
    Null,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Name as in the file (header cell, key, field).
    pub name: String,
    /// Type, from the schema (Parquet) or inferred from the rows read.
    #[serde(rename = "type")]
    pub dtype: ColumnType,
    /// Whether nulls were seen (or the schema allows them).
    pub nullable: bool,
}

/// How a delimited text file was read: the sniff result, part of the probe result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sniff {
    /// `utf-8`, `utf-8-bom`, `utf-16le`, `utf-16be` or `windows-1252`.
    pub encoding: String,
    /// The field delimiter: `,`, `\t`, `;` or `|`.
    pub delimiter: String,
    /// The quote character, if fields are quoted.
    pub quote: Option<String>,
    /// Whether the first row is a header.
    pub header: bool,
    /// `gzip` or `zstd` when the file is compressed.
    pub compression: Option<String>,
}

/// What the probe found for one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableProbe {
    /// `path` or `path#sheet`.
    pub table_id: String,
    /// The file, workspace-relative.
    pub file: String,
    /// The sheet, for workbooks.
    pub sheet: Option<String>,
    /// The adapter that read it.
    pub adapter: String,
    /// Availability.
    pub status: TableStatus,
    /// Columns in file order.
    pub columns: Vec<ColumnInfo>,
    /// Data rows (exact when `row_count_exact`, otherwise estimated from what was read).
    pub row_estimate: Option<u64>,
    /// Whether `row_estimate` is exact.
    pub row_count_exact: bool,
    /// How a delimited text file was read.
    pub sniff: Option<Sniff>,
    /// Problems that did not stop reading (ragged rows, bad lines, hidden sheet…).
    pub warnings: Vec<String>,
    /// Why the table is `error` or `missing`.
    pub error: Option<String>,
}

impl TableProbe {
    /// A table the file could not give: status `error` (or `missing`) with the reason.
    pub fn failed(file: &str, adapter: &str, status: TableStatus, error: impl Into<String>) -> Self {
        TableProbe {
            table_id: file.to_owned(),
            file: file.to_owned(),
            sheet: None,
            adapter: adapter.to_owned(),
            status,
            columns: vec![],
            row_estimate: None,
            row_count_exact: false,
            sniff: None,
            warnings: vec![],
            error: Some(error.into()),
        }
    }
}

/// The table id of a file's table: the path, or `path#sheet`.
pub fn table_id(file: &str, sheet: Option<&str>) -> String {
    match sheet {
        Some(sheet) => format!("{file}#{sheet}"),
        None => file.to_owned(),
    }
}

/// Sample rows of one table, columns in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablePreview {
    /// The table.
    pub table_id: String,
    /// Column names in file order (preview adds `_source_file` and `_source_table`).
    pub columns: Vec<String>,
    /// Rows, each with one value per column (`null` where a row lacks one).
    pub rows: Vec<Vec<Value>>,
    /// Estimated data rows in the whole table.
    pub total_estimate: Option<u64>,
}

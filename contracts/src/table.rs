//! Tables and what the probe says about them (SPEC §6). A table is one sheet of a workbook or
//! the whole of any other file; its id is the file's workspace path, `path#sheet` for sheets.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::text_layout::{DateEvidence, NumberFormat};

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
///
/// On the wire a type is one string: `int`, `float`, …, and `decimal(P,S)` for a decimal of
/// precision `P` (1–38 digits) and scale `S`, so that a decimal keeps both through every file.
/// `struct` and `list` values are held as their JSON text (compact, keys in file order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Whole numbers.
    Int,
    /// Numbers with a fraction (or mixed whole and fractional).
    Float,
    /// Exact decimals (Parquet DECIMAL): `precision` digits in all, `scale` after the point.
    Decimal {
        /// Digits in all, 1..=38.
        precision: u8,
        /// Digits after the point, at most `precision`.
        scale: u8,
    },
    /// true/false.
    Bool,
    /// Calendar dates.
    Date,
    /// Dates with a time of day.
    Datetime,
    /// Text (or a mix the probe cannot narrow down).
    String,
    /// Nested objects (JSON, Parquet structs and maps), held as JSON text.
    Struct,
    /// Nested arrays, held as JSON text.
    List,
    /// Raw bytes.
    Binary,
    /// Only nulls were seen.
    Null,
}

impl ColumnType {
    /// The largest precision a decimal can have (what 128 bits hold).
    pub const MAX_DECIMAL_PRECISION: u8 = 38;

    /// The wire name: `int`, `float`, `decimal(10,2)`, …
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::Borrowed;
        match self {
            ColumnType::Int => Borrowed("int"),
            ColumnType::Float => Borrowed("float"),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})").into(),
            ColumnType::Bool => Borrowed("bool"),
            ColumnType::Date => Borrowed("date"),
            ColumnType::Datetime => Borrowed("datetime"),
            ColumnType::String => Borrowed("string"),
            ColumnType::Struct => Borrowed("struct"),
            ColumnType::List => Borrowed("list"),
            ColumnType::Binary => Borrowed("binary"),
            ColumnType::Null => Borrowed("null"),
        }
    }

    /// Parses a wire name; `None` for anything else (or a decimal out of range).
    pub fn parse(name: &str) -> Option<ColumnType> {
        Some(match name {
            "int" => ColumnType::Int,
            "float" => ColumnType::Float,
            "bool" => ColumnType::Bool,
            "date" => ColumnType::Date,
            "datetime" => ColumnType::Datetime,
            "string" => ColumnType::String,
            "struct" => ColumnType::Struct,
            "list" => ColumnType::List,
            "binary" => ColumnType::Binary,
            "null" => ColumnType::Null,
            other => {
                let (p, s) = other.strip_prefix("decimal(")?.strip_suffix(')')?.split_once(',')?;
                let (precision, scale) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
                if !(1..=Self::MAX_DECIMAL_PRECISION).contains(&precision) || scale > precision {
                    return None;
                }
                ColumnType::Decimal { precision, scale }
            }
        })
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for ColumnType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        ColumnType::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown column type `{name}`")))
    }
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
    /// For a column of `d/m/yyyy`-style dates: what its values say about the day/month order,
    /// decided for the whole folder at table availability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<DateEvidence>,
}

impl ColumnInfo {
    /// A column with this name, type and nullability.
    pub fn new(name: impl Into<String>, dtype: ColumnType, nullable: bool) -> Self {
        ColumnInfo { name: name.into(), dtype, nullable, dates: None }
    }
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
    /// Whether the first row (after any title lines) is a header.
    pub header: bool,
    /// `gzip` or `zstd` when the file is compressed.
    pub compression: Option<String>,
    /// The separators numbers are written with.
    #[serde(default)]
    pub number: NumberFormat,
    /// The lines above the header (or first data row), as text: a title, instrument metadata.
    /// Kept here, never lost; none are data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title: Vec<String>,
    /// The lines after the data that are not rows (totals, "End of report"), when the probe
    /// read the whole file; parse reports them for every file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub footer: Vec<String>,
    /// Which of these the user set in the lock body's `read_options` rather than the sniffer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<String>,
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

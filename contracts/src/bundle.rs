//! The files parse and export write (SPEC §7, §8): the parse bundle's `manifest.json` and
//! `prep_report.json`, and a dataset's `manifest.json`. Paths are relative (to the workspace for
//! sources, to the data dir for outputs); nothing absolute is ever written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stage::Stage;
use crate::table::ColumnType;
use crate::text_layout::HeaderMapping;

/// File names inside the parse stage's artifact folder.
pub mod parse_files {
    /// The assembled dataset.
    pub const DATASET: &str = "dataset.parquet";
    /// [`super::ParseManifest`].
    pub const MANIFEST: &str = "manifest.json";
    /// [`super::PrepReport`].
    pub const PREP_REPORT: &str = "prep_report.json";
    /// The ordered steps applied.
    pub const TRANSFORM_PLAN: &str = "transform_plan.json";
    /// Rows that could not be parsed: file, line, reason.
    pub const REJECTS: &str = "rejects.parquet";
    /// Folder of per-table checkpoint files.
    pub const CHECKPOINTS: &str = "checkpoints";
    /// [`super::ParseResult`]: how the parse ended, table by table (shown by the artifact route).
    pub const RESULT: &str = "result.json";
    /// With a profile: one Parquet file per profile table.
    pub const TABLES: &str = "tables";
    /// With a profile: one Parquet file per profile output.
    pub const OUTPUTS: &str = "outputs";
}

/// One column of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetColumn {
    /// Name.
    pub name: String,
    /// Type (`int`, `float`, `bool`, `date`, `datetime`, `string`).
    pub dtype: ColumnType,
    /// Whether it holds nulls.
    pub nullable: bool,
}

/// A source of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTable {
    /// Table id (`path` or `path#sheet`).
    pub table_id: String,
    /// The file, workspace-relative.
    pub file: String,
    /// Its sha256 when discovered.
    pub sha256: String,
    /// Its size when discovered.
    pub size: u64,
    /// Rows it gave the dataset.
    pub rows: u64,
}

/// The parse bundle's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseManifest {
    /// The run.
    pub run_id: String,
    /// The stage IDs the dataset was made under (discovery … parse).
    pub stage_ids: BTreeMap<Stage, String>,
    /// The tables that went in, in dataset order.
    pub sources: Vec<SourceTable>,
    /// Columns of `dataset.parquet`, in order.
    pub columns: Vec<DatasetColumn>,
    /// Rows of `dataset.parquet`.
    pub rows: u64,
    /// sha256 of `dataset.parquet`, taken as it was written (a Parquet export that links the
    /// file reports it without reading the file again). Absent in bundles of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_sha256: Option<String>,
    /// Rows in `rejects.parquet`.
    pub rejects: u64,
    /// Seconds spent: `tables` (reading into checkpoints), `assemble`, `total`.
    pub timings: BTreeMap<String, f64>,
    /// With a profile: each profile table's and each output's file (SPEC §10), by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profile_files: BTreeMap<String, ProfileFile>,
}

/// A file of the bundle that a profile table or output made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileFile {
    /// `table` or `output`.
    pub kind: String,
    /// The file, relative to the bundle (`tables/run_summary.parquet`).
    pub file: String,
    /// Its columns.
    pub columns: Vec<DatasetColumn>,
    /// Its rows.
    pub rows: u64,
    /// Its sha256, taken as it was written (as [`ParseManifest::dataset_sha256`]). Absent in
    /// bundles of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A column whose type had to widen because a file held values the narrower type cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Widening {
    /// The column.
    pub column: String,
    /// Its type before this file.
    pub from: ColumnType,
    /// Its type after.
    pub to: ColumnType,
    /// The file (table id) that made it widen.
    pub file: String,
}

/// Why a table gave the dataset no rows. Its checkpoint (if any) was discarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFailure {
    /// What kind of failure.
    pub code: FailureCode,
    /// What happened and what to do, naming the file.
    pub message: String,
    /// Facts for tools (e.g. `expected_sha256`, `found_sha256` for `source_changed`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The kinds of [`TableFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The file's content is not what discovery fingerprinted (edited since, even with its
    /// size and mtime kept): re-lock discovery to read the new content under new stage IDs.
    SourceChanged,
    /// The content cannot be read (corrupt, truncated, wrong format, a limit passed).
    Unreadable,
    /// The file cannot be opened or read (gone, permissions, disk): fix access, re-lock parse.
    Io,
    /// The reader failed on the content (a bug, caught): the other tables are unaffected.
    ReaderFailed,
}

/// How one table went in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepTable {
    /// The table.
    pub table_id: String,
    /// `parsed`, `partial` (parsed, with rejects) or `failed`.
    pub status: String,
    /// Rows it gave.
    pub rows: u64,
    /// Its columns in file order.
    pub columns: Vec<String>,
    /// Nulls per column.
    pub nulls: BTreeMap<String, u64>,
    /// Rows rejected.
    pub rejects: u64,
    /// Columns this table widened in the dataset.
    pub widenings: Vec<Widening>,
    /// Problems that did not stop it (the first rejects, values that could not be kept
    /// exactly, counted); for `failed`, why it failed.
    pub warnings: Vec<String>,
    /// Why it failed, for `failed` tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TableFailure>,
    /// Where every line (or element, or row) of the source went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounting: Option<RowAccount>,
    /// Lines above the header (a title, metadata), kept as read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title: Vec<String>,
    /// Lines after the data that are not rows (totals, "End of report"), kept as read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub footer: Vec<String>,
}

/// Where every unit of a source went: each line of delimited text or JSON Lines, each element
/// of a JSON array, each row of a sheet or a Parquet file is a row written, a reject, or
/// skipped for a stated reason. Parse checks the sum and fails the stage when it is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowAccount {
    /// `lines`, `elements` or `rows`.
    pub unit: String,
    /// Units the reader went through, counted on their own (line ends, elements, the rows the
    /// file says it has).
    pub read: u64,
    /// Units skipped, by reason: `header`, `title`, `blank`, `footer`, `continuation` (the
    /// further lines of a record with a quoted line break).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, u64>,
}

impl RowAccount {
    /// An account of `read` units of `unit`, none skipped yet.
    pub fn new(unit: &str, read: u64) -> Self {
        RowAccount { unit: unit.to_owned(), read, skipped: BTreeMap::new() }
    }

    /// Counts `n` units skipped for `reason`.
    pub fn skip(&mut self, reason: &str, n: u64) {
        if n > 0 {
            *self.skipped.entry(reason.to_owned()).or_default() += n;
        }
    }

    /// Checks that the units read are the rows written, the rejects and the units skipped.
    ///
    /// # Errors
    /// The numbers that do not add up, for the stage's error.
    pub fn check(&self, table: &str, rows: u64, rejects: u64) -> Result<(), String> {
        let skipped: u64 = self.skipped.values().sum();
        let accounted = rows + rejects + skipped;
        if accounted == self.read {
            return Ok(());
        }
        let reasons: Vec<String> = self.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        Err(format!(
            "{table}: row accounting is off: {} {} read, but {rows} rows written + {rejects} rejects + {skipped} \
             skipped ({}) = {accounted}; nothing was published, please report this with the file",
            self.read,
            self.unit,
            if reasons.is_empty() { "none".to_owned() } else { reasons.join(", ") },
        ))
    }
}

/// A dataset column's type and why it is that type: the first value that forced it, or the
/// folder's day/month decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDecision {
    /// The column.
    pub name: String,
    /// Its type in the dataset.
    #[serde(rename = "type")]
    pub dtype: ColumnType,
    /// Why, e.g. "string because `data/b.csv` line 7 is `0870A`".
    pub reason: String,
}

/// A table that failed or gave rejects, as the parse result lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableOutcome {
    /// The table.
    pub table_id: String,
    /// Its file, workspace-relative.
    pub file: String,
    /// `partial` or `failed`.
    pub status: String,
    /// Rows it gave.
    pub rows: u64,
    /// Rows rejected (exact).
    pub rejects: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TableFailure>,
    /// The first rejects and counted warnings, one line each.
    pub warnings: Vec<String>,
}

/// How a parse ended (`result.json` in the bundle, shown as `result` by the artifact route):
/// what a user checks first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseResult {
    /// Rows in the dataset.
    pub rows: u64,
    /// Rows rejected in all.
    pub rejects: u64,
    /// Tables by status: `parsed`, `partial`, `failed`.
    pub tables: BTreeMap<String, u64>,
    /// Every table that failed or is partial, in table order.
    pub problems: Vec<TableOutcome>,
    /// Reader panics caught (each failed its table only); non-zero means a bug to report.
    pub panics_caught: u64,
    /// The bundle's files, relative to the data dir.
    pub files: BTreeMap<String, String>,
}

/// The parse bundle's `prep_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepReport {
    /// One entry per selected table.
    pub tables: Vec<PrepTable>,
    /// Every dataset column's type with its reason.
    #[serde(default)]
    pub columns: Vec<ColumnDecision>,
    /// Every column whose dataset name differs from its name in its file (headers matched
    /// across files by their normalised name).
    #[serde(default)]
    pub header_mappings: Vec<HeaderMapping>,
}

/// A dataset's `manifest.json` (SPEC §8), next to its `data.<ext>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetManifest {
    /// The dataset's id (its folder name under `datasets/`).
    pub dataset_id: String,
    /// Name given at export.
    pub name: String,
    /// Description given at export.
    pub description: Option<String>,
    /// When it was exported (RFC 3339, UTC).
    pub created_at: String,
    /// Always `dat`.
    pub created_by_tool: String,
    /// The run that made it.
    pub run_id: String,
    /// The stage IDs it was made under.
    pub stage_ids: BTreeMap<Stage, String>,
    /// The run's profile, if any.
    pub profile_id: Option<String>,
    /// Its columns.
    pub columns: Vec<DatasetColumn>,
    /// Its rows.
    pub row_count: u64,
    /// Size of `data.<ext>` in bytes.
    pub size_bytes: u64,
    /// sha256 of `data.<ext>`.
    pub version_id: String,
    /// Datasets it was made from (none yet: dat makes datasets from files).
    pub parent_dataset_ids: Vec<String>,
    /// The workspace-relative files it was made from.
    pub source_files: Vec<String>,
    /// The file format (`parquet`, `csv`, …) and file name of the data.
    pub format: String,
    /// `data.<ext>`.
    pub data_file: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_accounting_adds_up_or_fails_with_the_numbers() {
        let mut account = RowAccount::new("lines", 12);
        account.skip("header", 1);
        account.skip("title", 2);
        account.skip("blank", 1);
        account.skip("footer", 1);
        assert_eq!(account.check("a.csv", 6, 1), Ok(()));
        let off = account.check("a.csv", 5, 1).unwrap_err();
        assert_eq!(
            off,
            "a.csv: row accounting is off: 12 lines read, but 5 rows written + 1 rejects + 5 skipped \
             (1 blank, 1 footer, 1 header, 2 title) = 11; nothing was published, please report this with the file"
        );
    }
}

//! The files parse and export write (SPEC §7, §8): the parse bundle's `manifest.json` and
//! `prep_report.json`, and a dataset's `manifest.json`. Paths are relative (to the workspace for
//! sources, to the data dir for outputs); nothing absolute is ever written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stage::Stage;
use crate::table::ColumnType;

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
    /// Rows in `rejects.parquet`.
    pub rejects: u64,
    /// Seconds spent: `tables` (reading into checkpoints), `assemble`, `total`.
    pub timings: BTreeMap<String, f64>,
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

/// How one table went in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepTable {
    /// The table.
    pub table_id: String,
    /// `parsed` or `failed`.
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
    /// Problems that did not stop it; for `failed`, why it failed.
    pub warnings: Vec<String>,
}

/// The parse bundle's `prep_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepReport {
    /// One entry per selected table.
    pub tables: Vec<PrepTable>,
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

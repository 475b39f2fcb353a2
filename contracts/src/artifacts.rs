//! The content of each stage's artifact (`artifact.json`), typed, so that a stage reads what
//! its upstream stage wrote without guessing at JSON. Paths are workspace-relative.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::table::{ColumnType, TablePreview, TableProbe, TableStatus};
use crate::text_layout::DateOrder;
use crate::workspace_path::WorkspacePath;

/// One file found by discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredFile {
    /// Workspace-relative path.
    pub path: WorkspacePath,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case extension (`csv.gz` for compressed files), empty when none.
    pub extension: String,
    /// The adapter that reads it, if any.
    pub adapter: Option<String>,
    /// Lower-case hex sha256 of the content.
    pub sha256: String,
    /// Whether an adapter reads it.
    pub supported: bool,
}

/// Discovery's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryArtifact {
    /// The scanned folder.
    pub root: WorkspacePath,
    /// Every file found, sorted by path.
    pub files: Vec<DiscoveredFile>,
    /// How many files an adapter reads.
    pub supported: usize,
    /// How many it does not.
    pub unsupported: usize,
    /// Entries left out of the scan, and why (e.g. a symlink leading outside the workspace).
    pub skipped: Vec<SkippedEntry>,
}

/// An entry discovery did not list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEntry {
    /// Workspace-relative path.
    pub path: WorkspacePath,
    /// Why it was left out.
    pub reason: String,
}

/// Selection's artifact: the chosen files, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionArtifact {
    /// The chosen files.
    pub files: Vec<DiscoveredFile>,
}

/// The context of one file (SPEC §10): each value with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileContext {
    /// The file.
    pub file: WorkspacePath,
    /// Its values, later sources having won.
    pub values: Vec<crate::profile::ContextValue>,
    /// Required values that were not found.
    pub missing: Vec<String>,
}

/// Context's artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextArtifact {
    /// The profile it was resolved with.
    pub profile_id: Option<String>,
    /// Levels to aggregate by.
    pub aggregation_levels: Vec<String>,
    /// One entry per selected file, by path.
    pub files: Vec<FileContext>,
}

impl ContextArtifact {
    /// The context of `file`.
    pub fn of(&self, file: &WorkspacePath) -> Option<&FileContext> {
        self.files.iter().find(|f| &f.file == file)
    }
}

/// Table availability's artifact: every table of the selected files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityArtifact {
    /// One probe result per table, sorted by table id.
    pub tables: Vec<TableProbe>,
    /// How many tables have each status.
    pub counts: BTreeMap<TableStatus, usize>,
    /// The folder's columns as the dataset will have them, decided once from every table's
    /// sample.
    #[serde(default)]
    pub schema: Vec<FolderColumn>,
}

/// One column of the folder: its headers matched across files by their normalised name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderColumn {
    /// The name in the dataset (the spelling of the first file that has it).
    pub name: String,
    /// The type every sample fits.
    #[serde(rename = "type")]
    pub dtype: ColumnType,
    /// Whether some sample had a null, or some table lacks the column.
    pub nullable: bool,
    /// The tables that have it.
    pub tables: Vec<String>,
    /// For `d/m/yyyy`-style dates: the order decided for every file, or `None` when they stay
    /// text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_order: Option<DateOrder>,
    /// For `d/m/yyyy`-style dates: why they are read in `date_order`, or why they stay text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<String>,
    /// The file that widened the column's type, where one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A table chosen by table selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedTable {
    /// `path` or `path#sheet`.
    pub table_id: String,
    /// The file.
    pub file: WorkspacePath,
    /// The sheet, for workbooks.
    pub sheet: Option<String>,
    /// The adapter that reads it.
    pub adapter: String,
    /// Its probe status.
    pub status: TableStatus,
}

/// Table selection's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSelectionArtifact {
    /// The chosen tables, sorted by table id.
    pub tables: Vec<SelectedTable>,
}

/// One table's preview, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewedTable {
    /// The table.
    pub table_id: String,
    /// Sample rows, with `_source_file` and `_source_table` as the last two columns.
    pub preview: Option<TablePreview>,
    /// Why the table could not be previewed.
    pub error: Option<String>,
}

/// Preview's artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewArtifact {
    /// Rows requested per table.
    pub rows: u64,
    /// One entry per selected table, in table id order.
    pub tables: Vec<PreviewedTable>,
}

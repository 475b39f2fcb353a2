//! Adapters: one per file format, each able to probe a file's tables (reading only what it
//! must) and to preview their first rows. The registry picks the adapter by extension (case
//! ignored; `.gz`/`.zst` on text formats means compressed).
//!
//! An adapter never fails a whole run: a file it cannot read becomes one table with status
//! `error` and the reason. [`probe_file`] adds the last line of defence: a missing file is
//! `missing`, and a reader that panics on hostile bytes is caught and reported as `error`.

pub(crate) mod cells;
pub(crate) mod excel;
pub(crate) mod json;
pub(crate) mod parquet;
mod source;
pub(crate) mod text;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use dat_contracts::{TablePreview, TableProbe, TableStatus};
use serde::Serialize;

pub use source::{ByteCount, Compression, Counting, SourceFile};

/// Why a preview could not be read. The preview records it for the table; the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The file cannot be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// Workspace-relative path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The content is not what the format requires.
    #[error("{path}: {message}")]
    Format {
        /// Workspace-relative path.
        path: String,
        /// What is wrong, where.
        message: String,
    },
    /// The sheet or table does not exist in the file.
    #[error("{path}: no table `{table}`")]
    NoSuchTable {
        /// Workspace-relative path.
        path: String,
        /// The requested sheet/table.
        table: String,
    },
}

/// One file format.
pub trait Adapter: Send + Sync {
    /// Stable id, e.g. `csv`, `excel`, `json`, `jsonl`, `parquet`.
    fn id(&self) -> &'static str;
    /// Lower-case extensions without the dot, e.g. `["csv", "tsv", "txt"]`.
    fn extensions(&self) -> &'static [&'static str];
    /// Whether `.gz`/`.zst` variants of these extensions are read.
    fn compressible(&self) -> bool;
    /// One line for `GET /api/dat/adapters`.
    fn description(&self) -> &'static str;
    /// Every table of the file. Never fails: problems become `error`/`partial` tables.
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe>;
    /// Up to `rows` data rows of one table (`sheet` for workbooks), columns in file order.
    ///
    /// # Errors
    /// [`AdapterError`] when the table cannot be read.
    fn preview(&self, file: &SourceFile<'_>, sheet: Option<&str>, rows: usize) -> Result<TablePreview, AdapterError>;
}

/// What `GET /api/dat/adapters` lists.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterInfo {
    /// Adapter id.
    pub id: &'static str,
    /// Extensions it reads.
    pub extensions: &'static [&'static str],
    /// Whether gzip/zstd-compressed variants are read.
    pub compression: bool,
    /// What it reads.
    pub description: &'static str,
}

/// All adapters, looked up by extension.
#[derive(Clone)]
pub struct AdapterRegistry {
    adapters: Vec<Arc<dyn Adapter>>,
}

impl Default for AdapterRegistry {
    fn default() -> Self {
        AdapterRegistry {
            adapters: vec![
                Arc::new(text::DelimitedAdapter),
                Arc::new(excel::ExcelAdapter),
                Arc::new(json::JsonAdapter),
                Arc::new(json::JsonlAdapter),
                Arc::new(parquet::ParquetAdapter),
            ],
        }
    }
}

impl AdapterRegistry {
    /// The adapter for a file name and its compression, or `None` when unsupported.
    pub fn for_name(&self, name: &str) -> Option<(Arc<dyn Adapter>, Option<Compression>)> {
        let lower = name.to_ascii_lowercase();
        let (stem, compression) = Compression::strip(&lower);
        let ext = stem.rsplit_once('.').map(|(_, e)| e)?;
        let adapter = self.adapters.iter().find(|a| a.extensions().contains(&ext))?;
        if compression.is_some() && !adapter.compressible() {
            return None;
        }
        Some((adapter.clone(), compression))
    }

    /// The adapter with this id.
    pub fn by_id(&self, id: &str) -> Option<Arc<dyn Adapter>> {
        self.adapters.iter().find(|a| a.id() == id).cloned()
    }

    /// Every adapter, for the adapters route.
    pub fn list(&self) -> Vec<AdapterInfo> {
        self.adapters
            .iter()
            .map(|a| AdapterInfo {
                id: a.id(),
                extensions: a.extensions(),
                compression: a.compressible(),
                description: a.description(),
            })
            .collect()
    }
}

/// Probes one file with its adapter: `missing` when it is gone or unreadable, `error` when the
/// adapter panics (a reader bug on hostile bytes must not take the worker down).
pub fn probe_file(adapter: &dyn Adapter, file: &SourceFile<'_>) -> Vec<TableProbe> {
    let path = file.path.as_str();
    if let Err(e) = std::fs::File::open(file.disk) {
        return vec![TableProbe::failed(
            path,
            adapter.id(),
            TableStatus::Missing,
            format!("cannot open the file: {e}"),
        )];
    }
    match catch_unwind(AssertUnwindSafe(|| adapter.probe(file))) {
        Ok(tables) if tables.is_empty() => {
            vec![TableProbe::failed(path, adapter.id(), TableStatus::Empty, "the file holds no table")]
        }
        Ok(tables) => tables,
        Err(_) => vec![TableProbe::failed(
            path,
            adapter.id(),
            TableStatus::Error,
            "the reader failed on this file's content (it is probably corrupt)",
        )],
    }
}

/// Previews one table, turning a reader panic into an error like any other.
///
/// # Errors
/// [`AdapterError`] from the adapter, or [`AdapterError::Format`] when it panicked.
pub fn preview_table(
    adapter: &dyn Adapter,
    file: &SourceFile<'_>,
    sheet: Option<&str>,
    rows: usize,
) -> Result<TablePreview, AdapterError> {
    catch_unwind(AssertUnwindSafe(|| adapter.preview(file, sheet, rows))).unwrap_or_else(|_| {
        Err(AdapterError::Format {
            path: file.path.to_string(),
            message: "the reader failed on this file's content (it is probably corrupt)".into(),
        })
    })
}

//! The datasets catalogue: the exported datasets under `<data-dir>/datasets`, each a folder
//! `<dataset_id>/` with `data.<ext>` and `manifest.json` (SPEC §8), listed, read, previewed and
//! traced back to their run and source files. Read-only: only the export stage writes here.

mod preview;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use dat_contracts::bundle::DatasetManifest;
use dat_contracts::Stage;
use serde::Serialize;
use serde_json::Value;

/// Preview rows when none are asked for.
pub const DEFAULT_PREVIEW_ROWS: usize = 20;
/// Most preview rows served at once.
pub const MAX_PREVIEW_ROWS: usize = 1000;

/// Why a dataset could not be served.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// No dataset has this id (or the id cannot be one). HTTP 404 `dataset_not_found`.
    #[error("dataset {0} not found")]
    NotFound(String),
    /// Its data file cannot be read (deleted, damaged). HTTP 500; log the reason.
    #[error("dataset {dataset_id}: cannot read its data file: {reason}")]
    Unreadable {
        /// The dataset.
        dataset_id: String,
        /// Why, naming no absolute path.
        reason: String,
    },
}

/// The first rows of a dataset's data file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetPreview {
    /// Column names, in file order.
    pub columns: Vec<String>,
    /// Rows, one value per column (`null` for a missing value). Dates and datetimes are ISO text.
    /// In csv and tsv every value is text and an empty field is `null`.
    pub rows: Vec<Vec<Value>>,
}

/// Where a dataset came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetLineage {
    /// The dataset.
    pub dataset_id: String,
    /// The run that made it.
    pub run_id: String,
    /// The stage IDs it was made under, discovery to export.
    pub stage_ids: std::collections::BTreeMap<Stage, String>,
    /// The workspace-relative files it was made from.
    pub source_files: Vec<String>,
    /// Datasets it was made from.
    pub parent_dataset_ids: Vec<String>,
}

/// The catalogue over one datasets folder.
#[derive(Debug, Clone)]
pub struct Datasets {
    dir: PathBuf,
}

/// Whether `id` can name a dataset: 1–128 of `[A-Za-z0-9_-]`. Anything else (`..`, `/`, a hidden
/// staging folder's leading `.`) can never reach the disk.
fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Datasets {
    /// The catalogue of `dir` (`<data-dir>/datasets`; it need not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Datasets { dir: dir.into() }
    }

    /// Every dataset, newest first (by `created_at`, then id). Folders without a readable
    /// manifest are left out (and logged): a half-deleted folder must not hide the others.
    pub fn list(&self) -> Vec<DatasetManifest> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut all: Vec<DatasetManifest> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
            .filter(|name| valid_id(name))
            .filter_map(|id| self.get(&id))
            .collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.dataset_id.cmp(&b.dataset_id)));
        all
    }

    /// The manifest of dataset `id`; `None` when there is none (or `id` cannot be one).
    pub fn get(&self, id: &str) -> Option<DatasetManifest> {
        if !valid_id(id) {
            return None;
        }
        let path = self.dir.join(id).join(crate::stages::export::MANIFEST);
        let bytes = std::fs::read(path).ok()?;
        match serde_json::from_slice::<DatasetManifest>(&bytes) {
            Ok(manifest) if manifest.dataset_id == id => Some(manifest),
            Ok(_) => {
                tracing::warn!(dataset_id = id, "dataset manifest names another dataset; ignored");
                None
            }
            Err(e) => {
                tracing::warn!(dataset_id = id, error = %e, "dataset manifest unreadable; ignored");
                None
            }
        }
    }

    /// Dataset `id`'s data file on disk, with its manifest (for download).
    ///
    /// # Errors
    /// [`DatasetError::NotFound`], or [`DatasetError::Unreadable`] when the manifest names no
    /// plain file.
    pub fn data_path(&self, id: &str) -> Result<(PathBuf, DatasetManifest), DatasetError> {
        let manifest = self.get(id).ok_or_else(|| DatasetError::NotFound(id.to_owned()))?;
        // The manifest names the data file; only a plain `data.<ext>` name is followed.
        if Path::new(&manifest.data_file).file_name().and_then(|n| n.to_str()) != Some(manifest.data_file.as_str()) {
            let reason = format!("`{}` is not a file name", manifest.data_file);
            return Err(DatasetError::Unreadable { dataset_id: id.to_owned(), reason });
        }
        Ok((self.dir.join(id).join(&manifest.data_file), manifest))
    }

    /// The first `rows` rows (at most [`MAX_PREVIEW_ROWS`]) of dataset `id`'s data file.
    ///
    /// # Errors
    /// [`DatasetError::NotFound`], or [`DatasetError::Unreadable`] when the data file cannot be read.
    pub fn preview(&self, id: &str, rows: usize) -> Result<DatasetPreview, DatasetError> {
        let (path, manifest) = self.data_path(id)?;
        let unreadable = |reason: String| DatasetError::Unreadable { dataset_id: id.to_owned(), reason };
        preview::read(&path, &manifest, rows.min(MAX_PREVIEW_ROWS)).map_err(unreadable)
    }

    /// Where dataset `id` came from.
    ///
    /// # Errors
    /// [`DatasetError::NotFound`].
    pub fn lineage(&self, id: &str) -> Result<DatasetLineage, DatasetError> {
        let m = self.get(id).ok_or_else(|| DatasetError::NotFound(id.to_owned()))?;
        Ok(DatasetLineage {
            dataset_id: m.dataset_id,
            run_id: m.run_id,
            stage_ids: m.stage_ids,
            source_files: m.source_files,
            parent_dataset_ids: m.parent_dataset_ids,
        })
    }
}

//! Being written; see the helper notes.

use dat_contracts::{TablePreview, TableProbe, TableStatus};

use crate::adapters::{Adapter, AdapterError, SourceFile};

/// Placeholder.
pub struct ParquetAdapter;

impl Adapter for ParquetAdapter {
    fn id(&self) -> &'static str {
        "parquet"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["parquet", "pq"]
    }
    fn compressible(&self) -> bool {
        false
    }
    fn description(&self) -> &'static str {
        "parquet"
    }
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        vec![TableProbe::failed(file.path.as_str(), self.id(), TableStatus::Error, "not yet readable")]
    }
    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, _: usize) -> Result<TablePreview, AdapterError> {
        Err(AdapterError::Format { path: file.path.to_string(), message: "not yet readable".into() })
    }
}

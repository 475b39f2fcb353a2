//! Being written; see the helper notes.

use dat_contracts::{TablePreview, TableProbe, TableStatus};

use crate::adapters::{Adapter, AdapterError, SourceFile};

/// Placeholder.
pub struct JsonAdapter;
/// Placeholder.
pub struct JsonlAdapter;

impl Adapter for JsonAdapter {
    fn id(&self) -> &'static str {
        "json"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["json"]
    }
    fn compressible(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "json"
    }
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        vec![TableProbe::failed(file.path.as_str(), self.id(), TableStatus::Error, "not yet readable")]
    }
    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, _: usize) -> Result<TablePreview, AdapterError> {
        Err(AdapterError::Format { path: file.path.to_string(), message: "not yet readable".into() })
    }
}

impl Adapter for JsonlAdapter {
    fn id(&self) -> &'static str {
        "jsonl"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["jsonl", "ndjson"]
    }
    fn compressible(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "jsonl"
    }
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        vec![TableProbe::failed(file.path.as_str(), self.id(), TableStatus::Error, "not yet readable")]
    }
    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, _: usize) -> Result<TablePreview, AdapterError> {
        Err(AdapterError::Format { path: file.path.to_string(), message: "not yet readable".into() })
    }
}

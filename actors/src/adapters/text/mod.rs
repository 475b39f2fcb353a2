//! Delimited text (CSV/TSV/TXT). Being written; see the helper notes.

use dat_contracts::{TablePreview, TableProbe, TableStatus};

use crate::adapters::{Adapter, AdapterError, SourceFile};

/// CSV, TSV and TXT files.
pub struct DelimitedAdapter;

impl Adapter for DelimitedAdapter {
    fn id(&self) -> &'static str {
        "csv"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["csv", "tsv", "txt"]
    }
    fn compressible(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "Delimited text (, tab ; |), sniffed encoding, delimiter, quote and header"
    }
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        vec![TableProbe::failed(file.path.as_str(), self.id(), TableStatus::Error, "not yet readable")]
    }
    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, _: usize) -> Result<TablePreview, AdapterError> {
        Err(AdapterError::Format { path: file.path.to_string(), message: "not yet readable".into() })
    }
}

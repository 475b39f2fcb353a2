//! Parquet files: one table each, probed from the footer alone (schema and row count), so even
//! a file of many gigabytes costs the probe one small read at its end.

mod schema;
mod value;

use std::fs::File;

use ::parquet::file::reader::{FileReader, SerializedFileReader};
use dat_contracts::{TablePreview, TableProbe, TableStatus};

use crate::adapters::{Adapter, AdapterError, SourceFile};

/// Parquet, read with the `parquet` crate (no Arrow).
///
/// The probe trusts the footer: columns and types come from the schema and the row count from
/// the file metadata (exact). Data pages are not read, so a corrupt page shows up at parse, not
/// here; a bad magic number or a footer that does not fit the file is `error` now.
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
        "Apache Parquet: columns and row count from the footer; nested groups kept as struct/list"
    }

    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        let path = file.path.as_str();
        let reader = match open(file) {
            Ok(reader) => reader,
            Err(reason) => return vec![TableProbe::failed(path, self.id(), TableStatus::Error, reason)],
        };
        let meta = reader.metadata().file_metadata();
        let Ok(rows) = u64::try_from(meta.num_rows()) else {
            let reason = format!("corrupt footer: negative row count {}", meta.num_rows());
            return vec![TableProbe::failed(path, self.id(), TableStatus::Error, reason)];
        };
        let columns = meta.schema().get_fields().iter().map(|field| schema::column(field)).collect();
        let status = if rows == 0 { TableStatus::Empty } else { TableStatus::Available };
        vec![TableProbe {
            columns,
            row_estimate: Some(rows),
            row_count_exact: true,
            error: None,
            ..TableProbe::failed(path, self.id(), status, "")
        }]
    }

    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, rows: usize) -> Result<TablePreview, AdapterError> {
        let path = file.path.as_str();
        let format_error = |message: String| AdapterError::Format { path: path.to_owned(), message };
        let reader = open(file).map_err(format_error)?;
        let meta = reader.metadata().file_metadata();
        let columns: Vec<String> = meta.schema().get_fields().iter().map(|f| f.name().to_owned()).collect();
        let total = u64::try_from(meta.num_rows()).ok();
        let iter = reader.get_row_iter(None).map_err(|e| format_error(format!("cannot read rows: {e}")))?;
        let mut preview_rows = Vec::new();
        for row in iter.take(rows) {
            let row = row.map_err(|e| format_error(format!("cannot read row {}: {e}", preview_rows.len() + 1)))?;
            // The row iterator yields the schema's top-level fields in schema order.
            preview_rows.push(row.get_column_iter().map(|(_, field)| value::to_json(field)).collect());
        }
        Ok(TablePreview { table_id: path.to_owned(), columns, rows: preview_rows, total_estimate: total })
    }
}

/// Opens the file and reads its footer.
///
/// # Errors
/// Why the footer cannot be read (bad magic, truncated, corrupt metadata), naming no path.
fn open(file: &SourceFile<'_>) -> Result<SerializedFileReader<File>, String> {
    let disk = File::open(file.disk).map_err(|e| format!("cannot open the file: {e}"))?;
    SerializedFileReader::new(disk).map_err(|e| format!("not a readable Parquet file (corrupt or truncated): {e}"))
}

#[cfg(test)]
mod tests;

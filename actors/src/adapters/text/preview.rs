//! The first rows of a delimited text file as typed JSON cells, read with the probe's own
//! sniff and column types so that what the preview shows is what the probe reported.

use dat_contracts::TablePreview;
use serde_json::Value;

use super::infer::typed_value;
use super::records::{format_error, open_typed_records};
use crate::adapters::{AdapterError, SourceFile};

/// Up to `rows` data rows, one value per column in file order: short rows padded with `null`,
/// long rows cut to the header's width. Reads past the probe's sample only when its rows are
/// too long for `rows` of them to fit in it.
///
/// # Errors
/// [`AdapterError::Io`] when the file cannot be read, [`AdapterError::Format`] when it is not
/// text or its compressed stream is corrupt.
pub(super) fn preview(file: &SourceFile<'_>, rows: usize, prefer_tab: bool) -> Result<TablePreview, AdapterError> {
    let table_id = file.path.as_str().to_owned();
    let Some((table, sampled)) = open_typed_records(file, prefer_tab)? else {
        return Ok(TablePreview { table_id, columns: vec![], rows: vec![], total_estimate: Some(0) });
    };
    let mut out = Vec::new();
    for record in table.reader.into_records().take(rows) {
        let record = record.map_err(|e| format_error(file, format!("cannot read row {}: {e}", out.len() + 1)))?;
        let cells: Vec<Value> =
            sampled.columns.iter().enumerate().map(|(i, column)| typed_value(record.get(i), column.dtype)).collect();
        out.push(cells);
    }
    Ok(TablePreview { table_id, columns: table.names, rows: out, total_estimate: Some(sampled.rows_estimate) })
}

//! The first rows of a delimited text file as typed JSON cells, read with the probe's own
//! sniff and column types so that what the preview shows is what the probe reported.

use std::io::{Cursor, Read};

use dat_contracts::TablePreview;
use serde_json::Value;

use super::analyse::analyse;
use super::infer::typed_value;
use super::sample::{read_sample, SampleError};
use super::transcode::Utf8Reader;
use crate::adapters::{AdapterError, SourceFile};

/// Up to `rows` data rows, one value per column in file order: short rows padded with `null`,
/// long rows cut to the header's width. Reads past the probe's sample only when its rows are
/// too long for `rows` of them to fit in it.
///
/// # Errors
/// [`AdapterError::Io`] when the file cannot be read, [`AdapterError::Format`] when it is not
/// text or its compressed stream is corrupt.
pub(super) fn preview(file: &SourceFile<'_>, rows: usize, prefer_tab: bool) -> Result<TablePreview, AdapterError> {
    let path = file.path.as_str();
    let format = |message: String| AdapterError::Format { path: path.to_owned(), message };
    let (sample, rest) = read_sample(file).map_err(|e| match e {
        SampleError::Io(source) => AdapterError::Io { path: path.to_owned(), source },
        compressed @ SampleError::Compressed(..) => format(compressed.reason()),
    })?;
    let table_id = path.to_owned();
    if sample.raw.is_empty() {
        return Ok(TablePreview { table_id, columns: vec![], rows: vec![], total_estimate: Some(0) });
    }
    let analysis = analyse(&sample, prefer_tab).map_err(format)?;
    let mut raw = Cursor::new(sample.raw);
    raw.set_position(analysis.encoding.bom_len(raw.get_ref()) as u64);
    let text = Utf8Reader::new(raw.chain(rest), analysis.encoding);
    let records = analysis.dialect.reader(text).into_records().skip(usize::from(analysis.header)).take(rows);
    let mut out = Vec::new();
    for record in records {
        let record = record.map_err(|e| format(format!("cannot read row {}: {e}", out.len() + 1)))?;
        let cells: Vec<Value> =
            analysis.columns.iter().enumerate().map(|(i, column)| typed_value(record.get(i), column.dtype)).collect();
        out.push(cells);
    }
    Ok(TablePreview {
        table_id,
        columns: analysis.columns.into_iter().map(|c| c.name).collect(),
        rows: out,
        total_estimate: Some(analysis.rows),
    })
}

//! A delimited table read into chunks: each record a row of cells typed by the shared rules,
//! a record with more fields than the header a reject (its cells cannot be placed), a record
//! past the record cap a reject naming the line it began on. A short record is kept with nulls
//! and counted.

use super::records::{open_records, Record};
use crate::chunk::{Cell, ChunkBuilder};
use crate::sink::{ReadEnd, ReadError, Reject, Sink};
use crate::{ReadOptions, SourceFile};

/// Reads every record of `file` into `sink`.
///
/// # Errors
/// [`ReadError`] when the file cannot be read to its end, or the sink stopped.
pub(super) fn read(
    file: &SourceFile<'_>,
    prefer_tab: bool,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    let path = file.path.as_str();
    let Some(mut table) = open_records(file, prefer_tab, options.record_cap)? else {
        return Ok(ReadEnd::default());
    };
    let width = table.names.len();
    if width > options.max_columns {
        return Err(ReadError::format(
            path,
            format!(
                "the header has {width} columns, more than the limit of {} (setting max_columns)",
                options.max_columns
            ),
        ));
    }
    let mut builder = ChunkBuilder::new(table.names.clone());
    let (mut short, mut first_short) = (0u64, 0u64);
    while let Some(record) = table.records.next().map_err(|e| ReadError::io(path, e))? {
        match record {
            Record::Fields { line, fields } if fields.len() > width => {
                let reason = format!("{} fields, the header has {width}", fields.len());
                sink.reject(Reject::new(line, reason, fields.raw()))?;
            }
            Record::Fields { line, fields } => {
                if fields.len() < width {
                    short += 1;
                    if first_short == 0 {
                        first_short = line;
                    }
                }
                builder.push_row(line, fields.iter().map(Cell::Infer));
                if builder.is_full(options) {
                    sink.chunk(builder.take())?;
                }
            }
            Record::TooLong { line, head } => {
                let reason = format!(
                    "the record that begins on line {line} is longer than the record cap ({} MiB): an \
                     unterminated quote or a line without an end; reading resumed on line {}",
                    options.record_cap >> 20,
                    line + 1
                );
                sink.reject(Reject::new(line, reason, head))?;
            }
        }
    }
    if builder.rows() > 0 {
        sink.chunk(builder.take())?;
    }
    let mut end = ReadEnd::default();
    if short > 0 {
        end.warnings.push(format!(
            "{short} row(s) have fewer fields than the header ({width}), first on line {first_short}; \
             their missing fields are null"
        ));
    }
    let replaced = table.replaced();
    if replaced > 0 {
        end.warnings.push(format!(
            "{replaced} byte sequence(s) are not valid text in the file's encoding and were replaced with U+FFFD"
        ));
    }
    Ok(end)
}

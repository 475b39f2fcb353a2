//! The text formats: csv and tsv through polars' batched CSV writer (header once), jsonl through
//! its JSON-lines writer, and json as one array whose rows are those same lines joined by `,`.
//! Datetimes are ISO text (see [`super::cells::ISO_DATETIME`]); dates are `YYYY-MM-DD`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use polars::prelude::*;

use super::cells::iso_datetimes;

/// A text file being written batch by batch.
pub(crate) enum TextSink {
    /// csv (`,`) or tsv (`\t`): quoted where needed, nulls as empty fields.
    Delimited(polars::io::csv::write::BatchedWriter<File>),
    /// One JSON object per line.
    JsonLines(BufWriter<File>),
    /// One JSON array, one row object per line (so a reader can also take it line by line).
    JsonArray {
        /// The file.
        out: BufWriter<File>,
        /// Rows written so far (the first gets no leading `,`).
        rows: u64,
        /// One batch's JSON lines, reused.
        buf: Vec<u8>,
    },
}

impl TextSink {
    /// Creates `path` for csv (`separator` `,`) or tsv (`\t`), with the columns of `schema`.
    ///
    /// # Errors
    /// The file cannot be created.
    pub(crate) fn delimited(path: &Path, separator: u8, schema: &Schema) -> PolarsResult<Self> {
        let file = File::create(path)?;
        let writer =
            CsvWriter::new(file).with_separator(separator).include_header(true).batched(&schema_as_text(schema))?;
        Ok(TextSink::Delimited(writer))
    }

    /// Creates `path` for JSON lines.
    ///
    /// # Errors
    /// The file cannot be created.
    pub(crate) fn json_lines(path: &Path) -> PolarsResult<Self> {
        Ok(TextSink::JsonLines(BufWriter::new(File::create(path)?)))
    }

    /// Creates `path` for a JSON array and opens it.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub(crate) fn json_array(path: &Path) -> PolarsResult<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(b"[\n")?;
        Ok(TextSink::JsonArray { out, rows: 0, buf: Vec::new() })
    }

    /// Appends the rows of `batch`.
    ///
    /// # Errors
    /// A value polars cannot write, or the disk (full, gone).
    pub(crate) fn write(&mut self, batch: DataFrame) -> PolarsResult<()> {
        let mut batch = iso_datetimes(batch)?;
        batch.align_chunks_par();
        match self {
            TextSink::Delimited(writer) => writer.write_batch(&batch),
            TextSink::JsonLines(out) => polars::io::json::BatchedWriter::new(out).write_batch(&batch),
            TextSink::JsonArray { out, rows, buf } => {
                buf.clear();
                polars::io::json::BatchedWriter::new(&mut *buf).write_batch(&batch)?;
                for line in buf.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
                    out.write_all(if *rows == 0 { b"" } else { b",\n" })?;
                    out.write_all(line)?;
                    *rows += 1;
                }
                Ok(())
            }
        }
    }

    /// Writes what is still pending (the header of an empty csv, the closing `]`) and flushes.
    ///
    /// # Errors
    /// The disk (full, gone).
    pub(crate) fn finish(self) -> PolarsResult<()> {
        match self {
            TextSink::Delimited(mut writer) => writer.finish(),
            TextSink::JsonLines(mut out) => Ok(out.flush()?),
            TextSink::JsonArray { mut out, rows, .. } => {
                out.write_all(if rows == 0 { b"]\n" } else { b"\n]\n" })?;
                Ok(out.flush()?)
            }
        }
    }
}

/// `schema` with datetimes as text, as [`iso_datetimes`] turns them (only the names matter to
/// the csv header, but the writer keeps the schema whole).
fn schema_as_text(schema: &Schema) -> Schema {
    schema
        .iter()
        .map(|(name, dtype)| {
            let dtype = if matches!(dtype, DataType::Datetime(_, _)) { DataType::String } else { dtype.clone() };
            Field::new(name.clone(), dtype)
        })
        .collect()
}

//! JSON documents (`.json`) and JSON Lines (`.jsonl`, `.ndjson`), plain or gzip/zstd. Both are
//! probed from their first MiB only, streaming, so a huge file costs the probe milliseconds.
//!
//! Rules chosen where SPEC is silent:
//! - Nested values are not flattened: an object value is a `struct` column and an array value a
//!   `list` column; the preview shows them as JSON.
//! - Row counts are exact when the whole file fit in the probe's budget ([`PROBE_BYTES`] decoded
//!   bytes); otherwise the rows read are scaled by file size over bytes read (through the
//!   compression ratio seen so far, for a compressed file) and `row_count_exact` is false.

mod document;
mod lines;
mod shape;

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader};
use std::sync::atomic::{AtomicU64, Ordering};

use dat_contracts::{ColumnType, TablePreview, TableProbe, TableStatus};
use serde_json::Value;

use self::shape::ColumnSet;
use crate::adapters::{Adapter, AdapterError, ByteCount, Counting, SourceFile};

/// Decoded bytes the probe reads before it stops and estimates: column types over thousands of
/// typical rows, while a probe of a huge file stays cheap.
const PROBE_BYTES: u64 = 1 << 20;

/// Past this many decoded bytes even a preview stops looking for its rows (a file whose first
/// 16 MiB hold too few objects gets a short preview rather than a full read).
const PREVIEW_BYTES: u64 = 16 * PROBE_BYTES;

/// A JSON document: an array of objects, or one object (one row).
pub struct JsonAdapter;

/// JSON Lines: one object per line.
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
        "JSON: an array of objects (one row each) or one object (one row); nested values kept as struct/list"
    }
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        vec![document::probe(file, self.id())]
    }
    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, rows: usize) -> Result<TablePreview, AdapterError> {
        document::preview(file, rows)
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
        "JSON Lines / NDJSON: one object per line; bad lines make the table partial"
    }
    fn probe(&self, file: &SourceFile<'_>) -> Vec<TableProbe> {
        vec![lines::probe(file, self.id())]
    }
    fn preview(&self, file: &SourceFile<'_>, _: Option<&str>, rows: usize) -> Result<TablePreview, AdapterError> {
        lines::preview(file, rows)
    }
}

/// An open JSON file, decoded, with a leading UTF-8 byte order mark skipped.
///
/// The row estimate needs to know how far into the file on disk the parser got, hence the
/// counters below and above the decoder.
struct Input {
    reader: Box<dyn BufRead>,
    /// Decoded bytes the parser has taken: the probe budget.
    consumed: ByteCount,
    /// Decoded bytes the decoder has produced (at most one buffer ahead of `consumed`).
    produced: ByteCount,
    /// Bytes taken from the file on disk for those.
    from_disk: ByteCount,
    /// The file's size on disk.
    size: u64,
}

impl Input {
    fn open(file: &SourceFile<'_>) -> io::Result<Input> {
        let size = std::fs::metadata(file.disk)?.len();
        let (decoder, from_disk) = file.open_counted()?;
        let (decoded, produced) = Counting::new(decoder);
        let (mut reader, consumed) = Counting::new(BufReader::with_capacity(64 * 1024, decoded));
        if reader.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
        Ok(Input { reader: Box::new(reader), consumed, produced, from_disk, size })
    }

    /// Whether the parser has read the probe's budget.
    fn budget_spent(consumed: &AtomicU64) -> bool {
        consumed.load(Ordering::Relaxed) >= PROBE_BYTES
    }

    /// Rows in the whole file, scaled from `rows` read so far: by the share of the decoded
    /// stream the parser took, then by the share of the file on disk the decoder took.
    fn estimate(&self, rows: u64) -> u64 {
        let (consumed, produced, from_disk) = (
            self.consumed.load(Ordering::Relaxed),
            self.produced.load(Ordering::Relaxed),
            self.from_disk.load(Ordering::Relaxed),
        );
        let scaled = u128::from(rows) * u128::from(produced) * u128::from(self.size)
            / (u128::from(consumed.max(1)) * u128::from(from_disk.max(1)));
        u64::try_from(scaled).unwrap_or(u64::MAX).max(rows)
    }
}

/// The rows a scan found, shared by both formats.
#[derive(Default)]
struct Scan {
    columns: ColumnSet,
    /// Object rows read.
    rows: u64,
    /// The first rows, whole, when a preview asked for them: (key, value) in file order.
    kept: Vec<Vec<(String, Value)>>,
    /// Whether the whole file was read, so `rows` is exact.
    complete: bool,
    /// Rows in the whole file: `rows` when complete, else scaled from the bytes read.
    estimate: u64,
}

impl Scan {
    fn add_object(&mut self, shape: Vec<(String, ColumnType)>, values: Option<Vec<Value>>) {
        if let Some(values) = values {
            self.kept.push(shape.iter().map(|(key, _)| key.clone()).zip(values).collect());
        }
        self.columns.add_row(shape);
        self.rows += 1;
    }

    /// Ends the scan: records whether it read everything and the row estimate.
    fn finish(&mut self, complete: bool, input: &Input) {
        self.complete = complete;
        self.estimate = if complete { self.rows } else { input.estimate(self.rows) };
    }

    /// The probe result for a readable file.
    fn table(&self, path: &str, adapter: &str, status: TableStatus, warnings: Vec<String>) -> TableProbe {
        TableProbe {
            columns: self.columns.infos(),
            row_estimate: Some(self.estimate),
            row_count_exact: self.complete,
            warnings,
            error: None,
            ..TableProbe::failed(path, adapter, status, "")
        }
    }

    /// The kept rows, one value per column (`null` where a row lacks the key; the last value
    /// where a row repeats one).
    fn preview(self, path: &str) -> TablePreview {
        let columns = self.columns.names();
        let rows = self
            .kept
            .into_iter()
            .map(|row| {
                let mut by_key: HashMap<String, Value> = row.into_iter().collect();
                columns.iter().map(|c| by_key.remove(c).unwrap_or(Value::Null)).collect()
            })
            .collect();
        TablePreview { table_id: path.to_owned(), columns, rows, total_estimate: Some(self.estimate) }
    }
}

/// A serde_json error's message without its " at line L column C" suffix (callers place it).
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).map_or_else(|| text.clone(), str::to_owned)
}

/// A probe result for a file that could not be read at all.
fn unreadable(path: &str, adapter: &str, e: &io::Error) -> TableProbe {
    TableProbe::failed(path, adapter, TableStatus::Error, format!("cannot read the file: {e}"))
}

#[cfg(test)]
mod tests;

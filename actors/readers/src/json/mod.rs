//! JSON documents (`.json`) and JSON Lines (`.jsonl`, `.ndjson`), plain or gzip/zstd. Both are
//! probed from their first MiB only and read record by record, each record bounded by the
//! record cap, so neither a huge file nor a huge record is ever held whole.
//!
//! Rules chosen where SPEC is silent:
//! - Nested values are not flattened: an object value is a `struct` column and an array value a
//!   `list` column, each cell holding the value's JSON text (compact, keys in file order): in
//!   the probe's types, the preview, `dataset.parquet` and the README alike.
//! - Values keep their text: `1.50` stays `1.50` if its column ends as text; a number no int
//!   or float holds exactly (beyond i64, past f64's range, more digits than f64 reads back)
//!   keeps its digits as a string; `-0` is the float -0.0; a JSON string is a string whatever
//!   it looks like.
//! - A record that is not an object (or is invalid inside, or past the cap, or gives a key
//!   twice, or has more fields than `max_columns`) is a reject naming its element or line; a document whose structure breaks (truncated, a scalar at the top,
//!   garbage between elements) is an `error` table, since where the next record starts is
//!   unknown.
//! - Row counts are exact when the whole file fit in the probe's budget ([`PROBE_BYTES`] decoded
//!   bytes); otherwise the rows read are scaled by file size over bytes read (through the
//!   compression ratio seen so far, for a compressed file) and `row_count_exact` is false.

pub(crate) mod object;
mod probe;
mod records;
mod scan;

use std::io::{self, BufRead, BufReader};
use std::sync::atomic::Ordering;

use dat_contracts::TableProbe;

use self::records::{Format, Record, Records};
use crate::chunk::{Cell, ChunkBuilder};
use crate::sink::{ReadEnd, ReadError, Reject, Sink};
use crate::source::{ByteCount, Counting};
use crate::{Adapter, ReadOptions, SourceFile};

/// Decoded bytes the probe reads before it stops and estimates: column types over thousands of
/// typical rows, while a probe of a huge file stays cheap.
const PROBE_BYTES: u64 = 1 << 20;

/// JSON files: a document (`.json`: an array of objects, or one object, one row) or JSON Lines
/// (`.jsonl`, `.ndjson`: one object per line); one adapter each, the same reading rules.
pub struct JsonAdapter(Format);

impl JsonAdapter {
    /// `.json` documents.
    pub const DOCUMENT: JsonAdapter = JsonAdapter(Format::Document);
    /// JSON Lines.
    pub const LINES: JsonAdapter = JsonAdapter(Format::Lines);
}

impl Adapter for JsonAdapter {
    fn id(&self) -> &'static str {
        match self.0 {
            Format::Document => "json",
            Format::Lines => "jsonl",
        }
    }
    fn extensions(&self) -> &'static [&'static str] {
        match self.0 {
            Format::Document => &["json"],
            Format::Lines => &["jsonl", "ndjson"],
        }
    }
    fn compressible(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        match self.0 {
            Format::Document => {
                "JSON: an array of objects (one row each) or one object (one row); nested values kept as struct/list JSON text"
            }
            Format::Lines => "JSON Lines / NDJSON: one object per line; bad lines are rejects that make the table partial",
        }
    }
    fn probe(&self, file: &SourceFile<'_>, options: &ReadOptions) -> Vec<TableProbe> {
        vec![probe::probe(file, self.id(), self.0, options)]
    }
    fn read(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        read(file, table, self.0, options, sink)
    }
}

/// Reads every record of a JSON file into `sink`.
fn read(
    file: &SourceFile<'_>,
    table: Option<&str>,
    format: Format,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    let path = file.path.as_str();
    if let Some(table) = table {
        return Err(ReadError::NoSuchTable { path: path.to_owned(), table: table.to_owned() });
    }
    let input = Input::open(file).map_err(|e| ReadError::io(path, e))?;
    let mut records = Records::new(input.reader, format, options.record_cap, options.max_columns, path);
    let mut builder = ChunkBuilder::new(vec![]);
    while let Some(record) = records.next()? {
        match record {
            Record::Row { number, fields } => {
                let new = fields.iter().filter(|f| !builder.has_column(&f.key)).count();
                if builder.width() + new > options.max_columns {
                    let reason =
                        format!("record {number} would make the table wider than {} columns", options.max_columns);
                    sink.reject(Reject::new(number, reason, b""))?;
                    continue;
                }
                let cells = fields
                    .iter()
                    .map(|f| {
                        (
                            builder.column_index(&f.key),
                            f.text.as_deref().map_or(Cell::Null, |t| Cell::Typed(f.dtype, t)),
                        )
                    })
                    .collect();
                builder.push_sparse(number, cells);
                if builder.is_full(options) {
                    sink.chunk(builder.take())?;
                }
            }
            Record::Bad { number, reason, head } => sink.reject(Reject::new(number, reason, head))?,
        }
    }
    if builder.rows() > 0 {
        sink.chunk(builder.take())?;
    }
    Ok(ReadEnd { accounting: Some(records.accounting()), ..ReadEnd::default() })
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

#[cfg(test)]
mod tests;

//! Every record of a delimited text file, read with the probe's own sniff (encoding, delimiter,
//! quote, header) by a tokenizer whose memory is bounded by the record cap ([`super::tokenizer`]):
//! a whole file, or one range of it.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::sync::atomic::Ordering;

use super::analyse::{layout, TextLayout};
use super::sample::{read_sample, SampleError};
use super::tokenizer::{Record, RecordReader};
use super::transcode::Utf8Reader;
use crate::options::TextHints;
use crate::sink::ReadError;
use crate::source::{ByteCount, SourceFile};
use crate::split::ByteRange;

/// A text table opened for reading its records.
pub(super) struct TextRecords {
    /// The layout the probe decided (or would decide): names, number format, title.
    pub(super) layout: TextLayout,
    /// Lines the header record took (0 without a header).
    pub(super) header_lines: u64,
    /// The records after the header.
    pub(super) records: RecordReader<Box<dyn Read + Send>>,
    /// Malformed byte sequences the decoder replaced with U+FFFD so far.
    pub(super) replaced: ByteCount,
}

/// Opens `file` for reading all its records; `None` for a file without any bytes.
///
/// # Errors
/// [`ReadError`] when the file cannot be read or is not text.
pub(super) fn open_records(
    file: &SourceFile<'_>,
    prefer_tab: bool,
    limits: RecordLimits,
    hints: &TextHints,
) -> Result<Option<TextRecords>, ReadError> {
    open(file, None, prefer_tab, limits, hints)
}

/// Opens the records of one range of `file` (see [`super::split`]); `None` for an empty file.
///
/// # Errors
/// [`ReadError`] when the file cannot be read or is not text.
pub(super) fn open_range(
    file: &SourceFile<'_>,
    range: &ByteRange,
    prefer_tab: bool,
    limits: RecordLimits,
    hints: &TextHints,
) -> Result<Option<TextRecords>, ReadError> {
    open(file, Some(range), prefer_tab, limits, hints)
}

/// What a record may hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordLimits {
    /// Bytes (see [`crate::ReadOptions::record_cap`]).
    pub(super) record_cap: usize,
    /// Fields: a record with more is a reject whatever the header, since the table has at most
    /// this many columns (see [`crate::ReadOptions::max_columns`]).
    pub(super) max_fields: usize,
}

fn open(
    file: &SourceFile<'_>,
    range: Option<&ByteRange>,
    prefer_tab: bool,
    limits: RecordLimits,
    hints: &TextHints,
) -> Result<Option<TextRecords>, ReadError> {
    let path = file.path.as_str();
    let (sample, rest) = read_sample(file).map_err(|e| match e {
        SampleError::Io(source) => ReadError::io(path, source),
        compressed @ SampleError::Compressed(..) => ReadError::format(path, compressed.reason()),
    })?;
    if sample.raw.is_empty() {
        return Ok(None);
    }
    let mut layout = layout(&sample, prefer_tab, hints).map_err(|e| ReadError::format(path, e))?;
    let replaced = ByteCount::default();
    let bom = layout.encoding.bom_len(&sample.raw) as u64;
    let bytes: Box<dyn Read + Send> = match range {
        // A later range: from its first byte (a line start) to its end, without header.
        Some(range) if range.start > 0 => {
            drop(rest);
            let mut disk = std::fs::File::open(file.disk).map_err(|e| ReadError::io(path, e))?;
            disk.seek(SeekFrom::Start(range.start)).map_err(|e| ReadError::io(path, e))?;
            Box::new(disk.take(range.end - range.start))
        }
        _ => {
            let mut raw = Cursor::new(sample.raw);
            raw.set_position(bom);
            let whole = raw.chain(rest);
            match range {
                Some(range) => Box::new(whole.take(range.end.saturating_sub(bom))),
                None => Box::new(whole),
            }
        }
    };
    let text: Box<dyn Read + Send> = Box::new(Utf8Reader::new(bytes, layout.encoding, replaced.clone()));
    let quote = layout.dialect.quote.unwrap_or(b'"');
    let mut records = RecordReader::new(text, layout.dialect.core(), limits.record_cap)
        .with_plain_lines(layout.dialect.delimiter, quote)
        .with_field_limit(limits.max_fields);
    if let Some(range) = range.filter(|r| r.start > 0) {
        // The title and the header are the first range's.
        records.line = range.first_line;
        layout.lines_before = 0;
        layout.title.clear();
        return Ok(Some(TextRecords { layout, header_lines: 0, records, replaced }));
    }
    // The lines there were, which the account counts: a file may have fewer than asked for.
    layout.lines_before = records.skip_lines(layout.lines_before).map_err(|e| ReadError::io(path, e))?;
    let mut header_lines = 0;
    if layout.header {
        match records.next().map_err(|e| ReadError::io(path, e))? {
            Some(Record::TooLong { .. }) => {
                return Err(ReadError::format(path, "the header row is longer than the record cap"))
            }
            Some(Record::Fields { lines, .. } | Record::TooWide { lines, .. }) => header_lines = lines,
            None => {}
        }
    }
    Ok(Some(TextRecords { layout, header_lines, records, replaced }))
}

impl TextRecords {
    /// Malformed sequences replaced so far.
    pub(super) fn replaced(&self) -> u64 {
        self.replaced.load(Ordering::Relaxed)
    }
}

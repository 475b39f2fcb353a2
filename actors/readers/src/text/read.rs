//! A delimited table read into chunks: each record a row of cells typed by its column's rules
//! (the file's number format, the folder's date order), a record with more fields than the
//! header a reject (its cells cannot be placed), a record past the record cap a reject naming
//! the line it began on. A short record is kept with nulls and counted, except in the run of
//! records aside the table that ends the file: that is its footer, kept as text. Every line of
//! the file is accounted for: a row, a reject, or skipped (title, header, blank, footer, the
//! further lines of a record with a quoted line break).

use dat_contracts::bundle::RowAccount;

use super::layout::{is_footer, FooterRun};
use super::records::{open_range, open_records, RecordLimits, TextRecords};
use super::tokenizer::Record;
use crate::chunk::{Cell, ChunkBuilder};
use crate::sink::{ReadEnd, ReadError, Reject, Sink};
use crate::split::ByteRange;
use crate::{ReadOptions, SourceFile};

/// A short record held back until it is known whether the file ends with it.
struct Held {
    line: u64,
    lines: u64,
    fields: Vec<String>,
    text: String,
}

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
    let table = open_records(file, prefer_tab, limits(options), &options.text)?;
    consume(file, table, true, options, sink)
}

/// Reads every record of one range of `file` (see [`super::split`]) into `sink`.
///
/// # Errors
/// [`ReadError`] when the range cannot be read to its end, or the sink stopped.
pub(super) fn read_range(
    file: &SourceFile<'_>,
    range: &ByteRange,
    prefer_tab: bool,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    let table = open_range(file, range, prefer_tab, limits(options), &options.text)?;
    consume(file, table, range.last, options, sink)
}

/// The limits of one record: no more fields than a table may have columns, since a record
/// with more is a reject whatever the header.
fn limits(options: &ReadOptions) -> RecordLimits {
    RecordLimits { record_cap: options.record_cap, max_fields: options.max_columns }
}

/// Reads the records of `table` into `sink`; `at_end`: they end the file, so a trailing run of
/// footer lines is its footer.
fn consume(
    file: &SourceFile<'_>,
    table: Option<TextRecords>,
    at_end: bool,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    let path = file.path.as_str();
    let Some(mut table) = table else {
        return Ok(ReadEnd { accounting: Some(RowAccount::new("lines", 0)), ..ReadEnd::default() });
    };
    let width = table.layout.names.len();
    if width > options.max_columns {
        return Err(ReadError::format(
            path,
            format!(
                "the header has {width} columns, more than the limit of {} (setting max_columns)",
                options.max_columns
            ),
        ));
    }
    let delimiter = char::from(table.layout.dialect.delimiter).to_string();
    let mut rows = Rows {
        builder: ChunkBuilder::with_rules(table.layout.names.clone(), table.layout.rules(&options.text)),
        pushed: 0,
        short: 0,
        first_short: 0,
        width,
        options,
    };
    let (mut footer_lines, mut continuation) = (0u64, 0u64);
    // The run of footer-like records read last, and those of them held back: all of it while
    // it can still be the footer (which bounds what is held), none once it cannot.
    let mut held: Vec<Held> = Vec::new();
    let mut run = FooterRun::default();
    while let Some(record) = table.records.next().map_err(|e| ReadError::io(path, e))? {
        match record {
            Record::Fields { line, lines, fields } if fields.len() > width => {
                continuation += lines - 1;
                let reason = format!("{} fields, the header has {width}", fields.len());
                sink.reject(Reject::new(line, reason, &fields.raw()))?;
            }
            Record::TooWide { line, lines, fields, head } => {
                continuation += lines - 1;
                sink.reject(Reject::new(line, format!("{fields} fields, the header has {width}"), &head))?;
            }
            Record::Fields { line, lines, fields } => {
                let footer_like = is_footer(fields.len(), fields.iter(), width, table.layout.number);
                if footer_like && run.add(fields.iter().map(str::len).sum()) {
                    let text = fields.iter().collect::<Vec<_>>().join(&delimiter);
                    held.push(Held { line, lines, fields: fields.iter().map(str::to_owned).collect(), text });
                    continue;
                }
                if !footer_like {
                    run = FooterRun::default();
                }
                // Not the end after all, or a run too long to be a footer: what was held back
                // is rows.
                for h in held.drain(..) {
                    continuation += h.lines - 1;
                    rows.push(sink, h.line, h.fields.iter().map(String::as_str))?;
                }
                continuation += lines - 1;
                rows.push(sink, line, fields.iter())?;
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
    // The file ended: what is held back is its footer, unless the file has no rows besides.
    let mut footer = Vec::new();
    let has_rows = rows.pushed > 0;
    for h in held {
        if has_rows && at_end {
            footer_lines += h.lines;
            footer.push(h.text);
        } else {
            continuation += h.lines - 1;
            rows.push(sink, h.line, h.fields.iter().map(String::as_str))?;
        }
    }
    let Rows { mut builder, short, first_short, .. } = rows;
    if builder.rows() > 0 {
        sink.chunk(builder.take())?;
    }
    let mut end = ReadEnd { footer, ..ReadEnd::default() };
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
    let mut lines = RowAccount::new("lines", table.records.lines_read());
    lines.skip("title", table.layout.lines_before);
    lines.skip("header", table.header_lines);
    lines.skip("blank", table.records.blank_lines());
    lines.skip("footer", footer_lines);
    lines.skip("continuation", continuation);
    end.accounting = Some(lines);
    Ok(end)
}

/// The rows gathered, handed to the sink chunk by chunk.
struct Rows<'o> {
    builder: ChunkBuilder,
    pushed: u64,
    /// Rows with fewer fields than the header, and the line of the first.
    short: u64,
    first_short: u64,
    width: usize,
    options: &'o ReadOptions,
}

impl Rows<'_> {
    fn push<'c>(
        &mut self,
        sink: &mut dyn Sink,
        line: u64,
        fields: impl ExactSizeIterator<Item = &'c str>,
    ) -> Result<(), ReadError> {
        if fields.len() < self.width {
            self.short += 1;
            if self.first_short == 0 {
                self.first_short = line;
            }
        }
        self.builder.push_row(line, fields.map(Cell::Infer));
        self.pushed += 1;
        if self.builder.is_full(self.options) {
            sink.chunk(self.builder.take())?;
        }
        Ok(())
    }
}

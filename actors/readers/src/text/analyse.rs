//! What the sample of a delimited text file says about the whole: encoding, dialect, header,
//! columns and their types, problems, and the row count (exact, or estimated from the sample).

use csv::StringRecord;
use dat_contracts::{ColumnInfo, ColumnType, TableStatus};

use super::decode::{decode, detect, looks_binary, Decoded, TextEncoding};
use super::header::{column_names, is_header};
use super::sample::{Sample, SAMPLE_BYTES};
use super::sniff::{sniff_dialect, Dialect};
use crate::typing::{cell_type, TypeTally};

/// SampleRecords looked at to decide whether the first row is a header.
const HEADER_RECORDS: usize = 500;

/// What the probe learned; the preview reads rows with the same settings and types.
#[derive(Debug)]
pub(super) struct Analysis {
    /// Encoding, dialect, header and column names.
    pub(super) layout: TextLayout,
    /// Columns in file order, types inferred from the sample.
    pub(super) columns: Vec<ColumnInfo>,
    /// `available`, `partial` or `empty`.
    pub(super) status: TableStatus,
    /// Data rows: exact when `exact`, otherwise estimated.
    pub(super) rows: u64,
    /// Whether `rows` is a count of the whole file.
    pub(super) exact: bool,
    /// Problems that did not stop reading.
    pub(super) warnings: Vec<String>,
}

/// How a file is laid out, from its sample: all that reading its records needs.
#[derive(Debug)]
pub(super) struct TextLayout {
    /// The sniffed encoding.
    pub(super) encoding: TextEncoding,
    /// The sniffed delimiter and quote.
    pub(super) dialect: Dialect,
    /// Whether the first row is a header.
    pub(super) header: bool,
    /// Column names in file order, made unique.
    pub(super) names: Vec<String>,
}

/// The layout, and where [`analyse`] reads on from.
struct Sniffed<'t> {
    layout: TextLayout,
    /// The first records, read to decide on the header.
    head: Vec<Row>,
    /// The records after `head`.
    rest: SampleRecords<'t>,
    /// Problems so far.
    warnings: Vec<String>,
}

/// Sniffs the sample's layout only: encoding, dialect, header and column names. Parse needs
/// no more, since it types every cell itself; [`analyse`] goes on to type the sample.
///
/// # Errors
/// The reason the file is not delimited text (binary data).
pub(super) fn layout(sample: &Sample, prefer_tab: bool) -> Result<TextLayout, String> {
    let (encoding, Decoded { text, replaced }) = decode_text(sample)?;
    Ok(sniff(sample, encoding, &text, replaced, prefer_tab).layout)
}

/// The sample decoded with its detected encoding.
///
/// # Errors
/// The reason the file is not delimited text (binary data).
fn decode_text(sample: &Sample) -> Result<(TextEncoding, Decoded), String> {
    let encoding = detect(&sample.raw);
    let decoded = decode(&sample.raw, encoding, sample.complete);
    if looks_binary(&decoded.text) {
        return Err("not a text file: it holds binary data (NUL or other control bytes); \
                    check that it really is delimited text"
            .to_owned());
    }
    Ok((encoding, decoded))
}

fn sniff<'t>(sample: &Sample, encoding: TextEncoding, text: &'t str, replaced: bool, prefer_tab: bool) -> Sniffed<'t> {
    let mut warnings = encoding_warnings(encoding, replaced);
    let sniff_text = if sample.complete { text } else { up_to_last_line(text) };
    let dialect = sniff_dialect(sniff_text, prefer_tab);

    let mut rest = SampleRecords { reader: dialect.reader(text.as_bytes()), record: StringRecord::new() };
    let head: Vec<Row> = rest.by_ref().take(HEADER_RECORDS + 1).collect();
    // A partial sample's last record is cut: keep it out of the header decision.
    let judged = match head.len() {
        n if n <= HEADER_RECORDS && !sample.complete && n >= 2 => head.get(..n - 1).unwrap_or_default(),
        _ => head.as_slice(),
    };
    let header = judged.split_first().is_some_and(|(first, rest)| {
        let rest: Vec<&StringRecord> = rest.iter().map(|r| &r.record).collect();
        is_header(&first.record, &rest)
    });
    let width = head.first().map_or(0, |r| r.record.len());
    let (names, name_warnings) = column_names(head.first().filter(|_| header).map(|r| &r.record), width);
    warnings.extend(name_warnings);
    Sniffed { layout: TextLayout { encoding, dialect, header, names }, head, rest, warnings }
}

/// Reads the sample. `prefer_tab` is set for `.tsv` files.
///
/// The row count is exact when the sample is the whole file. Otherwise it is the data rows of
/// the sample times the (estimated, see [`Sample::estimated_size`]) size of the file over the
/// bytes those rows took, so files with rows of even length come out close. The last record of
/// a partial sample is cut and left out, unless it is the only data row.
///
/// # Errors
/// The reason the file is not delimited text (binary data).
pub(super) fn analyse(sample: &Sample, prefer_tab: bool) -> Result<Analysis, String> {
    let (encoding, Decoded { text, replaced }) = decode_text(sample)?;
    let Sniffed { layout, head, rest, mut warnings } = sniff(sample, encoding, &text, replaced, prefer_tab);
    let header = layout.header;
    let width = head.first().map_or(0, |r| r.record.len());
    let header_end = if header { head.first().map_or(0, |r| r.end) } else { 0 };

    let mut stats = DataStats::new(width, header_end);
    let mut pending: Option<Row> = None;
    for row in head.into_iter().skip(usize::from(header)).chain(rest) {
        if let Some(previous) = pending.replace(row) {
            stats.add(&previous);
        }
    }
    if let Some(last) = pending {
        if !sample.complete && stats.rows == 0 {
            warnings.push(format!(
                "a row is longer than the {} MiB the probe reads; column types are a guess",
                SAMPLE_BYTES / (1024 * 1024)
            ));
        }
        if sample.complete || stats.rows == 0 {
            stats.add(&last);
        }
    }

    if let Some(line) = stats.first_ragged_line {
        let against = if header { "the header" } else { "the first row" };
        warnings.push(ragged_warning(&stats, against, line, sample.complete));
    }
    let (rows, exact) = if sample.complete { (stats.rows, true) } else { (stats.estimate(sample, text.len()), false) };
    let status = if stats.rows == 0 {
        TableStatus::Empty
    } else if stats.ragged > 0 || replaced {
        TableStatus::Partial
    } else {
        TableStatus::Available
    };
    let columns = layout.names.iter().zip(stats.types).map(|(name, tally)| tally.info(name.as_str())).collect();
    Ok(Analysis { layout, columns, status, rows, exact, warnings })
}

/// Warnings about how the bytes were decoded: the Windows-1252 fallback, replaced bytes.
fn encoding_warnings(encoding: TextEncoding, replaced: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    if encoding == TextEncoding::Windows1252 {
        warnings.push(
            "the file is not UTF-8; it is read as Windows-1252 (latin-1), which decodes every byte: \
             check that accented characters look right"
                .to_owned(),
        );
    }
    if replaced {
        warnings.push(format!(
            "some bytes are not valid {} and were replaced with U+FFFD; the file may be damaged",
            encoding.as_str()
        ));
    }
    warnings
}

/// How many rows are ragged and where the first one is.
fn ragged_warning(stats: &DataStats, against: &str, line: u64, complete: bool) -> String {
    let (count, width) = (stats.ragged, stats.width);
    let rows = if count == 1 { "1 row has".to_owned() } else { format!("{count} rows have") };
    let scope = if complete { String::new() } else { format!(" (in the first {} rows read)", stats.rows) };
    format!(
        "{rows} a different number of fields than {against} ({width}){scope}, first at line {line}; \
         missing fields are read as null; a row with extra fields is rejected"
    )
}

/// The text up to and including its last line end (all of it when there is none).
fn up_to_last_line(text: &str) -> &str {
    text.rfind('\n').and_then(|at| text.get(..=at)).unwrap_or(text)
}

/// One record of the sample and where it sits.
struct Row {
    record: StringRecord,
    /// Line the record starts on, from 1.
    line: u64,
    /// Byte offset in the decoded text just past the record.
    end: usize,
}

/// The records of the decoded sample, in order.
struct SampleRecords<'a> {
    reader: csv::Reader<&'a [u8]>,
    record: StringRecord,
}

impl Iterator for SampleRecords<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        // The text is a `String`, so a UTF-8 error cannot happen; any error ends the rows.
        if !matches!(self.reader.read_record(&mut self.record), Ok(true)) {
            return None;
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let end = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        Some(Row { record: self.record.clone(), line, end })
    }
}

/// Counts and types of the data rows read so far.
struct DataStats {
    types: Vec<TypeTally>,
    width: usize,
    rows: u64,
    ragged: u64,
    first_ragged_line: Option<u64>,
    /// Offsets in the decoded text where the data rows start and end.
    start: usize,
    end: usize,
}

impl DataStats {
    fn new(width: usize, start: usize) -> Self {
        DataStats {
            types: vec![TypeTally::default(); width],
            width,
            rows: 0,
            ragged: 0,
            first_ragged_line: None,
            start,
            end: start,
        }
    }

    fn add(&mut self, row: &Row) {
        self.rows += 1;
        self.end = row.end;
        if row.record.len() != self.width {
            self.ragged += 1;
            self.first_ragged_line.get_or_insert(row.line);
        }
        for (i, tally) in self.types.iter_mut().enumerate() {
            tally.observe(row.record.get(i).map_or(ColumnType::Null, cell_type));
        }
    }

    /// SampleRecords in the whole file: rows read × data bytes of the file / data bytes they took.
    /// Decoded bytes are scaled back to file bytes by the sample's raw/decoded ratio (UTF-16
    /// and Windows-1252 differ in size from the UTF-8 the rows were counted in).
    fn estimate(&self, sample: &Sample, text_len: usize) -> u64 {
        let per_text_byte = sample.raw.len() as f64 / text_len.max(1) as f64;
        let data_bytes = (self.end.saturating_sub(self.start)) as f64 * per_text_byte;
        let file_data_bytes = sample.estimated_size() - self.start as f64 * per_text_byte;
        if data_bytes <= 0.0 {
            return self.rows;
        }
        let estimate = (self.rows as f64 * file_data_bytes / data_bytes).round();
        // Saturating float-to-int cast; never fewer rows than were seen.
        (estimate as u64).max(self.rows)
    }
}

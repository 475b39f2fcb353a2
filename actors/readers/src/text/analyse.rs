//! What the sample of a delimited text file says about the whole: encoding, dialect, title
//! lines above the header, the header, the number format, columns and their types (with the
//! evidence their `d/m/yyyy` dates give), footer lines, problems, and the row count (exact, or
//! estimated from the sample).

use csv::StringRecord;
use dat_contracts::text_layout::{column_key, CellAt, DateEvidence, DateOrder, NumberFormat};
use dat_contracts::{ColumnInfo, ColumnType, TableStatus};

use super::decode::{decode, detect, looks_binary, Decoded, TextEncoding};
use super::header::{column_names, is_header};
use super::layout::{detect_number, detect_title, is_footer, title_lines, FooterRun, Row, SampleRecords, MAX_FOOTER};
use super::sample::{Sample, SAMPLE_BYTES};
use super::sniff::{sniff_dialect, Dialect};
use crate::options::TextHints;
use crate::typing::{CellRules, DatePolicy, LocalDate, TypeTally};

/// Records looked at to decide whether the first row is a header and how numbers are written.
const HEADER_RECORDS: usize = 500;

/// Data rows of the sample whose cells are typed (and give date evidence); the rows after them
/// are only counted and checked for their width. Parse types every cell anyway and decides each
/// column's type with the value that forced it: the probe's types are a first look, and typing
/// a whole MiB of every file made table_availability as slow as reading the files (a choice
/// SPEC leaves open; Polars types 100 rows by default, DuckDB about 20,000).
const TYPED_ROWS: u64 = 1_000;

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
    /// Lines after the data that are not rows (only known when the sample is the whole file).
    pub(super) footer: Vec<String>,
    /// Problems that did not stop reading.
    pub(super) warnings: Vec<String>,
}

/// How a file is laid out, from its sample and the hints: all that reading its records needs.
#[derive(Debug)]
pub(super) struct TextLayout {
    /// The sniffed encoding.
    pub(super) encoding: TextEncoding,
    /// The sniffed delimiter and quote.
    pub(super) dialect: Dialect,
    /// Whether the first row after the title is a header.
    pub(super) header: bool,
    /// Column names in file order, made unique.
    pub(super) names: Vec<String>,
    /// How numbers are written.
    pub(super) number: NumberFormat,
    /// Lines before the header (or first data row).
    pub(super) lines_before: u64,
    /// Those lines' text.
    pub(super) title: Vec<String>,
}

impl TextLayout {
    /// The rules each column's cells are read by: the file's number format, and the folder's
    /// date order for the column (`hints.date_orders`; without any, dates are sampled).
    pub(super) fn rules(&self, hints: &TextHints) -> Vec<CellRules> {
        self.names
            .iter()
            .map(|name| {
                let dates = match &hints.date_orders {
                    None => DatePolicy::Sample,
                    Some(orders) => {
                        orders.get(&column_key(name)).map_or(DatePolicy::IsoOnly, |o| DatePolicy::Order(*o))
                    }
                };
                CellRules { number: self.number, dates }
            })
            .collect()
    }
}

/// The layout, and where [`analyse`] reads on from.
struct Sniffed<'t> {
    layout: TextLayout,
    /// The first records after the title, read to decide on the header.
    head: Vec<Row>,
    /// The records after `head`.
    rest: SampleRecords<'t>,
    /// Problems so far.
    warnings: Vec<String>,
}

/// Sniffs the sample's layout only. Parse needs no more, since it types every cell itself;
/// [`analyse`] goes on to type the sample.
///
/// # Errors
/// The reason the file is not delimited text (binary data).
pub(super) fn layout(sample: &Sample, prefer_tab: bool, hints: &TextHints) -> Result<TextLayout, String> {
    let (encoding, Decoded { text, replaced }) = decode_text(sample)?;
    Ok(sniff(sample, encoding, &text, replaced, prefer_tab, hints).layout)
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

fn sniff<'t>(
    sample: &Sample,
    encoding: TextEncoding,
    text: &'t str,
    replaced: bool,
    prefer_tab: bool,
    hints: &TextHints,
) -> Sniffed<'t> {
    let mut warnings = encoding_warnings(encoding, replaced);
    let sniff_text = if sample.complete { text } else { up_to_last_line(text) };
    let dialect = match (hints.delimiter, hints.quote) {
        (Some(delimiter), Some(quote)) => Dialect { delimiter, quote },
        _ => sniff_dialect(sniff_text, prefer_tab),
    };
    let lines_before = hints.lines_before.unwrap_or_else(|| detect_title(sniff_text, dialect));
    let (title, body_start) = title_lines(text, lines_before);

    let body = text.get(body_start..).unwrap_or_default();
    let mut rest = SampleRecords::new(dialect, body, body_start, lines_before);
    // With the header and number format given (parse passes what the probe found), only the
    // first record is needed, for the column names.
    let decided = hints.header.is_some() && hints.decimal.is_some() && hints.thousands.is_some();
    let head: Vec<Row> = rest.by_ref().take(if decided { 1 } else { HEADER_RECORDS + 1 }).collect();
    // A partial sample's last record is cut: keep it out of the decisions.
    let judged = match head.len() {
        n if n <= HEADER_RECORDS && !sample.complete && n >= 2 => head.get(..n - 1).unwrap_or_default(),
        _ => head.as_slice(),
    };
    let number = match (hints.decimal, hints.thousands) {
        (Some(decimal), Some(thousands)) => NumberFormat { decimal, thousands },
        _ => {
            let (number, warning) = detect_number(judged.iter().map(|r| &r.record), dialect.delimiter);
            warnings.extend(warning.filter(|_| hints.decimal.is_none()));
            NumberFormat {
                decimal: hints.decimal.unwrap_or(number.decimal),
                thousands: hints.thousands.unwrap_or(number.thousands),
            }
        }
    };
    let header = hints.header.unwrap_or_else(|| {
        let rules = CellRules { number, dates: DatePolicy::Sample };
        judged.split_first().is_some_and(|(first, rest)| {
            let rest: Vec<&StringRecord> = rest.iter().map(|r| &r.record).collect();
            is_header(&first.record, &rest, &rules)
        })
    });
    let width = head.first().map_or(0, |r| r.record.len());
    let (names, name_warnings) = column_names(head.first().filter(|_| header).map(|r| &r.record), width);
    warnings.extend(name_warnings);
    let layout = TextLayout { encoding, dialect, header, names, number, lines_before, title };
    Sniffed { layout, head, rest, warnings }
}

/// Reads the sample. `prefer_tab` is set for `.tsv` files.
///
/// The row count is exact when the sample is the whole file. Otherwise it is the data rows of
/// the sample times the (estimated, see [`Sample::estimated_size`]) size of the file over the
/// bytes those rows took, so files with rows of even length come out close. The last record of
/// a partial sample is cut and left out, unless it is the only data row. A whole file's trailing
/// records with fewer fields than the header are its footer, not rows.
///
/// # Errors
/// The reason the file is not delimited text (binary data).
pub(super) fn analyse(sample: &Sample, prefer_tab: bool, hints: &TextHints) -> Result<Analysis, String> {
    let (encoding, Decoded { text, replaced }) = decode_text(sample)?;
    let Sniffed { layout, head, rest, mut warnings } = sniff(sample, encoding, &text, replaced, prefer_tab, hints);
    let header = layout.header;
    let width = head.first().map_or(0, |r| r.record.len());
    let data_start = match (header, head.first()) {
        (true, Some(first)) => first.end,
        (_, first) => first.map_or(text.len(), |r| r.start),
    };

    let mut stats = DataStats::new(layout.rules(hints), data_start);
    let footer = |r: &Row| is_footer(r.record.len(), r.record.iter(), width, layout.number);
    let mut rows = Trailing::default();
    let mut pending: Option<Row> = None;
    let feed = |row: Row, stats: &mut DataStats, rows: &mut Trailing, pending: &mut Option<Row>| {
        if let Some(previous) = pending.replace(row) {
            let footer_like = footer(&previous);
            rows.take(previous, footer_like, stats);
        }
    };
    let mut records = head.into_iter().skip(usize::from(header)).chain(rest);
    for row in records.by_ref() {
        feed(row, &mut stats, &mut rows, &mut pending);
        if stats.rows >= TYPED_ROWS && rows.held.is_empty() {
            break;
        }
    }
    // Past the typed rows: a partial sample has what the estimate needs; a whole one is counted
    // to its end, line by line where no quote can join lines, else record by record.
    if stats.rows >= TYPED_ROWS && sample.complete {
        let quote = layout.dialect.quote.unwrap_or(b'"');
        let from = pending.as_ref().map_or(text.len(), |p| p.start);
        match text.get(from..).filter(|tail| memchr::memchr(quote, tail.as_bytes()).is_none()) {
            Some(tail) => {
                let line = pending.take().map_or(0, |p| p.line);
                let counted = stats.rows;
                let last = count_lines(&mut stats, tail, (from, line), layout.dialect.delimiter);
                if stats.rows > counted {
                    // Lines counted as rows end the run seen so far; a run that reaches into
                    // the records left is more than a footer's records there alone.
                    rows.run = FooterRun::default();
                }
                let body = text.get(last.0..).unwrap_or_default();
                for row in SampleRecords::new(layout.dialect, body, last.0, last.1.saturating_sub(1)) {
                    feed(row, &mut stats, &mut rows, &mut pending);
                }
            }
            None => records.for_each(|row| feed(row, &mut stats, &mut rows, &mut pending)),
        }
    }
    let mut footer_lines = Vec::new();
    match pending {
        Some(last) if sample.complete => {
            let footer_like = footer(&last);
            rows.take(last, footer_like, &mut stats);
            if stats.rows > 0 {
                footer_lines = rows.held.iter().map(|r| line_text(&text, r)).collect();
            } else {
                rows.held.drain(..).for_each(|r| stats.add(&r));
            }
        }
        last => {
            rows.held.drain(..).for_each(|r| stats.add(&r));
            if let Some(last) = last {
                if stats.rows == 0 {
                    warnings.push(format!(
                        "a row is longer than the {} KiB the probe reads; column types are a guess",
                        SAMPLE_BYTES / 1024
                    ));
                    stats.add(&last);
                }
            }
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
    let columns = layout
        .names
        .iter()
        .zip(stats.types)
        .zip(stats.dates)
        .map(|((name, tally), dates)| ColumnInfo { dates: dates.into_evidence(), ..tally.info(name.as_str()) })
        .collect();
    Ok(Analysis { layout, columns, status, rows, exact, footer: footer_lines, warnings })
}

/// The run of footer-like records read last (only a run at the very end of the file can be its
/// footer), held back while it can still be one.
#[derive(Default)]
struct Trailing {
    held: Vec<Row>,
    run: FooterRun,
}

impl Trailing {
    /// Takes the next record: held when it is footer-like and its run can still be a footer
    /// (see [`FooterRun`]); otherwise what was held, then it, are data rows of `stats`.
    fn take(&mut self, row: Row, footer_like: bool, stats: &mut DataStats) {
        if footer_like && self.run.add(row.record.as_slice().len()) {
            self.held.push(row);
            return;
        }
        if !footer_like {
            self.run = FooterRun::default();
        }
        self.held.drain(..).for_each(|r| stats.add(&r));
        stats.add(&row);
    }
}

/// Counts the lines of `tail` (which starts at `from` in the text, on line `line`, and holds
/// no quote character) as rows, all but the last [`MAX_FOOTER`] + 1 non-blank ones (which may
/// be a footer, and are left to be read as records); returns where those start and their line.
fn count_lines(stats: &mut DataStats, tail: &str, (from, line): (usize, u64), delimiter: u8) -> (usize, u64) {
    let bytes = tail.as_bytes();
    // (start, end, line) of each non-blank line, in order.
    let mut lines: Vec<(usize, usize, u64)> = Vec::new();
    let (mut start, mut number) = (0, line);
    for end in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
        let text = bytes.get(start..end).unwrap_or_default();
        if !text.iter().all(|b| *b == b'\r') {
            lines.push((start, end, number));
        }
        start = end + 1;
        number += 1;
    }
    let keep = lines.len().saturating_sub(MAX_FOOTER + 1);
    for &(start, end, number) in lines.get(..keep).unwrap_or_default() {
        let text = bytes.get(start..end).unwrap_or_default();
        stats.count(memchr::memchr_iter(delimiter, text).count() + 1, number, from + (end + 1).min(bytes.len()));
    }
    lines.get(keep).map_or((from + bytes.len(), number), |&(start, _, number)| (from + start, number))
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
    let (count, width) = (stats.ragged, stats.types.len());
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

/// A record's line(s) as written, without the line end.
fn line_text(text: &str, row: &Row) -> String {
    text.get(row.start..row.end).unwrap_or_default().trim_matches(['\r', '\n']).to_owned()
}

/// What a column's `d/m/yyyy` dates showed so far.
#[derive(Default)]
struct DateTally {
    evidence: DateEvidence,
    seen: bool,
}

impl DateTally {
    fn observe(&mut self, cell: &str, line: u64) {
        let Some(date) = LocalDate::parse(crate::typing::trim(cell)) else { return };
        let (day_first, month_first) = (date.read(DateOrder::DayFirst), date.read(DateOrder::MonthFirst));
        let at = || Some(CellAt { table: String::new(), line, value: cell.trim().to_owned() });
        let e = &mut self.evidence;
        match (day_first.is_some(), month_first.is_some()) {
            (true, true) => e.ambiguous += 1,
            (true, false) if e.day_first.is_none() => e.day_first = at(),
            (false, true) if e.month_first.is_none() => e.month_first = at(),
            _ => {}
        }
        e.dotted |= date.dotted;
        self.seen = true;
    }

    fn into_evidence(self) -> Option<DateEvidence> {
        self.seen.then_some(self.evidence)
    }
}

/// Counts and types of the data rows read so far.
struct DataStats {
    rules: Vec<CellRules>,
    types: Vec<TypeTally>,
    dates: Vec<DateTally>,
    rows: u64,
    ragged: u64,
    first_ragged_line: Option<u64>,
    /// Offsets in the decoded text where the data rows start and end.
    start: usize,
    end: usize,
}

impl DataStats {
    fn new(rules: Vec<CellRules>, start: usize) -> Self {
        DataStats {
            types: vec![TypeTally::default(); rules.len()],
            dates: rules.iter().map(|_| DateTally::default()).collect(),
            rules,
            rows: 0,
            ragged: 0,
            first_ragged_line: None,
            start,
            end: start,
        }
    }

    /// A row that is counted, not typed: its number of fields, its line and where it ends.
    fn count(&mut self, fields: usize, line: u64, end: usize) {
        self.rows += 1;
        self.end = end;
        if fields != self.types.len() {
            self.ragged += 1;
            self.first_ragged_line.get_or_insert(line);
        }
    }

    fn add(&mut self, row: &Row) {
        self.count(row.record.len(), row.line, row.end);
        if self.rows > TYPED_ROWS {
            return;
        }
        for (i, ((tally, rules), dates)) in self.types.iter_mut().zip(&self.rules).zip(&mut self.dates).enumerate() {
            let cell = row.record.get(i);
            let dtype = cell.map_or(ColumnType::Null, |c| rules.cell_type(c));
            if matches!(dtype, ColumnType::Date | ColumnType::Datetime | ColumnType::String) {
                if let Some(cell) = cell {
                    dates.observe(cell, row.line);
                }
            }
            tally.observe(dtype);
        }
    }

    /// Records in the whole file: rows read × data bytes of the file / data bytes they took.
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

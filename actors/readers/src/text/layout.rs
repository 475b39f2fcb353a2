//! Where the table sits in a text file and how its numbers are written: title lines above the
//! header (instrument exports put a title, a date, settings there), footer lines after the data
//! (totals, "End of report"), and the decimal and thousands separators, all decided from the
//! sample and recorded in the sniff result.
//!
//! The rule for both title and footer lines: a line "aside" the table has at most half as many
//! fields as the table (one, for narrow tables). Title lines are those before the first record
//! with the table's width, when the file starts with such lines; footer lines are the run of
//! such records that ends the file (at most [`MAX_FOOTER`] records of at most
//! [`MAX_FOOTER_BYTES`] in all) and hold no number (a short last row of numbers is data). A
//! longer run is data, all of it. A short row in the middle of the data is a row with nulls,
//! as before.

use csv::StringRecord;
use dat_contracts::text_layout::NumberFormat;
use dat_contracts::ColumnType;

use super::sniff::Dialect;
use super::tokenizer::line_ends;
use crate::typing::{CellRules, DatePolicy};

/// Title lines looked for at most.
const MAX_TITLE: usize = 50;
/// Footer lines at most; a longer run of short records at the end is rows.
pub(super) const MAX_FOOTER: usize = 32;
/// The text of a footer's fields at most, all lines together: a footer is a few short lines
/// ("Total", "End of report"), and parse holds the run back until the file ends, so this
/// bounds that memory (32 records of up to the record cap each would be 512 MiB). A run of
/// more text is rows, as a run of more records is.
pub(super) const MAX_FOOTER_BYTES: usize = 64 * 1024;
/// Records looked at to find the table's width.
const WIDTH_RECORDS: usize = 200;

/// Whether a record of `fields` fields is aside a table of `width` columns (title or footer).
pub(super) fn is_aside(fields: usize, width: usize) -> bool {
    width >= 2 && fields <= (width / 2).max(1)
}

/// Lines before the table: when the first records are aside the table's width (the most common
/// field count), the lines up to the first record with that width.
pub(super) fn detect_title(text: &str, dialect: Dialect) -> u64 {
    let seen: Vec<(usize, u64)> =
        SampleRecords::new(dialect, text, 0, 0).take(WIDTH_RECORDS).map(|r| (r.record.len(), r.line)).collect();
    let mut counts: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
    counts.sort_unstable();
    let Some(width) = counts.chunk_by(|a, b| a == b).map(|run| (run.len(), run[0])).max().map(|(_, width)| width)
    else {
        return 0;
    };
    for (fields, line) in seen.iter().take(MAX_TITLE + 1) {
        if *fields == width {
            return line.saturating_sub(1);
        }
        if !is_aside(*fields, width) {
            return 0;
        }
    }
    0
}

/// One record of the sample and where it sits.
pub(super) struct Row {
    pub(super) record: StringRecord,
    /// Line the record starts on, from 1.
    pub(super) line: u64,
    /// Byte offsets in the decoded text of the record's start and just past its end.
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The records of part of the decoded sample, in order, placed in the whole text by their byte
/// offsets and the physical lines before them (blank lines included, which the `csv` crate's
/// own line numbers leave out).
pub(super) struct SampleRecords<'a> {
    reader: csv::Reader<&'a [u8]>,
    record: StringRecord,
    text: &'a str,
    /// Where the part starts in the whole text, and how many lines come before it.
    offset: usize,
    lines_before: u64,
    /// Lines ends counted up to `counted` (an offset in the part), and whether the byte before
    /// it was `\r`: lines end at `\n`, `\r\n` and a lone `\r`, as the record reader counts them
    /// (and as the `csv` crate ends records), so a title's line count is the lines parse skips.
    counted: usize,
    line_ends: u64,
    after_cr: bool,
}

impl<'a> SampleRecords<'a> {
    pub(super) fn new(dialect: Dialect, text: &'a str, offset: usize, lines_before: u64) -> Self {
        SampleRecords {
            reader: dialect.reader(text.as_bytes()),
            record: StringRecord::new(),
            text,
            offset,
            lines_before,
            counted: 0,
            line_ends: 0,
            after_cr: false,
        }
    }
}

impl Iterator for SampleRecords<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let after_last = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        // The text is a `String`, so a UTF-8 error cannot happen; any error ends the rows.
        if !matches!(self.reader.read_record(&mut self.record), Ok(true)) {
            return None;
        }
        let end = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        // The record starts at the first byte after the last one that is not a line end.
        let bytes = self.text.as_bytes();
        let start = (after_last..end).find(|&i| !matches!(bytes.get(i), Some(b'\n' | b'\r'))).unwrap_or(end);
        let between = bytes.get(self.counted..start).unwrap_or_default();
        self.line_ends += line_ends(between, &mut self.after_cr);
        self.counted = start.max(self.counted);
        let line = self.lines_before + self.line_ends + 1;
        Some(Row { record: self.record.clone(), line, start: start + self.offset, end: end + self.offset })
    }
}

/// The first `n` lines of `text` (without their line ends) and the offset just past them.
/// Lines end at `\n`, `\r\n` or a lone `\r`, as parse skips them.
pub(super) fn title_lines(text: &str, n: u64) -> (Vec<String>, usize) {
    let mut lines = Vec::new();
    let mut at = 0;
    while (lines.len() as u64) < n && at < text.len() {
        let rest = text.get(at..).unwrap_or_default();
        let bytes = rest.as_bytes();
        let (len, end) = match memchr::memchr2(b'\n', b'\r', bytes) {
            None => (rest.len(), rest.len()),
            Some(i) if bytes.get(i..i + 2) == Some(b"\r\n") => (i, i + 2),
            Some(i) => (i, i + 1),
        };
        lines.push(rest.get(..len).unwrap_or_default().to_owned());
        at += end;
    }
    (lines, at)
}

/// Whether a record whose fields are `fields` can be a footer line of a table of `width`
/// columns whose numbers are written in `number`: aside the table, and no field a number.
pub(super) fn is_footer<'f>(
    count: usize,
    mut fields: impl Iterator<Item = &'f str>,
    width: usize,
    number: NumberFormat,
) -> bool {
    let rules = CellRules { number, dates: DatePolicy::IsoOnly };
    is_aside(count, width) && !fields.any(|f| matches!(rules.cell_type(f), ColumnType::Int | ColumnType::Float))
}

/// The run of footer-like records (see [`is_footer`]) read last, counted as it grows, for the
/// probe and parse alike: whether it can still be the file's footer.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FooterRun {
    records: usize,
    /// The length of their fields' text.
    bytes: usize,
}

impl FooterRun {
    /// Adds a footer-like record whose fields hold `bytes` bytes of text; false once the run
    /// is longer than a footer can be ([`MAX_FOOTER`] records, [`MAX_FOOTER_BYTES`]), so that
    /// it and the rest of it are rows. Whole: a run of 40 is 40 rows, not 32 rows and 8 of
    /// footer.
    pub(super) fn add(&mut self, bytes: usize) -> bool {
        self.records += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        self.records <= MAX_FOOTER && self.bytes <= MAX_FOOTER_BYTES
    }
}

/// What the separators of one number cell say.
#[derive(Debug, Default)]
struct NumberEvidence {
    /// Cells with a decimal comma (`1,5`, `1.234,5`) and with a decimal point.
    comma: u64,
    point: u64,
    /// Cells grouped by each thousands separator (`1.234.567`, `1 234`, `1,234.5`).
    grouped: Vec<(char, u64)>,
    /// `1.234`: a grouped int or a decimal with three places.
    ambiguous_dot: u64,
}

impl NumberEvidence {
    fn group(&mut self, c: char) {
        match self.grouped.iter_mut().find(|(g, _)| *g == c) {
            Some((_, n)) => *n += 1,
            None => self.grouped.push((c, 1)),
        }
    }

    fn grouped_by(&self, c: char) -> bool {
        self.grouped.iter().any(|(g, n)| *g == c && *n > 0)
    }

    /// Reads one cell: runs of digits and the single characters between them.
    fn observe(&mut self, cell: &str) {
        let cell = cell.trim().trim_start_matches(['+', '-']);
        let mut runs: Vec<usize> = vec![0];
        let mut seps: Vec<char> = Vec::new();
        for c in cell.chars() {
            if c.is_ascii_digit() {
                if let Some(last) = runs.last_mut() {
                    *last += 1;
                }
            } else if NumberFormat::THOUSANDS.contains(&c) {
                seps.push(c);
                runs.push(0);
            } else {
                return;
            }
        }
        if seps.is_empty() || runs.contains(&0) {
            return;
        }
        let grouped = |runs: &[usize]| runs.first().is_some_and(|r| *r <= 3) && runs.iter().skip(1).all(|r| *r == 3);
        let (first, last) = (runs.first().copied().unwrap_or(0), runs.last().copied().unwrap_or(0));
        let whole = runs.get(..runs.len() - 1).unwrap_or_default();
        let grouping = seps.get(..seps.len() - 1).unwrap_or_default();
        match seps.as_slice() {
            // `1.234` or `1,234`: a grouped int or three decimals; only `.` says something.
            ['.'] if first <= 3 && last == 3 => self.ambiguous_dot += 1,
            [','] if first <= 3 && last == 3 => {}
            [','] => self.comma += 1,
            ['.'] => self.point += 1,
            [g, ..] if seps.iter().all(|s| s == g) && grouped(&runs) => self.group(*g),
            [g, .., d @ (',' | '.')] if g != d && grouping.iter().all(|s| s == g) && grouped(whole) => {
                self.group(*g);
                if *d == ',' {
                    self.comma += 1;
                } else {
                    self.point += 1;
                }
            }
            _ => {}
        }
    }
}

/// The number format of the sample's cells, and a warning when they disagree.
///
/// Decimal comma when some cell has one (`1,5`, `1.234,5`) and none has a decimal point; then
/// `.` (or a space, or `'`) groups thousands when cells are grouped so (`1.234` counts). Decimal
/// point otherwise; `,` (or a space, or `'`) groups thousands only when a cell shows it beyond
/// doubt (`1,234.5`, `1,234,567`): a lone `1,234` stays text, as it always has. Cells of both
/// decimal kinds leave the plain format, with a warning.
pub(super) fn detect_number<'r>(
    records: impl Iterator<Item = &'r StringRecord>,
    delimiter: u8,
) -> (NumberFormat, Option<String>) {
    let mut e = NumberEvidence::default();
    for record in records {
        for cell in record.iter() {
            e.observe(cell);
        }
    }
    let other_groups = |e: &NumberEvidence, not: char| {
        [' ', '\u{a0}', '\u{202f}', '\''].into_iter().find(|c| *c != not && e.grouped_by(*c))
    };
    let comma_decimal = e.comma > 0 || (e.point == 0 && e.grouped_by('.') && !e.grouped_by(','));
    if comma_decimal && e.point > 0 {
        let warning = format!(
            "numbers are written both with a decimal comma and with a decimal point; they are read \
             with a point, and those with a comma stay text: set `decimal` in read_options if that \
             is wrong (delimiter `{}`)",
            char::from(delimiter)
        );
        return (NumberFormat::default(), Some(warning));
    }
    let format = if comma_decimal {
        let thousands = if e.grouped_by('.') || e.ambiguous_dot > 0 { Some('.') } else { other_groups(&e, ',') };
        NumberFormat { decimal: ',', thousands }
    } else {
        let thousands = if e.grouped_by(',') { Some(',') } else { other_groups(&e, '.') };
        NumberFormat { decimal: '.', thousands }
    };
    (format, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(cells: &[&str]) -> NumberFormat {
        let record = StringRecord::from(cells.to_vec());
        detect_number(std::iter::once(&record), b';').0
    }

    #[test]
    fn number_formats_come_from_the_cells_that_settle_them() {
        let plain = NumberFormat::default();
        assert_eq!(number(&["1.5", "2", "x"]), plain);
        assert_eq!(number(&["1,234", "7"]), plain, "a lone 1,234 proves nothing");
        assert_eq!(number(&["21,5", "3"]), NumberFormat { decimal: ',', thousands: None });
        assert_eq!(number(&["21,5", "1.234"]), NumberFormat { decimal: ',', thousands: Some('.') });
        assert_eq!(number(&["1.234,5"]), NumberFormat { decimal: ',', thousands: Some('.') });
        assert_eq!(number(&["1.234.567"]), NumberFormat { decimal: ',', thousands: Some('.') });
        assert_eq!(number(&["1,234.5"]), NumberFormat { decimal: '.', thousands: Some(',') });
        assert_eq!(number(&["1 234,5"]), NumberFormat { decimal: ',', thousands: Some(' ') });
        assert_eq!(number(&["03.02.2025", "10.0.0.1", "v1.2.3"]), NumberFormat { decimal: '.', thousands: None });
        let record = StringRecord::from(vec!["1,5", "2.5"]);
        let (format, warning) = detect_number(std::iter::once(&record), b';');
        assert_eq!(format, plain);
        assert!(warning.unwrap().contains("both"));
    }

    #[test]
    fn title_lines_are_those_before_the_first_record_of_the_tables_width() {
        let dialect = Dialect { delimiter: b';', quote: None };
        let text = "Report Lot 42\nDate;03.02.2025\n\nid;a;b;c\n1;2;3;4\n5;6;7;8\n";
        assert_eq!(detect_title(text, dialect), 3);
        assert_eq!(detect_title("id;a;b;c\n1;2;3;4\n", dialect), 0);
        // A header one field short of its rows is no title (more than half the width).
        assert_eq!(detect_title("a;b;c\n1;2;3;4\n5;6;7;8\n", dialect), 0);
        let (lines, offset) = title_lines(text, 3);
        assert_eq!(lines, ["Report Lot 42", "Date;03.02.2025", ""]);
        assert_eq!(&text[offset..offset + 2], "id");
    }

    #[test]
    fn a_footer_is_the_short_run_that_ends_the_file() {
        let plain = NumberFormat::default();
        let footer = |fields: &[&str]| is_footer(fields.len(), fields.iter().copied(), 4, plain);
        assert!(footer(&["End of report"]) && footer(&["Total:", "n/a"]));
        assert!(!footer(&["a", "b", "c"]), "three of four fields is a short row");
        assert!(!footer(&["Total", "42"]), "a short row of numbers is data");
        let mut run = FooterRun::default();
        assert!((0..MAX_FOOTER).all(|_| run.add(10)));
        assert!(!run.add(10), "one record more than a footer");
        assert!(!run.add(10), "and the rest of the run");
        let mut run = FooterRun::default();
        assert!(run.add(MAX_FOOTER_BYTES - 1) && !run.add(2), "more text than a footer");
    }
}

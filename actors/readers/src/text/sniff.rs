//! The dialect of delimited text: which of `,` `\t` `;` `|` separates fields and which quote
//! character (if any) wraps them, chosen by how consistent the rows come out (SPEC §6).

use dat_contracts::text_layout::NumberFormat;
use dat_contracts::ColumnType;

use crate::typing::{CellRules, DatePolicy};

/// Delimiters tried, in order of preference when the evidence is equal.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Records the sniffer parses per candidate delimiter: enough to judge consistency.
const SNIFF_RECORDS: usize = 100;

/// How fields are separated and quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dialect {
    /// The field delimiter.
    pub(super) delimiter: u8,
    /// The quote character seen at the start of fields, if any.
    pub(super) quote: Option<u8>,
}

impl Dialect {
    /// A CSV reader for this dialect: no header handling (the caller decides), rows of any
    /// length (ragged rows are counted, not fatal), `""` inside quotes is one `"`. Without a
    /// quote (none detected, or `quote: null` decided for the folder) nothing quotes: a `"`
    /// is text like any other byte, and a stray one cannot join the lines after it into one
    /// record.
    pub(super) fn reader<R: std::io::Read>(self, input: R) -> csv::Reader<R> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote.unwrap_or(b'"'))
            .quoting(self.quote.is_some())
            .has_headers(false)
            .flexible(true)
            .from_reader(input)
    }

    /// The same dialect for the record reader of parse (the `csv` crate's own engine).
    pub(super) fn core(self) -> csv_core::Reader {
        csv_core::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote.unwrap_or(b'"'))
            .quoting(self.quote.is_some())
            .build()
    }
}

/// How well one delimiter splits the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    /// Records with the most common field count, per thousand records.
    consistency: u64,
    /// Bonus for tab in a `.tsv` file.
    preferred: bool,
    /// The most common field count.
    fields: usize,
    /// Per thousand fields, those that are not split by another candidate delimiter: a `;` file
    /// of decimal commas may split as evenly on `,`, but into fields like `a;1` (while `1,5`
    /// reads as a number and does not count against `;`).
    clean: u64,
}

/// Picks the dialect of `text` (a whole file, or a prefix cut after a line end).
///
/// Each candidate delimiter gets its own quote (see [`detect_quote`]); the first
/// `SNIFF_RECORDS` records are parsed with it, respecting quotes. The candidate wins whose most
/// common field count (at least 2) covers the largest share of records; ties go to tab in a
/// `.tsv` file (`prefer_tab`), then to more fields, then to the split with fewer fields that
/// hold another delimiter and are no number, then to the order `,` `\t` `;` `|`. When no
/// candidate splits any row, the file is one column: tab for `.tsv`, else `,`.
pub(super) fn sniff_dialect(text: &str, prefer_tab: bool) -> Dialect {
    let mut best: Option<(Score, Dialect)> = None;
    for delimiter in DELIMITERS {
        let dialect = Dialect { delimiter, quote: detect_quote(text, delimiter) };
        let Some(score) = score(text, dialect, prefer_tab && delimiter == b'\t') else {
            continue;
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, dialect));
        }
    }
    best.map(|(_, d)| d).unwrap_or_else(|| {
        let delimiter = if prefer_tab { b'\t' } else { b',' };
        Dialect { delimiter, quote: detect_quote(text, delimiter) }
    })
}

/// The score of a dialect, or `None` when it never splits a row.
fn score(text: &str, dialect: Dialect, preferred: bool) -> Option<Score> {
    let mut counts: Vec<usize> = Vec::new();
    let (mut cells, mut split) = (0u64, 0u64);
    let mut record = csv::StringRecord::new();
    let mut reader = dialect.reader(text.as_bytes());
    while counts.len() < SNIFF_RECORDS && matches!(reader.read_record(&mut record), Ok(true)) {
        counts.push(record.len());
        cells += record.len() as u64;
        split += record.iter().filter(|c| holds_a_delimiter(c, dialect.delimiter)).count() as u64;
    }
    let total = counts.len() as u64;
    counts.sort_unstable();
    // Most common count; on equal frequency, the larger count.
    let (fields, freq) = counts
        .chunk_by(|a, b| a == b)
        .map(|run| (run.first().copied().unwrap_or(0), run.len() as u64))
        .max_by_key(|&(fields, freq)| (freq, fields))?;
    if fields < 2 {
        return None;
    }
    let clean = 1000 - split * 1000 / cells.max(1);
    Some(Score { consistency: freq * 1000 / total.max(1), preferred, fields, clean })
}

/// Whether a field holds another candidate delimiter and is no number (`1,5` is one, with a
/// decimal comma).
fn holds_a_delimiter(cell: &str, delimiter: u8) -> bool {
    const COMMA_DECIMAL: CellRules =
        CellRules { number: NumberFormat { decimal: ',', thousands: Some('.') }, dates: DatePolicy::IsoOnly };
    cell.bytes().any(|b| b != delimiter && DELIMITERS.contains(&b))
        && matches!(COMMA_DECIMAL.cell_type(cell), ColumnType::String | ColumnType::Null)
}

/// The quote character used with `delimiter`: `"` when some field (split naively on lines and
/// the delimiter) starts with it; `'` when none does but some field is wrapped in `'…'`
/// (a field merely starting with an apostrophe, like `'twas`, does not count); else none.
pub(super) fn detect_quote(text: &str, delimiter: u8) -> Option<u8> {
    let mut single = false;
    for line in text.lines().take(SNIFF_RECORDS) {
        for field in line.split(char::from(delimiter)) {
            if field.starts_with('"') {
                return Some(b'"');
            }
            let field = field.trim_end_matches('\r');
            single |= field.len() >= 2 && field.starts_with('\'') && field.ends_with('\'');
        }
    }
    single.then_some(b'\'')
}

/// The delimiter as recorded in the sniff result.
pub(super) fn delimiter_name(delimiter: u8) -> String {
    char::from(delimiter).to_string()
}

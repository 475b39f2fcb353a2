//! The tokenizer of delimited text: records of UTF-8 text with a cap on each record's size.
//!
//! Records are tokenized by `csv-core` (the engine of the `csv` crate the sniffer uses, so both
//! split fields alike) over a buffer this module owns. The buffer keeps the bytes of the record
//! being read from its first byte; a record that passes the cap (an unterminated quote, binary
//! junk, one giant line) is given up: it is reported with the line it began on, and reading
//! resumes at the line after that one, re-reading the retained bytes, so no later row is lost
//! and no more than the cap is ever held. Lines without a quote are split where they lie
//! ([`super::plain`]), the same fields several times faster.

use std::io::Read;

use csv_core::ReadRecordResult;

use super::plain;

/// Bytes read from the decoded stream at a time.
const READ_BYTES: usize = 256 * 1024;

/// Field-end slots past the field limit that the tokenizer writes the ends of further fields
/// to, in turn: they are counted, never kept.
const SPARE_ENDS: usize = 64;

/// One record, or the news that one was too long.
#[derive(Debug)]
pub(super) enum Record<'r> {
    /// A record's fields.
    Fields {
        /// The line it began on (from 1).
        line: u64,
        /// The lines it spans (more than one when a quoted field holds a line break).
        lines: u64,
        /// Its fields.
        fields: Fields<'r>,
    },
    /// A record with more fields than the field limit: their ends were counted, not kept.
    TooWide {
        /// The line it began on.
        line: u64,
        /// The lines it spans.
        lines: u64,
        /// How many fields it has.
        fields: usize,
        /// Its first bytes, its fields back to back (as [`Fields::raw`] gives them).
        head: std::borrow::Cow<'r, [u8]>,
    },
    /// A record passed the cap; reading goes on at the line after `line`.
    TooLong {
        /// The line it began on.
        line: u64,
        /// Its first bytes.
        head: &'r [u8],
    },
}

/// The fields of one record.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields<'r> {
    text: &'r str,
    /// Where each field ends in `text`.
    ends: &'r [usize],
    /// Bytes between one field's end and the next one's start: 0 for fields the tokenizer
    /// wrote back to back, 1 for a line split at its delimiters where it lies.
    gap: usize,
}

impl<'r> Fields<'r> {
    /// How many fields.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The fields in order.
    pub(super) fn iter(&self) -> impl ExactSizeIterator<Item = &'r str> + 'r {
        let (text, ends, gap) = (self.text, self.ends, self.gap);
        let mut start = 0;
        ends.iter().map(move |&end| {
            let field = text.get(start..end).unwrap_or_default();
            start = end + gap;
            field
        })
    }

    /// The record's fields back to back (as the tokenizer writes them), for a reject's snippet.
    pub(super) fn raw(&self) -> std::borrow::Cow<'r, [u8]> {
        match self.gap {
            0 => std::borrow::Cow::Borrowed(self.text.as_bytes()),
            _ => std::borrow::Cow::Owned(self.iter().collect::<String>().into_bytes()),
        }
    }
}

/// Records of UTF-8 text with a cap on each record's size.
pub(super) struct RecordReader<R> {
    src: R,
    core: csv_core::Reader,
    /// Input: `buf[start..end]` is held, `buf[pos..end]` is not yet tokenized.
    buf: Vec<u8>,
    start: usize,
    pos: usize,
    end: usize,
    /// The source is exhausted.
    eof: bool,
    /// Field bytes of the current record, and where each field ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Fields whose ends are kept at most: `ends` grows to this many (and [`SPARE_ENDS`])
    /// at most, so a line of millions of delimiters (8 bytes of `ends` each, 128 MiB for a
    /// record at the 16 MiB cap) holds no more than a table's widest record.
    max_fields: usize,
    /// The line `buf[pos]` is on, and whether the byte before it was a `\r` (so that a `\n`
    /// after it ends no further line).
    pub(super) line: u64,
    after_cr: bool,
    cap: usize,
    /// Every line end that entered the buffer, counted on their own for the row accounting.
    ends_read: LineEnds,
    /// Blank lines skipped between records.
    blank: u64,
    /// The delimiter and quote, when a line without a quote or a lone `\r` may be split at
    /// its delimiters where it lies instead of through the tokenizer (the same fields, several
    /// times faster).
    plain: Option<(u8, u8)>,
}

/// Counts line ends: `\n`, `\r\n` and a lone `\r` (as `csv-core` ends records) are one each.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct LineEnds {
    /// Line ends so far.
    pub(super) count: u64,
    /// The last byte seen was `\r`.
    after_cr: bool,
    /// The last byte seen ended a line (or nothing was seen).
    at_line_start: bool,
    /// Bytes seen.
    bytes: u64,
}

impl LineEnds {
    /// Counts the line ends in `bytes`, which follow the bytes counted so far.
    pub(super) fn add(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else { return };
        self.count += line_ends(bytes, &mut self.after_cr);
        self.at_line_start = matches!(last, b'\n' | b'\r');
        self.bytes += bytes.len() as u64;
    }

    /// Lines in all: line ends, and one more when the last line has none.
    pub(super) fn lines(&self) -> u64 {
        self.count + u64::from(self.bytes > 0 && !self.at_line_start)
    }
}

/// Line ends in `bytes`; `after_cr` says whether the byte before them was `\r` and is updated.
/// The one way lines are counted in a text file (title, sample and records alike).
pub(super) fn line_ends(bytes: &[u8], after_cr: &mut bool) -> u64 {
    let Some(&last) = bytes.last() else { return 0 };
    let mut n;
    if memchr::memchr(b'\r', bytes).is_none() {
        n = memchr::memchr_iter(b'\n', bytes).count() as u64;
        if *after_cr && bytes.first() == Some(&b'\n') {
            n -= 1;
        }
    } else {
        n = 0;
        let mut cr = *after_cr;
        for &b in bytes {
            match b {
                b'\r' => {
                    n += 1;
                    cr = true;
                }
                b'\n' => {
                    n += u64::from(!cr);
                    cr = false;
                }
                _ => cr = false,
            }
        }
    }
    *after_cr = last == b'\r';
    n
}

impl<R: Read> RecordReader<R> {
    pub(super) fn new(src: R, core: csv_core::Reader, cap: usize) -> Self {
        RecordReader {
            src,
            core,
            buf: vec![0; READ_BYTES],
            start: 0,
            pos: 0,
            end: 0,
            eof: false,
            out: vec![0; 4096],
            ends: vec![0; SPARE_ENDS],
            max_fields: usize::MAX,
            line: 1,
            after_cr: false,
            cap: cap.max(1),
            ends_read: LineEnds { at_line_start: true, ..LineEnds::default() },
            blank: 0,
            plain: None,
        }
    }

    /// Splits lines without a quote character at `delimiter` directly (see `plain`).
    pub(super) fn with_plain_lines(mut self, delimiter: u8, quote: u8) -> Self {
        self.plain = Some((delimiter, quote));
        self
    }

    /// Keeps the ends of `max_fields` fields at most: a record with more is [`Record::TooWide`].
    pub(super) fn with_field_limit(mut self, max_fields: usize) -> Self {
        self.max_fields = max_fields;
        self
    }

    /// The record at `pos` when it is one plain line in the buffer: no quote character, no `\r`
    /// but one before its `\n`, within the cap (see [`super::plain`]). Its fields' ends go to
    /// `ends`. Returns the line's length, the bytes it takes with its line end, and its fields.
    fn plain_line(&mut self) -> Option<(usize, usize, usize)> {
        let (delimiter, quote) = self.plain?;
        let region = self.buf.get(self.pos..self.end)?;
        // Longer than the cap with its line end: the tokenizer decides (it may give it up).
        match plain::scan(region, delimiter, quote, self.cap, &mut self.ends, self.max_fields) {
            plain::Line::Plain { len, taken, fields } => Some((len, taken, fields)),
            plain::Line::Other => None,
        }
    }

    /// Lines in the input so far (all of them, once [`Self::next`] returned `None`).
    pub(super) fn lines_read(&self) -> u64 {
        self.ends_read.lines()
    }

    /// Blank lines skipped so far.
    pub(super) fn blank_lines(&self) -> u64 {
        self.blank
    }

    /// Skips `n` lines without reading them as records (a title above the header); returns
    /// how many there were.
    ///
    /// # Errors
    /// The I/O error of reading the source.
    pub(super) fn skip_lines(&mut self, n: u64) -> std::io::Result<u64> {
        let (mut skipped, mut partial) = (0, false);
        while skipped < n {
            let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.end) else {
                if self.eof {
                    break;
                }
                self.start = self.pos;
                self.fill()?;
                continue;
            };
            self.pos += 1;
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    skipped += 1;
                    partial = false;
                    self.after_cr = b == b'\r';
                }
                _ => {
                    partial = true;
                    self.after_cr = false;
                }
            }
        }
        // A last line without a line end still counts.
        skipped += u64::from(skipped < n && partial);
        self.line += skipped;
        self.start = self.pos;
        Ok(skipped)
    }

    /// The next record, `None` at the end.
    ///
    /// # Errors
    /// The I/O error of reading (or decompressing) the source.
    pub(super) fn next(&mut self) -> std::io::Result<Option<Record<'_>>> {
        if !self.skip_blank_lines()? {
            return Ok(None);
        }
        self.start = self.pos;
        let first_line = self.line;
        if let Some((len, taken, fields)) = self.plain_line() {
            let start = self.pos;
            self.pos += taken;
            self.line += 1;
            self.after_cr = false;
            let bytes = self.buf.get(start..start + len).unwrap_or_default();
            if fields > self.max_fields {
                let delimiter = self.plain.map_or(b',', |(delimiter, _)| delimiter);
                let head = bytes.iter().copied().filter(|b| *b != delimiter);
                let head = head.take(crate::sink::Reject::SNIPPET_BYTES).collect::<Vec<u8>>().into();
                return Ok(Some(Record::TooWide { line: first_line, lines: 1, fields, head }));
            }
            let ends = self.ends.get(..fields).unwrap_or_default();
            return Ok(Some(match std::str::from_utf8(bytes) {
                Ok(text) => Record::Fields { line: first_line, lines: 1, fields: Fields { text, ends, gap: 1 } },
                Err(_) => Record::TooLong { line: first_line, head: bytes },
            }));
        }
        let (mut out_len, mut fields) = (0, 0);
        loop {
            let input = self.buf.get(self.pos..self.end).unwrap_or_default();
            // Past the field limit (where `ends` stopped growing), the spare slots at its end
            // take the ends of further fields in turn: counted, not kept. `ends` is never
            // shorter than `SPARE_ENDS`, so the tokenizer always gets room.
            let spare = self.max_fields.min(self.ends.len().saturating_sub(SPARE_ENDS));
            let slot = if fields < self.ends.len() { fields } else { spare };
            let (out, ends) = (&mut self.out[out_len..], self.ends.get_mut(slot..).unwrap_or_default());
            let (result, read, written, ended) = self.core.read_record(input, out, ends);
            self.line += line_ends(input.get(..read).unwrap_or_default(), &mut self.after_cr);
            self.pos += read;
            out_len += written;
            fields += ended;
            if self.pos - self.start > self.cap || out_len > self.cap {
                return self.give_up(first_line).map(Some);
            }
            match result {
                ReadRecordResult::InputEmpty => {
                    if !self.eof {
                        self.fill()?;
                    }
                }
                ReadRecordResult::OutputFull => {
                    let grown = (self.out.len() * 2).min(self.cap + 1).max(self.out.len() + 1);
                    self.out.resize(grown, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let grown = (self.ends.len() * 2).min(self.max_fields.saturating_add(SPARE_ENDS));
                    self.ends.resize(grown.max(self.ends.len()), 0);
                }
                ReadRecordResult::Record => {
                    let bytes = self.out.get(..out_len).unwrap_or_default();
                    let ends = self.ends.get(..fields).unwrap_or_default();
                    let lines = self.record_lines(first_line);
                    if fields > self.max_fields {
                        let head = bytes.get(..crate::sink::Reject::SNIPPET_BYTES).unwrap_or(bytes).into();
                        return Ok(Some(Record::TooWide { line: first_line, lines, fields, head }));
                    }
                    // The input is UTF-8 from the decoder and fields split at ASCII bytes;
                    // anything else is replaced rather than trusted.
                    let text = match std::str::from_utf8(bytes) {
                        Ok(text) => text,
                        Err(_) => return Ok(Some(Record::TooLong { line: first_line, head: bytes })),
                    };
                    return Ok(Some(Record::Fields { line: first_line, lines, fields: Fields { text, ends, gap: 0 } }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// The lines the record just tokenized took, from `first_line`: the line ends it took, and
    /// the last line of a file that has none (a record ended by the end of the input).
    fn record_lines(&self, first_line: u64) -> u64 {
        let ended = self.pos > self.start && matches!(self.buf.get(self.pos - 1), Some(b'\n' | b'\r'));
        (self.line - first_line + u64::from(!ended)).max(1)
    }

    /// Skips line ends before a record (as `csv-core` does), counting lines and the blank ones
    /// (the `\n` of a `\r\n` that ended the last record is neither); false at the end.
    fn skip_blank_lines(&mut self) -> std::io::Result<bool> {
        loop {
            while let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.end) {
                match b {
                    b'\n' if self.after_cr => self.after_cr = false,
                    b'\n' | b'\r' => {
                        self.line += 1;
                        self.blank += 1;
                        self.after_cr = b == b'\r';
                    }
                    _ => return Ok(true),
                }
                self.pos += 1;
            }
            if self.eof {
                return Ok(false);
            }
            self.start = self.pos;
            self.fill()?;
        }
    }

    /// Gives up the record begun at `first_line`: resumes after its first line end (within the
    /// held bytes, or further on when the first line itself is longer than the cap). A line
    /// ends where the line count says it does: at `\n`, `\r\n` or a lone `\r` (a file of lone
    /// `\r` would otherwise be skipped to its end). After a `\r`, `after_cr` makes the next
    /// record skip a `\n` that follows without counting it.
    fn give_up(&mut self, first_line: u64) -> std::io::Result<Record<'_>> {
        self.core.reset();
        let held = self.buf.get(self.start..self.pos).unwrap_or_default();
        let mut line_end = None;
        match memchr::memchr2(b'\n', b'\r', held) {
            Some(at) => {
                self.pos = self.start + at + 1;
                line_end = held.get(at).copied();
            }
            None => loop {
                let rest = self.buf.get(self.pos..self.end).unwrap_or_default();
                if let Some(at) = memchr::memchr2(b'\n', b'\r', rest) {
                    line_end = rest.get(at).copied();
                    self.pos += at + 1;
                    break;
                }
                self.pos = self.end;
                if self.eof {
                    break;
                }
                // Keep only the head of the record (for the reject) while skipping the rest.
                let keep = (self.start + crate::sink::Reject::SNIPPET_BYTES).min(self.end);
                self.end = keep;
                self.pos = keep;
                self.fill()?;
            },
        }
        self.line = first_line + 1;
        self.after_cr = line_end == Some(b'\r');
        let head_end = (self.start + crate::sink::Reject::SNIPPET_BYTES).min(self.end).min(self.pos.max(self.start));
        Ok(Record::TooLong { line: first_line, head: self.buf.get(self.start..head_end).unwrap_or_default() })
    }

    /// Reads more of the source after `end`, first moving the held bytes to the front.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.pos -= self.start;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        let n = loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.ends_read.add(self.buf.get(self.end..self.end + n).unwrap_or_default());
        self.end += n;
        self.eof = n == 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record as (line, fields) or (line, "TOO LONG"), the same with plain lines split
    /// where they lie as through the tokenizer.
    fn records(text: &str, cap: usize) -> Vec<(u64, Vec<String>)> {
        let tokenized = read_all(RecordReader::new(text.as_bytes(), csv_core::ReaderBuilder::new().build(), cap));
        let plain = RecordReader::new(text.as_bytes(), csv_core::ReaderBuilder::new().build(), cap);
        assert_eq!(read_all(plain.with_plain_lines(b',', b'"')), tokenized, "{text:?}");
        tokenized
    }

    fn read_all(mut reader: RecordReader<&[u8]>) -> Vec<(u64, Vec<String>)> {
        let mut out = vec![];
        while let Some(record) = reader.next().unwrap() {
            out.push(match record {
                Record::Fields { line, fields, .. } => (line, fields.iter().map(str::to_owned).collect()),
                Record::TooLong { line, .. } => (line, vec!["TOO LONG".to_owned()]),
                Record::TooWide { line, fields, .. } => (line, vec![format!("{fields} FIELDS")]),
            });
        }
        out
    }

    fn row(line: u64, fields: &[&str]) -> (u64, Vec<String>) {
        (line, fields.iter().map(|f| (*f).to_owned()).collect())
    }

    #[test]
    fn plain_lines_split_where_they_lie_give_the_tokenizers_fields() {
        for text in [
            "a,b,c\n1,,3\n,,\n\n4,5\r\n6,7,8,9\r7,8\n",
            "x\n\"q\",1\nplain,2\n\r\n\rlast,line",
            "a;b,c\n1;2,3\n\n\n",
            ",\n,,\n",
        ] {
            records(text, 1 << 20);
            records(text, 4);
        }
    }

    #[test]
    fn records_carry_the_line_they_begin_on() {
        let text = "a,b\n\n1,\"x\ny\"\r\n2,z";
        assert_eq!(records(text, 1 << 20), [row(1, &["a", "b"]), row(3, &["1", "x\ny"]), row(5, &["2", "z"])]);
    }

    #[test]
    fn an_unterminated_quote_is_given_up_and_reading_resumes_on_the_next_line() {
        let mut text = String::from("a,b\n1,\"open\n");
        for i in 0..2_000 {
            text.push_str(&format!("{i},row\n"));
        }
        let got = records(&text, 4096);
        assert_eq!(got[1], row(2, &["TOO LONG"]));
        assert_eq!(got[2], row(3, &["0", "row"]), "the line after the one the record began on");
        assert_eq!(got.len(), 2 + 2_000, "every later row is kept");
        assert_eq!(got.last(), Some(&row(2_002, &["1999", "row"])));
    }

    #[test]
    fn a_record_given_up_resumes_after_its_first_line_end_whatever_ends_lines() {
        for end in ["\r", "\r\n"] {
            let mut text = format!("a,b{end}1,\"open{end}");
            for i in 0..2_000 {
                text.push_str(&format!("{i},row{end}"));
            }
            let got = records(&text, 4096);
            assert_eq!(got[1], row(2, &["TOO LONG"]), "{end:?}");
            assert_eq!(got[2], row(3, &["0", "row"]), "{end:?}: the line after the one the record began on");
            assert_eq!(got.len(), 2 + 2_000, "{end:?}: every later row is kept");
            assert_eq!(got.last(), Some(&row(2_002, &["1999", "row"])), "{end:?}");
        }
    }

    #[test]
    fn a_record_wider_than_the_field_limit_is_counted_and_its_ends_are_not_kept() {
        let wide = ",".repeat(100_000);
        // The second wide record has a quote: the tokenizer reads it, not the plain split.
        let text = format!("a,b\n{wide}\n1,2\n\"q\"{wide}\n3,4\n");
        for plain in [false, true] {
            let mut reader = RecordReader::new(text.as_bytes(), csv_core::ReaderBuilder::new().build(), 1 << 20)
                .with_field_limit(16);
            if plain {
                reader = reader.with_plain_lines(b',', b'"');
            }
            let mut got = vec![];
            while let Some(record) = reader.next().unwrap() {
                got.push(match record {
                    Record::Fields { line, fields, .. } => (line, fields.len(), fields.iter().collect::<String>()),
                    Record::TooWide { line, fields, head, .. } => {
                        (line, fields, String::from_utf8(head.into()).unwrap())
                    }
                    Record::TooLong { line, .. } => (line, 0, String::new()),
                });
            }
            let expected = [(1, 2, "ab"), (2, 100_001, ""), (3, 2, "12"), (4, 100_001, "q"), (5, 2, "34")];
            let expected: Vec<_> = expected.iter().map(|&(l, n, t)| (l, n, t.to_owned())).collect();
            assert_eq!(got, expected, "plain lines: {plain}");
            assert!(reader.ends.capacity() < 1_000, "plain lines: {plain}: {} ends held", reader.ends.capacity());
        }
    }

    #[test]
    fn one_giant_line_is_skipped_whole() {
        let text = format!("a\n{}\nafter\n", "x".repeat(100_000));
        assert_eq!(records(&text, 1000), [row(1, &["a"]), row(2, &["TOO LONG"]), row(3, &["after"])]);
    }
}

//! The records of a JSON file, found by their structure before any is parsed: the elements of
//! a top-level array (or the one top-level object) of a `.json` document, the lines of a JSON
//! Lines file. Each record's bytes are kept up to the record cap; past it, the record is only
//! skipped over (its brackets and strings still followed), so no record can take more memory
//! than the cap, however large the file or the record.

use std::io::{self, BufRead};

/// Where a record begins: line and column (from 1), for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) line: u64,
    pub(super) column: u64,
}

impl Place {
    /// The file position of a serde_json error position inside a record that begins here.
    pub(super) fn of(self, line: usize, column: usize) -> Place {
        if line <= 1 {
            Place { line: self.line, column: self.column + column as u64 - 1 }
        } else {
            Place { line: self.line + line as u64 - 1, column: column as u64 }
        }
    }
}

/// How scanning one record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scanned {
    /// Whole, in the buffer.
    Whole,
    /// Longer than the cap: only its first `cap` bytes are in the buffer.
    TooLong,
    /// The file ended inside it (truncated, or a string never closed).
    Cut,
}

/// A byte stream read record by record, counting lines and columns.
pub(super) struct Scanner<R> {
    reader: R,
    place: Place,
}

impl<R: BufRead> Scanner<R> {
    pub(super) fn new(reader: R) -> Self {
        Scanner { reader, place: Place { line: 1, column: 1 } }
    }

    /// Where the next byte is.
    pub(super) fn place(&self) -> Place {
        self.place
    }

    /// The next byte that is not whitespace, not consumed; `None` at the end.
    ///
    /// # Errors
    /// The I/O error of reading.
    pub(super) fn peek_token(&mut self) -> io::Result<Option<u8>> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let first = buf.get(blank).copied();
            advance(&mut self.place, buf.get(..blank).unwrap_or_default());
            self.reader.consume(blank);
            if first.is_some() {
                return Ok(first);
            }
        }
    }

    /// Consumes the byte [`Self::peek_token`] returned.
    pub(super) fn take_token(&mut self) {
        self.place.column += 1;
        self.reader.consume(1);
    }

    /// Reads one JSON value (the next non-blank byte starts it) into `out`, keeping at most
    /// `cap` bytes of it.
    ///
    /// # Errors
    /// The I/O error of reading.
    pub(super) fn value(&mut self, out: &mut Vec<u8>, cap: usize) -> io::Result<Scanned> {
        out.clear();
        let mut state = ValueState::default();
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(if state.started && state.depth == 0 && !state.in_string {
                    state.scanned()
                } else {
                    Scanned::Cut
                });
            }
            let (used, done) = state.feed(buf);
            let room = cap.saturating_sub(out.len());
            out.extend_from_slice(buf.get(..used.min(room)).unwrap_or_default());
            state.too_long |= used > room;
            advance(&mut self.place, buf.get(..used).unwrap_or_default());
            self.reader.consume(used);
            if done {
                return Ok(state.scanned());
            }
        }
    }

    /// Reads one line (without its end) into `out`, keeping at most `cap` bytes; `None` at the
    /// end of the file. A longer line is skipped to its end.
    ///
    /// # Errors
    /// The I/O error of reading.
    pub(super) fn line(&mut self, out: &mut Vec<u8>, cap: usize) -> io::Result<Option<Scanned>> {
        out.clear();
        let mut any = false;
        let mut too_long = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(any.then_some(if too_long { Scanned::TooLong } else { Scanned::Whole }));
            }
            any = true;
            let (used, done) = match memchr::memchr(b'\n', buf) {
                Some(at) => (at + 1, true),
                None => (buf.len(), false),
            };
            let content = buf.get(..if done { used - 1 } else { used }).unwrap_or_default();
            let room = cap.saturating_sub(out.len());
            out.extend_from_slice(content.get(..content.len().min(room)).unwrap_or_default());
            too_long |= content.len() > room;
            self.place.line += u64::from(done);
            self.place.column = 1;
            self.reader.consume(used);
            if done {
                return Ok(Some(if too_long { Scanned::TooLong } else { Scanned::Whole }));
            }
        }
    }
}

/// Moves `place` past `bytes`.
fn advance(place: &mut Place, bytes: &[u8]) {
    match memchr::memrchr(b'\n', bytes) {
        Some(at) => {
            place.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            place.column = (bytes.len() - at) as u64;
        }
        None => place.column += bytes.len() as u64,
    }
}

/// Where a structural scan of one value is.
#[derive(Debug, Default)]
struct ValueState {
    started: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A scalar (number, literal) is being read: it ends at a delimiter.
    scalar: bool,
    too_long: bool,
}

impl ValueState {
    fn scanned(&self) -> Scanned {
        if self.too_long {
            Scanned::TooLong
        } else {
            Scanned::Whole
        }
    }

    /// Feeds bytes; returns how many belong to the value and whether it ended.
    fn feed(&mut self, buf: &[u8]) -> (usize, bool) {
        for (i, &b) in buf.iter().enumerate() {
            if !self.started {
                self.started = true;
                match b {
                    b'{' | b'[' => self.depth = 1,
                    b'"' => self.in_string = true,
                    _ => self.scalar = true,
                }
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                continue;
            }
            if self.scalar {
                if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                    return (i, true);
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
        }
        (buf.len(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, cap: usize) -> Vec<(String, Scanned)> {
        let mut scanner = Scanner::new(text.as_bytes());
        let mut out = vec![];
        let mut found = vec![];
        while let Some(b) = scanner.peek_token().unwrap() {
            if matches!(b, b',' | b'[' | b']') {
                scanner.take_token();
                continue;
            }
            let scanned = scanner.value(&mut out, cap).unwrap();
            found.push((String::from_utf8_lossy(&out).into_owned(), scanned));
        }
        found
    }

    #[test]
    fn values_end_where_their_structure_ends() {
        let got = values(r#"[{"a": "}]\"", "b": [1, {"c": 2}]}, 17, "x,y", true]"#, 1000);
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, [r#"{"a": "}]\"", "b": [1, {"c": 2}]}"#, "17", r#""x,y""#, "true"]);
        assert!(got.iter().all(|(_, s)| *s == Scanned::Whole));
    }

    #[test]
    fn a_value_past_the_cap_is_skipped_whole_and_a_cut_one_is_cut() {
        let big = format!(r#"[{{"a": "{}"}}, {{"b": 1}}]"#, "x".repeat(5000));
        let got = values(&big, 100);
        assert_eq!((got[0].0.len(), got[0].1), (100, Scanned::TooLong));
        assert_eq!(got[1], (r#"{"b": 1}"#.to_owned(), Scanned::Whole));
        assert_eq!(values(r#"[{"a": "open"#, 100)[0].1, Scanned::Cut);
    }

    #[test]
    fn lines_past_the_cap_are_skipped_to_their_end() {
        let text = format!("a\n{}\nb", "x".repeat(5000));
        let mut scanner = Scanner::new(text.as_bytes());
        let mut out = vec![];
        assert_eq!(scanner.line(&mut out, 100).unwrap(), Some(Scanned::Whole));
        assert_eq!(scanner.line(&mut out, 100).unwrap(), Some(Scanned::TooLong));
        assert_eq!(out.len(), 100);
        assert_eq!(scanner.line(&mut out, 100).unwrap(), Some(Scanned::Whole));
        assert_eq!(out, b"b");
        assert_eq!(scanner.place().line, 3);
        assert_eq!(scanner.line(&mut out, 100).unwrap(), None);
    }
}

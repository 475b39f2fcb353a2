//! The records of a JSON file as rows or bad records, for the probe and for reading alike:
//! the elements of a document's top-level array (or its one object), the lines of JSON Lines.
//! A bad record (not an object, invalid inside, past the record cap) is named with its number
//! and the others go on; a document whose structure breaks (truncated, garbage between
//! elements, a scalar at the top) cannot be read on and is an error.

use dat_contracts::bundle::RowAccount;
use std::io::BufRead;

use super::object::{describe, parse, Field, Parsed};
use super::scan::{Place, Scanned, Scanner};
use crate::sink::ReadError;

/// A record: a row, or why it is not one.
#[derive(Debug)]
pub(super) enum Record<'b> {
    /// An object, with its number (element or line, from 1).
    Row { number: u64, fields: Vec<Field<'b>> },
    /// A record that is not a row: its number, why, and its first bytes.
    Bad { number: u64, reason: String, head: &'b [u8] },
}

/// Which of the two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// A `.json` document.
    Document,
    /// JSON Lines.
    Lines,
}

/// Where a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// Inside the top-level array; `comma`: an element was read, a `,` or `]` comes next.
    Array {
        comma: bool,
    },
    /// The top level is one object.
    Single,
    /// The one object was read: only whitespace may follow.
    AfterSingle,
    Done,
}

/// The records of one file.
pub(super) struct Records<R> {
    scanner: Scanner<R>,
    format: Format,
    state: State,
    number: u64,
    buf: Vec<u8>,
    cap: usize,
    /// The most fields a record may have (`ReadOptions::max_columns`): past it a record is a
    /// reject whose fields are counted, not kept.
    max_fields: usize,
    path: String,
    /// The document's top level is an array.
    array: bool,
    /// JSON Lines: lines scanned, and the blank ones among them.
    lines: u64,
    blank: u64,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(reader: R, format: Format, cap: usize, max_fields: usize, path: &str) -> Self {
        Records {
            scanner: Scanner::new(reader),
            format,
            state: State::Start,
            number: 0,
            buf: Vec::new(),
            cap: cap.max(1),
            max_fields,
            path: path.to_owned(),
            array: false,
            lines: 0,
            blank: 0,
        }
    }

    /// Where every unit went besides rows and rejects: JSON Lines' lines (blank ones skipped),
    /// or a document's elements (a single object is one).
    pub(super) fn accounting(&self) -> RowAccount {
        match self.format {
            Format::Lines => {
                let mut account = RowAccount::new("lines", self.lines);
                account.skip("blank", self.blank);
                account
            }
            Format::Document => RowAccount::new("elements", self.number),
        }
    }

    /// Whether a document's top level is an array (so far: false before it is read, for JSON
    /// Lines and for a single object).
    pub(super) fn in_array(&self) -> bool {
        self.array
    }

    /// The next record, `None` at the end.
    ///
    /// # Errors
    /// [`ReadError::Format`] when the document's structure breaks, [`ReadError::Io`] when
    /// reading fails.
    pub(super) fn next(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        match self.format {
            Format::Lines => self.next_line(),
            Format::Document => self.next_element(),
        }
    }

    fn io(&self, e: std::io::Error) -> ReadError {
        ReadError::io(&self.path, e)
    }

    fn broken(&self, message: String) -> ReadError {
        ReadError::format(&self.path, message)
    }

    fn next_line(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        loop {
            let number = self.scanner.place().line;
            let scanned = self.scanner.line(&mut self.buf, self.cap).map_err(|e| self.io(e))?;
            let Some(scanned) = scanned else { return Ok(None) };
            self.number = number;
            self.lines += 1;
            if scanned == Scanned::TooLong {
                let reason = format!("line {number} is longer than the record cap ({} MiB)", self.cap >> 20);
                return Ok(Some(Record::Bad { number, reason, head: &self.buf }));
            }
            if trim_line(&self.buf, number == 1).is_empty() {
                self.blank += 1;
                continue;
            }
            let text = trim_line(&self.buf, number == 1);
            return Ok(Some(match parse(text, self.max_fields) {
                Ok(Parsed::Object(fields)) => Record::Row { number, fields },
                Ok(Parsed::Other(kind)) => {
                    Record::Bad { number, reason: format!("{kind} is not a JSON object"), head: text }
                }
                Ok(Parsed::TooWide(fields)) => {
                    Record::Bad { number, reason: too_wide("the object", fields, self.max_fields), head: text }
                }
                Ok(Parsed::Repeated(key)) => Record::Bad { number, reason: repeated(&key), head: text },
                Err(e) => {
                    Record::Bad { number, reason: format!("{} at column {}", message(&e), e.column()), head: text }
                }
            }));
        }
    }

    fn next_element(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::AfterSingle => {
                    self.state = State::Done;
                    return self.nothing_after();
                }
                _ => {}
            }
            let token = self.scanner.peek_token().map_err(|e| self.io(e))?;
            match (self.state, token) {
                (State::Done | State::AfterSingle, _) | (State::Start, None) => return Ok(None),
                (State::Start, Some(b'[')) => {
                    self.scanner.take_token();
                    self.state = State::Array { comma: false };
                    self.array = true;
                }
                (State::Start, Some(b'{')) => self.state = State::Single,
                (State::Start, Some(other)) => {
                    return Err(self.broken(format!(
                        "a JSON file must hold an object or an array of objects (this one holds {})",
                        describe(&char::from(other).to_string())
                    )))
                }
                (State::Array { .. }, None) => {
                    return Err(self
                        .broken(format!("the file ends inside the array, after element {} (truncated?)", self.number)))
                }
                (State::Array { .. }, Some(b']')) => {
                    self.scanner.take_token();
                    self.state = State::Done;
                    return self.nothing_after();
                }
                (State::Array { comma: true }, Some(b',')) => {
                    self.scanner.take_token();
                    self.state = State::Array { comma: false };
                }
                (State::Array { comma: true }, Some(_)) => {
                    let Place { line, column } = self.scanner.place();
                    return Err(self.broken(format!(
                        "invalid JSON at line {line} column {column}: expected `,` or `]` after element {}",
                        self.number
                    )));
                }
                (State::Array { comma: false }, Some(_)) => {
                    self.state = State::Array { comma: true };
                    return self.element().map(Some);
                }
                (State::Single, _) => {
                    self.state = State::AfterSingle;
                    return self.element().map(Some);
                }
            }
        }
    }

    /// Fails when anything but whitespace follows the top-level value.
    fn nothing_after(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        match self.scanner.peek_token().map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(_) => {
                let Place { line, column } = self.scanner.place();
                Err(self.broken(format!(
                    "invalid JSON at line {line} column {column}: trailing characters after the document"
                )))
            }
        }
    }

    /// Reads the element that starts at the next token.
    fn element(&mut self) -> Result<Record<'_>, ReadError> {
        self.number += 1;
        let number = self.number;
        let start = self.scanner.place();
        let scanned = self.scanner.value(&mut self.buf, self.cap).map_err(|e| self.io(e))?;
        match scanned {
            Scanned::TooLong => {
                let reason = format!("element {number} is larger than the record cap ({} MiB)", self.cap >> 20);
                Ok(Record::Bad { number, reason, head: &self.buf })
            }
            Scanned::Cut => {
                let what = if self.array { format!("element {number}") } else { "the document".to_owned() };
                let cut = format!("the file ends inside {what}: it is truncated or a string is never closed");
                Err(self.broken(match parse(&self.buf, self.max_fields).err() {
                    Some(e) => {
                        let Place { line, column } = start.of(e.line(), e.column());
                        format!("invalid JSON at line {line} column {column}: {}; {cut}", message(&e))
                    }
                    None => cut,
                }))
            }
            Scanned::Whole => Ok(match parse(&self.buf, self.max_fields) {
                Ok(Parsed::Object(fields)) => Record::Row { number, fields },
                Ok(Parsed::TooWide(fields)) => Record::Bad {
                    number,
                    reason: too_wide(&format!("element {number}"), fields, self.max_fields),
                    head: &self.buf,
                },
                Ok(Parsed::Repeated(key)) => {
                    Record::Bad { number, reason: format!("element {number}: {}", repeated(&key)), head: &self.buf }
                }
                Ok(Parsed::Other(kind)) => Record::Bad {
                    number,
                    reason: format!("element {number} is {kind}, not an object"),
                    head: &self.buf,
                },
                Err(e) => {
                    let Place { line, column } = start.of(e.line(), e.column());
                    let reason = format!("invalid JSON at line {line} column {column}: {}", message(&e));
                    Record::Bad { number, reason, head: &self.buf }
                }
            }),
        }
    }
}

/// Why a record of `fields` fields is a reject.
fn too_wide(what: &str, fields: u64, max: usize) -> String {
    format!("{what} has {fields} fields, more than the {max} columns a table may have")
}

/// Why a record that repeats `key` is a reject.
fn repeated(key: &str) -> String {
    format!("key `{key}` appears more than once; a row holds one value per column, so one would be lost")
}

/// A line without surrounding whitespace (and without a UTF-8 byte order mark on line 1).
fn trim_line(line: &[u8], first: bool) -> &[u8] {
    let line = if first { line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line) } else { line };
    line.trim_ascii()
}

/// A serde_json error's message without its " at line L column C" suffix (callers place it).
pub(super) fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).map_or_else(|| text.clone(), str::to_owned)
}

//! A JSON document (`.json`): an array of objects, one row each, or a single object, one row.
//!
//! Rules: a single object is one row even when its values are arrays of objects (its columns are
//! then `list`s; nothing is unnested). In an array, elements that are not objects are skipped:
//! when fewer than half of the elements read, the table is `partial` and says which; otherwise
//! the file is `error`. A scalar document (`42`, `"x"`) is `error`; a blank file is `empty`.
//! An array is read element by element and only up to the probe budget; a single object is read
//! whole (keeping only its keys and value types, so memory stays small but time is linear).

use std::fmt;
use std::io::BufRead;
use std::sync::atomic::Ordering;

use dat_contracts::{ColumnType, TablePreview, TableProbe, TableStatus};
use serde::de::{self, Deserialize, DeserializeSeed, SeqAccess, Visitor};

use super::shape::{describe, Element, ElementSeed, Kind};
use super::{message, unreadable, Input, Scan, PREVIEW_BYTES};
use crate::adapters::{AdapterError, ByteCount, SourceFile};

/// How many skipped elements a warning lists by number.
const LISTED_ELEMENTS: usize = 10;

/// Probes a JSON document: always one table, `error` with the reason when unreadable.
pub(super) fn probe(file: &SourceFile<'_>, adapter: &str) -> TableProbe {
    let path = file.path.as_str();
    let mut input = match Input::open(file) {
        Ok(input) => input,
        Err(e) => return unreadable(path, adapter, &e),
    };
    let doc = match read(&mut input, 0) {
        Ok(doc) => doc,
        Err(reason) => return TableProbe::failed(path, adapter, TableStatus::Error, reason),
    };
    match doc.verdict() {
        Ok((status, warnings)) => doc.scan.table(path, adapter, status, warnings),
        Err(reason) => TableProbe::failed(path, adapter, TableStatus::Error, reason),
    }
}

/// The first `rows` objects of a JSON document.
///
/// # Errors
/// [`AdapterError::Io`] when the file cannot be opened, [`AdapterError::Format`] when the probe
/// would call it `error`.
pub(super) fn preview(file: &SourceFile<'_>, rows: usize) -> Result<TablePreview, AdapterError> {
    let path = file.path.as_str();
    let mut input = Input::open(file).map_err(|source| AdapterError::Io { path: path.to_owned(), source })?;
    let format_error = |message: String| AdapterError::Format { path: path.to_owned(), message };
    let doc = read(&mut input, rows).map_err(format_error)?;
    doc.verdict().map_err(format_error)?;
    Ok(doc.scan.preview(path))
}

/// What the top of the document is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Top {
    /// Nothing but whitespace.
    Blank,
    Array,
    Object,
    /// A string, number, boolean or null.
    Scalar(ColumnType),
}

/// A scanned document.
struct Document {
    top: Top,
    scan: Scan,
    /// Array elements read.
    elements: u64,
    /// Elements that were not objects, by 1-based number (the first few) and count.
    skipped: Vec<(u64, ColumnType)>,
    skipped_count: u64,
    /// Whether the array scan stopped at the budget (its error is then not a syntax error).
    stopped: bool,
}

impl Document {
    /// Status and warnings, or why the document is `error`.
    fn verdict(&self) -> Result<(TableStatus, Vec<String>), String> {
        match self.top {
            Top::Blank => Ok((TableStatus::Empty, vec!["the file holds no JSON value".into()])),
            Top::Scalar(kind) => Err(format!(
                "a JSON file must hold an object or an array of objects (this one holds {})",
                describe(kind)
            )),
            Top::Object => Ok((TableStatus::Available, vec![])),
            Top::Array if self.elements == 0 => Ok((TableStatus::Empty, vec![])),
            Top::Array if self.skipped_count == 0 => Ok((TableStatus::Available, vec![])),
            Top::Array if self.scan.rows > self.skipped_count => {
                let mut warnings: Vec<String> = self
                    .skipped
                    .iter()
                    .map(|(n, kind)| format!("element {n} is {}, not an object; skipped", describe(*kind)))
                    .collect();
                if self.skipped_count > self.skipped.len() as u64 {
                    warnings.push(format!("… {} elements in all are not objects", self.skipped_count));
                }
                Ok((TableStatus::Partial, warnings))
            }
            Top::Array => {
                let first = self
                    .skipped
                    .first()
                    .map_or(String::new(), |(n, kind)| format!(" (element {n} is {})", describe(*kind)));
                Err(format!(
                    "a JSON array must hold objects: {} of the {} elements read are not objects{first}",
                    self.skipped_count, self.elements
                ))
            }
        }
    }
}

/// Scans the document, keeping the first `keep` objects whole.
///
/// # Errors
/// Why the file is not a readable JSON document (syntax with line and column, or I/O).
fn read(input: &mut Input, keep: usize) -> Result<Document, String> {
    let mut doc = Document {
        top: Top::Blank,
        scan: Scan::default(),
        elements: 0,
        skipped: vec![],
        skipped_count: 0,
        stopped: false,
    };
    let (first, offset) = first_token(&mut input.reader).map_err(|e| format!("cannot read the file: {e}"))?;
    let describe_error = |e: serde_json::Error| {
        if e.is_io() {
            return format!("cannot read the file: {}", message(&e));
        }
        let (line, column) = offset.place(e.line(), e.column());
        format!("invalid JSON at line {line} column {column}: {}", message(&e))
    };
    let Some(first) = first else {
        doc.scan.finish(true, input);
        return Ok(doc);
    };
    let consumed = input.consumed.clone();
    let mut de = serde_json::Deserializer::from_reader(&mut input.reader);
    let complete = match first {
        b'[' => {
            doc.top = Top::Array;
            let read = ArraySeed { doc: &mut doc, keep, consumed }.deserialize(&mut de).and_then(|()| de.end());
            match read {
                Ok(()) => true,
                Err(_) if doc.stopped => false,
                Err(e) => return Err(describe_error(e)),
            }
        }
        b'{' => {
            doc.top = Top::Object;
            let element = ElementSeed { keep: keep > 0 }.deserialize(&mut de);
            match element.and_then(|element| de.end().map(|()| element)) {
                Ok(Element::Object(shape, values)) => doc.scan.add_object(shape, values),
                Ok(Element::Other(_)) => {}
                Err(e) => return Err(describe_error(e)),
            }
            true
        }
        _ => {
            let kind = Kind::deserialize(&mut de).and_then(|kind| de.end().map(|()| kind)).map_err(describe_error)?;
            doc.top = Top::Scalar(kind.0);
            true
        }
    };
    doc.scan.finish(complete, input);
    Ok(doc)
}

/// Where the parser started: whitespace skipped before the first token shifts its positions.
#[derive(Clone, Copy)]
struct Offset {
    lines: usize,
    columns: usize,
}

impl Offset {
    /// The file position of a parser position.
    fn place(self, line: usize, column: usize) -> (usize, usize) {
        if line <= 1 {
            (1 + self.lines, column + self.columns)
        } else {
            (line + self.lines, column)
        }
    }
}

/// Skips leading whitespace and returns the first byte (not consumed), or `None` for a blank
/// file, with how much was skipped.
fn first_token(reader: &mut dyn BufRead) -> std::io::Result<(Option<u8>, Offset)> {
    let mut offset = Offset { lines: 0, columns: 0 };
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((None, offset));
        }
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        for &b in buf.iter().take(blank) {
            if b == b'\n' {
                offset = Offset { lines: offset.lines + 1, columns: 0 };
            } else {
                offset.columns += 1;
            }
        }
        let first = buf.get(blank).copied();
        reader.consume(blank);
        if first.is_some() {
            return Ok((first, offset));
        }
    }
}

/// Reads the top-level array element by element until it ends or the budget is spent.
struct ArraySeed<'a> {
    doc: &'a mut Document,
    keep: usize,
    consumed: ByteCount,
}

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let keeping = self.doc.scan.kept.len() < self.keep;
            let spent = Input::budget_spent(&self.consumed);
            if (spent && !keeping) || self.consumed.load(Ordering::Relaxed) >= PREVIEW_BYTES {
                // Ending early: serde_json would reject the unread rest, so stop with an error
                // and let `stopped` tell the caller it was ours.
                self.doc.stopped = true;
                return Err(de::Error::custom("probe budget reached"));
            }
            let element = seq.next_element_seed(ElementSeed { keep: keeping })?;
            let Some(element) = element else { return Ok(()) };
            self.doc.elements += 1;
            match element {
                Element::Object(shape, values) => self.doc.scan.add_object(shape, values),
                Element::Other(kind) => {
                    self.doc.skipped_count += 1;
                    if self.doc.skipped.len() < LISTED_ELEMENTS {
                        self.doc.skipped.push((self.doc.elements, kind));
                    }
                }
            }
        }
    }
}

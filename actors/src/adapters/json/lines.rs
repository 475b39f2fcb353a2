//! JSON Lines (`.jsonl`, `.ndjson`): one object per line, blank lines ignored. A line that is
//! not a JSON object is skipped and named in a warning (`partial`); if no line is good, `error`.

use std::io::{BufRead, Read};
use std::sync::atomic::Ordering;

use dat_contracts::{TablePreview, TableProbe, TableStatus};
use serde::de::DeserializeSeed;

use super::shape::{describe, Element, ElementSeed};
use super::{message, unreadable, Input, Scan, PREVIEW_BYTES};
use crate::adapters::{AdapterError, SourceFile};

/// The longest line read; a longer one ends the probe (it cannot be a sane record, and
/// reading it would hold it all in memory).
const MAX_LINE: u64 = 16 << 20;

/// How many bad lines the warnings name.
const LISTED_LINES: usize = 10;

/// Probes a JSON Lines file: always one table.
pub(super) fn probe(file: &SourceFile<'_>, adapter: &str) -> TableProbe {
    let path = file.path.as_str();
    let mut input = match Input::open(file) {
        Ok(input) => input,
        Err(e) => return unreadable(path, adapter, &e),
    };
    let lines = match read(&mut input, 0) {
        Ok(lines) => lines,
        Err(e) => return unreadable(path, adapter, &e),
    };
    match lines.verdict() {
        Ok((status, warnings)) => lines.scan.table(path, adapter, status, warnings),
        Err(reason) => TableProbe::failed(path, adapter, TableStatus::Error, reason),
    }
}

/// The first `rows` good lines as rows.
///
/// # Errors
/// [`AdapterError::Io`] when the file cannot be read, [`AdapterError::Format`] when no line is a
/// JSON object.
pub(super) fn preview(file: &SourceFile<'_>, rows: usize) -> Result<TablePreview, AdapterError> {
    let path = file.path.as_str();
    let io_error = |source| AdapterError::Io { path: path.to_owned(), source };
    let mut input = Input::open(file).map_err(io_error)?;
    let lines = read(&mut input, rows).map_err(io_error)?;
    lines.verdict().map_err(|message| AdapterError::Format { path: path.to_owned(), message })?;
    Ok(lines.scan.preview(path))
}

/// A scanned JSON Lines file.
struct Lines {
    scan: Scan,
    /// The first bad lines: 1-based number and what is wrong.
    bad: Vec<(u64, String)>,
    bad_count: u64,
}

impl Lines {
    /// Status and warnings, or why the file is `error`.
    fn verdict(&self) -> Result<(TableStatus, Vec<String>), String> {
        let listed = || self.bad.iter().map(|(n, why)| format!("line {n}: {why}"));
        if self.bad_count == 0 {
            let status = if self.scan.rows == 0 { TableStatus::Empty } else { TableStatus::Available };
            return Ok((status, vec![]));
        }
        if self.scan.rows == 0 {
            let first = listed().next().unwrap_or_default();
            return Err(format!("no line read is a JSON object ({} bad lines; {first})", self.bad_count));
        }
        let mut warnings: Vec<String> = listed().collect();
        if self.bad_count > self.bad.len() as u64 {
            warnings.push(format!("… {} bad lines in all among those read", self.bad_count));
        }
        Ok((TableStatus::Partial, warnings))
    }

    fn bad_line(&mut self, number: u64, why: String) {
        self.bad_count += 1;
        if self.bad.len() < LISTED_LINES {
            self.bad.push((number, why));
        }
    }
}

/// Reads lines until the end or the budget, keeping the first `keep` objects whole.
///
/// # Errors
/// The I/O error of reading or decompressing the file.
fn read(input: &mut Input, keep: usize) -> std::io::Result<Lines> {
    let mut lines = Lines { scan: Scan::default(), bad: vec![], bad_count: 0 };
    let mut buf = Vec::new();
    let mut number = 0u64;
    let complete = loop {
        let keeping = lines.scan.kept.len() < keep;
        if (Input::budget_spent(&input.consumed) && !keeping) || input.consumed.load(Ordering::Relaxed) >= PREVIEW_BYTES
        {
            break false;
        }
        buf.clear();
        let n = (&mut input.reader).take(MAX_LINE).read_until(b'\n', &mut buf)?;
        if n == 0 {
            break true;
        }
        number += 1;
        if n as u64 == MAX_LINE && !buf.ends_with(b"\n") {
            lines.bad_line(number, format!("longer than {} MiB; the probe stopped here", MAX_LINE >> 20));
            break false;
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_slice(text);
        let element = ElementSeed { keep: keeping }.deserialize(&mut de).and_then(|element| de.end().map(|()| element));
        match element {
            Ok(Element::Object(shape, values)) => lines.scan.add_object(shape, values),
            Ok(Element::Other(kind)) => lines.bad_line(number, format!("{} is not a JSON object", describe(kind))),
            Err(e) => lines.bad_line(number, format!("{} at column {}", message(&e), e.column())),
        }
    };
    lines.scan.finish(complete, input);
    Ok(lines)
}

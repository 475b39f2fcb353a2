//! The probe of a JSON file: the records of its first MiB, read by the same record reader parse
//! uses, so the columns and types it reports are the ones parse finds.
//!
//! Status: a file whose records are all rows is `available`; when some records are bad,
//! `partial` (each bad one named, up to [`LISTED`]), unless no line of a JSON Lines file or
//! most elements of an array are bad: then `error`. A blank file or an empty array is `empty`; a broken document is `error`.

use std::collections::HashMap;

use dat_contracts::{ColumnInfo, TableProbe, TableStatus};

use super::records::{Format, Record, Records};
use super::{Input, PROBE_BYTES};
use crate::sink::ReadError;
use crate::typing::TypeTally;
use crate::{ReadOptions, SourceFile};

/// How many bad records the warnings name.
const LISTED: usize = 10;

/// Probes one JSON file: always one table.
pub(super) fn probe(file: &SourceFile<'_>, adapter: &str, format: Format, options: &ReadOptions) -> TableProbe {
    let path = file.path.as_str();
    let failed = |reason: String| TableProbe::failed(path, adapter, TableStatus::Error, reason);
    let mut input = match Input::open(file) {
        Ok(input) => input,
        Err(e) => return failed(format!("cannot read the file: {e}")),
    };
    let consumed = input.consumed.clone();
    let mut records = Records::new(&mut *input.reader, format, options.record_cap, options.max_columns, path);
    let mut columns = ColumnSet::default();
    let (mut bad, mut bad_count) = (Vec::new(), 0u64);
    let complete = loop {
        if consumed.load(std::sync::atomic::Ordering::Relaxed) >= PROBE_BYTES {
            break false;
        }
        match records.next() {
            Ok(None) => break true,
            Ok(Some(Record::Row { fields, .. })) => {
                columns.add_row(fields.iter().map(|f| (f.key.to_string(), f.dtype)))
            }
            Ok(Some(Record::Bad { number, reason, .. })) => {
                bad_count += 1;
                if bad.len() < LISTED {
                    bad.push(match format {
                        Format::Lines => format!("line {number}: {reason}"),
                        Format::Document => reason,
                    });
                }
            }
            Err(ReadError::Format { message, .. }) => return failed(message),
            Err(e) => return failed(e.to_string()),
        }
    };
    let in_array = records.in_array();
    drop(records);
    let rows = columns.rows;
    let estimate = if complete { rows } else { input.estimate(rows) };
    let listed = bad.len() as u64;
    let (status, mut warnings) = match (rows, bad_count) {
        (0, 0) if format == Format::Document && !in_array => {
            (TableStatus::Empty, vec!["the file holds no JSON value".to_owned()])
        }
        (0, 0) => (TableStatus::Empty, vec![]),
        (_, 0) => (TableStatus::Available, vec![]),
        // JSON Lines: any good line makes the file a table; an array: most elements must be.
        (rows, bad_count) if rows > bad_count || (format == Format::Lines && rows > 0) => (TableStatus::Partial, bad),
        (rows, bad_count) => {
            let what = match format {
                Format::Lines => "lines",
                Format::Document => "elements",
            };
            let first = bad.first().map_or(String::new(), |b| format!("; {b}"));
            return failed(format!(
                "most records are not JSON objects: {bad_count} of the {} {what} read are bad{first}",
                rows + bad_count
            ));
        }
    };
    if bad_count > listed && status == TableStatus::Partial {
        warnings.push(format!("… {bad_count} bad records in all among those read"));
    }
    TableProbe {
        columns: columns.infos(),
        row_estimate: Some(estimate),
        row_count_exact: complete,
        warnings,
        error: None,
        ..TableProbe::failed(path, adapter, status, "")
    }
}

/// The union of the keys of the rows read, in first-seen order, each with its type tally.
#[derive(Default)]
struct ColumnSet {
    columns: Vec<(String, TypeTally)>,
    index: HashMap<String, usize>,
    /// Rows that held each column, to tell which columns some row lacked (those are nullable).
    present: Vec<u64>,
    rows: u64,
}

impl ColumnSet {
    /// Adds one row's keys and types.
    fn add_row(&mut self, shape: impl Iterator<Item = (String, dat_contracts::ColumnType)>) {
        self.rows += 1;
        for (name, kind) in shape {
            let i = match self.index.get(&name) {
                Some(&i) => i,
                None => {
                    self.index.insert(name.clone(), self.columns.len());
                    self.columns.push((name, TypeTally::default()));
                    self.present.push(0);
                    self.columns.len() - 1
                }
            };
            if let (Some((_, tally)), Some(present)) = (self.columns.get_mut(i), self.present.get_mut(i)) {
                tally.observe(kind);
                *present += 1;
            }
        }
    }

    /// Columns in first-seen order; a column some row lacked is nullable.
    fn infos(&self) -> Vec<ColumnInfo> {
        self.columns
            .iter()
            .zip(&self.present)
            .map(|((name, tally), &present)| {
                let mut tally = *tally;
                if present < self.rows {
                    tally.mark_null();
                }
                tally.info(name.as_str())
            })
            .collect()
    }
}

//! One large file read in byte ranges at once, each range into a checkpoint folder of its own,
//! then gathered into the table's one checkpoint: parts and rejects renumbered in range order,
//! so that the table's rows are in file order as one read would give them.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use dat_contracts::bundle::{FailureCode, RowAccount};
use dat_readers::typing::widen;
use dat_readers::{read_table_range, Adapter, ByteRange, ReadEnd, ReadError, ReadOptions, SourceFile};

use super::checkpoint::{
    encoded_part_file, failure, not_read, part_file, reject_file, written_part_file, NotRead, Reading, TableCheckpoint,
    REJECT_SAMPLES,
};
use super::encoded::{Source, ENCODE_RANGE_FROM_ROWS};
use super::sink::PartSink;

/// Reads the `ranges` of one file, `reading.readers` at a time (each reader takes the next range
/// when it is done with one), each into its own folder under `dir`, then gathers them into one
/// checkpoint in `dir`: parts and rejects renumbered in range order, so the table's rows are in
/// file order as one read would give them.
pub(super) fn read_ranges(
    reading: &Reading<'_>,
    adapter: &dyn Adapter,
    (file, source): (&SourceFile<'_>, Source<'_>),
    ranges: &[ByteRange],
    options: &ReadOptions,
    dir: &Path,
) -> Result<(ReadEnd, TableCheckpoint), NotRead> {
    type RangeRead = (Result<ReadEnd, ReadError>, Result<TableCheckpoint, String>);
    let path = file.path.as_str();
    let range_dir = |range: &ByteRange| dir.join(format!("range-{:03}", range.index));
    let read_one = |range: &ByteRange| -> RangeRead {
        let folder = range_dir(range);
        if let Err(e) = fs::create_dir_all(&folder) {
            let message = format!("{path}: cannot create a checkpoint folder: {e}");
            return (Err(ReadError::Stopped), Err(message));
        }
        let source = Source { from_rows: ENCODE_RANGE_FROM_ROWS, ..source };
        PartSink::run(&folder, reading, source, |sink| read_table_range(adapter, file, range, options, sink))
    };
    let next = AtomicUsize::new(0);
    let read: Option<Vec<(usize, RangeRead)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..reading.readers.clamp(1, ranges.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut read = vec![];
                    while let Some(range) = ranges.get(next.fetch_add(1, Ordering::Relaxed)) {
                        read.push((range.index, read_one(range)));
                    }
                    read
                })
            })
            .collect();
        // A reader that panicked took the ranges it had read with it: the table is lost.
        handles
            .into_iter()
            .map(|h| h.join().ok())
            .collect::<Option<Vec<_>>>()
            .map(|r| r.into_iter().flatten().collect())
    });
    let Some(mut results) = read else {
        let message = "the range reader failed".to_owned();
        return Err(not_read(ReadError::Panicked { path: path.to_owned(), message }, None, reading));
    };
    results.sort_by_key(|(index, _)| *index);
    let mut end = ReadEnd { accounting: Some(RowAccount::new("lines", 0)), ..ReadEnd::default() };
    let mut whole: Option<TableCheckpoint> = None;
    for (range, (_, (read, written))) in ranges.iter().zip(results) {
        let read = read.map_err(|e| not_read(e, written.as_ref().err().cloned(), reading))?;
        let mut part = written.map_err(|e| failure(FailureCode::Io, e))?;
        let offset = whole.as_ref().map_or((0, 0), |w| (w.parts.len(), w.reject_parts));
        let from = range_dir(range);
        let moved = (0..part.parts.len())
            .map(|i| {
                let written = written_part_file(&from, i);
                let encoded = written.extension().is_some_and(|e| e == "parquet");
                let to = if encoded { encoded_part_file(dir, offset.0 + i) } else { part_file(dir, offset.0 + i) };
                fs::rename(written, to)
            })
            .chain((0..part.reject_parts).map(|i| fs::rename(reject_file(&from, i), reject_file(dir, offset.1 + i))))
            .collect::<std::io::Result<()>>();
        moved.and_then(|()| fs::remove_dir(&from)).map_err(|e| failure(FailureCode::Io, format!("{path}: {e}")))?;
        if let (Some(total), Some(account)) = (end.accounting.as_mut(), read.accounting) {
            total.read += account.read;
            account.skipped.iter().for_each(|(reason, n)| total.skip(reason, *n));
        }
        end.warnings.extend(read.warnings);
        end.footer = read.footer;
        match whole.as_mut() {
            None => whole = Some(part),
            Some(total) => total.append(&mut part),
        }
    }
    let whole = whole.ok_or_else(|| failure(FailureCode::Io, format!("{path}: no range was read")))?;
    Ok((end, whole))
}

impl TableCheckpoint {
    /// Adds the checkpoint of the range that follows this one's (its parts already renumbered).
    fn append(&mut self, next: &mut TableCheckpoint) {
        for (name, dtype) in &next.columns {
            match self.columns.iter_mut().find(|(n, _)| n == name) {
                Some((_, known)) => *known = widen(*known, *dtype),
                None => self.columns.push((name.clone(), *dtype)),
            }
        }
        self.rows += next.rows;
        self.parts.append(&mut next.parts);
        for (name, n) in &next.nulls {
            *self.nulls.entry(name.clone()).or_default() += n;
        }
        self.rejects += next.rejects;
        self.reject_parts += next.reject_parts;
        let room = REJECT_SAMPLES.saturating_sub(self.reject_samples.len());
        self.reject_samples.extend(next.reject_samples.drain(..).take(room));
        self.warnings.append(&mut next.warnings);
        for (name, rules) in &next.rules {
            self.rules.entry(name.clone()).or_insert(*rules);
        }
        self.from_text.append(&mut next.from_text);
        for (name, n) in &next.rounded {
            *self.rounded.entry(name.clone()).or_default() += n;
        }
        for (name, firsts) in &mut next.firsts {
            let known = self.firsts.entry(name.clone()).or_default();
            for first in firsts.drain(..) {
                if !known.iter().any(|f| f.dtype == first.dtype) {
                    known.push(first);
                }
            }
        }
    }
}

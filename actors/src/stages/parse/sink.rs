//! The sink a table is read into: chunks go to a writer thread that turns each into a
//! checkpoint part (encoded where large, see `encoded`) while the reader reads the next (at most one chunk in hand on each side, so
//! memory stays bounded by the chunk limits), and rejects are written as they come in parts of
//! [`REJECTS_PER_PART`], with only the first few kept in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use dat_readers::typing::widen;
use dat_readers::{Chunk, ReadEnd, ReadError, Reject, Sink, Stop, TextValues, Values};
use polars::prelude::*;

use super::checkpoint::{
    encoded_part_file, part_file, reject_file, FirstCell, Reading, TableCheckpoint, REJECT_SAMPLES,
};
use super::encoded::{self, encodable, Source};
use super::part;

/// Rejects written per reject part.
const REJECTS_PER_PART: usize = 10_000;

/// Where the reader hands its chunks and rejects.
pub(crate) struct PartSink<'a> {
    chunks: SyncSender<Chunk>,
    rejects: RejectWriter<'a>,
    should_stop: &'a (dyn Fn() -> bool + Sync),
}

impl Sink for PartSink<'_> {
    fn chunk(&mut self, chunk: Chunk) -> Result<(), Stop> {
        if (self.should_stop)() {
            return Err(Stop);
        }
        // A writer that failed has dropped its end: the read stops, the writer's error is kept.
        self.chunks.send(chunk).map_err(|_| Stop)
    }

    fn reject(&mut self, reject: Reject) -> Result<(), Stop> {
        self.rejects.push(reject).map_err(|_| Stop)
    }
}

impl PartSink<'_> {
    /// Runs `read` with a sink writing the parts of `source`'s table into `dir`; returns how
    /// the read ended and the table's checkpoint as written (or why writing failed).
    pub(crate) fn run(
        dir: &Path,
        reading: &Reading<'_>,
        source: Source<'_>,
        read: impl FnOnce(&mut dyn Sink) -> Result<ReadEnd, ReadError>,
    ) -> (Result<ReadEnd, ReadError>, Result<TableCheckpoint, String>) {
        std::thread::scope(|scope| {
            // Rendezvous: the reader builds the next chunk while the writer writes this one.
            let (chunks, received) = sync_channel::<Chunk>(0);
            let writer = scope.spawn(move || write_parts(dir, received, source, reading.on_chunk));
            let mut sink = PartSink { chunks, rejects: RejectWriter::new(dir), should_stop: reading.should_stop };
            let read = read(&mut sink);
            let PartSink { chunks, rejects, .. } = sink;
            drop(chunks);
            let rejects = rejects.finish();
            let parts = writer.join().unwrap_or_else(|_| Err("the part writer failed".to_owned()));
            let checkpoint = parts.and_then(|mut checkpoint| {
                let (count, reject_parts, samples) = rejects?;
                checkpoint.rejects = count;
                checkpoint.reject_parts = reject_parts;
                checkpoint.reject_samples = samples;
                Ok(checkpoint)
            });
            (read, checkpoint)
        })
    }
}

/// Writes each chunk received as a part (encoded where [`encodable`], else raw); the table's
/// columns, types and nulls as it goes.
fn write_parts(
    dir: &Path,
    chunks: Receiver<Chunk>,
    source: Source<'_>,
    on_chunk: &(dyn Fn(u64) + Sync),
) -> Result<TableCheckpoint, String> {
    let mut checkpoint = TableCheckpoint {
        table_id: String::new(),
        columns: vec![],
        rows: 0,
        parts: vec![],
        nulls: BTreeMap::new(),
        rejects: 0,
        reject_parts: 0,
        reject_samples: vec![],
        warnings: vec![],
        sha256: String::new(),
        rules: BTreeMap::new(),
        firsts: BTreeMap::new(),
        accounting: None,
        footer: vec![],
        from_text: BTreeSet::new(),
        rounded: BTreeMap::new(),
        part_bytes: vec![],
        reject_bytes: vec![],
    };
    for mut chunk in chunks {
        for (name, values) in chunk.names.iter().zip(&mut chunk.columns) {
            let dtype = values.column_type();
            match checkpoint.columns.iter_mut().find(|(n, _)| n == name) {
                Some((_, known)) => *known = widen(*known, dtype),
                None => {
                    // A key first met in this chunk (JSON): null in every row before it.
                    *checkpoint.nulls.entry(name.clone()).or_default() += checkpoint.rows;
                    checkpoint.columns.push((name.clone(), dtype));
                }
            }
            *checkpoint.nulls.entry(name.clone()).or_default() += values.null_count() as u64;
            if let Values::Text(text) = values {
                note_text_column(&mut checkpoint, name, text, &chunk.source_rows);
                note_typed(&mut checkpoint, name, text);
            }
        }
        let rows = chunk.rows() as u64;
        if encodable(&chunk, source.from_rows) {
            encoded::write(&encoded_part_file(dir, checkpoint.parts.len()), chunk, source)?;
        } else {
            // Read once more, by assembly only: written as read, no encoding.
            chunk.columns.iter_mut().for_each(settle);
            let path = part_file(dir, checkpoint.parts.len());
            part::write(&path, &chunk).map_err(|e| format!("cannot write a checkpoint part: {e}"))?;
        }
        checkpoint.rows += rows;
        checkpoint.parts.push(rows);
        on_chunk(rows);
    }
    Ok(checkpoint)
}

/// Notes a text column typed as it was read as typed from text, so that a dataset keeping it as
/// text reads its text again (`recall`), with the ints it holds only rounded.
fn note_typed(checkpoint: &mut TableCheckpoint, name: &str, text: &TextValues) {
    if text.is_typed() {
        checkpoint.from_text.insert(name.to_owned());
        if text.rounded() > 0 {
            *checkpoint.rounded.entry(name.to_owned()).or_default() += text.rounded();
        }
    }
}

/// A typed text column as its values (read as the cells were typed), not its text, for a raw
/// part: the part is smaller than the input and no cell is parsed again (an encoded part takes
/// the values as they are).
fn settle(values: &mut Values) {
    let Values::Text(text) = values else { return };
    if text.is_typed() {
        *values = match std::mem::take(text).into_typed() {
            Ok((typed, _)) => typed,
            Err(text) => Values::Text(*text),
        };
    }
}

/// Keeps what a text column's chunk says about its type: the rules it was typed by, and the
/// first cell of each type it took.
fn note_text_column(checkpoint: &mut TableCheckpoint, name: &str, text: &TextValues, source_rows: &[u64]) {
    if !text.rules().is_plain() {
        checkpoint.rules.entry(name.to_owned()).or_insert(text.rules());
    }
    let known = checkpoint.firsts.entry(name.to_owned()).or_default();
    for (dtype, index, value) in text.firsts() {
        if !known.iter().any(|f| f.dtype == dtype) {
            let line = source_rows.get(index).copied().unwrap_or(0);
            known.push(FirstCell { dtype, line, value: value.chars().take(100).collect() });
        }
    }
}

/// Rejects written in parts as they come; the first [`REJECT_SAMPLES`] kept.
struct RejectWriter<'a> {
    dir: &'a Path,
    pending: Vec<Reject>,
    count: u64,
    parts: usize,
    samples: Vec<Reject>,
    failed: Option<String>,
}

impl<'a> RejectWriter<'a> {
    fn new(dir: &'a Path) -> Self {
        RejectWriter { dir, pending: vec![], count: 0, parts: 0, samples: vec![], failed: None }
    }

    fn push(&mut self, reject: Reject) -> Result<(), String> {
        self.count += 1;
        if self.samples.len() < REJECT_SAMPLES {
            self.samples.push(reject.clone());
        }
        self.pending.push(reject);
        if self.pending.len() >= REJECTS_PER_PART {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let rejects = std::mem::take(&mut self.pending);
        let written = write_rejects(&reject_file(self.dir, self.parts), &rejects);
        if let Err(e) = written {
            let message = format!("cannot write rejects: {e}");
            self.failed = Some(message.clone());
            return Err(message);
        }
        self.parts += 1;
        Ok(())
    }

    /// Writes what is left; the count, the number of parts and the samples.
    fn finish(mut self) -> Result<(u64, usize, Vec<Reject>), String> {
        self.flush()?;
        Ok((self.count, self.parts, self.samples))
    }
}

fn write_rejects(path: &Path, rejects: &[Reject]) -> PolarsResult<()> {
    let mut frame = DataFrame::new(
        rejects.len(),
        vec![
            Series::new("line".into(), rejects.iter().map(|r| r.line as i64).collect::<Vec<_>>()).into(),
            Series::new("reason".into(), rejects.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>()).into(),
            Series::new("snippet".into(), rejects.iter().map(|r| r.snippet.as_str()).collect::<Vec<_>>()).into(),
        ],
    )?;
    ParquetWriter::new(fs::File::create(path)?).with_compression(ParquetCompression::Lz4Raw).finish(&mut frame)?;
    Ok(())
}

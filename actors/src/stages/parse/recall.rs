//! The text of columns a checkpoint holds as typed values, read again from the source when the
//! dataset keeps them as text (a column that was numbers until `0870A`, in this table or in
//! another): the cells must then be written exactly as the file has them (`1.50`, `+5`), which
//! the values cannot say. Checkpoints stay small for the common case; this rare one costs one
//! more read of that table, on its own thread, chunk by chunk alongside assembly, so memory
//! stays bounded. The read must give the same rows (checked by their source rows) from the same
//! content (checked by its sha256), or assembly fails with the reason.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use dat_contracts::artifacts::SelectedTable;
use dat_readers::{
    read_table, Cell, Chunk, Fingerprint, ReadEnd, ReadError, ReadOptions, Reject, Sink, Stop, TextHints, TextValues,
    Values,
};

use super::assemble::Parsed;
use super::checkpoint::{NotRead, Reading};

/// How a table is read again: the reading of parse, and each table's decided text layout.
pub(crate) struct Reread<'a> {
    pub(crate) reading: &'a Reading<'a>,
    pub(crate) hints: &'a (dyn Fn(&SelectedTable) -> TextHints + Sync),
}

impl Reread<'_> {
    /// Reads `table` as parse read it into `sink` (in one go: the rows and their order are what
    /// ranges give), checking that its content still has the `sha256` it was parsed with.
    fn read(&self, table: &SelectedTable, sha256: &str, sink: &mut dyn Sink) -> Result<ReadEnd, ReadError> {
        let path = table.file.as_str();
        let format = |message: String| ReadError::Format { path: path.to_owned(), message };
        let opened = self.reading.open(table).map_err(|e| match e {
            NotRead::Failed(failure) | NotRead::Panicked(failure) => format(failure.message),
            other => format(format!("{other:?}")),
        })?;
        let options = ReadOptions { text: (self.hints)(table), ..self.reading.options.clone() };
        let fingerprint = Fingerprint::default();
        let source = opened.source(table, Some(&fingerprint));
        let end = read_table(opened.adapter.as_ref(), &source, table.sheet.as_deref(), &options, sink)?;
        let found =
            fingerprint.finish(&opened.disk).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
        if found != sha256 {
            return Err(format(format!(
                "changed after it was parsed (sha256 {found}, parsed as {sha256}): re-lock discovery to read the new content"
            )));
        }
        Ok(end)
    }
}

/// The second read of one table, handing over the text of the recalled columns part by part.
pub(crate) struct Recall {
    chunks: Receiver<Chunk>,
    /// The rows received and not yet handed over.
    held: Option<Chunk>,
}

/// What the second read sends: its chunks, the recalled columns only.
struct RecallSink {
    chunks: SyncSender<Chunk>,
    columns: Vec<String>,
}

impl Sink for RecallSink {
    fn chunk(&mut self, mut chunk: Chunk) -> Result<(), Stop> {
        let (names, columns): (Vec<String>, Vec<Values>) = std::mem::take(&mut chunk.names)
            .into_iter()
            .zip(std::mem::take(&mut chunk.columns))
            .filter(|(name, _)| self.columns.contains(name))
            .unzip();
        self.chunks.send(Chunk { names, columns, source_rows: chunk.source_rows }).map_err(|_| Stop)
    }

    fn reject(&mut self, _: Reject) -> Result<(), Stop> {
        Ok(()) // the checkpoint has them already
    }
}

impl Recall {
    /// Starts reading `parsed`'s table again on a thread of `scope`, for the text of `columns`
    /// (its own names). The handle says how the read ended.
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        parsed: &'env Parsed<'env>,
        columns: Vec<String>,
        reread: &'env Reread<'env>,
    ) -> (Recall, ScopedJoinHandle<'scope, Result<ReadEnd, ReadError>>) {
        let (sender, chunks) = sync_channel(1);
        let handle = scope.spawn(move || {
            let mut sink = RecallSink { chunks: sender, columns };
            reread.read(parsed.table, &parsed.checkpoint.sha256, &mut sink)
        });
        (Recall { chunks, held: None }, handle)
    }

    /// The text of the recalled columns for the next rows, which must be `source_rows`.
    ///
    /// # Errors
    /// The second read ended early or gave other rows: the file is not what was parsed.
    pub(crate) fn take(&mut self, source_rows: &[u64]) -> Result<BTreeMap<String, TextValues>, String> {
        let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        let mut at = 0;
        while at < source_rows.len() {
            let mut chunk = match self.held.take() {
                Some(chunk) => chunk,
                None => self.chunks.recv().map_err(|_| "the second read ended before the rows parsed".to_owned())?,
            };
            let n = chunk.rows().min(source_rows.len() - at);
            if chunk.source_rows.get(..n) != source_rows.get(at..at + n) {
                return Err("the second read gave other rows than parse".to_owned());
            }
            for (name, values) in chunk.names.iter().zip(&chunk.columns) {
                let Values::Text(text) = values else { continue };
                out.entry(name.clone()).or_default().extend(text.iter().take(n).map(|c| c.map(str::to_owned)));
            }
            if n < chunk.rows() {
                chunk.source_rows.drain(..n);
                for values in &mut chunk.columns {
                    if let Values::Text(text) = values {
                        let rest: Vec<Option<String>> = text.iter().skip(n).map(|c| c.map(str::to_owned)).collect();
                        *text = as_text(&rest);
                    }
                }
                self.held = Some(chunk);
            }
            at += n;
        }
        Ok(out.into_iter().map(|(name, cells)| (name, as_text(&cells))).collect())
    }

    /// Checks that the second read has nothing left over.
    ///
    /// # Errors
    /// It gave more rows than parse.
    pub(crate) fn finish(self) -> Result<(), String> {
        let more = self.held.iter().chain(self.chunks.iter().collect::<Vec<_>>().iter()).any(|c| c.rows() > 0);
        if more {
            return Err("the second read gave more rows than parse".to_owned());
        }
        Ok(())
    }
}

/// Cells as text values (strings, kept as they are).
fn as_text(cells: &[Option<String>]) -> TextValues {
    TextValues::from_cells(
        cells.iter().map(|c| c.as_deref().map_or(Cell::Null, |t| Cell::Typed(dat_contracts::ColumnType::String, t))),
    )
}

//! A Parquet file written from Arrow record batches, gathered into row groups of a useful size
//! (500 small files must not give 500 tiny row groups), each row group's columns encoded and
//! compressed on every core at once, while the next row group is gathered, as
//! [`super::encoding`] says (text dictionary-encoded where the first row group shows a
//! dictionary pays). An encoded checkpoint part goes in as a row group of its own, its column
//! chunks copied as they are ([`DatasetFile::splice`]). The file carries the dataset's lineage in
//! its key-value metadata. Nothing in it depends on timing or thread order, so identical input
//! gives identical bytes. Its sha256 is taken as it is written (the export of a linked Parquet
//! dataset need not read it back). The file is on disk when it is finished: it is synced in the
//! background as row groups are written, so that the last sync waits only for the tail.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::{new_null_array, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowSchemaConverter;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::KeyValue;
use parquet::file::writer::SerializedFileWriter;
use sha2::{Digest, Sha256};

use super::encoded::Splice;
use super::encoding::properties;
use super::source_stats::with_statistics;

/// Row groups encoded at once while the next is gathered: with two, a row group's last columns
/// (one core busy) overlap the next one's first (the other core), where one left a core idle at
/// the end of every row group. Memory stays bounded by this many row groups plus one.
const IN_FLIGHT: usize = 2;
/// A row group holds this many rows at most (unless its bytes come first): with two encoding at
/// once, half of the 128 Ki rows one used to hold keeps the rise in memory small (W1 peak RSS
/// 135–144 MiB, 125–128 with one row group at a time, 177 with two of 128 Ki rows), for a file
/// 1% larger.
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// A row group is written once the batches gathered for it hold this many bytes in memory. With
/// [`IN_FLIGHT`] encoding and one gathering, wide rows hold three times this at once: at 32 MiB,
/// 100,000 rows of 2 KB text took `dat run` to 205–219 MiB peak RSS. Narrow tables reach
/// [`ROW_GROUP_ROWS`] first (W1: ~7 MiB), so they are unaffected.
const ROW_GROUP_BYTES: usize = 16 << 20;

/// What was written: rows, and the file's sha256 (lowercase hex).
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) rows: u64,
    pub(crate) sha256: String,
}

/// The file's writer: what is written is gathered in pieces of [`PIECE`], each written to the
/// file and then handed, as it is, to a thread of its own that hashes it (when encoded parts
/// are spliced in, writing is a copy, and hashing on the writing thread doubled its time, W1:
/// 0.11 s of 0.25 at the end of the run, with the other core idle). The piece is its own
/// buffer: a buffered writer in front copied every byte once more (W1: 137 MB).
struct Hashing {
    file: File,
    piece: Vec<u8>,
    /// Full pieces, to the hashing thread (a few in flight at most).
    pieces: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Pieces hashed, back for reuse.
    hashed: std::sync::mpsc::Receiver<Vec<u8>>,
    hasher: Option<std::thread::JoinHandle<Sha256>>,
}

/// Bytes gathered before they are written and hashed.
const PIECE: usize = 1 << 20;

impl Hashing {
    fn new(file: File) -> std::io::Result<Self> {
        let (pieces, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (back, hashed) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let hasher = std::thread::Builder::new().name("dat-dataset-sha256".into()).spawn(move || {
            let mut hasher = Sha256::new();
            for mut piece in received {
                hasher.update(&piece);
                piece.clear();
                let _ = back.try_send(piece);
            }
            hasher
        })?;
        Ok(Hashing { file, piece: Vec::with_capacity(PIECE), pieces: Some(pieces), hashed, hasher: Some(hasher) })
    }

    /// Writes the piece gathered and hands it to the hashing thread.
    fn write_piece(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.piece)?;
        let next = self.hashed.try_recv().unwrap_or_else(|_| Vec::with_capacity(PIECE));
        let piece = std::mem::replace(&mut self.piece, next);
        let sent = self.pieces.as_ref().is_some_and(|pieces| pieces.send(piece).is_ok());
        if !sent {
            return Err(std::io::Error::other("the dataset's hashing thread stopped"));
        }
        Ok(())
    }

    /// Writes what is left; the file, and the sha256 (lowercase hex) of all that was written.
    fn finish(mut self) -> Result<(File, String)> {
        self.write_piece()?;
        self.pieces = None;
        let hasher = self.hasher.take().map(std::thread::JoinHandle::join);
        match hasher {
            Some(Ok(hasher)) => Ok((self.file, dat_readers::typing::hex(&hasher.finalize()))),
            _ => Err(ParquetError::General("the dataset's hashing thread stopped".into())),
        }
    }
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = PIECE.saturating_sub(self.piece.len()).max(1);
        let taken = buf.get(..room).unwrap_or(buf);
        self.piece.extend_from_slice(taken);
        if self.piece.len() >= PIECE {
            self.write_piece()?;
        }
        Ok(taken.len())
    }

    /// Written pieces are the file's: nothing is flushed before a piece is full or the file
    /// finished (the writer flushes at every row group, which would cut pieces short).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where row groups go: the bare file until the first row group is gathered (its values decide
/// how text columns are encoded), then the Parquet writer over it.
enum Output {
    Waiting { file: Hashing, metadata: Vec<KeyValue> },
    Writing { writer: Box<SerializedFileWriter<Hashing>>, factory: ArrowRowGroupWriterFactory },
}

/// The file being written.
pub(crate) struct DatasetFile {
    /// `None` only after a failed start.
    output: Option<Output>,
    schema: SchemaRef,
    /// Batches gathered for the next row group, their rows and bytes.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    row_groups: usize,
    rows: u64,
    /// Threads a row group is encoded on.
    threads: usize,
    /// The row groups being encoded while the next one is gathered (at most [`IN_FLIGHT`]), in
    /// file order, with their rows.
    encoding: VecDeque<(std::thread::JoinHandle<Result<Vec<ArrowColumnChunk>>>, usize)>,
    /// Syncs what is written so far, in the background.
    writeback: Writeback,
}

impl DatasetFile {
    /// Creates the file at `path` for batches of `schema`, with `metadata` (key, value) pairs.
    ///
    /// # Errors
    /// The file cannot be created, or the schema has no Parquet equivalent.
    pub(crate) fn create(path: &Path, schema: SchemaRef, metadata: Vec<(String, String)>) -> Result<Self> {
        ArrowSchemaConverter::new().convert(&schema)?;
        let inner = File::create(path)?;
        let writeback = Writeback::start(inner.try_clone()?)?;
        let file = Hashing::new(inner)?;
        let metadata = metadata.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(DatasetFile {
            output: Some(Output::Waiting { file, metadata }),
            schema,
            pending: vec![],
            pending_rows: 0,
            pending_bytes: 0,
            row_groups: 0,
            rows: 0,
            threads,
            encoding: VecDeque::new(),
            writeback,
        })
    }

    /// The Parquet writer and its column writers' factory, created from the first row group's
    /// batches (`pending`) when not yet.
    fn started(&mut self) -> Result<(&mut SerializedFileWriter<Hashing>, &ArrowRowGroupWriterFactory)> {
        let output = match self.output.take() {
            Some(Output::Waiting { file, metadata }) => {
                let properties = Arc::new(properties(&self.schema, metadata, &self.pending)?);
                let parquet_schema = ArrowSchemaConverter::new().convert(&self.schema)?;
                let writer = SerializedFileWriter::new(file, parquet_schema.root_schema_ptr(), properties)?;
                let factory = ArrowRowGroupWriterFactory::new(&writer, self.schema.clone());
                Output::Writing { writer: Box::new(writer), factory }
            }
            Some(writing) => writing,
            None => return Err(ParquetError::General("the dataset file failed to start".into())),
        };
        match self.output.insert(output) {
            Output::Writing { writer, factory } => Ok((&mut **writer, factory)),
            Output::Waiting { .. } => Err(ParquetError::General("the dataset file did not start".into())),
        }
    }

    /// Adds a batch; a row group is encoded once enough are gathered.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub(crate) fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.pending_rows += batch.num_rows();
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
        if self.pending_rows >= ROW_GROUP_ROWS || self.pending_bytes >= ROW_GROUP_BYTES {
            self.encode_row_group()?;
        }
        Ok(())
    }

    /// Adds an encoded part as a row group of its own, after what is gathered: its column
    /// chunks copied as they are, nulls encoded for the columns its table lacks.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub(crate) fn splice(&mut self, part: &Splice) -> Result<()> {
        self.encode_row_group()?;
        while !self.encoding.is_empty() {
            self.append_encoded()?;
        }
        let (row_group, rows, schema) = (self.row_groups, part.rows(), self.schema.clone());
        let (writer, factory) = self.started()?;
        // Column writers only for the columns the part lacks (the nulls).
        let mut writers: Vec<Option<ArrowColumnWriter>> = if part.columns.iter().any(Option::is_none) {
            factory.create_column_writers(row_group)?.into_iter().map(Some).collect()
        } else {
            vec![]
        };
        let descriptors = writer.schema_descr().columns().to_vec();
        let mut group = writer.next_row_group()?;
        for (index, column) in part.columns.iter().enumerate() {
            let missing = || ParquetError::General("a column past the schema".into());
            match column {
                Some(j) => {
                    let descr = descriptors.get(index).cloned().ok_or_else(missing)?;
                    group.append_column(part.bytes(), part.column(*j, descr)?)?;
                }
                None => {
                    let mut writer = writers.get_mut(index).and_then(Option::take).ok_or_else(missing)?;
                    let field = schema.field(index);
                    for leaf in compute_leaves(field, &new_null_array(field.data_type(), rows))? {
                        writer.write(&leaf)?;
                    }
                    writer.close()?.append_to_row_group(&mut group)?;
                }
            }
        }
        group.close()?;
        self.row_groups += 1;
        self.rows += rows as u64;
        self.writeback.nudge();
        Ok(())
    }

    /// Writes what is gathered and the footer; returns the rows written and the file's sha256.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub(crate) fn finish(mut self) -> Result<Written> {
        self.encode_row_group()?;
        while !self.encoding.is_empty() {
            self.append_encoded()?;
        }
        self.started()?;
        let Some(Output::Writing { writer, .. }) = self.output else {
            return Err(ParquetError::General("the dataset file did not start".into()));
        };
        let (file, sha256) = writer.into_inner()?.finish()?;
        self.writeback.finish()?;
        file.sync_data()?;
        Ok(Written { rows: self.rows, sha256 })
    }

    /// Starts encoding the gathered batches as one row group, on threads of its own, once fewer
    /// than [`IN_FLIGHT`] row groups before it are still encoding.
    fn encode_row_group(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        while self.encoding.len() >= IN_FLIGHT {
            self.append_encoded()?;
        }
        let row_group = self.row_groups;
        let writers = self.started()?.1.create_column_writers(row_group)?;
        let batches = std::mem::take(&mut self.pending);
        let (schema, threads) = (self.schema.clone(), self.threads);
        let handle = std::thread::spawn(move || encode(writers, &schema, &batches, threads));
        self.encoding.push_back((handle, self.pending_rows));
        self.row_groups += 1;
        self.pending_rows = 0;
        self.pending_bytes = 0;
        Ok(())
    }

    /// Appends the oldest row group being encoded, if any, in column order.
    fn append_encoded(&mut self) -> Result<()> {
        let Some((handle, rows)) = self.encoding.pop_front() else { return Ok(()) };
        let chunks = handle.join().map_err(|_| ParquetError::General("a column encoder stopped".into()))??;
        let mut row_group = self.started()?.0.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.rows += rows as u64;
        self.writeback.nudge();
        Ok(())
    }
}

/// A thread that syncs the file whenever asked (one request waits at most; more are one), so
/// that its pages go to disk while later row groups encode. Without it they all went at the
/// end: W1's 137 MB dataset took 70 ms to sync once the work was done. A failed sync is kept
/// and reported by [`Writeback::finish`]: after a write error, a later sync may not report it
/// again, so a file is never called durable on the strength of a sync after a failed one.
struct Writeback {
    asks: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Writeback {
    /// Starts the thread over `file` (a handle of the file being written).
    fn start(file: File) -> std::io::Result<Self> {
        let (asks, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new().name("dat-dataset-sync".into()).spawn(move || {
            for () in asked {
                file.sync_data()?;
            }
            Ok(())
        })?;
        Ok(Writeback { asks: Some(asks), thread: Some(thread) })
    }

    /// Asks for a sync of what is written so far, unless one is already waiting to start.
    fn nudge(&self) {
        if let Some(asks) = &self.asks {
            let _ = asks.try_send(());
        }
    }

    /// Stops the thread once its last sync is done.
    ///
    /// # Errors
    /// A sync failed.
    fn finish(&mut self) -> Result<()> {
        self.asks = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(synced)) => Ok(synced?),
            Some(Err(_)) => Err(ParquetError::General("the dataset's sync thread stopped".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Writeback {
    /// A file given up (an error, a stop) does not leave its sync thread behind.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Encodes every column of `batches` with its writer, `threads` columns at a time.
fn encode(
    writers: Vec<ArrowColumnWriter>,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    threads: usize,
) -> Result<Vec<ArrowColumnChunk>> {
    let writers: Vec<Mutex<Option<ArrowColumnWriter>>> = writers.into_iter().map(|w| Mutex::new(Some(w))).collect();
    let chunks: Vec<Mutex<Option<Result<ArrowColumnChunk>>>> = writers.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(writers.len()) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = writers.get(index) else { break };
                let Some(writer) = slot.lock().ok().and_then(|mut w| w.take()) else { break };
                let chunk = encode_column(writer, schema, index, batches);
                if let Some(mut out) = chunks.get(index).and_then(|c| c.lock().ok()) {
                    *out = Some(chunk);
                }
            });
        }
    });
    chunks
        .into_iter()
        .map(|chunk| {
            chunk
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(ParquetError::General("a column encoder stopped".into())))
        })
        .collect()
}

/// Column `index` of every batch through `writer`, with the statistics dat computes itself
/// where it does (see [`super::source_stats`]).
pub(crate) fn encode_column(
    mut writer: ArrowColumnWriter,
    schema: &SchemaRef,
    index: usize,
    batches: &[RecordBatch],
) -> Result<ArrowColumnChunk> {
    let field = schema.field(index);
    for batch in batches {
        for leaf in compute_leaves(field, batch.column(index))? {
            writer.write(&leaf)?;
        }
    }
    with_statistics(writer.close()?, batches, index)
}

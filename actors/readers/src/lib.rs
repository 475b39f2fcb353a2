//! dat's readers: one adapter per file format, each owning three things: `probe` (what tables a
//! file holds, reading only what it must), `read` (every row of a table, in bounded chunks
//! handed to a [`Sink`], with rejects) and `preview` (the first rows, by reading). The
//! registry picks the adapter by extension (case ignored; `.gz`/`.zst` on text formats means
//! compressed). Parse and the stages never know which format they read.
//!
//! What this crate must never do: hold a whole file in memory (every buffer content can grow has
//! a limit in [`ReadOptions`]), panic on a file's bytes, or change a value silently (what cannot
//! be kept as read is a reject or a counted warning). An adapter never fails a whole run: a file
//! it cannot read becomes one table with status `error` and the reason. [`probe_file`],
//! [`read_table`] and [`preview_table`] add the last line of defence: a missing file is
//! `missing`, and a reader that panics anyway is caught and reported as that table's error.
//!
//! # Layout
//! - [`typing`]: the one set of cell rules (nulls, numbers, dates, widening) probe and parse share.
//! - [`chunk`]: [`Cell`], [`Chunk`] and [`ChunkBuilder`]: rows as readers hand them over.
//! - `typed`: a chunk column's values, read as each cell is typed.
//! - `deferred`: the text of typed cells, written back from their values when it is needed.
//! - [`sink`]: [`Sink`], [`Reject`], [`ReadEnd`], [`ReadError`].
//! - [`options`]: [`ReadOptions`], the chunk sizes and limits.
//! - [`source`]: [`SourceFile`], compression, and the [`Fingerprint`] taken while reading.
//! - [`split`]: [`ByteRange`], one large file read on several cores.
//! - [`stamp`]: a file's change stamp, and when it vouches for what was read of it.
//! - `preview`: the first rows of a table, read through a sink that stops.
//! - `text`, `json`, `excel`, `parquet`: the adapters by format.
//! - [`profile`]: [`profile::ProfileAdapter`], JSON files read by an extraction profile.
#![forbid(unsafe_code)]

pub mod chunk;
mod deferred;
mod excel;
#[cfg(test)]
mod fuzz;
mod json;
pub mod options;
mod parquet;
mod preview;
pub mod profile;
pub mod sink;
mod source;
pub mod split;
pub mod stamp;
#[cfg(test)]
mod testing;
mod text;
mod typed;
pub mod typing;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use dat_contracts::{TablePreview, TableProbe, TableStatus};
use serde::Serialize;

pub use chunk::{Cell, Chunk, ChunkBuilder, TextValues, Values};
pub use options::{ReadOptions, TextHints};
pub use sink::{ReadEnd, ReadError, Reject, Sink, Stop};
pub use source::{ByteCount, Compression, Counting, Fingerprint, SourceFile};
pub use split::{ByteRange, RANGES};
pub use typed::DenseValues;

/// One file format.
pub trait Adapter: Send + Sync {
    /// Stable id, e.g. `csv`, `excel`, `json`, `jsonl`, `parquet`.
    fn id(&self) -> &'static str;
    /// Lower-case extensions without the dot, e.g. `["csv", "tsv", "txt"]`.
    fn extensions(&self) -> &'static [&'static str];
    /// Whether `.gz`/`.zst` variants of these extensions are read.
    fn compressible(&self) -> bool;
    /// One line for `GET /api/dat/adapters`.
    fn description(&self) -> &'static str;
    /// Every table of the file. Never fails: problems become `error`/`partial` tables. A table
    /// is `available` only if [`Adapter::read`] can read it.
    fn probe(&self, file: &SourceFile<'_>, options: &ReadOptions) -> Vec<TableProbe>;
    /// Reads every row of one table (`table` names a sheet; `None` for single-table files) into
    /// `sink`, in chunks of at most `options.chunk_rows` rows and `options.chunk_bytes` bytes.
    ///
    /// # Errors
    /// [`ReadError`] when the table cannot be read on (what was handed over stays valid), or
    /// [`ReadError::Stopped`] when the sink stopped.
    fn read(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError>;
    /// Byte ranges of a large file that can be read at the same time, in order, each a whole
    /// number of records ([`split`]); `None` (the default) to read it in one go. `parts` is how
    /// many the caller wants. It never feeds the file's fingerprint: a caller that splits
    /// hashes the file on its own.
    ///
    /// # Errors
    /// [`ReadError`] when the file cannot be read.
    fn split(
        &self,
        _file: &SourceFile<'_>,
        _table: Option<&str>,
        _options: &ReadOptions,
        _parts: usize,
    ) -> Result<Option<Vec<ByteRange>>, ReadError> {
        Ok(None)
    }

    /// Does ahead of time, on the calling thread only, the work a later [`Adapter::split`] of
    /// this file into `parts` would do, so that the split finds it done while the file is
    /// unchanged: discovery calls it on the core its hashing of a large file leaves idle.
    /// Nothing by default; errors are the split's to report.
    fn prepare_split(&self, _file: &SourceFile<'_>, _options: &ReadOptions, _parts: usize) {}

    /// Reads one range from [`Adapter::split`] into `sink`, as [`Adapter::read`] reads the
    /// file: rows carry their line in the whole file, only the first range has the header.
    ///
    /// # Errors
    /// [`ReadError`], as [`Adapter::read`].
    fn read_range(
        &self,
        file: &SourceFile<'_>,
        _range: &ByteRange,
        _options: &ReadOptions,
        _sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        Err(ReadError::format(file.path.as_str(), "this format is not read in ranges"))
    }

    /// Up to `rows` data rows of one table, read by [`Adapter::read`], with the probe's row
    /// estimate.
    ///
    /// # Errors
    /// [`ReadError`] when the table cannot be read.
    fn preview(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        rows: usize,
        options: &ReadOptions,
    ) -> Result<TablePreview, ReadError> {
        preview::by_reading(self, file, table, rows, options)
    }
}

/// What `GET /api/dat/adapters` lists.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterInfo {
    /// Adapter id.
    pub id: &'static str,
    /// Extensions it reads.
    pub extensions: &'static [&'static str],
    /// Whether gzip/zstd-compressed variants are read.
    pub compression: bool,
    /// What it reads.
    pub description: &'static str,
}

/// All adapters, looked up by extension.
#[derive(Clone)]
pub struct AdapterRegistry {
    adapters: Vec<Arc<dyn Adapter>>,
}

impl Default for AdapterRegistry {
    fn default() -> Self {
        AdapterRegistry {
            adapters: vec![
                Arc::new(text::DelimitedAdapter::default()),
                Arc::new(excel::ExcelAdapter),
                Arc::new(json::JsonAdapter::DOCUMENT),
                Arc::new(json::JsonAdapter::LINES),
                Arc::new(parquet::ParquetAdapter),
            ],
        }
    }
}

impl AdapterRegistry {
    /// The adapter for a file name and its compression, or `None` when unsupported.
    pub fn for_name(&self, name: &str) -> Option<(Arc<dyn Adapter>, Option<Compression>)> {
        let lower = name.to_ascii_lowercase();
        let (stem, compression) = Compression::strip(&lower);
        let ext = stem.rsplit_once('.').map(|(_, e)| e)?;
        let adapter = self.adapters.iter().find(|a| a.extensions().contains(&ext))?;
        if compression.is_some() && !adapter.compressible() {
            return None;
        }
        Some((adapter.clone(), compression))
    }

    /// These adapters and one more (looked up by id only, e.g. a run's profile adapter).
    pub fn with(&self, adapter: Arc<dyn Adapter>) -> Self {
        let mut adapters = self.adapters.clone();
        adapters.retain(|a| a.id() != adapter.id());
        adapters.push(adapter);
        AdapterRegistry { adapters }
    }

    /// The adapter with this id.
    pub fn by_id(&self, id: &str) -> Option<Arc<dyn Adapter>> {
        self.adapters.iter().find(|a| a.id() == id).cloned()
    }

    /// Every adapter, for the adapters route.
    pub fn list(&self) -> Vec<AdapterInfo> {
        self.adapters
            .iter()
            .map(|a| AdapterInfo {
                id: a.id(),
                extensions: a.extensions(),
                compression: a.compressible(),
                description: a.description(),
            })
            .collect()
    }
}

/// Probes one file with its adapter: `missing` when it is gone or unreadable, `error` when the
/// adapter panics (a reader bug on hostile bytes must not take the worker down).
pub fn probe_file(adapter: &dyn Adapter, file: &SourceFile<'_>, options: &ReadOptions) -> Vec<TableProbe> {
    let path = file.path.as_str();
    if let Err(e) = std::fs::File::open(file.disk) {
        return vec![TableProbe::failed(
            path,
            adapter.id(),
            TableStatus::Missing,
            format!("cannot open the file: {e}"),
        )];
    }
    match catch_unwind(AssertUnwindSafe(|| adapter.probe(file, options))) {
        Ok(tables) if tables.is_empty() => {
            vec![TableProbe::failed(path, adapter.id(), TableStatus::Empty, "the file holds no table")]
        }
        Ok(tables) => tables,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(path, %message, "a reader panicked while probing");
            vec![TableProbe::failed(
                path,
                adapter.id(),
                TableStatus::Error,
                format!("the reader failed on this file's content ({message}); please report it"),
            )]
        }
    }
}

/// Reads one table with its adapter, turning a reader panic into [`ReadError::Panicked`] (the
/// last line of defence: the table fails, the others go on).
///
/// # Errors
/// [`ReadError`] from the adapter, or [`ReadError::Panicked`].
pub fn read_table(
    adapter: &dyn Adapter,
    file: &SourceFile<'_>,
    table: Option<&str>,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    catch_unwind(AssertUnwindSafe(|| adapter.read(file, table, options, sink))).unwrap_or_else(|panic| {
        let message = panic_message(panic.as_ref());
        tracing::error!(path = %file.path, %message, "a reader panicked while reading");
        Err(ReadError::Panicked { path: file.path.to_string(), message })
    })
}

/// Plans the ranges of one table (see [`Adapter::split`]), a reader panic being an error.
///
/// # Errors
/// [`ReadError`] from the adapter, or [`ReadError::Panicked`].
pub fn split_table(
    adapter: &dyn Adapter,
    file: &SourceFile<'_>,
    table: Option<&str>,
    options: &ReadOptions,
    parts: usize,
) -> Result<Option<Vec<ByteRange>>, ReadError> {
    catch_unwind(AssertUnwindSafe(|| adapter.split(file, table, options, parts))).unwrap_or_else(|panic| {
        Err(ReadError::Panicked { path: file.path.to_string(), message: panic_message(panic.as_ref()) })
    })
}

/// Reads one range of a table (see [`Adapter::read_range`]), a reader panic being an error.
///
/// # Errors
/// [`ReadError`] from the adapter, or [`ReadError::Panicked`].
pub fn read_table_range(
    adapter: &dyn Adapter,
    file: &SourceFile<'_>,
    range: &ByteRange,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadEnd, ReadError> {
    catch_unwind(AssertUnwindSafe(|| adapter.read_range(file, range, options, sink))).unwrap_or_else(|panic| {
        Err(ReadError::Panicked { path: file.path.to_string(), message: panic_message(panic.as_ref()) })
    })
}

/// Previews one table, turning a reader panic into an error like any other.
///
/// # Errors
/// [`ReadError`] from the adapter, or [`ReadError::Panicked`].
pub fn preview_table(
    adapter: &dyn Adapter,
    file: &SourceFile<'_>,
    table: Option<&str>,
    rows: usize,
    options: &ReadOptions,
) -> Result<TablePreview, ReadError> {
    catch_unwind(AssertUnwindSafe(|| adapter.preview(file, table, rows, options))).unwrap_or_else(|panic| {
        Err(ReadError::Panicked { path: file.path.to_string(), message: panic_message(panic.as_ref()) })
    })
}

/// The message a panic carried, when it is text.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

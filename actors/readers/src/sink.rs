//! Where a read goes: a [`Sink`] receives chunks and rejects as they are read and can stop the
//! read at any of them (as ripgrep's searcher hands matches to its sink). What the read noticed
//! on the way comes back as its [`ReadEnd`]; what stopped it as a [`ReadError`].

use crate::chunk::Chunk;
use dat_contracts::bundle::RowAccount;

/// A record that could not be read as a row. Rejects never fail a table: they make it
/// `partial`, are counted exactly and are written to `rejects.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    /// Where the record began, in the coordinate rows use for `_source_row`: the line (text,
    /// JSON Lines), the array element (JSON), the sheet row (workbooks).
    pub line: u64,
    /// Why, in words a user can act on.
    pub reason: String,
    /// The record's first bytes (at most [`Reject::SNIPPET_BYTES`]), to recognise it.
    pub snippet: String,
}

impl Reject {
    /// How much of a rejected record is kept.
    pub const SNIPPET_BYTES: usize = 200;

    /// A reject with the first bytes of `record` as its snippet.
    pub fn new(line: u64, reason: impl Into<String>, record: &[u8]) -> Self {
        let cut = record.len().min(Self::SNIPPET_BYTES);
        let snippet = String::from_utf8_lossy(record.get(..cut).unwrap_or_default()).into_owned();
        Reject { line, reason: reason.into(), snippet }
    }
}

/// The sink said stop (cancel, or its own failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop;

/// Receives what a reader reads, in file order.
pub trait Sink {
    /// A chunk of rows.
    ///
    /// # Errors
    /// [`Stop`] to end the read now.
    fn chunk(&mut self, chunk: Chunk) -> Result<(), Stop>;
    /// A record that could not be read.
    ///
    /// # Errors
    /// [`Stop`] to end the read now.
    fn reject(&mut self, reject: Reject) -> Result<(), Stop>;
}

/// What a whole read noticed that is not a row or a reject: values that could not be kept
/// exactly as read, counted (e.g. "3 cells hold Excel errors (#DIV/0!…); they read as null").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadEnd {
    /// Counted warnings, one line each.
    pub warnings: Vec<String>,
    /// Where every unit of the source went besides rows and rejects, for the caller to check
    /// against the rows and rejects it received (`None` where a reader has no such units, as
    /// for a profile's extraction).
    pub accounting: Option<RowAccount>,
    /// Lines after the data that are not rows (delimited text), kept as read.
    pub footer: Vec<String>,
}

/// Why a table could not be read (or was not read to its end).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The sink asked to stop: nothing is wrong with the file.
    #[error("stopped")]
    Stopped,
    /// The file cannot be opened or read (gone, permissions, disk): an error of this table
    /// only; the others go on. HTTP 500-class: retry once the file is readable.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// Workspace-relative path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The content is not what the format requires (corrupt, truncated, wrong format): show
    /// the message; the user fixes or replaces the file.
    #[error("{path}: {message}")]
    Format {
        /// Workspace-relative path.
        path: String,
        /// What is wrong, where.
        message: String,
    },
    /// The sheet or table does not exist in the file (404-like; pick another table).
    #[error("{path}: no table `{table}`")]
    NoSuchTable {
        /// Workspace-relative path.
        path: String,
        /// The requested sheet/table.
        table: String,
    },
    /// The reader itself failed on this content (a bug, caught at the last line of defence):
    /// the table is an error, the others go on, and the panic is counted.
    #[error("{path}: the reader failed on this file's content ({message}); please report it")]
    Panicked {
        /// Workspace-relative path.
        path: String,
        /// The panic's message.
        message: String,
    },
}

impl ReadError {
    /// An I/O error of `path`. A decoder's complaint (corrupt or truncated gzip/zstd, a
    /// decompressed-size limit) is a format error: the file, not the disk, is at fault.
    pub(crate) fn io(path: &str, source: std::io::Error) -> Self {
        use std::io::ErrorKind::{InvalidData, InvalidInput, Other, UnexpectedEof};
        match source.kind() {
            InvalidData | InvalidInput | UnexpectedEof | Other => ReadError::Format {
                path: path.to_owned(),
                message: format!("the file cannot be read to its end: {source}"),
            },
            _ => ReadError::Io { path: path.to_owned(), source },
        }
    }

    /// A format error of `path`.
    pub(crate) fn format(path: &str, message: impl Into<String>) -> Self {
        ReadError::Format { path: path.to_owned(), message: message.into() }
    }
}

impl From<Stop> for ReadError {
    fn from(_: Stop) -> Self {
        ReadError::Stopped
    }
}

//! A file handed to an adapter: its workspace path (for ids and messages, never absolute) and
//! its place on disk, plus the compression its name declares.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dat_contracts::WorkspacePath;

/// Compression of a text file, from its name (`.gz`, `.zst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Compression {
    /// Splits a lower-case file name into the name without the compression suffix and the
    /// compression, e.g. `a.csv.gz` → (`a.csv`, Gzip).
    pub fn strip(name: &str) -> (&str, Option<Compression>) {
        if let Some(stem) = name.strip_suffix(".gz") {
            (stem, Some(Compression::Gzip))
        } else if let Some(stem) = name.strip_suffix(".zst") {
            (stem, Some(Compression::Zstd))
        } else {
            (name, None)
        }
    }

    /// The file name suffix, without the dot.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Gzip => "gz",
            Compression::Zstd => "zst",
        }
    }

    /// The name recorded in sniff results.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// One file to read.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    /// Workspace-relative path: the table id and what error messages name.
    pub path: &'a WorkspacePath,
    /// Where it is on disk (already resolved inside the workspace).
    pub disk: &'a Path,
    /// Declared compression.
    pub compression: Option<Compression>,
}

impl SourceFile<'_> {
    /// The file's bytes, decompressed as its name declares, buffered.
    ///
    /// # Errors
    /// The I/O error of opening the file or starting the decoder.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        self.decode(BufReader::with_capacity(256 * 1024, File::open(self.disk)?))
    }

    /// Like [`Self::open`], plus a counter of the bytes taken from the file on disk so far
    /// (compressed bytes for compressed files), for estimating a whole file from a sample.
    ///
    /// # Errors
    /// The I/O error of opening the file or starting the decoder.
    pub fn open_counted(&self) -> io::Result<(Box<dyn Read + Send>, ByteCount)> {
        // A small buffer under the decoder keeps the counter close to what was decoded.
        let (disk, from_disk) = Counting::new(BufReader::with_capacity(64 * 1024, File::open(self.disk)?));
        Ok((self.decode(disk)?, from_disk))
    }

    fn decode(&self, raw: impl BufRead + Send + 'static) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self.compression {
            None => Box::new(raw),
            Some(Compression::Gzip) => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
            Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::with_buffer(raw)?),
        })
    }
}

/// A running count of bytes, shared between a [`Counting`] reader and whoever estimates from it.
pub type ByteCount = Arc<AtomicU64>;

/// A reader that counts the bytes taken from it, by `read` or by `consume`.
pub struct Counting<R> {
    inner: R,
    count: ByteCount,
}

impl<R> Counting<R> {
    /// Wraps `inner`; the counter starts at 0.
    pub fn new(inner: R) -> (Self, ByteCount) {
        let count = Arc::new(AtomicU64::new(0));
        (Counting { inner, count: count.clone() }, count)
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.count.fetch_add(amount as u64, Ordering::Relaxed);
        self.inner.consume(amount);
    }
}

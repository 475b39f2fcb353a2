//! A file handed to an adapter: its workspace path (for ids and messages, never absolute) and
//! its place on disk, plus the compression its name declares; and the [`Fingerprint`] that parse
//! takes of the bytes as they are read, so that what enters a dataset is what discovery hashed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dat_contracts::WorkspacePath;
use sha2::{Digest, Sha256};

use crate::typing::hex;

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
    /// When set, the first stream opened feeds the file's bytes to it as they are read.
    pub fingerprint: Option<&'a Fingerprint>,
    /// Decompressed bytes a stream may yield before reading fails; `None`: no limit.
    pub decompressed_limit: Option<u64>,
}

impl<'a> SourceFile<'a> {
    /// A file to read with no fingerprint and no decompression limit.
    pub fn new(path: &'a WorkspacePath, disk: &'a Path, compression: Option<Compression>) -> Self {
        SourceFile { path, disk, compression, fingerprint: None, decompressed_limit: None }
    }

    /// The file's bytes, decompressed as its name declares, buffered.
    ///
    /// # Errors
    /// The I/O error of opening the file or starting the decoder.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let disk = self.hashed(File::open(self.disk)?);
        self.decode(BufReader::with_capacity(256 * 1024, disk))
    }

    /// Like [`Self::open`], plus a counter of the bytes taken from the file on disk so far
    /// (compressed bytes for compressed files), for estimating a whole file from a sample.
    ///
    /// # Errors
    /// The I/O error of opening the file or starting the decoder.
    pub fn open_counted(&self) -> io::Result<(Box<dyn Read + Send>, ByteCount)> {
        // A small buffer under the decoder keeps the counter close to what was decoded.
        let disk = self.hashed(File::open(self.disk)?);
        let (disk, from_disk) = Counting::new(BufReader::with_capacity(64 * 1024, disk));
        Ok((self.decode(disk)?, from_disk))
    }

    /// The file as read from disk, feeding the fingerprint when this is its first stream.
    fn hashed(&self, file: File) -> Box<dyn Read + Send> {
        match self.fingerprint.and_then(Fingerprint::feeder) {
            Some(feeder) => Box::new(Hashing { inner: file, feeder }),
            None => Box::new(file),
        }
    }

    fn decode(&self, raw: impl BufRead + Send + 'static) -> io::Result<Box<dyn Read + Send>> {
        let decoded: Box<dyn Read + Send> = match self.compression {
            None => return Ok(Box::new(raw)),
            Some(Compression::Gzip) => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
            Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::with_buffer(raw)?),
        };
        Ok(match self.decompressed_limit {
            Some(limit) => Box::new(Limited { inner: decoded, left: limit, limit }),
            None => decoded,
        })
    }
}

/// The sha256 of a file, taken while an adapter streams it (no second pass). Formats read by
/// offset (Parquet, workbooks) never stream the file from its start to its end; for them
/// [`Fingerprint::finish`] hashes the file once more after reading, from the same path, which
/// still catches any edit made before the read ended.
#[derive(Debug, Default, Clone)]
pub struct Fingerprint {
    state: Arc<Mutex<HashState>>,
}

#[derive(Debug, Default)]
struct HashState {
    hasher: Sha256,
    /// Whether a stream was handed out (only the first one is hashed).
    started: bool,
    /// Whether that stream was read to its end.
    complete: bool,
}

impl Fingerprint {
    /// The hashing side for a new stream: only the first stream of a file is hashed, from its
    /// first byte (any later one would hash bytes twice).
    fn feeder(&self) -> Option<Arc<Mutex<HashState>>> {
        let mut state = self.state.lock().ok()?;
        if state.started {
            return None;
        }
        state.started = true;
        Some(self.state.clone())
    }

    /// The file's sha256 (lowercase hex): what the stream fed, when it was read to its end,
    /// else the file hashed now from `disk`.
    ///
    /// # Errors
    /// The I/O error of reading the file.
    pub fn finish(&self, disk: &Path) -> io::Result<String> {
        if let Ok(state) = self.state.lock() {
            if state.complete {
                return Ok(hex(&state.hasher.clone().finalize()));
            }
        }
        let mut hasher = Sha256::new();
        io::copy(&mut File::open(disk)?, &mut hasher)?;
        Ok(hex(&hasher.finalize()))
    }
}

/// A file stream that feeds its fingerprint.
struct Hashing {
    inner: File,
    feeder: Arc<Mutex<HashState>>,
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // A poisoned fingerprint only means another thread panicked while hashing: `finish`
        // then finds it incomplete and hashes the file again.
        if let Ok(mut state) = self.feeder.lock() {
            match buf.get(..n) {
                Some(read) if n > 0 => state.hasher.update(read),
                _ => state.complete = true,
            }
        }
        Ok(n)
    }
}

/// A decompressed stream that fails once it passes its limit (SPEC §7: a small `.gz` can
/// inflate to any size; deployments that want a ceiling set one).
struct Limited {
    inner: Box<dyn Read + Send>,
    left: u64,
    limit: u64,
}

impl Read for Limited {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            io::Error::other(format!(
                "the file inflates past the decompressed-size limit of {} MiB (setting decompressed_limit_mib)",
                self.limit >> 20
            ))
        })?;
        Ok(n)
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

//! A file handed to an adapter: its workspace path (for ids and messages, never absolute) and
//! its place on disk, plus the compression its name declares.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

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
    pub fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        let file = BufReader::with_capacity(256 * 1024, File::open(self.disk)?);
        Ok(match self.compression {
            None => Box::new(file),
            Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(file)),
            Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::with_buffer(file)?),
        })
    }
}

//! The first 256 KiB of a text file's (decompressed) bytes, which is all the probe reads, and how
//! many on-disk bytes it cost, which turns a compressed file's size into a row estimate.

use std::fs::File;
use std::io::{self, Read};

use crate::source::{Compression, SourceFile};

/// Decompressed bytes the probe reads at most: enough rows to sniff and infer types, and small
/// enough that a file of any size probes in milliseconds.
pub(super) const SAMPLE_BYTES: usize = 256 * 1024;

/// The start of a file and what is known about the rest.
pub(super) struct Sample {
    /// The first bytes of the decompressed stream (up to `SAMPLE_BYTES + 1`).
    pub(super) raw: Vec<u8>,
    /// Whether `raw` is the whole (decompressed) file.
    pub(super) complete: bool,
    /// Size on disk.
    pub(super) disk_size: u64,
    /// On-disk bytes the decoder consumed to produce `raw` (equal to `raw.len()` uncompressed).
    pub(super) disk_read: u64,
}

impl Sample {
    /// Best guess of the decompressed size of the whole file: the size on disk when it is not
    /// compressed, otherwise the size on disk times the ratio seen in the sample.
    pub(super) fn estimated_size(&self) -> f64 {
        if self.complete {
            return self.raw.len() as f64;
        }
        if self.disk_read == 0 {
            return self.disk_size as f64;
        }
        self.disk_size as f64 * (self.raw.len() as f64 / self.disk_read as f64)
    }
}

/// Why the sample could not be read.
#[derive(Debug)]
pub(super) enum SampleError {
    /// Opening or reading the file failed: show the reason; the user checks the file.
    Io(io::Error),
    /// The compressed stream is truncated or corrupt: the table is `error`; re-copy the file.
    Compressed(Compression, io::Error),
}

impl SampleError {
    /// What the table's `error` says.
    pub(super) fn reason(&self) -> String {
        match self {
            SampleError::Io(e) => format!("cannot read the file: {e}"),
            SampleError::Compressed(c, e) => {
                format!("the {} stream is truncated or corrupt ({e}); copy or compress the file again", c.as_str())
            }
        }
    }
}

/// The sample, and the stream positioned right after it (for the preview to read on).
pub(super) fn read_sample(file: &SourceFile<'_>) -> Result<(Sample, Box<dyn Read + Send>), SampleError> {
    let disk = File::open(file.disk).map_err(SampleError::Io)?;
    let disk_size = disk.metadata().map_err(SampleError::Io)?.len();
    if disk_size == 0 {
        // A 0-byte file is empty whatever its name says; a decoder would call it truncated.
        return Ok((Sample { raw: vec![], complete: true, disk_size, disk_read: 0 }, Box::new(io::empty())));
    }
    let classify = |e: io::Error| match file.compression {
        Some(c) => SampleError::Compressed(c, e),
        None => SampleError::Io(e),
    };
    let (mut stream, consumed) = file.open_counted().map_err(classify)?;
    let mut raw = Vec::with_capacity(SAMPLE_BYTES + 1);
    stream.by_ref().take(SAMPLE_BYTES as u64 + 1).read_to_end(&mut raw).map_err(classify)?;
    let complete = raw.len() <= SAMPLE_BYTES;
    let disk_read =
        if file.compression.is_some() { consumed.load(std::sync::atomic::Ordering::Relaxed) } else { raw.len() as u64 };
    Ok((Sample { raw, complete, disk_size, disk_read }, stream))
}

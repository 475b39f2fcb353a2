//! The page headers of a column chunk, walked the way the crate's page reader walks them (from
//! the chunk's byte range, header after header, each page's compressed bytes skipped, headers
//! read without statistics) but without decompressing anything. Each page's
//! `uncompressed_page_size` is what the decoder allocates for it, whatever the footer says of
//! the chunk: a footer can claim that a chunk of plain strings decodes to 100 KB while its zstd
//! pages expand to 40 MB, and batches sized from the footer alone would then hold gigabytes.
//! The zstd and Snappy decoders write into exactly that many bytes; the crate's GZIP, Brotli
//! and LZ4 decoders grow their output before comparing it, so a header that understates one of
//! those pages is not bounded here (see the README).

use std::fs::File;
use std::os::unix::fs::FileExt;

use ::parquet::file::metadata::ColumnChunkMetaData;

use super::thrift::{Cursor, Malformed, Shape, I32};

/// The page type of an index page (`PageType::INDEX_PAGE`): skipped by the reader, never
/// decoded. Dictionary pages (2) are decoded, and counted.
const INDEX_PAGE: i32 = 1;
/// The bytes a header is first looked for in; more (up to [`MAX_HEADER`]) when it is longer.
const FIRST_READ: usize = 1 << 10;
/// The bytes read at once, so that the headers of small pages come from one read.
const WINDOW: usize = 64 << 10;
/// The longest page header walked: a real one is a few hundred bytes (statistics included).
const MAX_HEADER: usize = 16 << 20;

/// What a column chunk's pages decode to.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Decoded {
    /// All its pages, in bytes.
    pub(super) total: u64,
    /// Its largest page: decompressed whole, at once.
    pub(super) largest: u64,
}

/// The decoded sizes of `chunk`'s pages, up to the first one the crate's reader would refuse
/// (a size out of range: the read fails there, decoding nothing more).
///
/// # Errors
/// A page header that cannot be walked as the crate reads it (a field of another type than
/// the format declares, or longer than [`MAX_HEADER`]): its sizes could not be known.
pub(super) fn decoded(disk: &File, chunk: &ColumnChunkMetaData) -> Result<Decoded, String> {
    // The crate's `byte_range`, which panics on a negative offset or size: the reader stops
    // there (the panic contained, see `read`) and decodes nothing.
    let start = chunk.dictionary_page_offset().unwrap_or_else(|| chunk.data_page_offset());
    let (Ok(mut offset), Ok(mut remaining)) = (u64::try_from(start), u64::try_from(chunk.compressed_size())) else {
        return Ok(Decoded::default());
    };
    let mut sizes = Decoded::default();
    let mut window = Window::default();
    while remaining > 0 {
        let Some((kind, uncompressed, compressed, header_len)) =
            window.header(disk, offset, remaining).map_err(|e| {
                format!(
                    "column `{}`: a page header at byte {offset} cannot be read ({e})",
                    chunk.column_path().string()
                )
            })?
        else {
            break;
        };
        // As the reader checks before decoding (`verify_page_header_len`, `verify_page_size`).
        let (Ok(uncompressed), Ok(compressed)) = (u64::try_from(uncompressed), u64::try_from(compressed)) else {
            break;
        };
        if header_len > remaining || compressed > remaining - header_len {
            break;
        }
        offset += header_len + compressed;
        remaining -= header_len + compressed;
        if kind != INDEX_PAGE {
            sizes.total = sizes.total.saturating_add(uncompressed);
            sizes.largest = sizes.largest.max(uncompressed);
        }
    }
    Ok(sizes)
}

/// The file's bytes last read, so that small pages' headers come from one read.
#[derive(Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    /// The header at `offset`: page type, uncompressed and compressed sizes, and its own
    /// length; `None` where the file or the chunk ends first (the reader fails there).
    fn header(&mut self, disk: &File, offset: u64, remaining: u64) -> Result<Option<(i32, i32, i32, u64)>, Malformed> {
        let mut want = FIRST_READ;
        loop {
            let len = usize::try_from(remaining).unwrap_or(usize::MAX).min(want);
            let held = offset.checked_sub(self.start).and_then(|at| usize::try_from(at).ok());
            let held = held.and_then(|at| self.bytes.get(at..)).filter(|rest| rest.len() >= len);
            let (bytes, read) = match held {
                Some(rest) => (&rest[..len], len),
                None => {
                    self.start = offset;
                    self.bytes.resize(len.max(WINDOW), 0);
                    let Ok(read) = read_at(disk, &mut self.bytes, offset) else { return Ok(None) };
                    self.bytes.truncate(read);
                    (&self.bytes[..read.min(len)], read.min(len))
                }
            };
            match parse(bytes) {
                Err(Malformed::Truncated) if read == len && (len as u64) < remaining => {
                    // More of the chunk follows: a longer header, up to the longest walked.
                    if len >= MAX_HEADER {
                        return Err(Malformed::Truncated);
                    }
                    want = (want * 16).min(MAX_HEADER);
                }
                Err(Malformed::Truncated) => return Ok(None),
                other => return other.map(Some),
            }
        }
    }
}

/// Reads as much of `bytes` as the file holds from `offset`.
fn read_at(disk: &File, bytes: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < bytes.len() {
        match disk.read_at(&mut bytes[done..], offset + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

/// A `PageHeader` at the start of `bytes`, as the crate's `read_thrift_without_stats` reads
/// it: fields 1 to 3 by their declared type, the rest skipped by theirs.
fn parse(bytes: &[u8]) -> Result<(i32, i32, i32, u64), Malformed> {
    let mut cursor = Cursor::new(bytes);
    let (mut kind, mut uncompressed, mut compressed) = (None, None, None);
    let mut last = 0;
    while let Some((nibble, id)) = cursor.field(last)? {
        match id {
            1..=3 if nibble != I32 => return Err(Malformed::WrongType { field: id, found: nibble, declared: I32 }),
            1 => kind = Some(cursor.i32()?),
            2 => uncompressed = Some(cursor.i32()?),
            3 => compressed = Some(cursor.i32()?),
            _ => cursor.skip_field(Shape::PageHeader, nibble, id)?,
        }
        last = id;
    }
    let consumed = (bytes.len() - cursor.remaining()) as u64;
    match (kind, uncompressed, compressed) {
        (Some(kind), Some(uncompressed), Some(compressed)) => Ok((kind, uncompressed, compressed, consumed)),
        // The reader fails on a header without them: nothing past it is decoded.
        _ => Ok((INDEX_PAGE, 0, -1, consumed)),
    }
}

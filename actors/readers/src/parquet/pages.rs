//! The page headers of a column chunk, walked the way the crate's page reader walks them (from
//! the chunk's byte range, header after header, each page's compressed bytes skipped, headers
//! read without statistics) but without decompressing anything. Each page's
//! `uncompressed_page_size` is what the decoder allocates for it, whatever the footer says of
//! the chunk: a footer can claim that a chunk of plain strings decodes to 100 KB while its zstd
//! pages expand to 40 MB, and batches sized from the footer alone would then hold gigabytes.
//! The zstd and Snappy decoders write into exactly that many bytes. The crate's GZIP, Brotli
//! and LZ4 decoders instead grow their output to whatever the stream holds and only then
//! compare it with the header: a 1 MB GZIP page whose header says 1 KB would take a gigabyte
//! before the crate refuses it. So each page of those codecs is first decoded here by the same
//! decoder into a counter that stops one byte past the header's figure: a page that decodes to
//! more is refused before the crate sees it. That costs one more decoding pass of such pages
//! (rare in practice: Parquet writers default to Snappy or zstd), in 64 KiB of memory.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

use ::parquet::basic::Compression;
use ::parquet::file::metadata::ColumnChunkMetaData;

use super::thrift::{Cursor, Malformed, Shape, BOOL_TRUE, I32, STRUCT};

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
/// GZIP, Brotli and LZ4 pages up to `page_limit` are decoded once here (see the module's doc);
/// larger ones the caller refuses.
///
/// # Errors
/// A page header that cannot be walked as the crate reads it (a field of another type than
/// the format declares, or longer than [`MAX_HEADER`]): its sizes could not be known. A GZIP,
/// Brotli or LZ4 page that decodes to more than its header says.
pub(super) fn decoded(disk: &File, chunk: &ColumnChunkMetaData, page_limit: u64) -> Result<Decoded, String> {
    // The crate's `byte_range`, which panics on a negative offset or size: the reader stops
    // there (the panic contained, see `read`) and decodes nothing.
    let start = chunk.dictionary_page_offset().unwrap_or_else(|| chunk.data_page_offset());
    let (Ok(mut offset), Ok(mut remaining)) = (u64::try_from(start), u64::try_from(chunk.compressed_size())) else {
        return Ok(Decoded::default());
    };
    let column = || chunk.column_path().string();
    let growing = Growing::of(chunk.compression());
    let mut sizes = Decoded::default();
    let mut window = Window::default();
    while remaining > 0 {
        let Some(header) = window
            .header(disk, offset, remaining)
            .map_err(|e| format!("column `{}`: a page header at byte {offset} cannot be read ({e})", column()))?
        else {
            break;
        };
        // As the reader checks before decoding (`verify_page_header_len`, `verify_page_size`).
        let (Ok(uncompressed), Ok(compressed)) = (u64::try_from(header.uncompressed), u64::try_from(header.compressed))
        else {
            break;
        };
        let header_len = header.len;
        if header_len > remaining || compressed > remaining - header_len {
            break;
        }
        if header.kind != INDEX_PAGE {
            // A page over the limit is refused by the caller without decoding anything.
            if let Some(codec) = growing.filter(|_| uncompressed <= page_limit) {
                codec.check(disk, &header, offset + header_len).map_err(|e| {
                    format!(
                        "column `{}`: the {} page at byte {offset} {e}; the file is damaged",
                        column(),
                        codec.name()
                    )
                })?;
            }
            sizes.total = sizes.total.saturating_add(uncompressed);
            sizes.largest = sizes.largest.max(uncompressed);
        }
        offset += header_len + compressed;
        remaining -= header_len + compressed;
    }
    Ok(sizes)
}

/// A codec whose decoder in the crate grows its output to what the stream holds.
#[derive(Debug, Clone, Copy)]
enum Growing {
    Gzip,
    Brotli,
    /// LZ4 (the Hadoop framing): the crate decodes into the header's size first, and only when
    /// that fails, as an LZ4 frame (growing) and then as a raw block (into the header's size).
    Lz4,
}

impl Growing {
    fn of(compression: Compression) -> Option<Self> {
        match compression {
            Compression::GZIP(_) => Some(Self::Gzip),
            Compression::BROTLI(_) => Some(Self::Brotli),
            Compression::LZ4 => Some(Self::Lz4),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "GZIP",
            Self::Brotli => "Brotli",
            Self::Lz4 => "LZ4",
        }
    }

    /// Decodes the page whose header is `header` and whose body starts at byte `body`, as the
    /// crate would (`decode_page`: a v2 page's levels are stored as they are), counting what it
    /// gives up to one byte past what the header declares.
    ///
    /// # Errors
    /// The page decodes to more than its header says (what the error says).
    fn check(self, disk: &File, header: &Header, body: u64) -> Result<(), String> {
        let (levels, compressed) = match header.v2 {
            // The crate refuses negative levels or levels past the page before decoding.
            Some(v2) if v2.definition < 0 || v2.repetition < 0 => return Ok(()),
            Some(v2) => (i64::from(v2.definition) + i64::from(v2.repetition), v2.compressed),
            None => (0, true),
        };
        let declared = i64::from(header.uncompressed) - levels;
        let input = i64::from(header.compressed) - levels;
        // Not decoded at all (uncompressed values, or none), or refused by the crate first.
        let (Ok(declared), Ok(input), Ok(levels)) =
            (u64::try_from(declared), u64::try_from(input), u64::try_from(levels))
        else {
            return Ok(());
        };
        if !compressed || declared == 0 {
            return Ok(());
        }
        let bytes = Section { disk, at: body + levels, left: input };
        let gave = match self {
            Self::Gzip => count(flate2::read::MultiGzDecoder::new(bytes), declared),
            Self::Brotli => count(brotli::Decompressor::new(bytes, 4096), declared),
            Self::Lz4 => count(lz4_flex::frame::FrameDecoder::new(bytes), declared),
        };
        if gave > declared {
            return Err(format!("decodes to more than the {declared} bytes its header declares"));
        }
        Ok(())
    }
}

/// What `decoder` gives, counted up to one byte past `declared`. A stream that fails to decode
/// counts what it gave before failing: the crate's decoder (the same code) fails there too.
fn count(mut decoder: impl Read, declared: u64) -> u64 {
    let mut scratch = vec![0; 64 << 10];
    let mut gave = 0u64;
    while gave <= declared {
        match decoder.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(n) => gave += n as u64,
        }
    }
    gave
}

/// `left` bytes of the file from byte `at`, read as a stream.
struct Section<'a> {
    disk: &'a File,
    at: u64,
    left: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = self.disk.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The file's bytes last read, so that small pages' headers come from one read.
#[derive(Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    /// The header at `offset`; `None` where the file or the chunk ends first (the reader fails
    /// there).
    fn header(&mut self, disk: &File, offset: u64, remaining: u64) -> Result<Option<Header>, Malformed> {
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

/// What the walk reads of a page header.
#[derive(Debug)]
pub(super) struct Header {
    /// The page type.
    kind: i32,
    uncompressed: i32,
    pub(super) compressed: i32,
    /// The header's own length in bytes.
    pub(super) len: u64,
    /// A v2 data page's levels (stored uncompressed before its values).
    v2: Option<Levels>,
}

/// Of a `DataPageHeaderV2`: the levels' lengths and whether the values are compressed.
#[derive(Debug, Clone, Copy)]
struct Levels {
    definition: i32,
    repetition: i32,
    compressed: bool,
}

/// A `PageHeader` at the start of `bytes`, as the crate's `read_thrift_without_stats` reads
/// it: fields 1 to 3 (and a v2 header's level lengths) by their declared type, the rest
/// skipped by theirs.
pub(super) fn parse(bytes: &[u8]) -> Result<Header, Malformed> {
    let mut cursor = Cursor::new(bytes);
    let (mut kind, mut uncompressed, mut compressed, mut v2) = (None, None, None, None);
    let mut last = 0;
    while let Some((nibble, id)) = cursor.field(last)? {
        match id {
            1..=3 if nibble != I32 => return Err(Malformed::WrongType { field: id, found: nibble, declared: I32 }),
            1 => kind = Some(cursor.i32()?),
            2 => uncompressed = Some(cursor.i32()?),
            3 => compressed = Some(cursor.i32()?),
            8 if nibble == STRUCT => v2 = Some(levels(&mut cursor)?),
            _ => cursor.skip_field(Shape::PageHeader, nibble, id)?,
        }
        last = id;
    }
    let len = (bytes.len() - cursor.remaining()) as u64;
    match (kind, uncompressed, compressed) {
        (Some(kind), Some(uncompressed), Some(compressed)) => Ok(Header { kind, uncompressed, compressed, len, v2 }),
        // The reader fails on a header without them: nothing past it is decoded.
        _ => Ok(Header { kind: INDEX_PAGE, uncompressed: 0, compressed: -1, len, v2: None }),
    }
}

/// A `DataPageHeaderV2`'s fields, its header read: the level lengths (fields 5 and 6; the crate
/// refuses a header without them) and `is_compressed` (7, true when absent).
fn levels(cursor: &mut Cursor<'_>) -> Result<Levels, Malformed> {
    let mut levels = Levels { definition: 0, repetition: 0, compressed: true };
    let mut last = 0;
    while let Some((nibble, id)) = cursor.field(last)? {
        match id {
            5 | 6 if nibble != I32 => return Err(Malformed::WrongType { field: id, found: nibble, declared: I32 }),
            5 => levels.definition = cursor.i32()?,
            6 => levels.repetition = cursor.i32()?,
            _ => {
                cursor.skip_field(Shape::DataPageHeaderV2, nibble, id)?;
                if id == 7 {
                    levels.compressed = nibble == BOOL_TRUE;
                }
            }
        }
        last = id;
    }
    Ok(levels)
}

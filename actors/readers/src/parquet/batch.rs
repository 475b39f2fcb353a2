//! How many rows a record batch holds: `chunk_rows`, fewer when the file's rows are wide, so
//! that a decoded batch holds about `chunk_bytes`. The estimate is of *decoded* bytes: the
//! footer's sizes are of encoded data, and a dictionary-encoded column of one 8 KB string repeated
//! 50,000 times is a few KB encoded but 400 MB decoded. The footer's figures are a hostile
//! file's to choose: where they cannot be true, a row is taken to be [`UNTRUSTED_ROW_BYTES`];
//! where they understate a chunk, its page headers (what the decoder allocates) give its size.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use ::parquet::basic::Type as PhysicalType;
use ::parquet::column::page::{Page, PageReader};
use ::parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use ::parquet::file::serialized_reader::SerializedPageReader;

use super::pages;
use crate::ReadOptions;

/// The decoded bytes assumed for one row when a column chunk's footer figures cannot be true
/// (a size or value count of zero, or fewer values than rows: every row has at least one value
/// or level in every leaf column). Only a hostile or corrupt file has such figures, so the
/// choice costs honest files nothing; with the default 16 MiB `chunk_bytes` it makes batches
/// of 256 rows.
pub(super) const UNTRUSTED_ROW_BYTES: u64 = 64 << 10;

/// How many batches' worth (`chunk_bytes`) one page may decode to: a page is decompressed
/// whole, and writers make pages of about 1 MiB, so a larger one is a file made to exhaust
/// memory (or one value of hundreds of megabytes, which dat does not keep either).
const PAGE_BATCHES: u64 = 16;

/// Rows per batch for the file described by `metadata`: `chunk_bytes` over the widest row
/// group's decoded bytes per row (see [`row_bytes`], and at least what its pages decode to, see
/// [`pages`]), at least 1, at most `chunk_rows`.
///
/// # Errors
/// A page that decodes to more than [`PAGE_BATCHES`] × `chunk_bytes`, or whose header cannot
/// be walked, naming its column.
pub(super) fn batch_rows(file: &File, metadata: &ParquetMetaData, options: &ReadOptions) -> Result<usize, String> {
    let disk = file.try_clone().ok().map(Arc::new);
    let chunk_bytes = u64::try_from(options.chunk_bytes).unwrap_or(u64::MAX);
    let page_limit = chunk_bytes.saturating_mul(PAGE_BATCHES);
    let mut per_row = 1u64;
    for group in metadata.row_groups() {
        // A group without rows gives no batch (a negative count is taken as none too).
        let rows = u64::try_from(group.num_rows()).unwrap_or(0);
        if rows == 0 {
            continue;
        }
        let mut group_bytes = 0u64;
        for chunk in group.columns() {
            let decoded = match disk.as_ref() {
                Some(disk) => pages::decoded(disk, chunk, page_limit)?,
                None => pages::Decoded::default(),
            };
            if decoded.largest > page_limit {
                let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
                return Err(format!(
                    "column `{}`: a page decodes to {:.2} MiB, more than the {:.2} MiB dat decodes at once \
                     ({PAGE_BATCHES} × chunk_bytes; a page is decompressed whole)",
                    chunk.column_path().string(),
                    mib(decoded.largest),
                    mib(page_limit)
                ));
            }
            let bytes = row_bytes(disk.as_ref(), chunk, rows).max(decoded.total.div_ceil(rows));
            group_bytes = group_bytes.saturating_add(bytes);
        }
        per_row = per_row.max(group_bytes);
    }
    let batch = usize::try_from(chunk_bytes / per_row).unwrap_or(usize::MAX);
    Ok(batch.clamp(1, options.chunk_rows.max(1)))
}

/// A bound on one row's decoded bytes in column chunk `chunk` of `rows` rows: its encoded bytes
/// per row, or its values per row times one value's decoded width, whichever is more, and at
/// least [`UNTRUSTED_ROW_BYTES`] when the footer's figures cannot be true. For a byte-array
/// column that width is the longest value of its dictionary page, if it has one (every row may
/// repeat that value, however small the data pages are).
fn row_bytes(disk: Option<&Arc<File>>, chunk: &ColumnChunkMetaData, rows: u64) -> u64 {
    let size = |n: i64| u64::try_from(n).unwrap_or(0);
    let (uncompressed, compressed, num_values) =
        (size(chunk.uncompressed_size()), size(chunk.compressed_size()), size(chunk.num_values()));
    // Compressed bytes are bytes the page reader really reads: a floor for the encoded size
    // whatever the footer claims uncompressed.
    let encoded = uncompressed.max(compressed);
    let untrusted = uncompressed == 0 || num_values < rows;
    let values = num_values.div_ceil(rows).max(1);
    let width = match chunk.column_type() {
        PhysicalType::BOOLEAN => 1,
        PhysicalType::INT32 | PhysicalType::FLOAT => 4,
        PhysicalType::INT64 | PhysicalType::DOUBLE | PhysicalType::INT96 => 8,
        PhysicalType::FIXED_LEN_BYTE_ARRAY => u64::try_from(chunk.column_descr().type_length()).unwrap_or(0),
        // An offset per value, and the value itself: counted in the encoded bytes unless a
        // dictionary lets one value stand for many. The dictionary is looked for in the first
        // page whether or not the footer names its offset or lists a dictionary encoding, as
        // the decoder does (old writers leave the offset out). A dictionary page that cannot
        // be read is taken to be as long as the whole chunk.
        PhysicalType::BYTE_ARRAY => {
            4 + match disk.map(|disk| longest_dictionary_value(disk, chunk)) {
                Some(Dictionary::Longest(longest)) => longest,
                Some(Dictionary::None) => 0,
                Some(Dictionary::Unreadable) | None => encoded,
            }
        }
    };
    let estimate = (encoded / rows).max(values.saturating_mul(width));
    if untrusted {
        estimate.max(UNTRUSTED_ROW_BYTES)
    } else {
        estimate
    }
}

/// What the first page of a byte-array column chunk says of its dictionary.
enum Dictionary {
    /// The length of the dictionary's longest value.
    Longest(u64),
    /// The first page is not a dictionary page (or the chunk has no pages).
    None,
    /// The first page cannot be read, or it is a dictionary page that cannot be decoded.
    Unreadable,
}

/// The chunk's dictionary, from its first page (at the dictionary offset if the footer has
/// one, else at the first data page): its header alone is read unless it is a dictionary page,
/// whose values are PLAIN (each a 4-byte little-endian length and its bytes). The page decoder
/// can panic on corrupt pages (see `read`): contained here as [`Dictionary::Unreadable`].
fn longest_dictionary_value(disk: &Arc<File>, chunk: &ColumnChunkMetaData) -> Dictionary {
    let read = || -> Option<Dictionary> {
        let mut pages = SerializedPageReader::new(Arc::clone(disk), chunk, 0, None).ok()?;
        match pages.peek_next_page().ok()? {
            Some(first) if first.is_dict => {}
            _ => return Some(Dictionary::None),
        }
        let Page::DictionaryPage { buf, .. } = pages.get_next_page().ok()?? else {
            return None;
        };
        let (mut rest, mut longest) = (&buf[..], 0u64);
        while let Some((len, tail)) = rest.split_first_chunk::<4>() {
            let len = u32::from_le_bytes(*len);
            longest = longest.max(u64::from(len));
            rest = tail.get(usize::try_from(len).ok()?..)?;
        }
        Some(Dictionary::Longest(longest))
    };
    catch_unwind(AssertUnwindSafe(read)).ok().flatten().unwrap_or(Dictionary::Unreadable)
}

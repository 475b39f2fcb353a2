//! How many rows a record batch holds: `chunk_rows`, fewer when the file's rows are wide, so
//! that a decoded batch holds about `chunk_bytes`. The estimate is of *decoded* bytes: the
//! footer's sizes are of encoded data, and a dictionary-encoded column of one 8 KB string repeated
//! 50,000 times is a few KB encoded but 400 MB decoded.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use ::parquet::basic::Type as PhysicalType;
use ::parquet::column::page::{Page, PageReader};
use ::parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use ::parquet::file::serialized_reader::SerializedPageReader;

use crate::ReadOptions;

/// Rows per batch for the file described by `metadata`: `chunk_bytes` over the widest row
/// group's decoded bytes per row (see [`row_bytes`]), at least 1, at most `chunk_rows`.
pub(super) fn batch_rows(file: &File, metadata: &ParquetMetaData, options: &ReadOptions) -> usize {
    let disk = file.try_clone().ok().map(Arc::new);
    let per_row = metadata
        .row_groups()
        .iter()
        .map(|group| {
            let rows = u64::try_from(group.num_rows()).unwrap_or(0).max(1);
            group.columns().iter().map(|c| row_bytes(disk.as_ref(), c, rows)).fold(0u64, u64::saturating_add)
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let batch = usize::try_from(u64::try_from(options.chunk_bytes).unwrap_or(u64::MAX) / per_row).unwrap_or(usize::MAX);
    batch.clamp(1, options.chunk_rows.max(1))
}

/// A bound on one row's decoded bytes in column chunk `chunk` of `rows` rows: its encoded bytes
/// per row, or its values per row times one value's decoded width, whichever is more. For a
/// dictionary-encoded byte-array column that width is the dictionary's longest value, read
/// from its dictionary page (every row may repeat it, however small the data pages are).
fn row_bytes(disk: Option<&Arc<File>>, chunk: &ColumnChunkMetaData, rows: u64) -> u64 {
    let encoded = u64::try_from(chunk.uncompressed_size()).unwrap_or(u64::MAX);
    let values = u64::try_from(chunk.num_values()).unwrap_or(u64::MAX).div_ceil(rows);
    let width = match chunk.column_type() {
        PhysicalType::BOOLEAN => 1,
        PhysicalType::INT32 | PhysicalType::FLOAT => 4,
        PhysicalType::INT64 | PhysicalType::DOUBLE | PhysicalType::INT96 => 8,
        PhysicalType::FIXED_LEN_BYTE_ARRAY => u64::try_from(chunk.column_descr().type_length()).unwrap_or(0),
        // An offset per value, and the value itself: counted in the encoded bytes unless a
        // dictionary lets one value stand for many. A dictionary that cannot be read is taken
        // to be as long as the whole chunk.
        PhysicalType::BYTE_ARRAY if chunk.dictionary_page_offset().is_some() => {
            4 + disk.and_then(|disk| longest_dictionary_value(disk, chunk)).unwrap_or(encoded)
        }
        PhysicalType::BYTE_ARRAY => 4,
    };
    (encoded / rows).max(values.saturating_mul(width))
}

/// The length of the longest value in the chunk's dictionary page (PLAIN: each value a 4-byte
/// little-endian length and its bytes); `None` when the page cannot be read. The page decoder
/// can panic on corrupt pages (see `read`): contained here as a `None`.
fn longest_dictionary_value(disk: &Arc<File>, chunk: &ColumnChunkMetaData) -> Option<u64> {
    let read = || -> Option<u64> {
        let mut pages = SerializedPageReader::new(Arc::clone(disk), chunk, 0, None).ok()?;
        let Page::DictionaryPage { buf, .. } = pages.get_next_page().ok()?? else {
            return None;
        };
        let (mut rest, mut longest) = (&buf[..], 0u64);
        while let Some((len, tail)) = rest.split_first_chunk::<4>() {
            let len = u32::from_le_bytes(*len);
            longest = longest.max(u64::from(len));
            rest = tail.get(usize::try_from(len).ok()?..)?;
        }
        Some(longest)
    };
    catch_unwind(AssertUnwindSafe(read)).ok().flatten()
}

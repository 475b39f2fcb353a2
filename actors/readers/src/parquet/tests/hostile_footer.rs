//! Footers rewritten after the crate's writer is done: a dictionary page the footer does not
//! name (as old writers leave it), and figures a hostile file sets to zero. Batches stay
//! bounded either way.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaDataReader, ParquetMetaDataWriter};

use super::{read, write_arrow};
use crate::{ReadOptions, SourceFile};
use dat_contracts::WorkspacePath;

const ROWS: usize = 50_000;
const LONG: usize = 8_000;

/// One 8,000-byte string in the dictionary, then 50,000 indexes to it: a few KB on disk.
fn write_long_dictionary(disk: &Path) {
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array, StringArray};
    let keys = Int32Array::from(vec![0; ROWS]);
    let values = StringArray::from(vec!["x".repeat(LONG)]);
    let column = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    write_arrow(disk, vec![("s", Arc::new(column))], None);
}

/// Replaces the file's footer with its own, every column chunk passed through `edit`.
fn rewrite_footer(disk: &Path, edit: impl Fn(ColumnChunkMetaData) -> ColumnChunkMetaData) {
    let bytes = std::fs::read(disk).unwrap();
    let metadata = ParquetMetaDataReader::new().parse_and_finish(&File::open(disk).unwrap()).unwrap();
    let tail: [u8; 4] = bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap();
    let start = bytes.len() - 8 - u32::from_le_bytes(tail) as usize;
    let mut builder = metadata.into_builder();
    let groups = builder
        .take_row_groups()
        .into_iter()
        .map(|group| {
            let columns = group.columns().iter().cloned().map(&edit).collect();
            group.into_builder().set_column_metadata(columns).build().unwrap()
        })
        .collect();
    let metadata = builder.set_row_groups(groups).build();
    let mut out = bytes[..start].to_vec();
    ParquetMetaDataWriter::new(&mut out, &metadata).finish().unwrap();
    std::fs::write(disk, out).unwrap();
}

/// Opening `disk` (named `name`) for a read with `options`: its rows per batch, or why it is
/// refused.
fn opened(disk: &Path, name: &str, options: &ReadOptions) -> Result<usize, String> {
    let path = WorkspacePath::parse(name).unwrap();
    super::super::open(&SourceFile::new(&path, disk, None), Some(options)).map(|opened| opened.batch_rows)
}

fn batch_rows(disk: &Path, name: &str, options: &ReadOptions) -> usize {
    opened(disk, name, options).unwrap()
}

/// The byte at which the first column chunk's first data page starts.
fn first_page(disk: &Path) -> usize {
    let metadata = ParquetMetaDataReader::new().parse_and_finish(&File::open(disk).unwrap()).unwrap();
    metadata.row_group(0).column(0).data_page_offset() as usize
}

#[test]
fn a_dictionary_the_footer_does_not_name_still_bounds_the_batches() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.parquet");
    write_long_dictionary(&disk);
    // As old writers do: no dictionary offset, the data pages starting at the dictionary page.
    rewrite_footer(&disk, |c| {
        let dictionary = c.dictionary_page_offset().unwrap();
        c.into_builder().set_dictionary_page_offset(None).set_data_page_offset(dictionary).build().unwrap()
    });
    let options = ReadOptions::default();
    let rows = batch_rows(&disk, "d.parquet", &options);
    assert!(rows >= 1 && rows * LONG <= options.chunk_bytes, "{rows} rows of {LONG} bytes");
    // The decoder finds the dictionary there too: every row reads.
    let (end, got) = read(&disk, "d.parquet");
    end.unwrap();
    assert_eq!(got.rows(), ROWS);
}

#[test]
fn footer_sizes_and_counts_of_zero_give_small_batches() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("z.parquet");
    let column = arrow_array::StringArray::from(vec!["x".repeat(LONG); 16]);
    write_arrow(&disk, vec![("s", Arc::new(column))], None);
    rewrite_footer(&disk, |c| c.into_builder().set_total_uncompressed_size(0).set_num_values(0).build().unwrap());
    let options = ReadOptions::default();
    let rows = batch_rows(&disk, "z.parquet", &options);
    let bound = options.chunk_bytes / super::super::batch::UNTRUSTED_ROW_BYTES as usize;
    assert!((1..=bound).contains(&rows), "{rows} rows, bound {bound}");
}

/// 5,000 plain (not dictionary) strings of 8,000 bytes, zstd: 40 MB decoded, a few KB on disk.
fn write_plain_long_strings(disk: &Path, rows: usize) {
    use ::parquet::basic::{Compression, ZstdLevel};
    use ::parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let column = arrow_array::StringArray::from(vec!["x".repeat(LONG); rows]);
    write_arrow(disk, vec![("s", Arc::new(column))], Some(props));
}

#[test]
fn a_footer_understating_what_its_pages_decode_to_still_gives_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("p.parquet");
    write_plain_long_strings(&disk, 5_000);
    // The footer says the chunk decodes to its compressed size: a few KB for 5,000 rows.
    rewrite_footer(&disk, |c| {
        let compressed = c.compressed_size();
        c.into_builder().set_total_uncompressed_size(compressed).build().unwrap()
    });
    assert!(std::fs::metadata(&disk).unwrap().len() < 64 << 10);
    let options = ReadOptions::default();
    let rows = batch_rows(&disk, "p.parquet", &options);
    assert!(rows >= 1 && rows * LONG <= options.chunk_bytes, "{rows} rows of {LONG} bytes");
    let (end, got) = read(&disk, "p.parquet");
    end.unwrap();
    assert_eq!(got.rows(), 5_000);
}

#[test]
fn a_page_decoding_to_more_than_sixteen_batches_is_an_error_naming_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("big.parquet");
    // 250 rows of 8,000 bytes: pages of about 1 MiB decoded (the writer's page size), against
    // 16 batches of 16 KiB.
    write_plain_long_strings(&disk, 250);
    let options = ReadOptions { chunk_bytes: 16 << 10, ..ReadOptions::default() };
    let Err(error) = opened(&disk, "big.parquet", &options) else {
        panic!("pages of 1 MiB read in batches of 16 KiB");
    };
    assert!(error.starts_with("column `s`: a page decodes to 1.0"), "{error}");
    assert!(error.contains("more than the 0.25 MiB dat decodes at once"), "{error}");
    // With the default batches (16 MiB) it is read.
    let (end, got) = read(&disk, "big.parquet");
    end.unwrap();
    assert_eq!(got.rows(), 250);
}

#[test]
fn a_dictionary_page_past_the_page_limit_is_an_error_before_it_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.parquet");
    write_long_dictionary(&disk);
    // The one 8,000-byte value is a dictionary page of about 8 KB, against 16 × 256 bytes.
    let options = ReadOptions { chunk_bytes: 256, ..ReadOptions::default() };
    let Err(error) = opened(&disk, "d.parquet", &options) else {
        panic!("an 8 KB dictionary page read in batches of 256 bytes");
    };
    assert!(error.starts_with("column `s`: a page decodes to 0.01 MiB"), "{error}");
}

/// 250 plain strings of 8,000 bytes (2 MB decoded, a few KB on disk) under `compression`, in
/// v1 or v2 data pages; with a nullable second column so that v2 pages carry levels.
fn write_compressed(disk: &Path, compression: ::parquet::basic::Compression, v2: bool) {
    use ::parquet::file::properties::{WriterProperties, WriterVersion};
    let version = if v2 { WriterVersion::PARQUET_2_0 } else { WriterVersion::PARQUET_1_0 };
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(compression)
        .set_writer_version(version)
        .build();
    let long = arrow_array::StringArray::from(vec!["x".repeat(LONG); 250]);
    let some = arrow_array::Int64Array::from((0..250).map(|i| (i % 3 != 0).then_some(i)).collect::<Vec<_>>());
    write_arrow(disk, vec![("s", Arc::new(long)), ("n", Arc::new(some))], Some(props));
}

/// Rewrites the `uncompressed_page_size` of column `s`'s first page to `claimed`, in place (the
/// varint padded to its old length, as Thrift's readers accept).
fn understate_first_page(disk: &Path, claimed: u32) {
    let at = first_page(disk);
    let mut bytes = std::fs::read(disk).unwrap();
    // Field 1 (type, i32) and its one-byte varint, then field 2's header: 0x15.
    assert_eq!((bytes[at], bytes[at + 2]), (0x15, 0x15), "a page header starts at {at}");
    let start = at + 3;
    let len = bytes[start..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    let mut zigzag = u64::from(claimed) << 1;
    for (i, byte) in bytes[start..start + len].iter_mut().enumerate() {
        *byte = (zigzag & 0x7F) as u8 | if i + 1 < len { 0x80 } else { 0 };
        zigzag >>= 7;
    }
    assert_eq!(zigzag, 0, "{claimed} fits the old varint");
    std::fs::write(disk, bytes).unwrap();
}

#[test]
fn pages_whose_decoder_grows_its_output_are_refused_when_they_decode_past_their_header() {
    use ::parquet::basic::{BrotliLevel, Compression, GzipLevel};
    let codecs = [
        ("GZIP", Compression::GZIP(GzipLevel::default())),
        ("Brotli", Compression::BROTLI(BrotliLevel::default())),
        ("LZ4", Compression::LZ4),
    ];
    for (name, compression) in codecs {
        for v2 in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let disk = dir.path().join("g.parquet");
            write_compressed(&disk, compression, v2);
            // Honest: every row reads.
            let (end, got) = read(&disk, "g.parquet");
            end.unwrap_or_else(|e| panic!("{name} v2={v2}: {e}"));
            assert_eq!(got.rows(), 250, "{name} v2={v2}");
            // The header says the 2 MB page is 1,000 bytes: the crate's decoder would grow to
            // whatever the stream holds before comparing.
            understate_first_page(&disk, 1_000);
            match opened(&disk, "g.parquet", &ReadOptions::default()) {
                Ok(_) if name == "LZ4" => {
                    // The crate writes LZ4 in the Hadoop framing, which it decodes into the
                    // header's size (bounded); only an LZ4 frame grows, see the next test.
                }
                Ok(_) => panic!("{name} v2={v2}: a page understating its size was opened"),
                Err(error) => {
                    let at = first_page(&disk);
                    let expected = format!(
                        "column `s`: the {name} page at byte {at} decodes to more than the 1000 bytes its header declares"
                    );
                    assert!(error.starts_with(&expected), "{name} v2={v2}: {error}");
                }
            }
        }
    }
}

#[test]
fn an_lz4_page_that_is_a_frame_decoding_past_its_header_is_refused() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("f.parquet");
    write_compressed(&disk, ::parquet::basic::Compression::LZ4, false);
    understate_first_page(&disk, 1_000);
    // The first page's body becomes an LZ4 frame of 100 KB (zeros after it): not the Hadoop
    // framing, so the crate falls back to decoding it as a frame, into a growing buffer.
    let at = first_page(&disk);
    let mut bytes = std::fs::read(&disk).unwrap();
    let header = super::super::pages::parse(&bytes[at..]).unwrap();
    let body = at + header.len as usize..at + header.len as usize + header.compressed as usize;
    let mut frame = lz4_flex::frame::FrameEncoder::new(Vec::new());
    frame.write_all(&vec![0; 100_000]).unwrap();
    let frame = frame.finish().unwrap();
    assert!(frame.len() <= body.len(), "a {}-byte frame fits the {}-byte body", frame.len(), body.len());
    bytes[body.clone()].fill(0);
    bytes[body.start..body.start + frame.len()].copy_from_slice(&frame);
    std::fs::write(&disk, bytes).unwrap();
    let Err(error) = opened(&disk, "f.parquet", &ReadOptions::default()) else {
        panic!("an LZ4 frame page understating its size was opened");
    };
    let expected =
        format!("column `s`: the LZ4 page at byte {at} decodes to more than the 1000 bytes its header declares");
    assert!(error.starts_with(&expected), "{error}");
}

#[test]
fn an_arrow_schema_nested_past_the_flatbuffer_limit_is_set_aside_and_the_values_read() {
    use ::parquet::file::metadata::KeyValue;
    use ::parquet::file::properties::WriterProperties;
    use arrow_schema::{DataType, Field, Schema};
    // The embedded Arrow schema is the file's to write: here one field nested 100 lists deep,
    // beside data that is one plain int column.
    let mut deep = DataType::Int32;
    for _ in 0..100 {
        deep = DataType::List(Arc::new(Field::new("item", deep, true)));
    }
    let encoded = ::parquet::arrow::encode_arrow_schema(&Schema::new(vec![Field::new("n", deep, true)]));
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new("ARROW:schema".to_owned(), encoded)]))
        .build();
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("deep.parquet");
    let batch = arrow_array::RecordBatch::try_from_iter([(
        "n",
        Arc::new(arrow_array::Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let options =
        ::parquet::arrow::arrow_writer::ArrowWriterOptions::new().with_properties(props).with_skip_arrow_metadata(true);
    let mut writer =
        ::parquet::arrow::ArrowWriter::try_new_with_options(File::create(&disk).unwrap(), batch.schema(), options)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    // The hint is set aside, named in a warning; the values are read by their Parquet types.
    let (end, got) = read(&disk, "deep.parquet");
    let warnings = end.unwrap().warnings;
    assert!(
        warnings.iter().any(|w| w.contains("embedded Arrow schema (ARROW:schema) cannot be decoded")),
        "{warnings:?}"
    );
    assert_eq!(got.column("n").0, [Some("1".to_owned()), Some("2".to_owned()), Some("3".to_owned())]);
}

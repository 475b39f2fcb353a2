//! Reading every record: chunks, rejects with their lines, values kept as written, the record
//! cap, counted warnings, and a sink that stops the read.

use std::io::Write;

use dat_contracts::ColumnType;

use crate::testing::read_bytes;
use crate::text::DelimitedAdapter;
use crate::ReadOptions;

fn options(chunk_rows: usize) -> ReadOptions {
    ReadOptions::default().with_chunk_rows(chunk_rows)
}

#[test]
fn rows_come_in_chunks_and_long_rows_are_rejected_with_their_line() {
    let csv = "a,b\n1,x\n2,y,extra\n3,z\n4\n5,w\n";
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "t.csv", csv.as_bytes(), None, &options(2), None);
    let end = result.unwrap();
    assert_eq!(got.rejects.len(), 1);
    assert_eq!((got.rejects[0].line, got.rejects[0].reason.as_str()), (3, "3 fields, the header has 2"));
    assert_eq!(got.rejects[0].snippet, "2yextra", "the record's fields, to recognise it");
    assert_eq!(got.heights(), [2, 2], "four rows kept, in chunks of two");
    assert_eq!(got.source_rows(), [2, 4, 5, 6], "each row keeps the line it was on");
    assert_eq!(got.column("b").0, [Some("x".into()), Some("z".into()), None, Some("w".into())]);
    assert_eq!(end.warnings.len(), 1, "{:?}", end.warnings);
    assert!(end.warnings[0].starts_with("1 row(s) have fewer fields than the header (2), first on line 5"));
}

#[test]
fn cells_keep_their_text_until_the_type_is_final() {
    let csv = "d,code,e\n1.50,007,1e3\n2,12,2\n";
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "t.csv", csv.as_bytes(), None, &options(1), None);
    result.unwrap();
    let (d, types) = got.column("d");
    assert_eq!(d, [Some("1.50".into()), Some("2".into())]);
    assert_eq!(types, [ColumnType::Float, ColumnType::Int], "each chunk's own type; parse widens them");
    assert_eq!(got.column("code").0, [Some("007".into()), Some("12".into())]);
    assert_eq!(got.column("e").0, [Some("1e3".into()), Some("2".into())]);
}

#[test]
fn an_unterminated_quote_is_one_reject_and_every_later_row_is_kept() {
    let mut csv = String::from("id,text\n1,\"never closed\n");
    for i in 2..=5_000 {
        csv.push_str(&format!("{i},row {i}\n"));
    }
    let options = ReadOptions { record_cap: 64 * 1024, ..ReadOptions::default() };
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "q.csv", csv.as_bytes(), None, &options, None);
    result.unwrap();
    assert_eq!(got.rejects.len(), 1, "{:?}", got.rejects.first());
    assert_eq!(got.rejects[0].line, 2, "the line the record began on");
    assert!(got.rejects[0].reason.contains("longer than the record cap"), "{}", got.rejects[0].reason);
    assert_eq!(got.rows(), 4_999, "rows 2..=5000 are all kept");
    assert_eq!(got.source_rows().first(), Some(&3));
}

#[test]
fn a_gzip_file_is_chunked_by_what_it_inflates_to() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"n\n").unwrap();
    for i in 0..20_000 {
        gz.write_all(format!("{i}\n").as_bytes()).unwrap();
    }
    let bytes = gz.finish().unwrap();
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "n.csv.gz", &bytes, None, &options(5_000), None);
    result.unwrap();
    assert_eq!(got.heights(), [5_000, 5_000, 5_000, 5_000]);
}

#[test]
fn a_decompressed_size_limit_fails_the_table_when_set() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&b"n\n".repeat(2 << 20)).unwrap();
    let bytes = gz.finish().unwrap();
    let options = ReadOptions { decompressed_limit: Some(1 << 20), ..ReadOptions::default() };
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("big.csv.gz");
    std::fs::write(&disk, bytes).unwrap();
    let path = dat_contracts::WorkspacePath::parse("big.csv.gz").unwrap();
    let file = crate::SourceFile {
        decompressed_limit: options.decompressed_limit,
        ..crate::SourceFile::new(&path, &disk, Some(crate::Compression::Gzip))
    };
    let mut sink = crate::testing::Collected::default();
    let err = crate::Adapter::read(&DelimitedAdapter::default(), &file, None, &options, &mut sink).unwrap_err();
    assert!(err.to_string().contains("decompressed-size limit of 1 MiB"), "{err}");
}

#[test]
fn bytes_that_are_not_text_past_the_sample_are_replaced_and_counted() {
    // Valid UTF-8 for the probe's first MiB, then two bad bytes: decoded as UTF-8, replaced.
    let mut csv = b"a\n".to_vec();
    while csv.len() < (1 << 20) + 1000 {
        csv.extend_from_slice(b"fine\n");
    }
    csv.extend_from_slice(b"bad\xff\xfe\n");
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "t.csv", &csv, None, &ReadOptions::default(), None);
    let end = result.unwrap();
    assert!(end.warnings.iter().any(|w| w.starts_with("2 byte sequence(s)")), "{:?}", end.warnings);
    assert_eq!(got.column("a").0.last(), Some(&Some("bad\u{fffd}\u{fffd}".to_owned())));
}

#[test]
fn a_sink_that_stops_stops_the_read() {
    let csv: String = std::iter::once("a\n".to_owned()).chain((0..1000).map(|i| format!("{i}\n"))).collect();
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "t.csv", csv.as_bytes(), None, &options(10), Some(1));
    assert!(matches!(result, Err(crate::ReadError::Stopped)), "{result:?}");
    assert_eq!(got.chunks.len(), 1);
}

#[test]
fn an_unterminated_quote_in_a_file_of_lone_carriage_returns_resumes_on_the_next_line() {
    let mut csv = String::from("id,text\r1,\"never closed\r");
    for i in 2..=10_000 {
        csv.push_str(&format!("{i},row {i}\r"));
    }
    let options = ReadOptions { record_cap: 64 * 1024, ..ReadOptions::default() };
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "q.csv", csv.as_bytes(), None, &options, None);
    let account = result.unwrap().accounting.unwrap();
    assert_eq!(got.rejects.len(), 1, "{:?}", got.rejects.first());
    assert_eq!(got.rejects[0].line, 2, "the line the record began on");
    assert_eq!(got.rows(), 9_999, "rows 2..=10000 are all kept");
    assert_eq!(got.source_rows().first(), Some(&3));
    assert_eq!(got.source_rows().last(), Some(&10_001));
    assert_eq!(account.check("q.csv", got.rows() as u64, 1), Ok(()));
}

#[test]
fn a_record_wider_than_the_column_limit_is_rejected_like_any_too_wide_row() {
    let csv = "a,b\n1,x\n2,y,e,f,g,h\n\"3\",z,e,f,g,h\n4,w\n";
    let options = ReadOptions { max_columns: 4, ..ReadOptions::default() };
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "w.csv", csv.as_bytes(), None, &options, None);
    let account = result.unwrap().accounting.unwrap();
    let rejects: Vec<_> = got.rejects.iter().map(|r| (r.line, r.reason.as_str(), r.snippet.as_str())).collect();
    assert_eq!(rejects, [(3, "6 fields, the header has 2", "2yefgh"), (4, "6 fields, the header has 2", "3zefgh")]);
    assert_eq!(got.source_rows(), [2, 5]);
    assert_eq!(account.check("w.csv", 2, 2), Ok(()));
}

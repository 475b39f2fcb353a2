//! Statuses: empty, partial, error and available, plain and compressed.

use dat_contracts::{ColumnType, TableStatus};
use serde_json::{json, Value};

use super::{file, gzip, names, preview, preview_in, probe, sniff, types, zstd};

#[test]
fn a_zero_byte_file_is_empty() {
    let table = probe("empty.csv", b"");
    assert_eq!(table.status, TableStatus::Empty);
    assert!(table.columns.is_empty());
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(0), true));
    assert_eq!(table.error, None);
    assert!(preview("empty.csv", b"", 10).rows.is_empty());
}

#[test]
fn a_header_only_file_is_empty_and_lists_its_columns() {
    let table = probe("head.csv", b"id,name,value\n");
    assert_eq!(table.status, TableStatus::Empty);
    assert_eq!(names(&table), ["id", "name", "value"]);
    assert_eq!(types(&table), [ColumnType::Null; 3]);
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(0), true));
    assert!(sniff(&table).header);
}

#[test]
fn ragged_rows_make_the_table_partial_short_ones_padded_long_ones_rejected() {
    let text = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n7,8,9\n";
    let table = probe("ragged.csv", text);
    assert_eq!(table.status, TableStatus::Partial);
    assert_eq!(names(&table), ["a", "b", "c"]);
    let warning = table.warnings.iter().find(|w| w.contains("different number of fields")).unwrap();
    assert!(warning.starts_with("2 rows"), "{warning}");
    assert!(warning.contains("line 3"), "{warning}");
    assert_eq!(table.row_estimate, Some(4));
    let rows = preview("ragged.csv", text, 10).rows;
    assert_eq!(rows[1], [json!(4), json!(5), Value::Null]);
    assert_eq!(rows[2], [json!(7), json!(8), json!(9)], "the row with four fields is a reject");
}

#[test]
fn blank_lines_are_not_rows() {
    let table = probe("blank.csv", b"a,b\n1,2\n\n3,4\n\n");
    assert_eq!(table.status, TableStatus::Available, "{:?}", table.warnings);
    assert_eq!(table.row_estimate, Some(2));
}

#[test]
fn gzip_and_zstd_files_are_read_and_recorded() {
    let text = b"id,name\n1,a\n2,b\n3,c\n";
    for (name, bytes, compression) in [("a.csv.gz", gzip(text), "gzip"), ("a.csv.zst", zstd(text), "zstd")] {
        let table = probe(name, &bytes);
        assert_eq!(table.status, TableStatus::Available, "{name}");
        assert_eq!(sniff(&table).compression.as_deref(), Some(compression));
        assert_eq!(names(&table), ["id", "name"]);
        assert_eq!((table.row_estimate, table.row_count_exact), (Some(3), true));
        assert_eq!(preview(name, &bytes, 1).rows, [[json!(1), json!("a")]]);
    }
}

/// A CSV big enough that cutting its compressed form loses rows.
fn some_rows() -> Vec<u8> {
    (0..2000).map(|i| format!("{i},name {i},{}\n", i * 7 % 13)).collect::<String>().into_bytes()
}

#[test]
fn a_truncated_gzip_stream_is_an_error() {
    let bytes = gzip(&some_rows());
    let cut = &bytes[..bytes.len() / 2];
    let table = probe("cut.csv.gz", cut);
    assert_eq!(table.status, TableStatus::Error);
    let error = table.error.unwrap();
    assert!(error.contains("gzip stream is truncated or corrupt"), "{error}");
    let dir = file("cut.csv.gz", cut);
    assert!(preview_in(dir.path(), "cut.csv.gz", 5).is_err());
}

#[test]
fn a_truncated_zstd_stream_is_an_error() {
    let bytes = zstd(&some_rows());
    let table = probe("cut.csv.zst", &bytes[..bytes.len() - 10]);
    assert_eq!(table.status, TableStatus::Error);
    assert!(table.error.unwrap().contains("zstd stream is truncated or corrupt"));
}

#[test]
fn a_file_named_gz_that_is_not_gzip_is_an_error() {
    let table = probe("fake.csv.gz", b"id,name\n1,a\n");
    assert_eq!(table.status, TableStatus::Error);
    assert!(table.error.unwrap().contains("gzip"));
}

#[test]
fn an_empty_compressed_file_is_empty() {
    assert_eq!(probe("none.csv.gz", &gzip(b"")).status, TableStatus::Empty);
    assert_eq!(probe("zero.csv.gz", b"").status, TableStatus::Empty);
    assert_eq!(probe("zero.csv.zst", b"").status, TableStatus::Empty);
}

#[test]
fn errors_name_only_the_workspace_path() {
    let dir = file("cut.csv.gz", &gzip(&some_rows())[..100]);
    let table = super::probe_in(dir.path(), "cut.csv.gz");
    let error = table.error.unwrap();
    assert!(!error.contains(dir.path().to_str().unwrap()), "{error}");
    assert_eq!(table.file, "cut.csv.gz");
}

#[test]
fn odd_bytes_never_panic() {
    let alphabet: &[u8] = b",;\t|\"'\n\r a1.-e\xc3\xa9\xff\x00";
    let mut next = crate::testing::random(0x9e37_79b9_7f4a_7c15);
    for case in 0..300 {
        let len = usize::try_from(next() % 200).unwrap();
        let bytes: Vec<u8> = (0..len).map(|_| alphabet[usize::try_from(next()).unwrap() % alphabet.len()]).collect();
        let name = ["x.csv", "x.tsv", "x.csv.gz"][case % 3];
        let dir = file(name, &bytes);
        let _ = super::probe_in(dir.path(), name);
        let _ = preview_in(dir.path(), name, 5);
    }
}

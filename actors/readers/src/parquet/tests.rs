//! Parquet files written with the crate's own writer, cut short, or faked.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::parser::parse_message_type;
use dat_contracts::{ColumnType, TablePreview, TableProbe, TableStatus, WorkspacePath};
use serde_json::json;

use super::ParquetAdapter;
use crate::{Adapter, ReadError, SourceFile};

fn probe(disk: &Path, name: &str) -> TableProbe {
    let path = WorkspacePath::parse(name).unwrap();
    let mut tables = ParquetAdapter.probe(&SourceFile::new(&path, disk, None), &crate::ReadOptions::default());
    assert_eq!(tables.len(), 1);
    tables.remove(0)
}

fn preview(disk: &Path, name: &str, rows: usize) -> Result<TablePreview, ReadError> {
    let path = WorkspacePath::parse(name).unwrap();
    ParquetAdapter.preview(&SourceFile::new(&path, disk, None), None, rows, &crate::ReadOptions::default())
}

fn columns(table: &TableProbe) -> Vec<(&str, ColumnType, bool)> {
    table.columns.iter().map(|c| (c.name.as_str(), c.dtype, c.nullable)).collect()
}

/// Four rows: `id` int64, `value` double (one null), `name` string, `ok` boolean.
fn write_sample(disk: &Path) {
    let schema = parse_message_type(
        "message sample { required int64 id; optional double value; required binary name (UTF8); required boolean ok; }",
    )
    .unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(disk).unwrap(), Arc::new(schema), props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column.typed::<Int64Type>().write_batch(&[1, 2, 3, 4], None, None).unwrap();
    column.close().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column.typed::<DoubleType>().write_batch(&[1.5, 2.5, 4.5], Some(&[1, 1, 0, 1]), None).unwrap();
    column.close().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    let names: Vec<ByteArray> = ["a", "b", "c", "d"].into_iter().map(ByteArray::from).collect();
    column.typed::<ByteArrayType>().write_batch(&names, None, None).unwrap();
    column.close().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column.typed::<BoolType>().write_batch(&[true, false, true, false], None, None).unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn a_parquet_file_is_probed_from_its_footer() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("s.parquet");
    write_sample(&disk);
    let table = probe(&disk, "s.parquet");
    assert_eq!((table.table_id.as_str(), table.status), ("s.parquet", TableStatus::Available));
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(4), true));
    assert_eq!(
        columns(&table),
        [
            ("id", ColumnType::Int, false),
            ("value", ColumnType::Float, true),
            ("name", ColumnType::String, false),
            ("ok", ColumnType::Bool, false),
        ]
    );
}

#[test]
fn preview_gives_the_first_rows_in_schema_order() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("s.parquet");
    write_sample(&disk);
    let preview = preview(&disk, "s.parquet", 3).unwrap();
    assert_eq!(preview.columns, ["id", "value", "name", "ok"]);
    assert_eq!(preview.total_estimate, Some(4));
    assert_eq!(
        preview.rows,
        [
            vec![json!(1), json!(1.5), json!("a"), json!(true)],
            vec![json!(2), json!(2.5), json!("b"), json!(false)],
            vec![json!(3), json!(null), json!("c"), json!(true)],
        ]
    );
}

#[test]
fn a_file_without_rows_is_empty_and_its_schema_types_are_mapped() {
    let schema = parse_message_type(
        "message m {
            optional int32 day (DATE);
            optional int64 at (TIMESTAMP(MILLIS,true));
            optional int32 price (DECIMAL(9,2));
            optional binary raw;
            optional group tags (LIST) { repeated group list { optional binary element (UTF8); } }
            optional group point { required double x; required double y; }
            repeated int32 codes;
        }",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("empty.parquet");
    let props = Arc::new(WriterProperties::builder().build());
    SerializedFileWriter::new(File::create(&disk).unwrap(), Arc::new(schema), props).unwrap().close().unwrap();
    let table = probe(&disk, "empty.parquet");
    assert_eq!((table.status, table.row_estimate, table.row_count_exact), (TableStatus::Empty, Some(0), true));
    assert_eq!(
        columns(&table),
        [
            ("day", ColumnType::Date, true),
            ("at", ColumnType::Datetime, true),
            ("price", ColumnType::Decimal { precision: 9, scale: 2 }, true),
            ("raw", ColumnType::Binary, true),
            ("tags", ColumnType::List, true),
            ("point", ColumnType::Struct, true),
            ("codes", ColumnType::List, false),
        ]
    );
}

#[test]
fn a_truncated_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("s.parquet");
    write_sample(&whole);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let table = probe(&cut, "cut.parquet");
    assert_eq!(table.status, TableStatus::Error);
    let reason = table.error.unwrap();
    assert!(reason.starts_with("not a readable Parquet file"), "{reason}");
    assert!(!reason.contains(&dir.path().display().to_string()), "{reason}");
    assert!(matches!(preview(&cut, "cut.parquet", 2), Err(ReadError::Format { .. })));
}

#[test]
fn garbage_bytes_named_parquet_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in
        [("g.parquet", &b"this is not a parquet file at all"[..]), ("tiny.pq", b"PA"), ("zero.pq", b"")]
    {
        let disk = dir.path().join(name);
        std::fs::write(&disk, bytes).unwrap();
        let table = probe(&disk, name);
        assert_eq!(table.status, TableStatus::Error, "{name}");
    }
    // Right magic at both ends, but a footer length pointing before the start of the file.
    let disk = dir.path().join("footer.parquet");
    std::fs::write(&disk, [&b"PAR1"[..], &[0xFF, 0xFF, 0xFF, 0x7F], b"PAR1"].concat()).unwrap();
    assert_eq!(probe(&disk, "footer.parquet").status, TableStatus::Error);
}

#[test]
fn a_large_file_gets_its_exact_row_count_from_the_footer() {
    const ROWS: i64 = 3_000_000;
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("big.parquet");
    let schema = Arc::new(parse_message_type("message m { required int64 n; }").unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(&disk).unwrap(), schema, props).unwrap();
    let chunk: Vec<i64> = (0..1_000_000).collect();
    for _ in 0..ROWS / 1_000_000 {
        let mut group = writer.next_row_group().unwrap();
        let mut column = group.next_column().unwrap().unwrap();
        column.typed::<Int64Type>().write_batch(&chunk, None, None).unwrap();
        column.close().unwrap();
        group.close().unwrap();
    }
    writer.close().unwrap();
    let table = probe(&disk, "big.parquet");
    assert_eq!(
        (table.status, table.row_estimate, table.row_count_exact),
        (TableStatus::Available, Some(3_000_000), true)
    );
}

#[test]
fn the_sample_fixture_probes_and_previews() {
    let disk = &crate::testing::shared_fixture("basic/sample.parquet");
    let table = probe(disk, "basic/sample.parquet");
    assert_eq!(table.status, TableStatus::Available, "{:?}", table.error);
    assert!(table.row_count_exact);
    assert!(!table.columns.is_empty());
    let preview = preview(disk, "basic/sample.parquet", 2).unwrap();
    assert_eq!(preview.columns.len(), table.columns.len());
    assert!(preview.rows.len() <= 2);
}

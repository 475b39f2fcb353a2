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

mod deep_schema;
mod hostile_footer;

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

/// Reads a whole file as parse does.
fn read(disk: &Path, name: &str) -> (Result<crate::ReadEnd, ReadError>, crate::testing::Collected) {
    crate::testing::read_path(&ParquetAdapter, name, disk, None, &crate::ReadOptions::default(), None)
}

/// An INT96 timestamp (Impala/Hive/Spark layout: nanoseconds of the day, then the Julian day).
fn int96(julian_day: u32, nanos: u64) -> ::parquet::data_type::Int96 {
    let mut value = ::parquet::data_type::Int96::new();
    value.set_data(nanos as u32, (nanos >> 32) as u32, julian_day);
    value
}

/// A file of one required INT96 column `t`.
fn write_int96(disk: &Path, values: &[::parquet::data_type::Int96]) {
    let schema = Arc::new(parse_message_type("message m { required int96 t; }").unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(disk).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column.typed::<::parquet::data_type::Int96Type>().write_batch(values, None, None).unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn int96_dates_outside_the_nanosecond_range_keep_their_date() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("t.parquet");
    // Spark's 9999-12-31 sentinel, then 2020-01-01 plus 1,500 ns (half a microsecond past one).
    write_int96(&disk, &[int96(5_373_484, 0), int96(2_458_850, 1_500)]);
    let (end, got) = read(&disk, "t.parquet");
    let end = end.unwrap();
    assert_eq!(
        got.column("t").0,
        [Some("9999-12-31T00:00:00".to_owned()), Some("2020-01-01T00:00:00.000001".to_owned())]
    );
    assert_eq!(end.warnings.len(), 1, "{:?}", end.warnings);
    assert!(end.warnings[0].contains("1 value(s) had digits past the microsecond"), "{:?}", end.warnings);
}

#[test]
fn an_int96_date_no_unit_holds_is_an_error_not_a_wrapped_date() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("t.parquet");
    // Julian day two billion: about 5.5 million years, past microseconds in an i64.
    write_int96(&disk, &[int96(2_000_000_000, 0)]);
    let (end, got) = read(&disk, "t.parquet");
    assert!(matches!(end, Err(ReadError::Format { .. })), "{end:?}");
    assert_eq!(got.rows(), 0);
}

/// Writes `columns` as one batch with Arrow's own writer (the embedded Arrow schema included).
fn write_arrow(disk: &Path, columns: Vec<(&str, arrow_array::ArrayRef)>, props: Option<WriterProperties>) {
    let batch = arrow_array::RecordBatch::try_from_iter(columns).unwrap();
    let mut writer =
        ::parquet::arrow::ArrowWriter::try_new(File::create(disk).unwrap(), batch.schema(), props).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn nested_timestamps_and_dates_keep_their_exact_value() {
    use arrow_array::types::{Date32Type, TimestampNanosecondType};
    use arrow_array::ListArray;
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("n.parquet");
    let at = ListArray::from_iter_primitive::<TimestampNanosecondType, _, _>([Some([Some(1_000_000_001)])]);
    let day = ListArray::from_iter_primitive::<Date32Type, _, _>([Some([Some(100_000_000)])]);
    write_arrow(&disk, vec![("at", Arc::new(at)), ("day", Arc::new(day))], None);
    let (end, got) = read(&disk, "n.parquet");
    end.unwrap();
    assert_eq!(got.column("at").0, [Some(r#"["1970-01-01T00:00:01.000000001"]"#.to_owned())]);
    // Past the dates chrono knows (±262,000 years): the day number itself, not an empty string.
    assert_eq!(got.column("day").0, [Some(r#"["100000000"]"#.to_owned())]);
}

#[test]
fn times_outside_a_day_keep_their_number_in_their_own_unit_and_are_counted() {
    use arrow_array::{Time32SecondArray, Time64MicrosecondArray};
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("t.parquet");
    let seconds = Time32SecondArray::from(vec![100_000, 3_600]);
    let micros = Time64MicrosecondArray::from(vec![5_000_000_000_000_000, 1]);
    write_arrow(&disk, vec![("s", Arc::new(seconds)), ("us", Arc::new(micros))], None);
    let (end, got) = read(&disk, "t.parquet");
    let end = end.unwrap();
    assert_eq!(got.column("s").0, [Some("100000".to_owned()), Some("01:00:00".to_owned())]);
    assert_eq!(got.column("us").0, [Some("5000000000000000".to_owned()), Some("00:00:00.000001".to_owned())]);
    assert_eq!(end.warnings.len(), 2, "{:?}", end.warnings);
    assert!(end.warnings.iter().all(|w| w.contains("1 value(s) are outside a day")), "{:?}", end.warnings);
}

#[test]
fn a_dictionary_of_long_strings_gets_batches_bounded_by_their_decoded_size() {
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array, StringArray};
    const ROWS: usize = 50_000;
    const LONG: usize = 8_000;
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.parquet");
    // A few kilobytes on disk: one 8,000-byte value in the dictionary, then 50,000 indexes to it.
    let keys = Int32Array::from(vec![0; ROWS]);
    let values = StringArray::from(vec!["x".repeat(LONG)]);
    let column = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    write_arrow(&disk, vec![("s", Arc::new(column))], None);
    assert!(std::fs::metadata(&disk).unwrap().len() < 64 << 10);
    let path = WorkspacePath::parse("d.parquet").unwrap();
    let options = crate::ReadOptions::default();
    let opened = super::open(&SourceFile::new(&path, &disk, None), Some(&options)).unwrap();
    // Decoded, a batch holds its rows' strings: at most `chunk_bytes` of them.
    assert!(opened.batch_rows >= 1);
    assert!(opened.batch_rows * LONG <= options.chunk_bytes, "{} rows of {LONG} bytes", opened.batch_rows);
}

#[test]
fn an_int96_column_hinted_as_seconds_keeps_its_fraction() {
    use ::parquet::file::metadata::KeyValue;
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("t.parquet");
    // What an Arrow writer leaves for a column it was asked to keep in seconds.
    let hint = arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "t",
        arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Second, None),
        false,
    )]);
    let hint = KeyValue::new("ARROW:schema".to_owned(), ::parquet::arrow::encode_arrow_schema(&hint));
    let schema = Arc::new(parse_message_type("message m { required int96 t; }").unwrap());
    let props = Arc::new(WriterProperties::builder().set_key_value_metadata(Some(vec![hint])).build());
    let mut writer = SerializedFileWriter::new(File::create(&disk).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    // 2020-01-01 plus 1.5 s, and plus 1,500 ns (half a microsecond past one).
    let values = [int96(2_458_850, 1_500_000_000), int96(2_458_850, 1_500)];
    column.typed::<::parquet::data_type::Int96Type>().write_batch(&values, None, None).unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
    let (end, got) = read(&disk, "t.parquet");
    let end = end.unwrap();
    assert_eq!(
        got.column("t").0,
        [Some("2020-01-01T00:00:01.500".to_owned()), Some("2020-01-01T00:00:00.000001".to_owned())]
    );
    assert_eq!(end.warnings.len(), 1, "{:?}", end.warnings);
    assert!(end.warnings[0].contains("1 value(s) had digits past the microsecond"), "{:?}", end.warnings);
}

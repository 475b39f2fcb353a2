//! Parquet files as real writers make them, written at test time with the `parquet` crate (its
//! Arrow writer and its column writer), beside a CSV: every column type parses with its rows and
//! a type that keeps its values; a file made unreadable past its footer fails alone, named, and
//! the stage completes with every other table in the dataset.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Decimal256Array, DictionaryArray,
    FixedSizeBinaryArray, Float16Array, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    StructArray, Time64MicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray, UInt16Array, UInt32Array,
    UInt64Array, UInt8Array,
};
use arrow_schema::{DataType as ArrowType, Field};
use parquet::arrow::ArrowWriter;
use parquet::basic::Encoding;
use parquet::data_type::{Int96, Int96Type};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use polars::prelude::*;
use serde_json::Value;

use crate::support::{dat, parse_bundle};

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>, props: WriterProperties) {
    let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_owned(), a))).unwrap();
    let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn arc(array: impl arrow_array::Array + 'static) -> ArrayRef {
    Arc::new(array)
}

/// One file per group of types, three rows each, columns named for what they hold.
fn write_folder(dir: &Path) {
    let plain = || WriterProperties::builder().build();
    write(
        &dir.join("decimals.parquet"),
        vec![
            (
                "dec_10_2",
                arc(Decimal128Array::from(vec![Some(1230), Some(-5), None]).with_precision_and_scale(10, 2).unwrap()),
            ),
            (
                "dec_40_5",
                arc(Decimal256Array::from(vec![Some(arrow_buffer::i256::from_i128(123_456_789)), None, None])
                    .with_precision_and_scale(40, 5)
                    .unwrap()),
            ),
        ],
        plain(),
    );
    write(
        &dir.join("timestamps.parquet"),
        vec![
            (
                "ts_ns_utc",
                arc(TimestampNanosecondArray::from(vec![Some(1_700_000_000_123_456_789), Some(0), None])
                    .with_timezone("UTC")),
            ),
            ("ts_ms_naive", arc(TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None, Some(-1_000)]))),
            ("day", arc(Date32Array::from(vec![Some(19_000), Some(0), None]))),
            ("time_of_day", arc(Time64MicrosecondArray::from(vec![Some(3_723_000_001), None, Some(0)]))),
        ],
        plain(),
    );
    write(
        &dir.join("unsigned.parquet"),
        vec![
            ("u8", arc(UInt8Array::from(vec![Some(255), Some(0), None]))),
            ("u16", arc(UInt16Array::from(vec![Some(65_535), Some(1), None]))),
            ("u32", arc(UInt32Array::from(vec![Some(4_294_967_295), Some(2), None]))),
            ("u64_small", arc(UInt64Array::from(vec![Some(7), Some(8), None]))),
            ("u64_big", arc(UInt64Array::from(vec![Some(u64::MAX), Some(1), None]))),
        ],
        plain(),
    );
    write(
        &dir.join("floats.parquet"),
        vec![
            (
                "f16",
                arc(Float16Array::from(vec![Some(half::f16::from_f32(1.5)), None, Some(half::f16::from_f32(-2.0))])),
            ),
            ("f32", arc(Float32Array::from(vec![Some(0.25), Some(1.0), None]))),
            ("flag", arc(BooleanArray::from(vec![Some(true), None, Some(false)]))),
        ],
        plain(),
    );
    write(
        &dir.join("binary.parquet"),
        vec![
            ("bytes", arc(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), None, Some(&b"ab"[..])]))),
            (
                "fixed4",
                arc(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    vec![Some(vec![1u8, 2, 3, 4]), None, Some(vec![0u8, 0, 0, 0])].into_iter(),
                    4,
                )
                .unwrap()),
            ),
        ],
        plain(),
    );
    // v2 data pages, byte-stream-split floats, a dictionary-encoded string column.
    let encoded = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_column_dictionary_enabled(ColumnPath::from("bss"), false)
        .set_column_encoding(ColumnPath::from("bss"), Encoding::BYTE_STREAM_SPLIT)
        .build();
    let dictionary: DictionaryArray<Int32Type> = vec![Some("L1"), Some("L1"), Some("L2")].into_iter().collect();
    write(
        &dir.join("encodings.parquet"),
        vec![
            ("bss", arc(Float64Array::from(vec![Some(3.5), Some(-0.125), Some(1e300)]))),
            ("lot", arc(dictionary)),
            ("v2_int", arc(Int64Array::from(vec![Some(i64::MAX), Some(i64::MIN), None]))),
        ],
        encoded,
    );
    write(&dir.join("nested.parquet"), nested_columns(), plain());
    write_int96(&dir.join("int96.parquet"));
    std::fs::write(dir.join("plain.csv"), "id,name\n1,a\n2,b\n").unwrap();
}

fn nested_columns() -> Vec<(&'static str, ArrayRef)> {
    let mut list = ListBuilder::new(Int32Builder::new());
    list.values().append_value(1);
    list.values().append_value(2);
    list.append(true);
    list.append(false);
    list.append(true);
    let point = StructArray::from(vec![
        (Arc::new(Field::new("x", ArrowType::Int32, true)), arc(Int32Array::from(vec![Some(1), None, Some(3)]))),
        (
            Arc::new(Field::new("label", ArrowType::Utf8, true)),
            arc(StringArray::from(vec![Some("a\"b"), None, Some("c")])),
        ),
    ]);
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    map.keys().append_value("k");
    map.values().append_value(9);
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    vec![("tags", arc(list.finish())), ("point", arc(point)), ("attrs", arc(map.finish()))]
}

/// INT96 timestamps as Impala and Spark write them (nanoseconds of the day, Julian day).
fn write_int96(path: &Path) {
    let schema = Arc::new(parse_message_type("message m { optional int96 legacy_ts; }").unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    // 2001-01-01T00:00:01 UTC: Julian day 2451911, one second into the day.
    let mut value = Int96::new();
    let nanos: u64 = 1_000_000_000;
    value.set_data(nanos as u32, (nanos >> 32) as u32, 2_451_911);
    column.typed::<Int96Type>().write_batch(&[value, value], Some(&[1, 0, 1]), None).unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

/// A Parquet file whose footer is intact but whose pages are not: probed `available`, unreadable.
fn write_broken(path: &Path) {
    let big: Vec<i64> = (0..50_000i64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64)).collect();
    let snappy = WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
    write(path, vec![("n", arc(Int64Array::from(big)))], snappy);
    let mut bytes = std::fs::read(path).unwrap();
    // The first page header, just after the leading magic: the pages cannot be found.
    for b in bytes.iter_mut().skip(4).take(64) {
        *b = 0xFF;
    }
    std::fs::write(path, bytes).unwrap();
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_parquet_column_type_parses_and_a_broken_file_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_folder(&data);
    write_broken(&data.join("zz_broken.parquet"));
    let (data_dir, out) = (dir.path().join("data-dir"), dir.path().join("out"));
    let result = dat(&["run", path(&data), "--data-dir", path(&data_dir), "--out", path(&out)]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&result.stderr));
    assert!(stdout.contains("failed: zz_broken.parquet: [unreadable]"), "the failed table is named:\n{stdout}");

    let bundle = parse_bundle(&data_dir, &out);
    let result: Value = serde_json::from_slice(&std::fs::read(bundle.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["tables"]["failed"], 1, "{result}");
    assert_eq!(result["tables"]["parsed"], 9, "eight Parquet files and the CSV: {result}");
    let problems = result["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{result}");
    assert_eq!(problems[0]["table_id"], "zz_broken.parquet");
    assert_eq!(problems[0]["error"]["code"], "unreadable");

    let df = ParquetReader::new(File::open(out.join("data.parquet")).unwrap()).finish().unwrap();
    assert_eq!(df.height(), 3 * 8 + 2, "every row of every readable file");
    let dtype = |c: &str| df.column(c).unwrap_or_else(|e| panic!("{c}: {e}")).dtype().clone();
    let text = |c: &str| -> Vec<String> {
        let column = df.column(c).unwrap().drop_nulls();
        column.str().unwrap_or_else(|e| panic!("{c}: {e}")).iter().map(|v| v.unwrap().to_owned()).collect()
    };
    assert_eq!(dtype("dec_10_2"), DataType::Decimal(10, 2), "precision and scale kept");
    let decimals: Vec<i128> = df.column("dec_10_2").unwrap().decimal().unwrap().physical().iter().flatten().collect();
    assert_eq!(decimals, [1230, -5]);
    assert_eq!(text("dec_40_5"), ["1234.56789"], "past 38 digits: the exact text");
    let micros = DataType::Datetime(TimeUnit::Microseconds, None);
    for c in ["ts_ns_utc", "ts_ms_naive", "legacy_ts"] {
        assert_eq!(dtype(c), micros, "{c}");
    }
    let ts = |c: &str| -> Vec<i64> { df.column(c).unwrap().datetime().unwrap().physical().iter().flatten().collect() };
    assert_eq!(ts("ts_ns_utc"), [1_700_000_000_123_456, 0]);
    assert_eq!(ts("ts_ms_naive"), [1_700_000_000_123_000, -1_000_000]);
    assert_eq!(ts("legacy_ts"), [978_307_201_000_000, 978_307_201_000_000], "int96: 2001-01-01T00:00:01");
    assert_eq!(dtype("day"), DataType::Date);
    assert_eq!(text("time_of_day"), ["01:02:03.000001", "00:00:00"]);
    for c in ["u8", "u16", "u32", "u64_small", "v2_int", "id"] {
        assert_eq!(dtype(c), DataType::Int64, "{c}");
    }
    assert_eq!(text("u64_big"), [u64::MAX.to_string(), "1".to_owned()], "beyond i64: its digits");
    for c in ["f16", "f32", "bss"] {
        assert_eq!(dtype(c), DataType::Float64, "{c}");
    }
    let floats = |c: &str| -> Vec<f64> { df.column(c).unwrap().f64().unwrap().iter().flatten().collect() };
    assert_eq!(floats("f16"), [1.5, -2.0]);
    assert_eq!(floats("bss"), [3.5, -0.125, 1e300]);
    assert_eq!(dtype("flag"), DataType::Boolean);
    assert_eq!(dtype("bytes"), DataType::Binary);
    assert_eq!(dtype("fixed4"), DataType::Binary);
    assert_eq!(text("lot"), ["L1", "L1", "L2"], "dictionary values");
    assert_eq!(text("tags"), ["[1,2]", "[]"]);
    assert_eq!(text("point"), [r#"{"x":1,"label":"a\"b"}"#, r#"{"x":null,"label":null}"#, r#"{"x":3,"label":"c"}"#]);
    assert_eq!(text("attrs"), [r#"{"k":9}"#, "{}"]);

    let report: Value = serde_json::from_slice(&std::fs::read(bundle.join("prep_report.json")).unwrap()).unwrap();
    let timestamps =
        report["tables"].as_array().unwrap().iter().find(|t| t["table_id"] == "timestamps.parquet").unwrap();
    assert!(
        timestamps["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("past the microsecond")),
        "nanoseconds cut to microseconds are counted: {timestamps}"
    );
}

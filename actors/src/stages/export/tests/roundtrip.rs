//! Every format written from the sample dataset and read back (polars, csv, serde_json,
//! calamine) equals it: same columns, rows and values. csv and tsv carry text only, so their
//! values are compared as text (a null is an empty field); the other formats compare typed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{Reader, Xlsx};
use dat_contracts::ExportFormat;
use polars::prelude::*;
use serde_json::{Map, Value};

use super::{expected_rows, run_id, sample, sample_columns, write_parquet, TestReporter};
use crate::stages::export::file::ExportStats;
use crate::stages::export::xlsx::EXCEL_SHEET_ROWS;
use crate::stages::export::{export_file, extension, xlsx_value, Exported, Limits};

/// Exports the sample (row groups of 2, slices of 4: slices cross row groups) as `format`.
fn export(format: ExportFormat) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = dir.path().join("dataset.parquet");
    write_parquet(&sample(), &dataset, 2);
    let out = dir.path().join(format!("data.{}", extension(format)));
    let report = TestReporter::running();
    let limits = Limits { batch_rows: 4, sheet_rows: EXCEL_SHEET_ROWS };
    let result = export_file(&dataset, format, &out, limits, run_id(), &report).expect("export");
    let sheets = usize::from(format == ExportFormat::Xlsx);
    assert_eq!(result, Exported::Completed(ExportStats { rows: 6, sheets }));
    assert!(out.exists());
    assert!(!dir.path().join(format!("data.{}.part", extension(format))).exists(), "no part file left");
    let updates = report.updates.lock().expect("lock");
    let last = updates.last().expect("progress was published");
    assert_eq!((last.percent, last.tables_done), (100.0, 1));
    (dir, dataset, out)
}

fn names() -> Vec<String> {
    sample_columns().into_iter().map(|c| c.name).collect()
}

/// `text` is how a delimited file writes `expected`.
fn assert_text(expected: &Value, text: &str, at: &str) {
    match expected {
        Value::Null => assert_eq!(text, "", "{at}"),
        Value::Bool(b) => assert_eq!(text, b.to_string(), "{at}"),
        Value::Number(n) if n.is_i64() => assert_eq!(text.parse::<i64>().ok(), n.as_i64(), "{at}"),
        Value::Number(n) => assert_eq!(text.parse::<f64>().ok(), n.as_f64(), "{at}"),
        Value::String(s) => assert_eq!(text, s, "{at}"),
        other => panic!("{at}: unexpected {other}"),
    }
}

fn assert_delimited(out: &Path, delimiter: u8) {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_path(out).expect("open");
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(header, names());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    let expected = expected_rows(&sample());
    assert_eq!(records.len(), expected.len());
    for (r, (record, row)) in records.iter().zip(&expected).enumerate() {
        assert_eq!(record.len(), row.len());
        for (c, (text, value)) in record.iter().zip(row).enumerate() {
            assert_text(value, text, &format!("row {r} column {}", names()[c]));
        }
    }
}

fn assert_objects(objects: Vec<Map<String, Value>>) {
    let expected = expected_rows(&sample());
    assert_eq!(objects.len(), expected.len());
    for (object, row) in objects.iter().zip(&expected) {
        let wanted: Map<String, Value> = names().into_iter().zip(row.iter().cloned()).collect();
        assert_eq!(object, &wanted);
    }
}

#[test]
fn parquet_is_a_byte_copy_of_the_dataset() {
    let (_dir, dataset, out) = export(ExportFormat::Parquet);
    assert_eq!(std::fs::read(&out).expect("out"), std::fs::read(&dataset).expect("dataset"));
    let back = ParquetReader::new(std::fs::File::open(&out).expect("open")).finish().expect("read");
    assert_eq!(back.get_column_names(), sample().get_column_names());
    assert_eq!(back, sample());
}

#[test]
fn csv_round_trips_as_text() {
    let (_dir, _, out) = export(ExportFormat::Csv);
    assert_delimited(&out, b',');
}

#[test]
fn tsv_round_trips_as_text() {
    let (_dir, _, out) = export(ExportFormat::Tsv);
    assert_delimited(&out, b'\t');
}

#[test]
fn jsonl_round_trips_one_object_per_line() {
    let (_dir, _, out) = export(ExportFormat::Jsonl);
    let text = std::fs::read_to_string(&out).expect("read");
    let objects = text.lines().map(|line| serde_json::from_str(line).expect("row object")).collect();
    assert_objects(objects);
}

#[test]
fn json_round_trips_as_one_array() {
    let (_dir, _, out) = export(ExportFormat::Json);
    let objects: Vec<Map<String, Value>> = serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("array");
    assert_objects(objects);
}

#[test]
fn xlsx_round_trips_with_real_dates() {
    let (_dir, _, out) = export(ExportFormat::Xlsx);
    let mut workbook: Xlsx<_> = calamine::open_workbook(&out).expect("open");
    assert_eq!(workbook.sheet_names(), vec!["data".to_owned()]);
    let types: Vec<_> = sample_columns().into_iter().map(|c| c.dtype).collect();
    let mut grid: BTreeMap<(u32, u32), Value> = BTreeMap::new();
    let mut dates = 0;
    let mut reader = workbook.worksheet_cells_reader("data").expect("sheet");
    while let Some(cell) = reader.next_cell().expect("cell") {
        let (row, col) = cell.get_position();
        dates += usize::from(matches!(cell.get_value(), calamine::DataRef::DateTime(_)));
        let dtype = if row == 0 { dat_contracts::ColumnType::String } else { types[col as usize] };
        grid.insert((row, col), xlsx_value(cell.get_value(), dtype));
    }
    let header: Vec<Value> = (0..6).map(|c| grid.get(&(0, c)).cloned().unwrap_or(Value::Null)).collect();
    assert_eq!(header, names().into_iter().map(Value::from).collect::<Vec<_>>());
    for (r, row) in expected_rows(&sample()).iter().enumerate() {
        let got: Vec<Value> = (0..6).map(|c| grid.get(&(r as u32 + 1, c)).cloned().unwrap_or(Value::Null)).collect();
        assert_eq!(&got, row, "row {r}");
    }
    // 4 dates (1850 is text: before Excel's calendar) and 5 datetimes are Excel dates.
    assert_eq!(dates, 9);
}

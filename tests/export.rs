//! `dat run --export FORMAT` for every format: the file it writes, read back with an ordinary
//! reader (polars, csv, serde_json, calamine), equals the parse stage's `dataset.parquet`:
//! same columns, same rows, same values (text formats compare values as their text).

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx};
use polars::prelude::*;
use serde_json::{Map, Value};
use sha2::Digest;

use crate::support::dat;

/// A folder with drift and every kind of value: ints widened to float, dates, date-times, bools,
/// text with the delimiter and quotes in it, and nulls where a file lacks a column.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::write(
        data.join("a.csv"),
        "wafer,site,cd,ok,measured,day\nW01,1,40,true,2026-01-02T03:04:05,2026-01-02\n\
         \"W,02\",2,41,false,2026-01-02T03:04:05.250,2026-01-03\n",
    )
    .unwrap();
    std::fs::write(data.join("b.csv"), "cd;wafer;note\n40.5;W03;\"say \"\"hi\"\"\"\n;W04;\n").unwrap();
    std::fs::write(data.join("c.jsonl"), "{\"wafer\": \"W05\", \"cd\": 38, \"site\": 7}\n").unwrap();
    dir
}

/// Runs `dat run` on `workspace` exporting `format`; returns the exported file and the parse
/// stage's dataset.
fn run(workspace: &Path, format: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let data_dir = out.path().join("data-dir");
    let target = out.path().join("out");
    let args = ["run", path(workspace), "--export", format, "--out", path(&target), "--data-dir", path(&data_dir)];
    let result = dat(&args);
    assert!(result.status.success(), "dat run --export {format}: {}", String::from_utf8_lossy(&result.stderr));
    let manifest: Value = serde_json::from_slice(&std::fs::read(target.join("manifest.json")).unwrap()).unwrap();
    let run = manifest["run_id"].as_str().unwrap();
    let parse = manifest["stage_ids"]["parse"].as_str().unwrap();
    let dataset = data_dir.join("runs").join(run).join(parse).join("dataset.parquet");
    assert_eq!(manifest["row_count"], 5, "{manifest}");
    let exported = target.join(format!("data.{format}"));
    let bytes = std::fs::read(&exported).unwrap();
    let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(manifest["version_id"], sha.as_str(), "the manifest's sha256 is the file's ({format})");
    assert_eq!(manifest["size_bytes"], bytes.len(), "{format}");
    (out, exported, dataset)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The dataset as column names and rows of JSON values (dates and date-times as ISO text).
fn rows(dataset: &Path) -> (Vec<String>, Vec<Vec<Value>>) {
    let df = ParquetReader::new(std::fs::File::open(dataset).unwrap()).finish().unwrap();
    let names = df.get_column_names().iter().map(|n| n.to_string()).collect();
    let rows = (0..df.height())
        .map(|r| {
            df.columns()
                .iter()
                .map(|c| match c.get(r).unwrap() {
                    AnyValue::Null => Value::Null,
                    AnyValue::Int64(v) => Value::from(v),
                    AnyValue::Float64(v) => Value::from(v),
                    AnyValue::Boolean(v) => Value::from(v),
                    AnyValue::String(v) => Value::from(v),
                    AnyValue::Date(days) => {
                        let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Days::new(days as u64);
                        Value::from(day.to_string())
                    }
                    AnyValue::Datetime(us, _, _) => {
                        let at = chrono::DateTime::from_timestamp_micros(us).unwrap().naive_utc();
                        Value::from(at.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
                    }
                    other => panic!("unexpected value {other:?}"),
                })
                .collect()
        })
        .collect();
    (names, rows)
}

/// Whether `got` is `expected`, numbers compared by value (`40` and `40.0` are one number).
fn same(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == got,
    }
}

/// Whether `text` is how a delimited file writes `expected`.
fn same_text(expected: &Value, text: &str) -> bool {
    match expected {
        Value::Null => text.is_empty(),
        Value::Number(n) => text.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => text == s,
        Value::Bool(b) => text == b.to_string(),
        other => panic!("unexpected value {other}"),
    }
}

fn check_delimited(out: &Path, delimiter: u8, names: &[String], expected: &[Vec<Value>]) {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_path(out).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, names);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), expected.len());
    for (r, (record, row)) in records.iter().zip(expected).enumerate() {
        for (c, (text, value)) in record.iter().zip(row).enumerate() {
            assert!(same_text(value, text), "row {r} column {}: {text:?} is not {value}", names[c]);
        }
    }
}

fn check_objects(objects: &[Value], names: &[String], expected: &[Vec<Value>]) {
    assert_eq!(objects.len(), expected.len());
    for (r, (object, row)) in objects.iter().zip(expected).enumerate() {
        let object: &Map<String, Value> = object.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>().len(), names.len());
        for (name, value) in names.iter().zip(row) {
            assert!(same(value, &object[name]), "row {r} column {name}: {} is not {value}", object[name]);
        }
    }
}

fn check_xlsx(out: &Path, names: &[String], expected: &[Vec<Value>]) {
    let mut book: Xlsx<_> = calamine::open_workbook(out).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let mut rows = sheet.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header, names);
    let body: Vec<&[Data]> = rows.collect();
    assert_eq!(body.len(), expected.len());
    for (r, (cells, row)) in body.iter().zip(expected).enumerate() {
        for (c, value) in row.iter().enumerate() {
            let got = match cells.get(c).unwrap_or(&Data::Empty) {
                Data::Empty => Value::Null,
                Data::Int(v) => Value::from(*v),
                Data::Float(v) => Value::from(*v),
                Data::Bool(v) => Value::from(*v),
                Data::String(v) => Value::from(v.as_str()),
                Data::DateTime(v) => {
                    // An Excel serial: days since 1899-12-30, the time of day as the fraction.
                    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap().and_hms_opt(0, 0, 0).unwrap();
                    let at = epoch + chrono::Duration::milliseconds((v.as_f64() * 86_400_000.0).round() as i64);
                    let text = at.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
                    // A date cell is a date-time at midnight; the dataset writes it as a day.
                    Value::from(if value.as_str().is_some_and(|s| s.len() == 10) {
                        text[..10].to_owned()
                    } else {
                        text
                    })
                }
                other => panic!("unexpected cell {other:?}"),
            };
            assert!(same(value, &got), "row {r} column {}: {got} is not {value}", names[c]);
        }
    }
}

#[test]
fn every_export_format_reads_back_as_the_parsed_dataset() {
    let workspace = folder();
    for format in ["parquet", "csv", "tsv", "json", "jsonl", "xlsx"] {
        let (_keep, out, dataset) = run(workspace.path(), format);
        let (names, expected) = rows(&dataset);
        assert!(names.iter().any(|n| n == "measured") && names.iter().any(|n| n == "_source_row"), "{names:?}");
        match format {
            "parquet" => {
                let exported = ParquetReader::new(std::fs::File::open(&out).unwrap()).finish().unwrap();
                let parsed = ParquetReader::new(std::fs::File::open(&dataset).unwrap()).finish().unwrap();
                assert!(exported.equals_missing(&parsed), "parquet export differs:\n{exported}\n{parsed}");
            }
            "csv" => check_delimited(&out, b',', &names, &expected),
            "tsv" => check_delimited(&out, b'\t', &names, &expected),
            "json" => {
                let array: Vec<Value> = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
                check_objects(&array, &names, &expected);
            }
            "jsonl" => {
                let text = std::fs::read_to_string(&out).unwrap();
                let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
                check_objects(&lines, &names, &expected);
            }
            _ => check_xlsx(&out, &names, &expected),
        }
    }
}

/// `--memory-log` (the benchmark's baseline for the log's cost) changes where events go, not
/// what is written: the same dataset, and no log in the data dir.
#[test]
fn a_run_with_its_events_in_memory_writes_the_same_dataset_and_no_log() {
    let workspace = folder();
    let (_durable_dir, durable, _) = run(workspace.path(), "parquet");
    let out = tempfile::tempdir().unwrap();
    let (data_dir, target) = (out.path().join("data-dir"), out.path().join("out"));
    let args = ["run", path(workspace.path()), "--memory-log", "--out", path(&target), "--data-dir", path(&data_dir)];
    let result = dat(&args);
    assert!(result.status.success(), "dat run --memory-log: {}", String::from_utf8_lossy(&result.stderr));
    assert_eq!(rows(&target.join("data.parquet")), rows(&durable));
    assert!(data_dir.join("runs").is_dir(), "the stages' files are written");
    assert!(!data_dir.join("log").exists(), "no event log is written");
}

#[test]
fn exported_datasets_are_listed_previewed_and_traced_over_http() {
    let dirs = crate::support::Dirs::new();
    let d = crate::support::Daemon::start_with(dirs, &[]);
    let run = d.create_run();
    for (stage, body) in [("discovery", r#"{"root": "data"}"#), ("selection", "{}"), ("table_availability", "{}")] {
        d.lock(&run, stage, body);
    }
    d.lock(&run, "table_selection", "{}");
    d.lock(&run, "parse", "{}");
    d.wait_completed(&run, "parse");
    d.lock(&run, "export", r#"{"format": "csv", "name": "lot 42"}"#);
    let view = d.wait_completed(&run, "export");

    let (status, list) = d.get("/api/datasets");
    assert_eq!(status, 200, "{list}");
    let datasets = list["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), 1, "{list}");
    let id = datasets[0]["dataset_id"].as_str().unwrap();
    assert_eq!(datasets[0]["name"], "lot 42");
    assert_eq!(datasets[0]["run_id"], run.as_str());
    assert_eq!(datasets[0]["stage_ids"]["export"], view["stages"]["export"]["stage_id"]);

    let (status, manifest) = d.get(&format!("/api/datasets/{id}"));
    assert_eq!((status, manifest["row_count"].as_u64()), (200, Some(2)), "{manifest}");
    let (status, preview) = d.get(&format!("/api/datasets/{id}/preview?rows=1"));
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["rows"].as_array().unwrap().len(), 1, "{preview}");
    assert!(preview["columns"].as_array().unwrap().iter().any(|c| c == "_source_file"), "{preview}");
    let (status, lineage) = d.get(&format!("/api/datasets/{id}/lineage"));
    assert_eq!(status, 200, "{lineage}");
    assert_eq!(lineage["source_files"], serde_json::json!(["data/a.csv", "data/b.csv"]), "{lineage}");

    let (status, missing) = d.get("/api/datasets/ds_nope");
    assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("dataset_not_found")), "{missing}");
    let (status, bad) = d.get(&format!("/api/datasets/{id}/preview?rows=0"));
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("invalid_input")), "{bad}");
}

//! The messy files every lab folder has, each in a folder the test makes, parsed over HTTP and
//! checked cell by cell: a Latin-1 `;` export with decimal commas, thousands dots, title lines,
//! a blank line and a footer; a day-first date column whose order only the second file settles;
//! headers that drift in case and spelling; a column numeric except one value late in a big
//! file; the user's read_options. Every table's lines add up, and the dataset carries its
//! lineage in its Parquet metadata.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;

use crate::support::{Daemon, Dirs};

/// Writes `files` under `data/<folder>/`.
fn folder(dirs: &Dirs, folder: &str, files: &[(&str, Vec<u8>)]) {
    let dir = dirs.workspace.join("data").join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Parses `data/<folder>` with `availability` as the table_availability lock body; returns
/// the parse bundle, the availability artifact and the run.
fn parse(d: &Daemon, folder: &str, availability: &str) -> (PathBuf, Value, String) {
    let run = d.create_run();
    d.lock(&run, "discovery", &format!(r#"{{"root": "data/{folder}"}}"#));
    d.lock(&run, "selection", "{}");
    d.lock(&run, "table_availability", availability);
    d.lock(&run, "table_selection", "{}");
    d.lock(&run, "parse", "{}");
    let view = d.wait_completed(&run, "parse");
    let (_, available) = d.get(&format!("/api/dat/runs/{run}/stages/table_availability/artifact"));
    let id = view["stages"]["parse"]["stage_id"].as_str().unwrap();
    (d.dirs.data_dir.join("runs").join(&run).join(id), available["content"].clone(), run)
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn strings(df: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = df.column(column).unwrap().cast(&DataType::String).unwrap();
    c.as_materialized_series().str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
}

fn some<T: ToString>(values: &[T]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

/// The reason prep_report gives for `column`'s type.
fn reason(report: &Value, column: &str) -> String {
    let decision = report["columns"].as_array().unwrap().iter().find(|c| c["name"] == column);
    decision.unwrap_or_else(|| panic!("no decision for {column}: {report}"))["reason"].as_str().unwrap().to_owned()
}

/// Every table's lines add up: rows + rejects + skipped = read.
fn assert_accounted(report: &Value) {
    for table in report["tables"].as_array().unwrap() {
        let account = &table["accounting"];
        let skipped: u64 = account["skipped"].as_object().map_or(0, |s| s.values().map(|v| v.as_u64().unwrap()).sum());
        let (rows, rejects) = (table["rows"].as_u64().unwrap(), table["rejects"].as_u64().unwrap());
        assert_eq!(rows + rejects + skipped, account["read"].as_u64().unwrap(), "{table}");
    }
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("a latin-1 character")).collect()
}

#[test]
fn a_latin1_semicolon_export_with_title_lines_and_a_footer_reads_every_value() {
    let dirs = Dirs::new();
    let export = "Messprotokoll Prüfstand Süd\r\nErstellt: 03.02.2025 08:15\r\n\r\n\
                  Probe;Temperatur °C;Anzahl;Gewicht\r\n\
                  Größe A;21,5;1.234;1.234,5\r\n\
                  Größe B;-3,25;12;0,75\r\n\
                  Maß C;100;2.000.000;12.345.678,9\r\n\
                  Ende des Berichts\r\n";
    folder(&dirs, "latin1", &[("messung.csv", latin1(export))]);
    let d = Daemon::start_with(dirs, &[]);
    let (bundle, available, _) = parse(&d, "latin1", "{}");

    let probe = &available["tables"][0];
    assert_eq!(probe["status"], "available", "{probe}");
    let sniff = &probe["sniff"];
    assert_eq!((sniff["encoding"].as_str(), sniff["delimiter"].as_str()), (Some("windows-1252"), Some(";")));
    assert_eq!(sniff["number"], serde_json::json!({"decimal": ",", "thousands": "."}));
    assert_eq!(sniff["title"], serde_json::json!(["Messprotokoll Prüfstand Süd", "Erstellt: 03.02.2025 08:15", ""]));
    assert_eq!(sniff["footer"], serde_json::json!(["Ende des Berichts"]));

    let df = read_parquet(&bundle.join("dataset.parquet"));
    assert_eq!(strings(&df, "Probe"), some(&["Größe A", "Größe B", "Maß C"]));
    assert_eq!(df.column("Temperatur °C").unwrap().dtype(), &DataType::Float64);
    assert_eq!(strings(&df, "Temperatur °C"), some(&["21.5", "-3.25", "100.0"]));
    assert_eq!(df.column("Anzahl").unwrap().dtype(), &DataType::Int64);
    assert_eq!(strings(&df, "Anzahl"), some(&["1234", "12", "2000000"]));
    assert_eq!(strings(&df, "Gewicht"), some(&["1234.5", "0.75", "12345678.9"]));
    assert_eq!(strings(&df, "_source_row"), some(&[5, 6, 7]));

    let report = json(&bundle.join("prep_report.json"));
    let table = &report["tables"][0];
    assert_eq!(table["status"], "parsed");
    assert_eq!(table["title"], sniff["title"]);
    assert_eq!(table["footer"], serde_json::json!(["Ende des Berichts"]));
    assert_eq!(
        table["accounting"],
        serde_json::json!({"unit": "lines", "read": 8, "skipped": {"title": 3, "header": 1, "footer": 1}})
    );
    assert_accounted(&report);
    let why = reason(&report, "Temperatur °C");
    assert!(why.starts_with("float because `data/latin1/messung.csv` line 5 is `21,5`"), "{why}");
    assert!(why.contains("decimal `,` and thousands `.`"), "{why}");
}

#[test]
fn a_day_first_date_column_is_decided_for_the_folder_by_the_second_file() {
    let dirs = Dirs::new();
    folder(
        &dirs,
        "dates",
        &[
            ("a.csv", b"id,measured\n1,03/04/2025\n2,05/06/2025 14:30\n".to_vec()),
            ("b.csv", b"id,measured\n3,13/04/2025\n4,01/02/2025\n".to_vec()),
        ],
    );
    let d = Daemon::start_with(dirs, &[]);
    let (bundle, available, _) = parse(&d, "dates", "{}");
    let column = available["schema"].as_array().unwrap().iter().find(|c| c["name"] == "measured").unwrap().clone();
    assert_eq!(column["date_order"], "day_first");
    assert_eq!(column["tables"], serde_json::json!(["data/dates/a.csv", "data/dates/b.csv"]));

    let df = read_parquet(&bundle.join("dataset.parquet"));
    assert!(matches!(df.column("measured").unwrap().dtype(), DataType::Datetime(..)));
    assert_eq!(
        strings(&df, "measured"),
        some(&[
            "2025-04-03 00:00:00.000000",
            "2025-06-05 14:30:00.000000",
            "2025-04-13 00:00:00.000000",
            "2025-02-01 00:00:00.000000"
        ])
    );
    let report = json(&bundle.join("prep_report.json"));
    let why = reason(&report, "measured");
    assert!(why.contains("day-first because `data/dates/b.csv` line 2 is `13/04/2025`"), "{why}");
    assert!(why.starts_with("datetime because `data/dates/a.csv` line 3 is `05/06/2025 14:30`"), "{why}");
    assert_accounted(&report);
}

#[test]
fn drifting_headers_are_one_column_spelled_as_the_first_file_and_every_mapping_is_reported() {
    let dirs = Dirs::new();
    folder(
        &dirs,
        "headers",
        &[
            ("a.csv", b"Lot ID,value\nL1,1\n".to_vec()),
            ("b.csv", b"lot_id,Value\nL2,2\n".to_vec()),
            ("c.csv", b" LOT-ID,value\nL3,3\n".to_vec()),
            ("d.csv", b"Lot ID,lot_id,value\nL4,L4b,4\n".to_vec()),
        ],
    );
    let d = Daemon::start_with(dirs, &[]);
    let (bundle, available, _) = parse(&d, "headers", "{}");
    let schema: Vec<&str> =
        available["schema"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(schema, ["Lot ID", "value", "Lot ID_2"]);

    let df = read_parquet(&bundle.join("dataset.parquet"));
    let names: Vec<&str> = df.get_column_names().into_iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["Lot ID", "value", "Lot ID_2", "_source_file", "_source_table", "_source_row"]);
    assert_eq!(strings(&df, "Lot ID"), some(&["L1", "L2", "L3", "L4"]));
    assert_eq!(strings(&df, "value"), some(&[1, 2, 3, 4]));
    assert_eq!(strings(&df, "Lot ID_2"), [None, None, None, Some("L4b".to_owned())]);

    let report = json(&bundle.join("prep_report.json"));
    let mappings: Vec<(&str, &str, &str)> = report["header_mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["table"].as_str().unwrap(), m["original"].as_str().unwrap(), m["output"].as_str().unwrap()))
        .collect();
    assert_eq!(
        mappings,
        [
            ("data/headers/b.csv", "lot_id", "Lot ID"),
            ("data/headers/b.csv", "Value", "value"),
            ("data/headers/c.csv", "LOT-ID", "Lot ID"),
            ("data/headers/d.csv", "lot_id", "Lot ID_2"),
        ]
    );
    assert_accounted(&report);
}

#[test]
fn a_value_late_in_a_big_file_keeps_its_columns_text_with_the_reason() {
    // Past the probe's 1 MiB sample: an id that is no number, a date that contradicts the
    // day-first order the sample settled, and a row with a field too many.
    let mut text = String::from("id,code,when\n1,17,13/01/2025\n");
    let mut line = 2;
    while text.len() < 1_300_000 {
        line += 1;
        text.push_str(&format!("{line},{},02/03/2025\n", line % 900 + 100));
    }
    text.push_str("x,1,2,3\n");
    text.push_str(&format!("{},0870A,01/13/2025\n", line + 2));
    let (reject_line, late_line) = (line + 1, line + 2);
    let dirs = Dirs::new();
    folder(&dirs, "late", &[("big.csv", text.into_bytes())]);
    let d = Daemon::start_with(dirs, &[]);
    let (bundle, available, _) = parse(&d, "late", "{}");
    assert_eq!(available["tables"][0]["columns"][1]["type"], "int", "the sample saw only numbers");

    let df = read_parquet(&bundle.join("dataset.parquet"));
    assert_eq!(df.column("code").unwrap().dtype(), &DataType::String);
    let codes = strings(&df, "code");
    assert_eq!((codes[0].as_deref(), codes[1].as_deref()), (Some("17"), Some("103")), "numbers as written");
    assert_eq!(codes.last().unwrap().as_deref(), Some("0870A"), "the leading zero kept");
    let when = strings(&df, "when");
    assert_eq!((when[0].as_deref(), when.last().unwrap().as_deref()), (Some("13/01/2025"), Some("01/13/2025")));

    let report = json(&bundle.join("prep_report.json"));
    assert_eq!(reason(&report, "code"), format!("string because `data/late/big.csv` line {late_line} is `0870A`"));
    let why = reason(&report, "when");
    assert!(why.starts_with(&format!("string because `data/late/big.csv` line {late_line} is `01/13/2025`")), "{why}");
    let rejects = read_parquet(&bundle.join("rejects.parquet"));
    assert_eq!(strings(&rejects, "line"), some(&[reject_line]));
    assert_eq!(report["tables"][0]["rows"].as_u64(), Some(u64::try_from(df.height()).unwrap()));
    assert_accounted(&report);
}

#[test]
fn read_options_set_the_separators_and_the_header_row_and_enter_the_stage_id() {
    let dirs = Dirs::new();
    folder(&dirs, "options", &[("ambiguous.csv", b"instrument 7\ncode;amount\nA;1.234\nB;2.500\n".to_vec())]);
    let d = Daemon::start_with(dirs, &[]);
    let (sniffed, _, _) = parse(&d, "options", "{}");
    let df = read_parquet(&sniffed.join("dataset.parquet"));
    assert_eq!(strings(&df, "amount"), some(&["1.234", "2.5"]), "1.234 alone settles nothing: a decimal point");

    let body = r#"{"read_options": {"data/options/*.csv": {"decimal": ",", "thousands": ".", "header_row": 2}}}"#;
    let (set, available, _) = parse(&d, "options", body);
    assert_ne!(set, sniffed, "other options, another parse");
    let sniff = &available["tables"][0]["sniff"];
    assert_eq!(sniff["overridden"], serde_json::json!(["decimal", "thousands", "header_row"]));
    let df = read_parquet(&set.join("dataset.parquet"));
    assert_eq!(df.column("amount").unwrap().dtype(), &DataType::Int64);
    assert_eq!(strings(&df, "amount"), some(&[1234, 2500]));

    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data/options"}"#);
    d.lock(&run, "selection", "{}");
    let (status, refused) =
        d.stage(&run, "table_availability", "lock", r#"{"read_options": {"data/other.csv": {"decimal": ","}}}"#);
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("matches none of the selected files"), "{refused}");
    let (status, refused) = d.stage(
        &run,
        "table_availability",
        "lock",
        r#"{"read_options": {"data/options/ambiguous.csv": {"decimal": ";"}}}"#,
    );
    assert_eq!(status, 400, "{refused}");
}

#[test]
fn the_dataset_and_its_export_carry_their_lineage_in_the_parquet_metadata() {
    let dirs = Dirs::new();
    folder(&dirs, "lineage", &[("a.csv", b"x,y\n1,2\n".to_vec())]);
    let d = Daemon::start_with(dirs, &[]);
    let (bundle, _, run) = parse(&d, "lineage", "{}");
    d.lock(&run, "export", r#"{"format": "parquet"}"#);
    let view = d.wait_completed(&run, "export");
    let (_, artifact) = d.get(&format!("/api/dat/runs/{run}/stages/export/artifact"));
    let export = d.dirs.data_dir.join(artifact["content"]["files"]["data"].as_str().unwrap());

    for file in [bundle.join("dataset.parquet"), export] {
        // Read with the `parquet` crate, not the writer that wrote it.
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
        let metadata =
            parquet::file::reader::FileReader::metadata(&reader).file_metadata().key_value_metadata().cloned();
        let lineage = metadata.unwrap_or_default().into_iter().find(|kv| kv.key == "dat.lineage");
        let lineage: Value = serde_json::from_str(&lineage.and_then(|kv| kv.value).expect("dat.lineage")).unwrap();
        assert_eq!(lineage["stage_ids"]["parse"], view["stages"]["parse"]["stage_id"], "{}", file.display());
        assert_eq!(lineage["sources"][0]["path"], "data/lineage/a.csv");
        assert_eq!(lineage["sources"][0]["sha256"].as_str().map(str::len), Some(64));
        assert!(lineage["dat_version"].is_string() && lineage["options"]["read_limits"].is_object());
        assert!(lineage.get("run_id").is_none(), "no run id or time: identical input, identical bytes");
    }
}

#[test]
fn dat_run_takes_read_options_and_refuses_bad_ones_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lot");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("ambiguous.csv"), "code;amount\nA;1.234\nB;2.500\n").unwrap();
    let out = dir.path().join("out");
    let run = |options: &str| {
        crate::support::dat(&["run", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--read-options", options])
    };
    let done = run(r#"{"*.csv": {"decimal": ",", "thousands": "."}}"#);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let df = read_parquet(&out.join("data.parquet"));
    assert_eq!(strings(&df, "amount"), some(&[1234, 2500]));

    let refused = run(r#"{"*.csv": {"decimal": "x"}}"#);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("decimal must be `.` or `,`"), "{stderr}");
    let refused = run("{not json");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("--read-options"), "{stderr}");
}

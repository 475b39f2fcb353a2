//! Parse over HTTP on a folder with drifted schemas: one dataset with every column, nulls where
//! a file lacks one, types widened (and the widening file named), source columns, rejects, and
//! byte-identical output for identical input.

use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use crate::support::{Daemon, Dirs};

/// `data/` with drift: a missing and an extra column, reordered columns, a `;` file, an int
/// column that is float in one file, and a JSONL file with a bad line.
fn drift_dirs() -> Dirs {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    std::fs::write(data.join("a.csv"), "wafer,site,cd\nW01,1,40\nW01,2,41\n").unwrap();
    std::fs::write(data.join("b.csv"), "cd,wafer,tool\n39,W02,CD7\n").unwrap();
    std::fs::write(data.join("c.csv"), "wafer;site;cd\nW03;1;42\n").unwrap();
    std::fs::write(data.join("d.csv"), "wafer,site,cd\nW04,1,40.5\n").unwrap();
    std::fs::write(
        data.join("e.jsonl"),
        "{\"wafer\": \"W05\", \"cd\": 38}\n{\"wafer\": \n{\"wafer\": \"W05\", \"site\": 3}\n",
    )
    .unwrap();
    dirs
}

/// Locks every stage up to parse and waits for it; returns the run id and its view.
fn parse_run(d: &Daemon) -> (String, Value) {
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    d.lock(&run, "parse", "{}");
    let view = d.wait_completed(&run, "parse");
    (run, view)
}

fn bundle(d: &Daemon, run: &str, view: &Value) -> std::path::PathBuf {
    let id = view["stages"]["parse"]["stage_id"].as_str().unwrap();
    d.dirs.data_dir.join("runs").join(run).join(id)
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

fn strings(df: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = df.column(column).unwrap().cast(&DataType::String).unwrap();
    c.as_materialized_series().str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
}

#[test]
fn drifted_files_parse_into_one_dataset_with_every_column() {
    let d = Daemon::start_with(drift_dirs(), &[]);
    let (run, view) = parse_run(&d);
    let dir = bundle(&d, &run, &view);
    for file in ["dataset.parquet", "manifest.json", "prep_report.json", "transform_plan.json", "rejects.parquet"] {
        assert!(dir.join(file).is_file(), "bundle lacks {file}");
    }
    let df = read_parquet(&dir.join("dataset.parquet"));
    let names: Vec<&str> = df.get_column_names().into_iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["wafer", "site", "cd", "tool", "_source_file", "_source_table", "_source_row"]);
    assert_eq!(df.height(), 7);
    assert_eq!(df.column("cd").unwrap().dtype(), &DataType::Float64, "int widened to float by d.csv");
    assert_eq!(df.column("site").unwrap().dtype(), &DataType::Int64);
    assert_eq!(strings(&df, "wafer"), ["W01", "W01", "W02", "W03", "W04", "W05", "W05"].map(|s| Some(s.to_owned())));
    assert_eq!(strings(&df, "tool"), [None, None, Some("CD7".to_owned()), None, None, None, None]);
    assert_eq!(strings(&df, "site")[2], None, "b.csv has no site column");
    assert_eq!(strings(&df, "cd")[4], Some("40.5".to_owned()));
    assert_eq!(strings(&df, "_source_file")[3], Some("data/c.csv".to_owned()));
    // Each row keeps the line it was on (line 1 is a header; line 2 of e.jsonl is a reject).
    assert_eq!(strings(&df, "_source_row"), ["2", "3", "2", "2", "2", "1", "3"].map(|s| Some(s.to_owned())));

    let report: Value = serde_json::from_slice(&std::fs::read(dir.join("prep_report.json")).unwrap()).unwrap();
    let widenings: Vec<&Value> =
        report["tables"].as_array().unwrap().iter().flat_map(|t| t["widenings"].as_array().unwrap()).collect();
    assert_eq!(widenings.len(), 1, "{widenings:?}");
    assert_eq!(widenings[0]["column"], "cd");
    assert_eq!((widenings[0]["from"].as_str(), widenings[0]["to"].as_str()), (Some("int"), Some("float")));
    assert_eq!(widenings[0]["file"], "data/d.csv");

    let rejects = read_parquet(&dir.join("rejects.parquet"));
    assert_eq!(rejects.height(), 1);
    assert_eq!(strings(&rejects, "file"), [Some("data/e.jsonl".to_owned())]);
    assert_eq!(strings(&rejects, "line"), [Some("2".to_owned())]);
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!((manifest["rows"].as_u64(), manifest["rejects"].as_u64()), (Some(7), Some(1)));
    assert_eq!(manifest["sources"].as_array().unwrap().len(), 5);
    let events = d.audit(&run);
    let checkpoints = events.iter().filter(|e| e["type"] == "Checkpointed").count();
    assert_eq!(checkpoints, 5, "one Checkpointed event per table");
}

#[test]
fn identical_input_gives_identical_ids_and_bytes_and_an_edit_changes_both() {
    let dirs = drift_dirs();
    let other_data_dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dirs.clone(), &[]);
    let (run_a, view_a) = parse_run(&d);
    let (run_b, view_b) = parse_run(&d);
    let e = Daemon::start_with(dirs.with_data_dir(other_data_dir.path()), &[]);
    let (run_c, view_c) = parse_run(&e);
    let dataset =
        |d: &Daemon, run: &str, view: &Value| std::fs::read(bundle(d, run, view).join("dataset.parquet")).unwrap();
    assert_eq!(view_a["stages"]["parse"]["stage_id"], view_b["stages"]["parse"]["stage_id"]);
    assert_eq!(view_a["stages"]["parse"]["stage_id"], view_c["stages"]["parse"]["stage_id"]);
    let bytes = dataset(&d, &run_a, &view_a);
    assert_eq!(bytes, dataset(&d, &run_b, &view_b), "same data dir, another run");
    assert_eq!(bytes, dataset(&e, &run_c, &view_c), "another data dir");

    std::fs::write(dirs.workspace.join("data/a.csv"), "wafer,site,cd\nW01,1,40\nW01,2,44\n").unwrap();
    let (run_d, view_d) = parse_run(&d);
    assert_ne!(view_d["stages"]["discovery"]["stage_id"], view_a["stages"]["discovery"]["stage_id"]);
    assert_ne!(view_d["stages"]["parse"]["stage_id"], view_a["stages"]["parse"]["stage_id"]);
    assert_ne!(dataset(&d, &run_d, &view_d), bytes);
}

#[test]
fn progress_streams_as_server_sent_events_while_parse_works() {
    use std::io::BufRead;
    let d = Daemon::start_with(drift_dirs(), &[]);
    let run = d.create_run();
    for (stage, body) in [
        ("discovery", r#"{"root": "data"}"#),
        ("selection", "{}"),
        ("table_availability", "{}"),
        ("table_selection", "{}"),
    ] {
        d.lock(&run, stage, body);
    }
    let response = ureq::get(&format!("{}/api/dat/runs/{run}/progress", d.url)).call().expect("progress stream");
    assert_eq!(response.content_type(), "text/event-stream");
    let reader = std::io::BufReader::new(response.into_reader());
    d.lock(&run, "parse", "{}");
    let mut last = Value::Null;
    for line in reader.lines() {
        let line = line.expect("line");
        if let Some(data) = line.strip_prefix("data: ") {
            last = serde_json::from_str(data).expect("progress JSON");
            if last["tables_done"] == last["tables_total"] {
                break;
            }
        }
    }
    assert_eq!(last["run_id"], run.as_str());
    assert_eq!(last["stage"], "parse");
    assert_eq!(last["tables_total"], 5);
}

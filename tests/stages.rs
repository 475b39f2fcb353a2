//! Discovery → selection → table availability → table selection → preview over HTTP, on a
//! workspace of mixed and broken files the test writes itself.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{Daemon, Dirs};

/// A workspace with drifted, broken and unsupported files under `data/`.
fn mixed_dirs() -> Dirs {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    std::fs::remove_file(data.join("a.csv")).unwrap();
    std::fs::remove_file(data.join("b.csv")).unwrap();
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("a.csv"), "wafer,site,cd_nm\nW01,1,40.5\nW01,2,41.0\nW02,1,39.8\n").unwrap();
    std::fs::write(data.join("b.csv"), "wafer;site;cd_nm;operator\nW03;1;40.1;ana\nW03;2;40.4;ana\n").unwrap();
    std::fs::write(
        data.join("c.jsonl"),
        "{\"wafer\": \"W04\", \"site\": 1}\n{\"wafer\": \"W04\", \"site\": \n{\"wafer\": \"W04\", \"site\": 3}\n",
    )
    .unwrap();
    std::fs::write(data.join("d.parquet"), b"PAR1 this is not really parquet").unwrap();
    std::fs::write(data.join("e.csv"), b"").unwrap();
    std::fs::write(data.join("notes.bin"), [0u8, 1, 2, 3]).unwrap();
    std::fs::write(data.join("sub/F.CSV"), "wafer,site,cd_nm\nW05,1,42.0\n").unwrap();
    dirs
}

fn artifact(d: &Daemon, run: &str, stage: &str) -> Value {
    let (status, body) = d.get(&format!("/api/dat/runs/{run}/stages/{stage}/artifact"));
    assert_eq!(status, 200, "{body}");
    body["content"].clone()
}

fn statuses(availability: &Value) -> Vec<(String, String)> {
    availability["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table_id"].as_str().unwrap().to_owned(), t["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn stages_scan_probe_select_and_preview_a_mixed_folder() {
    let d = Daemon::start_with(mixed_dirs(), &[]);
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    let discovery = artifact(&d, &run, "discovery");
    let files = discovery["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "data/a.csv",
            "data/b.csv",
            "data/c.jsonl",
            "data/d.parquet",
            "data/e.csv",
            "data/notes.bin",
            "data/sub/F.CSV"
        ]
    );
    let a = &files[0];
    let expected_sha: String = Sha256::digest(std::fs::read(d.dirs.workspace.join("data/a.csv")).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(a["sha256"], expected_sha.as_str());
    assert_eq!(
        (a["adapter"].as_str(), a["supported"].as_bool(), a["size"].as_u64()),
        (Some("csv"), Some(true), Some(50))
    );
    assert_eq!(files[5]["supported"], false, "notes.bin has no adapter");
    assert_eq!(files[6]["adapter"], "csv", "extension case is ignored");
    assert_eq!((discovery["supported"].as_u64(), discovery["unsupported"].as_u64()), (Some(6), Some(1)));

    // An explicit selection must name discovered files.
    let (status, err) = d.stage(&run, "selection", "lock", r#"{"files": ["data/a.csv", "data/zzz.csv"]}"#);
    assert_eq!(status, 400);
    assert!(err["error"]["message"].as_str().unwrap().contains("data/zzz.csv"), "{err}");
    d.lock(&run, "selection", "{}");
    assert_eq!(artifact(&d, &run, "selection")["files"].as_array().unwrap().len(), 6);

    d.lock(&run, "table_availability", "{}");
    let availability = artifact(&d, &run, "table_availability");
    let expected = [
        ("data/a.csv", "available"),
        ("data/b.csv", "available"),
        ("data/c.jsonl", "partial"),
        ("data/d.parquet", "error"),
        ("data/e.csv", "empty"),
        ("data/sub/F.CSV", "available"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(statuses(&availability), expected);
    let tables = availability["tables"].as_array().unwrap();
    assert_eq!(tables[1]["sniff"]["delimiter"], ";");
    let b_columns: Vec<&str> =
        tables[1]["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(b_columns, ["wafer", "site", "cd_nm", "operator"]);
    assert!(tables[2]["warnings"].to_string().contains("line 2"), "names the bad JSONL line: {}", tables[2]);
    assert!(tables[3]["error"].as_str().is_some_and(|e| !e.is_empty()));

    // Default table selection: available and partial tables; a broken one cannot be chosen.
    let (status, err) = d.stage(&run, "table_selection", "lock", r#"{"tables": ["data/d.parquet"]}"#);
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("data/d.parquet"));
    d.lock(&run, "table_selection", "{}");
    let chosen: Vec<String> = artifact(&d, &run, "table_selection")["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(chosen, ["data/a.csv", "data/b.csv", "data/c.jsonl", "data/sub/F.CSV"]);

    d.lock(&run, "preview", r#"{"rows": 2}"#);
    let preview = artifact(&d, &run, "preview");
    let first = &preview["tables"][0];
    assert_eq!(first["table_id"], "data/a.csv");
    assert_eq!(first["preview"]["columns"], json!(["wafer", "site", "cd_nm", "_source_file", "_source_table"]));
    assert_eq!(
        first["preview"]["rows"],
        json!([["W01", 1, 40.5, "data/a.csv", "data/a.csv"], ["W01", 2, 41.0, "data/a.csv", "data/a.csv"]])
    );
}

#[test]
fn content_changes_give_new_ids_and_identical_content_gives_the_same() {
    let d = Daemon::start_with(mixed_dirs(), &[]);
    let walk = |d: &Daemon| {
        let run = d.create_run();
        d.lock(&run, "discovery", r#"{"root": "data", "include": ["*.csv"]}"#);
        d.lock(&run, "selection", "{}");
        let view = d.lock(&run, "table_availability", "{}");
        let ids: Vec<Value> = ["discovery", "selection", "table_availability"]
            .iter()
            .map(|s| view["stages"][s]["stage_id"].clone())
            .collect();
        (run, ids)
    };
    let (run, first) = walk(&d);
    let (_, again) = walk(&d);
    assert_eq!(first, again, "same files, same IDs in another run");
    let found: Vec<String> = artifact(&d, &run, "discovery")["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(found, ["data/a.csv", "data/b.csv", "data/e.csv", "data/sub/F.CSV"], "include glob at any depth");

    std::fs::write(d.dirs.workspace.join("data/a.csv"), "wafer,site,cd_nm\nW01,1,40.6\n").unwrap();
    let (_, edited) = walk(&d);
    for (before, after) in first.iter().zip(&edited) {
        assert_ne!(before, after, "an edited file changes every ID from discovery on");
    }
}

#[test]
fn adapters_route_lists_every_format() {
    let d = Daemon::start();
    let body = d.get("/api/dat/adapters").1;
    let adapters = body["adapters"].as_array().unwrap();
    let ids: Vec<&str> = adapters.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["csv", "excel", "json", "jsonl", "parquet"]);
    let all: Vec<&str> =
        adapters.iter().flat_map(|a| a["extensions"].as_array().unwrap().iter().map(|e| e.as_str().unwrap())).collect();
    for ext in ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "xlsb", "ods", "json", "jsonl", "ndjson", "parquet", "pq"] {
        assert!(all.contains(&ext), "{ext}");
    }
}

//! Extraction profiles end to end: the reference CD-SEM profile over its measurement files
//! through `dat run` (every table's rows counted from the JSON itself, context from names and
//! content), profile CRUD as events (HTTP, `dat audit --profiles`, NATS), refusal of an invalid
//! profile with every problem, and runs that keep their profile version.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::Digest;

use crate::support::daemon::wait_for;
use crate::support::nats::{Js, NatsServer};
use crate::support::{dat, parse_bundle, Daemon, Dirs};

fn fixture(name: &str) -> PathBuf {
    // The checkout the test runs in (cargo sets it at run time): a cached build may have been
    // compiled in another one.
    let path =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()))
            .join("../shared/fixtures/cdsem")
            .join(name);
    assert!(path.exists(), "shared fixture missing: {} (../shared/fixtures beside the repository)", path.display());
    path
}

const MEASUREMENTS: [&str; 2] =
    ["LOTABC12345_W01_CDSEM001_20251227_measurement.json", "LOTXYZ98765_W03_CDSEM002_20251228_measurement.json"];

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The node at a simple JSONPath (`$.a.b[2].c`): the test's own reading of the documents, so
/// the expected row counts do not come from the code under test.
fn at<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    let mut node = doc;
    for part in path.trim_start_matches('$').split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            node = node.get(key)?;
        }
        if let Some(i) = index {
            node = node.get(i)?;
        }
    }
    Some(node)
}

/// The rows a table of the reference profile holds in `doc`, by its strategy.
fn expected_rows(doc: &Value, select: &Value) -> u64 {
    let path = select["path"].as_str().unwrap_or("$");
    let rows_at = |path: &str| -> u64 {
        match select["strategy"].as_str() {
            Some("flat_object") => u64::from(at(doc, path).is_some_and(Value::is_object)),
            Some("headers_data") => {
                let key = select["data_key"].as_str().unwrap();
                at(doc, path).and_then(|o| o.get(key)).and_then(Value::as_array).map_or(0, |rows| rows.len() as u64)
            }
            other => panic!("the reference profile uses no {other:?}"),
        }
    };
    match select.get("repeat_over") {
        Some(repeat) => {
            let name = repeat["as"].as_str().unwrap();
            let count = at(doc, repeat["path"].as_str().unwrap()).and_then(Value::as_array).map_or(0, Vec::len);
            (0..count).map(|i| rows_at(&path.replace(&format!("{{{name}}}"), &i.to_string()))).sum()
        }
        None => rows_at(path),
    }
}

/// `dat profiles validate --json` of the reference profile, with a measurement file as sample.
fn validate_reference() -> Value {
    let profile = fixture("cdsem_metrology_profile.yaml");
    let sample = fixture(MEASUREMENTS[0]);
    let output =
        dat(&["profiles", "validate", profile.to_str().unwrap(), "--sample", sample.to_str().unwrap(), "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_reference_profile_extracts_all_21_tables_with_the_rows_the_json_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lot");
    std::fs::create_dir(&data).unwrap();
    for name in MEASUREMENTS.iter().chain(&["cdsem_sample.json"]) {
        std::fs::copy(fixture(name), data.join(name)).unwrap();
    }
    let (data_dir, out) = (dir.path().join("dd"), dir.path().join("out"));
    let profile = fixture("cdsem_metrology_profile.yaml");
    let p = |p: &Path| p.to_str().unwrap().to_owned();
    let run = dat(&[
        "run",
        &p(&data),
        "--profile",
        &p(&profile),
        "--export",
        "parquet",
        "--data-dir",
        &p(&data_dir),
        "--out",
        &p(&out),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("42 parsed, 0 partial, 0 failed"), "{stdout}");

    let validated = validate_reference();
    assert_eq!((validated["valid"].clone(), validated["warnings"].clone()), (json!(true), json!([])));
    assert_eq!(validated["tables"].as_array().unwrap().len(), 21, "with a sample: every table and its rows");
    let bundle = parse_bundle(&data_dir, &out);
    let report = read_json(&bundle.join("prep_report.json"));
    let rows: std::collections::BTreeMap<String, u64> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table_id"].as_str().unwrap().to_owned(), t["rows"].as_u64().unwrap()))
        .collect();
    assert!(rows.keys().all(|id| !id.starts_with("cdsem_sample")), "the filters drop cdsem_sample.json: {rows:?}");
    let spec = serde_yaml_profile();
    let mut tables = 0;
    for level in spec["levels"].as_array().unwrap() {
        for table in level["tables"].as_array().unwrap() {
            tables += 1;
            let id = table["id"].as_str().unwrap();
            for file in MEASUREMENTS {
                let expected = expected_rows(&read_json(&fixture(file)), &table["select"]);
                assert_eq!(rows.get(&format!("{file}#{id}")), Some(&expected), "{file}#{id}");
            }
        }
    }
    assert_eq!(tables, 21);

    let context = read_json(
        &std::fs::read_dir(bundle.parent().unwrap())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("context_"))
            .map(|e| e.path().join("artifact.json"))
            .expect("a context artifact"),
    );
    let value = |file: &str, key: &str| -> Value {
        let of = context["files"].as_array().unwrap().iter().find(|f| f["file"] == file).expect(file);
        of["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == key)
            .map(|v| v["value"].clone())
            .unwrap_or(Value::Null)
    };
    let w01 = MEASUREMENTS[0];
    assert_eq!(
        (value(w01, "lot_id"), value(w01, "wafer_id"), value(w01, "tool_id")),
        (json!("LOTABC12345"), json!("W01"), json!("CDSEM001"))
    );
    let w03 = MEASUREMENTS[1];
    assert_eq!(
        (value(w03, "lot_id"), value(w03, "wafer_id"), value(w03, "tool_id")),
        (json!("LOTXYZ98765"), json!("W03"), json!("CDSEM002"))
    );
    let doc = read_json(&fixture(w03));
    assert_eq!(value(w03, "RecipeName"), doc["run_info"]["recipe"]["name"], "run_context from the content");
    assert_eq!(value(w03, "LotID"), doc["metadata"]["lot_id"]);

    // The export is the first output, with the context as columns.
    let manifest = read_json(&out.join("manifest.json"));
    let data = std::fs::read(out.join(manifest["data_file"].as_str().unwrap())).unwrap();
    let sha: String = sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(manifest["version_id"], sha.as_str(), "the manifest's sha256 is the exported file's");
    let columns: Vec<&str> =
        manifest["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(columns.contains(&"lot_id") && columns.contains(&"total_images"), "{columns:?}");
    let expected: u64 = MEASUREMENTS
        .iter()
        .map(|f| {
            let doc = read_json(&fixture(f));
            let tables = &spec["levels"][0]["tables"];
            expected_rows(&doc, &tables[0]["select"]) + expected_rows(&doc, &tables[1]["select"])
        })
        .sum();
    assert_eq!(manifest["row_count"], expected, "run_summary + run_statistics of both files");
}

/// The reference profile as JSON, read by the test with a YAML parser of its own.
fn serde_yaml_profile() -> Value {
    let text = std::fs::read_to_string(fixture("cdsem_metrology_profile.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// A small profile over `data/*.json` files: one table of items, one output.
fn small_profile(id: &str, extra_table: bool) -> String {
    let mut tables = vec![json!({"id": "items", "select": {"strategy": "array_of_objects", "path": "$.items"}})];
    if extra_table {
        tables.push(json!({"id": "meta", "select": {"strategy": "flat_object", "path": "$.meta"}}));
    }
    json!({
        "meta": {"profile_id": id, "title": "small"},
        "datasource": {"format": "json"},
        "context_defaults": {"regex_patterns": [{"field": "lot", "pattern": "(?P<lot>L[0-9]+)"}]},
        "levels": [{"name": "run", "tables": tables}],
        "outputs": {"defaults": [{"id": "all_items", "from_tables": ["items"], "include_context": true}]}
    })
    .to_string()
}

fn json_dirs() -> Dirs {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    std::fs::remove_file(data.join("a.csv")).unwrap();
    std::fs::remove_file(data.join("b.csv")).unwrap();
    std::fs::write(data.join("L1_a.json"), r#"{"meta": {"tool": "T1"}, "items": [{"n": 1}, {"n": 2.50}]}"#).unwrap();
    std::fs::write(data.join("L2_b.json"), r#"{"meta": {"tool": "T2"}, "items": [{"n": 3, "x": "y"}]}"#).unwrap();
    dirs
}

#[test]
fn an_invalid_profile_is_refused_with_every_problem_and_nothing_is_stored() {
    let d = Daemon::start_with(json_dirs(), &[]);
    let bad = json!({
        "meta": {"profile_id": "Bad Id"},
        "levels": [{"name": "run", "tables": [
            {"id": "t", "select": {"strategy": "array_of_objects", "path": "$.items["}},
            {"id": "u", "select": {"strategy": "explode"}}
        ]}],
        "outputs": {"defaults": [{"id": "o", "from_tables": ["nope"]}]}
    });
    let (status, body) = d.post("/api/dat/profiles", &bad.to_string());
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_profile");
    let paths: Vec<&str> =
        body["error"]["details"]["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "meta.profile_id",
            "levels[0].tables[0].select.path",
            "levels[0].tables[1].select.strategy",
            "outputs.defaults[0].from_tables[0]"
        ]
    );
    assert_eq!(d.get("/api/dat/profiles").1["profiles"], json!([]), "nothing stored");
    assert_eq!(d.get("/api/dat/profiles/events").1["events"], json!([]), "no event appended");
}

#[test]
fn create_update_delete_are_three_events_shown_by_audit_and_published_on_nats() {
    let nats = NatsServer::start();
    let d = Daemon::start_with(json_dirs(), &["--nats", &nats.url]);
    let (status, created) = d.post("/api/dat/profiles", &small_profile("lot-items", false));
    assert_eq!(status, 201, "{created}");
    let (status, updated) =
        d.request("PUT", "/api/dat/profiles/lot-items", Some(&small_profile("lot-items", true)), None);
    assert_eq!(status, 200, "{updated}");
    assert_ne!(created["content_hash"], updated["content_hash"], "an update is a new version");
    assert_eq!(d.request("DELETE", "/api/dat/profiles/lot-items", None, None).0, 204);

    let audit = dat(&["audit", "--profiles", "--json", "--data-dir", d.data_dir().to_str().unwrap()]);
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
    let events: Vec<Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ProfileCreated", "ProfileUpdated", "ProfileDeleted"]);

    let js = Js::connect(&nats.url);
    wait_for(60, || (js.count() >= 3).then_some(()));
    let subjects: Vec<String> = js.events().into_iter().map(|e| e.subject).collect();
    assert_eq!(
        subjects,
        [
            "dat.events.profiles.profile_created",
            "dat.events.profiles.profile_updated",
            "dat.events.profiles.profile_deleted"
        ]
    );

    // The same content on another data dir has the same content hash.
    let other = Daemon::start_with(json_dirs(), &[]);
    let (_, again) = other.post("/api/dat/profiles", &small_profile("lot-items", false));
    assert_eq!(again["content_hash"], created["content_hash"]);
}

/// Locks a run with `profile` up to parse and waits; returns the run and its view.
fn parse_with(d: &Daemon, profile: &str) -> (String, Value) {
    let (status, run) = d.post("/api/dat/runs", &json!({ "profile_id": profile }).to_string());
    assert_eq!(status, 201, "{run}");
    let run = run["run_id"].as_str().unwrap().to_owned();
    for (stage, body) in [
        ("discovery", r#"{"root": "data"}"#),
        ("selection", "{}"),
        ("context", "{}"),
        ("table_availability", "{}"),
        ("table_selection", "{}"),
        ("parse", "{}"),
    ] {
        d.lock(&run, stage, body);
    }
    let view = d.wait_completed(&run, "parse");
    (run, view)
}

fn stage_id(view: &Value, stage: &str) -> String {
    view["stages"][stage]["stage_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_run_keeps_its_profile_version_after_an_update_and_a_new_run_gets_new_ids() {
    let d = Daemon::start_with(json_dirs(), &[]);
    assert_eq!(d.post("/api/dat/profiles", &small_profile("lot-items", false)).0, 201);
    let (old_run, old_view) = parse_with(&d, "lot-items");
    assert_eq!(d.request("PUT", "/api/dat/profiles/lot-items", Some(&small_profile("lot-items", true)), None).0, 200);

    // The old run re-parses with its own version: with other chunks, the same tables.
    assert_eq!(d.stage(&old_run, "parse", "unlock", "{}").0, 200);
    d.lock(&old_run, "parse", r#"{"chunk_rows": 1}"#);
    let again = d.wait_completed(&old_run, "parse");
    let (_, artifact) = d.get(&format!("/api/dat/runs/{old_run}/stages/parse/artifact"));
    let tables: Vec<&str> =
        artifact["content"]["tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(tables, ["data/L1_a.json#items", "data/L2_b.json#items"], "the original version has one table");
    assert_eq!(stage_id(&again, "table_availability"), stage_id(&old_view, "table_availability"));
    let replay = dat(&["replay", &old_run, "--json", "--data-dir", d.data_dir().to_str().unwrap()]);
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(replayed["profile_hash"], again["profile_hash"], "the run records its version");

    let (_, new_view) = parse_with(&d, "lot-items");
    for stage in ["selection", "context", "table_availability", "parse"] {
        assert_ne!(stage_id(&new_view, stage), stage_id(&old_view, stage), "{stage} with the updated profile");
    }
    let (_, artifact) = d.get(&format!("/api/dat/runs/{}/stages/parse/artifact", new_view["run_id"].as_str().unwrap()));
    assert_eq!(artifact["content"]["tables"].as_array().unwrap().len(), 4, "the new version has two tables");
}

#[test]
fn directory_profiles_are_served_read_only_validated_with_a_sample_and_export_a_chosen_output() {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    for name in MEASUREMENTS {
        std::fs::copy(fixture(name), data.join(name)).unwrap();
    }
    let profiles_dir = fixture("cdsem_metrology_profile.yaml").parent().unwrap().to_path_buf();
    let d = Daemon::start_with(dirs, &["--profiles-dir", profiles_dir.to_str().unwrap()]);
    let (_, list) = d.get("/api/dat/profiles");
    assert_eq!(list["profiles"][0]["profile_id"], "cdsem-metrology-v1");
    assert_eq!(list["profiles"][0]["source"], "directory");
    let (status, refused) = d.request("PUT", "/api/dat/profiles/cdsem-metrology-v1", Some("meta: {title: x}"), None);
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("profile_read_only")));

    let sample = json!({ "sample_path": format!("data/{}", MEASUREMENTS[0]) }).to_string();
    let (status, validated) = d.post("/api/dat/profiles/cdsem-metrology-v1/validate", &sample);
    assert_eq!(status, 200, "{validated}");
    let doc = read_json(&fixture(MEASUREMENTS[0]));
    let rows = |table: &str| {
        validated["tables"].as_array().unwrap().iter().find(|t| t["table"] == table).unwrap()["rows"].clone()
    };
    assert_eq!(
        rows("image_measurements"),
        json!(doc["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["measurements"]["values"].as_array().unwrap().len())
            .sum::<usize>())
    );
    let (_, tables) = d.get("/api/dat/profiles/cdsem-metrology-v1/tables");
    assert_eq!(tables["tables"].as_array().unwrap().len(), 21);
    assert_eq!(tables["ui"]["options"]["default_selected_tables"]["run"][0], "run_summary", "ui hints served");

    let (run, _) = parse_with(&d, "cdsem-metrology-v1");
    d.lock(&run, "export", r#"{"format": "csv", "output": "cd_analysis_export"}"#);
    d.wait_completed(&run, "export");
    let (_, artifact) = d.get(&format!("/api/dat/runs/{run}/stages/export/artifact"));
    assert_eq!(artifact["content"]["output"], "cd_analysis_export");
    let dataset = artifact["content"]["dataset_id"].as_str().unwrap().to_owned();
    let (_, manifest) = d.get(&format!("/api/datasets/{dataset}"));
    let columns: Vec<&str> =
        manifest["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for column in ["lot_id", "wafer_id", "cd_value", "bin_center"] {
        assert!(columns.contains(&column), "context and member tables' columns: {column} in {columns:?}");
    }
    let (status, unknown) = d.stage(&run, "export", "lock", r#"{"format": "csv", "output": "nope"}"#);
    assert_eq!(status, 400, "{unknown}");
    assert!(
        unknown["error"]["message"].as_str().unwrap().contains("cd_analysis_export"),
        "names the outputs: {unknown}"
    );
}

#[test]
fn an_output_with_its_context_keeps_the_values_of_a_table_column_named_like_a_context_key() {
    // The file names give `lot` (L1, L2) as context; L1_a.json's items have a `lot` column of
    // their own, which the output keeps as read (L2_b.json's items have none: null there).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lot");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("L1_a.json"), r#"{"items": [{"n": 1, "lot": "own-1"}, {"n": 2, "lot": "own-2"}]}"#)
        .unwrap();
    std::fs::write(data.join("L2_b.json"), r#"{"items": [{"n": 3}]}"#).unwrap();
    let profile = dir.path().join("profile.yaml");
    std::fs::write(&profile, small_profile("lot-items", false)).unwrap();
    let (data_dir, out) = (dir.path().join("dd"), dir.path().join("out"));
    let p = |p: &Path| p.to_str().unwrap().to_owned();
    let args = ["run", &p(&data), "--profile", &p(&profile), "--export", "parquet", "--data-dir", &p(&data_dir)];
    let run = dat(&[&args[..], &["--out", &p(&out)]].concat());
    assert!(run.status.success(), "{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    let output = parse_bundle(&data_dir, &out).join("outputs/all_items.parquet");
    use polars::prelude::{ParquetReader, SerReader};
    let df = ParquetReader::new(std::fs::File::open(&output).unwrap()).finish().unwrap();
    let column = |name: &str| -> Vec<Option<String>> {
        let c = df.column(name).unwrap().cast(&polars::prelude::DataType::String).unwrap();
        c.str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
    };
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> = column("_source_file")
        .into_iter()
        .zip(column("n"))
        .zip(column("lot"))
        .map(|((file, n), lot)| (file, n, lot))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        rows,
        [(s("L1_a.json"), s("1"), s("own-1")), (s("L1_a.json"), s("2"), s("own-2")), (s("L2_b.json"), s("3"), None)]
    );
}

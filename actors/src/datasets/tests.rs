//! The catalogue over dataset folders written by the export in a temp dir: listing (newest
//! first, hidden and broken folders left out), manifests, previews of every format, lineage,
//! and ids that try to leave the folder.

use std::collections::BTreeMap;
use std::path::Path;

use dat_contracts::bundle::DatasetManifest;
use dat_contracts::{ExportFormat, Stage};
use serde_json::Value;

use super::{DatasetError, Datasets};
use crate::stages::export::tests::{expected_rows, run_id, sample, sample_columns, write_parquet, TestReporter};
use crate::stages::export::{data_file, export_file, extension, Exported, Limits, MANIFEST};

fn manifest(id: &str, format: ExportFormat, created_at: &str) -> DatasetManifest {
    DatasetManifest {
        dataset_id: id.into(),
        name: format!("{id} name"),
        description: None,
        created_at: created_at.into(),
        created_by_tool: "dat".into(),
        run_id: "0190a5c2-0000-7000-8000-000000000000".into(),
        stage_ids: BTreeMap::from([(Stage::Parse, "parse_0000000a".into()), (Stage::Export, "export_0000000b".into())]),
        profile_id: None,
        columns: sample_columns(),
        row_count: 6,
        size_bytes: 0,
        version_id: String::new(),
        parent_dataset_ids: Vec::new(),
        source_files: vec!["data/a.csv".into()],
        format: extension(format).into(),
        data_file: data_file(format),
    }
}

/// A dataset folder `<dir>/<id>` holding the sample exported as `format`.
fn write_dataset(dir: &Path, id: &str, format: ExportFormat, created_at: &str) {
    let folder = dir.join(id);
    std::fs::create_dir_all(&folder).expect("folder");
    let dataset = dir.join(format!("{id}.parquet"));
    write_parquet(&sample(), &dataset, 2);
    let out = folder.join(data_file(format));
    let done =
        export_file(&dataset, format, &out, Limits::default(), run_id(), &TestReporter::running()).expect("export");
    assert!(matches!(done, Exported::Completed(_)));
    std::fs::remove_file(&dataset).expect("remove");
    let bytes = serde_json::to_vec(&manifest(id, format, created_at)).expect("json");
    std::fs::write(folder.join(MANIFEST), bytes).expect("manifest");
}

/// The sample's rows as a csv reader sees them: text, with `null` for an empty field.
fn as_text(rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let text = |v: Value| match v {
        Value::Null => Value::Null,
        Value::String(s) => Value::String(s),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or_default();
            Value::String(if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.1}") } else { x.to_string() })
        }
        other => Value::String(other.to_string()),
    };
    rows.into_iter().map(|row| row.into_iter().map(text).collect()).collect()
}

#[test]
fn datasets_are_listed_newest_first_and_read_by_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_dataset(dir.path(), "ds_older", ExportFormat::Csv, "2024-01-01T00:00:00.000Z");
    write_dataset(dir.path(), "ds_newer", ExportFormat::Parquet, "2024-06-01T00:00:00.000Z");
    std::fs::create_dir_all(dir.path().join(".ds_x.0190.staging")).expect("staging");
    std::fs::create_dir_all(dir.path().join("ds_broken")).expect("broken");
    std::fs::write(dir.path().join("ds_broken").join(MANIFEST), "{not json").expect("write");

    let datasets = Datasets::new(dir.path());
    let ids: Vec<String> = datasets.list().into_iter().map(|m| m.dataset_id).collect();
    assert_eq!(ids, vec!["ds_newer", "ds_older"]);
    assert_eq!(datasets.get("ds_older"), Some(manifest("ds_older", ExportFormat::Csv, "2024-01-01T00:00:00.000Z")));
    assert_eq!(datasets.get("ds_missing"), None);
    assert!(Datasets::new(dir.path().join("nothing here")).list().is_empty());
}

#[test]
fn ids_that_could_leave_the_folder_are_never_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let datasets_dir = dir.path().join("datasets");
    write_dataset(&datasets_dir, "ds_ok", ExportFormat::Jsonl, "2024-01-01T00:00:00.000Z");
    // A manifest outside the catalogue that a traversal would reach.
    std::fs::write(
        dir.path().join(MANIFEST),
        serde_json::to_vec(&manifest("..", ExportFormat::Csv, "x")).expect("json"),
    )
    .expect("write");
    let datasets = Datasets::new(&datasets_dir);
    for id in ["..", "../ds_ok", "ds_ok/..", "ds_ok/../ds_ok", "/etc", ".ds_ok", "", "ds ok", "ds_ok%2F.."] {
        assert_eq!(datasets.get(id), None, "{id:?}");
        assert!(matches!(datasets.preview(id, 5), Err(DatasetError::NotFound(_))), "{id:?}");
        assert!(matches!(datasets.lineage(id), Err(DatasetError::NotFound(_))), "{id:?}");
    }
    assert!(datasets.get("ds_ok").is_some());
}

#[test]
fn previews_read_the_first_rows_of_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let formats = [
        ExportFormat::Parquet,
        ExportFormat::Csv,
        ExportFormat::Tsv,
        ExportFormat::Json,
        ExportFormat::Jsonl,
        ExportFormat::Xlsx,
    ];
    for format in formats {
        write_dataset(dir.path(), &format!("ds_{}", extension(format)), format, "2024-01-01T00:00:00.000Z");
    }
    let datasets = Datasets::new(dir.path());
    let names: Vec<String> = sample_columns().into_iter().map(|c| c.name).collect();
    let all = expected_rows(&sample());
    for format in formats {
        let id = format!("ds_{}", extension(format));
        let preview = datasets.preview(&id, 4).expect("preview");
        assert_eq!(preview.columns, names, "{id}");
        let first: Vec<Vec<Value>> = all[..4].to_vec();
        let wanted = if matches!(format, ExportFormat::Csv | ExportFormat::Tsv) { as_text(first) } else { first };
        assert_eq!(preview.rows, wanted, "{id}");
        assert_eq!(datasets.preview(&id, 100).expect("preview").rows.len(), 6, "{id}: all there are");
    }
}

#[test]
fn lineage_names_the_run_stages_and_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_dataset(dir.path(), "ds_lin", ExportFormat::Csv, "2024-01-01T00:00:00.000Z");
    let lineage = Datasets::new(dir.path()).lineage("ds_lin").expect("lineage");
    let m = manifest("ds_lin", ExportFormat::Csv, "2024-01-01T00:00:00.000Z");
    assert_eq!(lineage.dataset_id, "ds_lin");
    assert_eq!(lineage.run_id, m.run_id);
    assert_eq!(lineage.stage_ids, m.stage_ids);
    assert_eq!(lineage.source_files, vec!["data/a.csv"]);
    assert!(lineage.parent_dataset_ids.is_empty());
}

#[test]
fn a_missing_data_file_is_unreadable_not_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_dataset(dir.path(), "ds_gone", ExportFormat::Csv, "2024-01-01T00:00:00.000Z");
    std::fs::remove_file(dir.path().join("ds_gone/data.csv")).expect("remove");
    let result = Datasets::new(dir.path()).preview("ds_gone", 5);
    assert!(
        matches!(result, Err(DatasetError::Unreadable { ref dataset_id, .. }) if dataset_id == "ds_gone"),
        "{result:?}"
    );
}

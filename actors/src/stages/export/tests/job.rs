//! The whole background job: from a run whose parse is done to a dataset folder with its
//! manifest, replaced (never mixed) on a re-export, and nothing visible after a stop.

use std::collections::BTreeMap;
use std::path::Path;

use dat_contracts::bundle::{parse_files, DatasetManifest, ParseManifest, SourceTable};
use dat_contracts::{RunId, Stage, StageId};
use dat_events::run::LockedArtifact;
use dat_events::{ArtifactRef, RunState};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{run_id, sample, sample_columns, write_parquet, TestReporter};
use crate::stages::export::{dataset_id, ExportDataset, MANIFEST};
use crate::stages::{BackgroundWork, Job, JobEnd, StageContext};
use crate::workspace::Workspace;

/// A data dir with a run whose parse bundle holds the sample dataset.
struct Fixture {
    dir: tempfile::TempDir,
    run: RunState,
    parse_id: StageId,
}

fn source(file: &str, rows: u64) -> SourceTable {
    SourceTable { table_id: file.into(), file: file.into(), sha256: "00".repeat(32), size: 10, rows }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_id: RunId = run_id();
    let parse_id = StageId::compute(Stage::Parse, &Map::new());
    let artifact = ArtifactRef(format!("runs/{run_id}/{parse_id}"));
    let bundle = dir.path().join("data").join(&artifact.0);
    std::fs::create_dir_all(&bundle).expect("bundle");
    write_parquet(&sample(), &bundle.join(parse_files::DATASET), 2);
    let manifest = ParseManifest {
        run_id: run_id.to_string(),
        stage_ids: BTreeMap::from([
            (Stage::Discovery, "discovery_00000001".into()),
            (Stage::Parse, parse_id.to_string()),
        ]),
        sources: vec![source("data/a.csv", 4), source("data/b.xlsx", 1), source("data/b.xlsx", 1)],
        columns: sample_columns(),
        rows: 6,
        dataset_sha256: None,
        rejects: 0,
        timings: BTreeMap::new(),
        profile_files: Default::default(),
    };
    std::fs::write(bundle.join(parse_files::MANIFEST), serde_json::to_vec(&manifest).expect("json")).expect("manifest");

    let mut run = RunState::new(run_id);
    run.name = Some("lot 42".into());
    run.profile_id = Some("cdsem".into());
    if let Some(status) = run.stages.get_mut(&Stage::Parse) {
        status.stage_id = Some(parse_id.clone());
        status.completed = true;
    }
    run.artifacts.insert(parse_id.clone(), LockedArtifact { inputs: Map::new(), artifact, completed: true });
    Fixture { dir, run, parse_id }
}

fn export_inputs(format: &str, parse_id: &StageId) -> Map<String, Value> {
    let value = json!({ "format": format, "name": null, "description": "nightly", "parse": parse_id.to_string() });
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// Runs the export job of `format`; returns how it ended and the dataset id.
fn run_export(f: &Fixture, format: &str, report: &TestReporter) -> (JobEnd, String) {
    let data_dir = f.dir.path().join("data");
    let workspace = Workspace::open(f.dir.path()).expect("workspace");
    let artifacts = dat_store::ArtifactStore::new(&data_dir);
    let inputs = export_inputs(format, &f.parse_id);
    let stage_id = StageId::compute(Stage::Export, &inputs);
    let artifact = ArtifactRef(format!("runs/{}/{stage_id}", f.run.run_id));
    let job = Job {
        ctx: StageContext {
            run_id: f.run.run_id,
            run: &f.run,
            workspace: &workspace,
            artifacts: &artifacts,
            profile: None,
        },
        stage: Stage::Export,
        stage_id: &stage_id,
        inputs: &inputs,
        artifact: &artifact,
        metrics: &Default::default(),
    };
    let executor = ExportDataset { datasets_dir: data_dir.join("datasets") };
    (executor.run(&job, report).expect("export job"), dataset_id(&stage_id))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn the_job_writes_the_dataset_folder_and_its_manifest() {
    let f = fixture();
    let (end, id) = run_export(&f, "csv", &TestReporter::running());
    assert_eq!(end, JobEnd::Completed);
    assert!(id.starts_with("ds_") && id.len() == 11, "{id}");
    let datasets = f.dir.path().join("data/datasets");
    assert_eq!(entries(&datasets), vec![id.clone()], "no staging folder is left");
    let folder = datasets.join(&id);
    assert_eq!(entries(&folder), vec!["data.csv".to_owned(), MANIFEST.to_owned()]);

    let manifest: DatasetManifest =
        serde_json::from_slice(&std::fs::read(folder.join(MANIFEST)).expect("manifest")).expect("shape");
    let data = std::fs::read(folder.join("data.csv")).expect("data");
    let sha: String = Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(manifest.dataset_id, id);
    assert_eq!(manifest.name, "lot 42", "defaults to the run's name");
    assert_eq!(manifest.description.as_deref(), Some("nightly"));
    assert_eq!(manifest.created_by_tool, "dat");
    assert!(chrono::DateTime::parse_from_rfc3339(&manifest.created_at).is_ok());
    assert_eq!(manifest.run_id, f.run.run_id.to_string());
    assert_eq!(manifest.profile_id.as_deref(), Some("cdsem"));
    assert_eq!(manifest.stage_ids.len(), 3, "discovery, parse and export");
    assert_eq!(manifest.stage_ids[&Stage::Parse], f.parse_id.to_string());
    assert_eq!(manifest.stage_ids[&Stage::Export], format!("export_{}", &id[3..]));
    assert_eq!(manifest.columns, sample_columns());
    assert_eq!((manifest.row_count, manifest.size_bytes), (6, data.len() as u64));
    assert_eq!(manifest.version_id, sha);
    assert!(manifest.parent_dataset_ids.is_empty());
    assert_eq!(manifest.source_files, vec!["data/a.csv", "data/b.xlsx"]);
    assert_eq!((manifest.format.as_str(), manifest.data_file.as_str()), ("csv", "data.csv"));
}

#[test]
fn the_same_export_again_replaces_the_folder_with_the_same_data() {
    let f = fixture();
    let (_, first) = run_export(&f, "xlsx", &TestReporter::running());
    let read = |id: &str| -> DatasetManifest {
        let path = f.dir.path().join("data/datasets").join(id).join(MANIFEST);
        serde_json::from_slice(&std::fs::read(path).expect("manifest")).expect("shape")
    };
    let before = read(&first);
    let (_, again) = run_export(&f, "xlsx", &TestReporter::running());
    assert_eq!(again, first, "same inputs, same dataset id");
    assert_eq!(entries(&f.dir.path().join("data/datasets")), vec![first.clone()]);
    assert_eq!(read(&again).version_id, before.version_id, "identical data file");

    let (_, other) = run_export(&f, "jsonl", &TestReporter::running());
    assert_ne!(other, first, "another format is another dataset");
}

#[test]
fn a_stopped_job_leaves_nothing_visible() {
    let f = fixture();
    let (end, id) = run_export(&f, "json", &TestReporter::stopping_after(0));
    assert_eq!(end, JobEnd::Cancelled);
    let datasets = f.dir.path().join("data/datasets");
    assert!(entries(&datasets).is_empty(), "no dataset {id} and no staging folder: {:?}", entries(&datasets));
}

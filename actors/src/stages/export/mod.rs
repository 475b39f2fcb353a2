//! Export: the parse dataset written in the chosen format as a registered dataset (SPEC §8),
//! `<datasets>/<dataset_id>/data.<ext>` plus `manifest.json`, in the background and in bounded
//! memory. The folder appears (or replaces the old one) only when complete.
//!
//! # Choices
//! - The dataset id is `ds_` + the 8 hex digits of the export stage ID. The stage ID addresses
//!   the content (every upstream ID, the format, name and description), so the same data exported
//!   the same way gets the same id in any run or data dir, and re-exporting replaces the folder
//!   with an identical data file (same `version_id`); anything different gets a new dataset.
//! - Dates and datetimes: ISO text in csv, tsv, json and jsonl (`2024-05-01`,
//!   `2024-05-01T12:30:00.250`); real Excel dates with a date format in xlsx; native types in
//!   parquet, which is a byte copy of the parse dataset.

pub(crate) mod cells;
mod file;
mod publish;
mod text;
mod xlsx;

#[cfg(test)]
pub(crate) mod tests;

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use dat_contracts::bundle::{parse_files, DatasetManifest, ParseManifest};
use dat_contracts::profile::Profile;
use dat_contracts::{ExportFormat, LockRequest, Stage, StageId};
use serde_json::{json, Map, Value};

pub(crate) use self::file::{export_file, extension, Exported, Limits};
use self::publish::Staging;
pub(crate) use self::xlsx::read_back as xlsx_value;
use crate::stages::{
    size_and_sha256, write_synced, BackgroundWork, Job, JobEnd, Reporter, StageContext, StageError, StageExecutor,
};

/// The name of a dataset's manifest in its folder.
pub(crate) const MANIFEST: &str = "manifest.json";

/// The export executor.
pub struct ExportDataset {
    /// Where datasets live (`<data-dir>/datasets`).
    pub datasets_dir: PathBuf,
}

/// The dataset id of an export lock: `ds_` + the hex part of its stage ID (see the module doc).
pub(crate) fn dataset_id(stage_id: &StageId) -> String {
    let hex = stage_id.as_str().rsplit_once('_').map_or(stage_id.as_str(), |(_, hex)| hex);
    format!("ds_{hex}")
}

/// `data.<ext>`.
pub(crate) fn data_file(format: ExportFormat) -> String {
    format!("data.{}", extension(format))
}

/// The export inputs as recorded in the lock (`format`, `name`, `description`, `output`).
struct Request {
    format: ExportFormat,
    name: Option<String>,
    description: Option<String>,
    output: Option<String>,
}

impl Request {
    fn from_inputs(inputs: &Map<String, Value>) -> Result<Self, StageError> {
        let format = match inputs.get("format") {
            None | Some(Value::Null) => ExportFormat::default(),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| StageError::Invalid(format!("export format: {e}")))?
            }
        };
        let text = |key: &str| inputs.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Request { format, name: text("name"), description: text("description"), output: text("output") })
    }

    /// The profile output to export: the one asked for, else the profile's first; `None`
    /// without a profile.
    ///
    /// # Errors
    /// [`StageError::Invalid`] for an output the profile does not have, or one asked for
    /// without a profile.
    fn output(&self, profile: Option<&Profile>) -> Result<Option<String>, StageError> {
        let Some(profile) = profile else {
            return match &self.output {
                Some(output) => Err(StageError::Invalid(format!(
                    "output `{output}` needs a run created with a profile (its outputs are what can be exported)"
                ))),
                None => Ok(None),
            };
        };
        let ids: Vec<&str> = profile.spec.outputs().map(|o| o.id.as_str()).collect();
        match &self.output {
            Some(output) if ids.contains(&output.as_str()) => Ok(Some(output.clone())),
            Some(output) => Err(StageError::Invalid(format!(
                "the profile has no output `{output}`; its outputs: {}",
                ids.join(", ")
            ))),
            None => Ok(ids.first().map(|id| (*id).to_owned())),
        }
    }
}

impl ExportDataset {
    /// The datasets folder relative to the data dir when it is inside it (it is in the daemon).
    fn relative_dir(&self, ctx: &StageContext<'_>, dataset_id: &str) -> String {
        let dir = self.datasets_dir.join(dataset_id);
        dir.strip_prefix(ctx.artifacts.data_dir())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("datasets/{dataset_id}"))
    }
}

impl StageExecutor for ExportDataset {
    /// The planned export: format, name, dataset id and the files it will write (relative to the
    /// data dir). The export itself runs in the background.
    fn produce(
        &self,
        ctx: &StageContext<'_>,
        _: &LockRequest,
        inputs: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        let planned = Request::from_inputs(inputs)?;
        let output = planned.output(ctx.profile)?;
        let dataset_id = dataset_id(&StageId::compute(Stage::Export, inputs));
        let dir = self.relative_dir(ctx, &dataset_id);
        let name = planned.name.or_else(|| ctx.run.name.clone()).unwrap_or_else(|| dataset_id.clone());
        let files =
            json!({ "data": format!("{dir}/{}", data_file(planned.format)), "manifest": format!("{dir}/{MANIFEST}") });
        Ok(
            json!({ "format": planned.format, "name": name, "dataset_id": dataset_id, "output": output, "files": files }),
        )
    }

    fn background(&self) -> Option<&dyn BackgroundWork> {
        Some(self)
    }
}

impl BackgroundWork for ExportDataset {
    fn run(&self, job: &Job<'_>, report: &dyn Reporter) -> Result<JobEnd, StageError> {
        let request = Request::from_inputs(job.inputs)?;
        let run = job.ctx.run;
        let not_parsed = || StageError::Invalid("export needs a completed parse, and parse has no artifact".into());
        let parse_id = run.status(Stage::Parse).stage_id.as_ref().ok_or_else(not_parsed)?;
        let parse = run.artifacts.get(parse_id).ok_or_else(not_parsed)?;
        let bundle = job.ctx.artifacts.dir(&parse.artifact);
        let mut parse_manifest = read_parse_manifest(&bundle, &parse.artifact.0)?;
        // With a profile, one of its outputs; else the whole dataset; with its sha256 when the
        // bundle says it.
        let (dataset, columns, written_sha256) = match request.output(job.ctx.profile)? {
            Some(output) => {
                let file = parse_manifest.profile_files.remove(&output).ok_or_else(|| {
                    StageError::Invalid(format!("the parse bundle {} has no output `{output}`", parse.artifact.0))
                })?;
                (bundle.join(&file.file), file.columns, file.sha256)
            }
            None => (
                bundle.join(parse_files::DATASET),
                parse_manifest.columns.clone(),
                parse_manifest.dataset_sha256.take(),
            ),
        };
        if !dataset.is_file() {
            let reference = &parse.artifact.0;
            let name = dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(StageError::Invalid(format!("the parse bundle {reference} has no {name}")));
        }

        let dataset_id = dataset_id(job.stage_id);
        let staging = Staging::create(&self.datasets_dir, &dataset_id)
            .map_err(|e| StageError::Io(format!("cannot create the dataset folder datasets/{dataset_id}: {e}")))?;
        let data_file = data_file(request.format);
        let data_path = staging.dir().join(&data_file);
        let stats = match export_file(&dataset, request.format, &data_path, Limits::default(), job.ctx.run_id, report)?
        {
            Exported::Completed(stats) => stats,
            Exported::Cancelled => return Ok(JobEnd::Cancelled),
        };
        let read_back =
            |e: std::io::Error| StageError::Io(format!("cannot read back datasets/{dataset_id}/{data_file}: {e}"));
        // A Parquet export is the bundle file's own bytes (linked or copied): its sha256 is the
        // one taken as parse wrote it.
        let (size_bytes, version_id) = match written_sha256.filter(|_| request.format == ExportFormat::Parquet) {
            Some(sha256) => (std::fs::metadata(&data_path).map_err(read_back)?.len(), sha256),
            None => size_and_sha256(&data_path).map_err(read_back)?,
        };

        let mut stage_ids = parse_manifest.stage_ids.clone();
        stage_ids.insert(Stage::Export, job.stage_id.to_string());
        // Each file once, in dataset order (a workbook gives one source per sheet).
        let mut seen = std::collections::BTreeSet::new();
        let source_files: Vec<String> =
            parse_manifest.sources.iter().filter(|s| seen.insert(&s.file)).map(|s| s.file.clone()).collect();
        let manifest = DatasetManifest {
            name: request.name.or_else(|| run.name.clone()).unwrap_or_else(|| dataset_id.clone()),
            dataset_id: dataset_id.clone(),
            description: request.description,
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            created_by_tool: "dat".to_owned(),
            run_id: job.ctx.run_id.to_string(),
            stage_ids,
            profile_id: run.profile_id.clone(),
            columns,
            row_count: stats.rows,
            size_bytes,
            version_id,
            parent_dataset_ids: Vec::new(),
            source_files,
            format: extension(request.format).to_owned(),
            data_file,
        };
        let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| StageError::Io(e.to_string()))?;
        write_synced(&staging.dir().join(MANIFEST), &bytes)
            .map_err(|e| StageError::Io(format!("cannot write datasets/{dataset_id}/{MANIFEST}: {e}")))?;
        if report.should_stop() {
            return Ok(JobEnd::Cancelled);
        }
        staging
            .publish()
            .map_err(|e| StageError::Io(format!("cannot move the export into datasets/{dataset_id}: {e}")))?;
        let (rows, sheets) = (stats.rows, stats.sheets);
        tracing::info!(run_id = %job.ctx.run_id, %dataset_id, rows, sheets, "dataset exported");
        Ok(JobEnd::Completed)
    }
}

/// The parse bundle's manifest.
fn read_parse_manifest(bundle: &Path, reference: &str) -> Result<ParseManifest, StageError> {
    let path = bundle.join(parse_files::MANIFEST);
    let unreadable = |e: &dyn std::fmt::Display| {
        StageError::Invalid(format!("cannot read the parse manifest {reference}/{}: {e}", parse_files::MANIFEST))
    };
    let bytes = std::fs::read(&path).map_err(|e| unreadable(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| unreadable(&e))
}

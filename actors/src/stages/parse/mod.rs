//! Parse: every selected table into one Parquet dataset, in the background. Each table is read
//! through its adapter (in parallel, one worker per core) into its own checkpoint, recorded by
//! a `Checkpointed` event; then the dataset is assembled from the checkpoints and the bundle of
//! SPEC §7 written next to the stage's `artifact.json`, with `result.json` saying how each table
//! ended. A table that cannot be read (or whose file changed since discovery) is `failed`; the
//! others go on. A re-lock with the same inputs reuses the checkpoints already recorded.
//!
//! # Layout
//! - `checkpoint`: one table read into its checkpoint folder, its source verified.
//! - `ranges`: a large file read in byte ranges at once into one checkpoint.
//! - `sink`: the sink the adapter reads into (parts on a writer thread, rejects in parts).
//! - `part`: a checkpoint part, a chunk written as read.
//! - `encoded`: a large checkpoint part encoded at parse, spliced into the dataset as it is.
//! - `encoding`: how dat's Parquet is encoded (codecs, encodings, when a dictionary pays).
//! - `source_stats`: the source columns' statistics, computed by dat (one comparison a batch).
//! - `frame`: dat's column types in Arrow.
//! - `dataset_file`: a Parquet file written from Arrow batches, row groups encoded on every core.
//! - `conform`: a part's columns brought to the dataset's types without losing a value.
//! - `recall`: the text of columns held typed, read again where the dataset keeps them as text.
//! - `unite`: the dataset's columns, matched by name, their types widened, each with its reason.
//! - `assemble`: the dataset, the rejects and the report entries.
//! - `meter`: how far a parse has come, its ETA, and the heartbeat that publishes them.
//! - `outcome`: the tables' outcomes as `prep_report.json`, `result.json` and `manifest.json`.

mod assemble;
mod checkpoint;
mod conform;
mod dataset_file;
mod encoded;
mod encoding;
mod frame;
mod meter;
mod outcome;
mod outputs;
mod part;
mod ranges;
mod recall;
mod sink;
mod source_stats;
mod unite;

#[cfg(test)]
mod encoded_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dat_contracts::artifacts::{
    AvailabilityArtifact, ContextArtifact, SelectedTable, SelectionArtifact, TableSelectionArtifact,
};
use dat_contracts::bundle::{parse_files, FailureCode, TableFailure};
use dat_contracts::text_layout::column_key;
use dat_contracts::{LockRequest, Stage};
use dat_readers::profile::ProfileAdapter;
use dat_readers::{AdapterRegistry, ReadOptions};
use dat_store::FingerprintCache;
use serde_json::{json, Map, Value};

use self::assemble::Parsed;
use self::checkpoint::{NotRead, TableCheckpoint};
use self::meter::Meter;
use self::recall::Reread;
use crate::stages::availability::decided_hints;
use crate::stages::{BackgroundWork, Job, JobEnd, Reporter, StageContext, StageError, StageExecutor};

/// The parse executor.
pub struct ParseDataset {
    pub adapters: AdapterRegistry,
    /// Cores: a large file is read this many ranges at a time, and one more table than this
    /// is read at once (a table's reader waits on its writer and the disk at times, and the
    /// last tables of a run, five sheets on two cores say, would otherwise leave a core idle).
    pub workers: usize,
    /// Limits every read works within (the chunk size comes from the lock).
    pub options: ReadOptions,
    /// Discovery's fingerprints: a file they vouch for is not hashed a second time.
    pub fingerprints: Arc<dyn FingerprintCache>,
}

impl StageExecutor for ParseDataset {
    /// The read limits enter the stage ID (other limits can give other rejects), and so does the
    /// run's profile version.
    fn content_inputs(&self, ctx: &StageContext<'_>, _: &LockRequest) -> Result<Map<String, Value>, StageError> {
        let mut inputs = limits(&self.options);
        inputs.extend(ctx.profile_inputs());
        Ok(inputs)
    }

    fn produce(
        &self,
        ctx: &StageContext<'_>,
        _: &LockRequest,
        inputs: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        let tables: TableSelectionArtifact = ctx.upstream(Stage::TableSelection)?;
        let ids: Vec<&str> = tables.tables.iter().map(|t| t.table_id.as_str()).collect();
        Ok(json!({ "tables": ids, "chunk_rows": inputs.get("chunk_rows"), "bundle": files() }))
    }

    fn background(&self) -> Option<&dyn BackgroundWork> {
        Some(self)
    }
}

/// The limits that change what a read gives, as stage inputs.
pub(crate) fn limits(options: &ReadOptions) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(
        "read_limits".into(),
        json!({
            "record_cap_bytes": options.record_cap,
            "max_columns": options.max_columns,
            "decompressed_limit_bytes": options.decompressed_limit,
            "whole_workbook_limit_bytes": options.whole_workbook_limit,
        }),
    );
    map
}

/// The dataset's lineage, kept in its Parquet metadata: content-addressed facts only (the
/// stage IDs, every source by path and content hash, the read limits), as canonical JSON, so
/// identical input still gives byte-identical files. Run id and times are in `manifest.json`.
fn lineage(job: &Job<'_>, parsed: &[&Parsed<'_>], options: &ReadOptions) -> String {
    let stage_ids: BTreeMap<String, String> = job
        .ctx
        .run
        .stages
        .values()
        .filter(|s| s.stage <= Stage::Parse)
        .filter_map(|s| Some((s.stage.to_string(), s.stage_id.as_ref()?.to_string())))
        .collect();
    let mut sources: Vec<(&str, &str)> =
        parsed.iter().map(|p| (p.table.file.as_str(), p.checkpoint.sha256.as_str())).collect();
    sources.sort_unstable();
    sources.dedup();
    let lineage = json!({
        "dat_version": env!("CARGO_PKG_VERSION"),
        "stage_ids": stage_ids,
        "sources": sources.iter().map(|(path, sha256)| json!({"path": path, "sha256": sha256})).collect::<Vec<_>>(),
        "options": limits(options),
    });
    dat_contracts::canonical_json::to_string(&lineage)
}

fn files() -> Value {
    json!({
        "dataset": parse_files::DATASET,
        "manifest": parse_files::MANIFEST,
        "prep_report": parse_files::PREP_REPORT,
        "transform_plan": parse_files::TRANSFORM_PLAN,
        "rejects": parse_files::REJECTS,
        "result": parse_files::RESULT,
    })
}

/// What long work is watched through: asked whether to stop, told how many rows it wrote.
pub(crate) struct Watch<'a> {
    pub(crate) should_stop: &'a (dyn Fn() -> bool + Sync),
    pub(crate) on_rows: &'a (dyn Fn(u64) + Sync),
}

/// How reading one table ended.
pub(crate) enum TableRead {
    /// Read (or reused) into its checkpoint.
    Read(Box<TableCheckpoint>),
    /// Failed: the reason, and whether a reader panic was caught.
    Failed(TableFailure, bool),
}

impl BackgroundWork for ParseDataset {
    /// Parses with a heartbeat: progress (with its ETA) is published at least once a second,
    /// also while one large table or the dataset is being written.
    fn run(&self, job: &Job<'_>, report: &dyn Reporter) -> Result<JobEnd, StageError> {
        let selected: TableSelectionArtifact = job.ctx.upstream(Stage::TableSelection)?;
        let selection: SelectionArtifact = job.ctx.upstream(Stage::Selection)?;
        let availability: AvailabilityArtifact = job.ctx.upstream(Stage::TableAvailability)?;
        let size_of = |file: &str| selection.files.iter().find(|f| f.path.as_str() == file).map_or(0, |f| f.size);
        let total_bytes: u64 = selected.tables.iter().map(|t| size_of(t.file.as_str())).sum();
        let total_rows: u64 = availability
            .tables
            .iter()
            .filter(|t| selected.tables.iter().any(|s| s.table_id == t.table_id))
            .filter_map(|t| t.row_estimate)
            .sum();
        let meter = Meter::new(job.ctx.run_id, selected.tables.len() as u64, total_bytes, total_rows);
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| meter::heartbeat(&meter, &done, HEARTBEAT, &|p| report.progress(p)));
            let ended = self.parse(job, report, &meter, (&selected, &selection, &availability));
            done.store(true, Ordering::Relaxed);
            ended
        })
    }
}

/// Progress is published at least this often while a parse runs.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

impl ParseDataset {
    fn parse(
        &self,
        job: &Job<'_>,
        report: &dyn Reporter,
        meter: &Meter,
        (selected, selection, availability): (&TableSelectionArtifact, &SelectionArtifact, &AvailabilityArtifact),
    ) -> Result<JobEnd, StageError> {
        let started = Instant::now();
        let chunk_rows = job.inputs.get("chunk_rows").and_then(Value::as_u64).unwrap_or(ReadOptions::CHUNK_ROWS as u64);
        let options = self.options.clone().with_chunk_rows(usize::try_from(chunk_rows).unwrap_or(usize::MAX));
        let bundle = job.ctx.artifacts.dir(job.artifact);
        let checkpoints = bundle.join(parse_files::CHECKPOINTS);
        let file_of = |file: &str| selection.files.iter().find(|f| f.path.as_str() == file);
        let size_of = |file: &str| file_of(file).map_or(0, |f| f.size);
        let publish = || report.progress(meter.progress());
        let stopped = AtomicBool::new(false);
        let unaccounted: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let should_stop = || stopped.load(Ordering::SeqCst) || report.should_stop();

        // Read every table into its checkpoint, in parallel; results in table order.
        let results: Vec<Mutex<Option<TableRead>>> = selected.tables.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let on_chunk = |rows| {
            meter.rows.fetch_add(rows, Ordering::Relaxed);
            publish();
        };
        // A run with a profile reads its JSON tables through the profile's adapter.
        let adapters = match job.ctx.profile {
            Some(profile) => self.adapters.with(Arc::new(ProfileAdapter::new(Arc::new(profile.clone())))),
            None => self.adapters.clone(),
        };
        let reading = checkpoint::Reading {
            adapters: &adapters,
            workspace: job.ctx.workspace,
            options,
            on_chunk: &on_chunk,
            should_stop: &should_stop,
            // As many on one core as on many: the ranges decide the parts, and so the
            // dataset's row groups and bytes, which must not depend on the machine.
            ranges: dat_readers::RANGES,
            readers: self.workers.max(1),
            fingerprints: Some(self.fingerprints.as_ref()),
        };
        std::thread::scope(|scope| {
            for _ in 0..=self.workers.max(1) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(table) = selected.tables.get(index) else { break };
                    if should_stop() {
                        break;
                    }
                    let folder = checkpoint::folder_name(&table.table_id);
                    let dir = checkpoints.join(&folder);
                    let reused = job.checkpoint(&table.table_id).and_then(|_| checkpoint::load(&dir));
                    if let Some(done) = &reused {
                        meter.rows.fetch_add(done.rows, Ordering::Relaxed);
                    }
                    let expected = file_of(table.file.as_str()).map_or("", |f| f.sha256.as_str());
                    let outcome = match reused {
                        Some(done) => TableRead::Read(Box::new(done)),
                        None => match checkpoint::write(
                            &reading,
                            table,
                            decided_hints(availability, &table.table_id),
                            expected,
                            &dir,
                        ) {
                            Ok(done) => {
                                let artifact = dat_events::ArtifactRef(format!(
                                    "{}/{}/{folder}",
                                    job.artifact.0,
                                    parse_files::CHECKPOINTS,
                                ));
                                if report.checkpoint(&table.table_id, done.rows, artifact).is_err() {
                                    stopped.store(true, Ordering::SeqCst);
                                }
                                TableRead::Read(Box::new(done))
                            }
                            Err(NotRead::Stopped) => {
                                stopped.store(true, Ordering::SeqCst);
                                break;
                            }
                            Err(NotRead::Failed(failure)) => {
                                tracing::warn!(table = %table.table_id, code = ?failure.code, "{}", failure.message);
                                TableRead::Failed(failure, false)
                            }
                            Err(NotRead::Panicked(failure)) => TableRead::Failed(failure, true),
                            Err(NotRead::Unaccounted(numbers)) => {
                                tracing::error!(table = %table.table_id, "{numbers}");
                                if let Ok(mut all) = unaccounted.lock() {
                                    all.push(numbers);
                                }
                                stopped.store(true, Ordering::SeqCst);
                                break;
                            }
                        },
                    };
                    meter.tables_done.fetch_add(1, Ordering::Relaxed);
                    meter.bytes_done.fetch_add(size_of(table.file.as_str()), Ordering::Relaxed);
                    publish();
                    if let Ok(mut slot) = results[index].lock() {
                        *slot = Some(outcome);
                    }
                });
            }
        });
        let unaccounted = unaccounted.into_inner().unwrap_or_default();
        if !unaccounted.is_empty() {
            return Err(StageError::Inconsistent(unaccounted.join("; ")));
        }
        if should_stop() {
            return Ok(JobEnd::Cancelled);
        }
        let read_secs = started.elapsed().as_secs_f64();

        let mut outcomes = outcome::Outcomes::default();
        let mut parsed = Vec::new();
        for (index, (table, slot)) in selected.tables.iter().zip(results).enumerate() {
            match slot.into_inner().ok().flatten() {
                Some(TableRead::Read(checkpoint)) => parsed.push((
                    index,
                    Parsed {
                        table,
                        dir: checkpoints.join(checkpoint::folder_name(&table.table_id)),
                        checkpoint: *checkpoint,
                    },
                )),
                Some(TableRead::Failed(failure, panicked)) => outcomes.failed(index, table, failure, panicked),
                None => outcomes.failed(index, table, outcome::not_read(table), false),
            }
        }
        let assemble_started = Instant::now();
        meter.assembling.store(true, Ordering::Relaxed);
        let on_rows = |rows| {
            meter.assembled.fetch_add(rows, Ordering::Relaxed);
        };
        let watch = Watch { should_stop: &should_stop, on_rows: &on_rows };
        let date_reasons: BTreeMap<String, String> =
            availability.schema.iter().filter_map(|c| Some((column_key(&c.name), c.dates.clone()?))).collect();
        let dataset_path = bundle.join(parse_files::DATASET);
        let hints = |table: &SelectedTable| decided_hints(availability, &table.table_id);
        let reread = Reread { reading: &reading, hints: &hints };
        let write = |all: &[&Parsed<'_>]| {
            meter.assembled.store(0, Ordering::Relaxed);
            let united = assemble::unite(all, &date_reasons);
            let lineage = lineage(job, all, &reading.options);
            let written = assemble::write_dataset(all, &united, &dataset_path, &watch, &|_| vec![], &reread, &lineage)?;
            Ok((united, lineage, written))
        };
        let ((united, lineage, written), dropped) =
            assemble::without_unrecallable(&mut parsed, write).map_err(|e| outcome::io_error(&dataset_path, e))?;
        for (index, gone, reason) in dropped {
            let failure = TableFailure {
                code: FailureCode::SourceChanged,
                message: format!("{}: {reason}", gone.table.file),
                details: [("file".to_owned(), json!(gone.table.file.as_str()))].into_iter().collect(),
            };
            outcomes.failed(index, gone.table, failure, false);
        }
        let (order, parsed): (Vec<usize>, Vec<Parsed<'_>>) = parsed.into_iter().unzip();
        let all: Vec<&Parsed<'_>> = parsed.iter().collect();
        let Some((written, losses)) = written else { return Ok(JobEnd::Cancelled) };
        let rows = written.rows;
        let rejects_path = bundle.join(parse_files::REJECTS);
        let rejects =
            outcome::write_rejects(&parsed, &rejects_path).map_err(|e| outcome::io_error(&rejects_path, e))?;
        let profile_files = match job.ctx.profile {
            Some(profile) => {
                let context: Option<ContextArtifact> = job.ctx.upstream(Stage::Context).ok();
                match outputs::write(profile, &parsed, context.as_ref(), &bundle, &watch, (&lineage, &reread))? {
                    Some(files) => files,
                    None => return Ok(JobEnd::Cancelled),
                }
            }
            None => BTreeMap::new(),
        };
        for ((index, p), losses) in order.iter().zip(&parsed).zip(&losses) {
            let title = availability
                .tables
                .iter()
                .find(|t| t.table_id == p.table.table_id)
                .and_then(|t| t.sniff.as_ref())
                .map_or(&[][..], |s| s.title.as_slice());
            outcomes.parsed(*index, p, outcome::report_entry(p, &united.widenings, losses, title));
        }
        let summary = outcome::Summary {
            job,
            selection,
            tables: selected.tables.len(),
            parsed: &all,
            united: &united,
            profile_files,
            rows,
            dataset_sha256: written.sha256,
            rejects,
            chunk_rows,
            timings: [
                ("tables", read_secs),
                ("assemble", assemble_started.elapsed().as_secs_f64()),
                ("total", started.elapsed().as_secs_f64()),
            ],
        };
        outcomes.write(&bundle, &summary)?;
        let read_bytes: u64 = parsed.iter().map(|p| size_of(p.table.file.as_str())).sum();
        job.metrics.rows_parsed.inc_by(rows);
        job.metrics.bytes_parsed.inc_by(read_bytes);
        job.metrics.rejects.inc_by(rejects);
        // Done: every row read is written (failed tables' rows included), 100%.
        meter.assembled.store(meter.rows.load(Ordering::Relaxed), Ordering::Relaxed);
        publish();
        Ok(JobEnd::Completed)
    }
}

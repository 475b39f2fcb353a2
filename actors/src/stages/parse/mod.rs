//! Parse: every selected table into one Parquet dataset, in the background. Each table is read
//! (in parallel, one worker per core) into its own checkpoint, recorded by a `Checkpointed`
//! event; then the dataset is assembled from the checkpoints and the bundle of SPEC §7 written
//! next to the stage's `artifact.json`. A table that cannot be read is `failed` in the report;
//! the others go on. A re-lock with the same inputs reuses the checkpoints already recorded.

mod assemble;
mod checkpoint;
pub(crate) mod chunk;
mod read;
mod read_json;
mod text_chunk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dat_contracts::artifacts::{SelectionArtifact, TableSelectionArtifact};
use dat_contracts::bundle::{parse_files, ParseManifest, PrepReport, PrepTable, SourceTable};
use dat_contracts::{LockRequest, Stage};
use serde_json::{json, Map, Value};

use self::assemble::Parsed;
use self::read::ReadError;
use crate::adapters::AdapterRegistry;
use crate::progress::Progress;
use crate::stages::{BackgroundWork, Job, JobEnd, Reporter, StageContext, StageError, StageExecutor};

/// The parse executor.
pub struct ParseDataset {
    pub adapters: AdapterRegistry,
    /// Tables read at once (one per core).
    pub workers: usize,
}

impl StageExecutor for ParseDataset {
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

fn files() -> Value {
    json!({
        "dataset": parse_files::DATASET,
        "manifest": parse_files::MANIFEST,
        "prep_report": parse_files::PREP_REPORT,
        "transform_plan": parse_files::TRANSFORM_PLAN,
        "rejects": parse_files::REJECTS,
    })
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), StageError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StageError::Invalid(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| io_error(path, e))
}

fn io_error(path: &std::path::Path, e: impl std::fmt::Display) -> StageError {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    StageError::Invalid(format!("cannot write {name}: {e}"))
}

/// Counters shared by the workers, for progress.
struct Tally {
    tables_done: AtomicU64,
    rows: AtomicU64,
    bytes_done: AtomicU64,
}

impl BackgroundWork for ParseDataset {
    fn run(&self, job: &Job<'_>, report: &dyn Reporter) -> Result<JobEnd, StageError> {
        let started = Instant::now();
        let selected: TableSelectionArtifact = job.ctx.upstream(Stage::TableSelection)?;
        let selection: SelectionArtifact = job.ctx.upstream(Stage::Selection)?;
        let chunk_rows = job.inputs.get("chunk_rows").and_then(Value::as_u64).unwrap_or(50_000) as usize;
        let bundle = job.ctx.artifacts.dir(job.artifact);
        let checkpoints = bundle.join(parse_files::CHECKPOINTS);
        let size_of = |file: &str| selection.files.iter().find(|f| f.path.as_str() == file).map_or(0, |f| f.size);
        let total_bytes: u64 = selected.tables.iter().map(|t| size_of(t.file.as_str())).sum::<u64>().max(1);
        let tally = Tally { tables_done: AtomicU64::new(0), rows: AtomicU64::new(0), bytes_done: AtomicU64::new(0) };
        let publish = || {
            let bytes = tally.bytes_done.load(Ordering::Relaxed);
            report.progress(Progress {
                run_id: job.ctx.run_id,
                stage: Stage::Parse,
                tables_done: tally.tables_done.load(Ordering::Relaxed),
                tables_total: selected.tables.len() as u64,
                rows: tally.rows.load(Ordering::Relaxed),
                bytes,
                percent: (bytes as f64 * 100.0 / total_bytes as f64).min(100.0),
            });
        };
        let stopped = AtomicBool::new(false);
        let should_stop = || stopped.load(Ordering::SeqCst) || report.should_stop();

        // Read every table into its checkpoint, in parallel; results in table order.
        let results: Vec<Mutex<Option<Result<checkpoint::TableCheckpoint, String>>>> =
            selected.tables.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let on_chunk = |rows| {
            tally.rows.fetch_add(rows, Ordering::Relaxed);
            publish();
        };
        let reading = checkpoint::Reading {
            adapters: &self.adapters,
            workspace: job.ctx.workspace,
            chunk_rows,
            on_chunk: &on_chunk,
            should_stop: &should_stop,
        };
        std::thread::scope(|scope| {
            for _ in 0..self.workers.max(1) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(table) = selected.tables.get(index) else { break };
                    if should_stop() {
                        break;
                    }
                    let dir = checkpoints.join(checkpoint::folder_name(&table.table_id));
                    let reused = job.checkpoint(&table.table_id).and_then(|_| checkpoint::load(&dir));
                    let outcome = match reused {
                        Some(done) => Ok(done),
                        None => match checkpoint::write(&reading, table, &dir) {
                            Ok(done) => {
                                let artifact = dat_events::ArtifactRef(format!(
                                    "{}/{}/{}",
                                    job.artifact.0,
                                    parse_files::CHECKPOINTS,
                                    checkpoint::folder_name(&table.table_id)
                                ));
                                if report.checkpoint(&table.table_id, done.rows, artifact).is_err() {
                                    stopped.store(true, Ordering::SeqCst);
                                }
                                Ok(done)
                            }
                            Err(ReadError::Stopped) => {
                                stopped.store(true, Ordering::SeqCst);
                                break;
                            }
                            Err(ReadError::Failed(reason)) => Err(reason),
                        },
                    };
                    tally.tables_done.fetch_add(1, Ordering::Relaxed);
                    tally.bytes_done.fetch_add(size_of(table.file.as_str()), Ordering::Relaxed);
                    publish();
                    if let Ok(mut slot) = results[index].lock() {
                        *slot = Some(outcome);
                    }
                });
            }
        });
        if should_stop() {
            return Ok(JobEnd::Cancelled);
        }
        let read_secs = started.elapsed().as_secs_f64();

        let mut parsed = Vec::new();
        let mut failed: BTreeMap<usize, PrepTable> = BTreeMap::new();
        for (index, (table, slot)) in selected.tables.iter().zip(results).enumerate() {
            let outcome = slot.into_inner().ok().flatten();
            match outcome {
                Some(Ok(checkpoint)) => parsed.push((
                    index,
                    Parsed { table, dir: checkpoints.join(checkpoint::folder_name(&table.table_id)), checkpoint },
                )),
                Some(Err(reason)) => {
                    failed.insert(index, assemble::failed_entry(&table.table_id, reason));
                }
                None => {
                    failed.insert(index, assemble::failed_entry(&table.table_id, "not read".into()));
                }
            }
        }
        let order: Vec<usize> = parsed.iter().map(|(i, _)| *i).collect();
        let parsed: Vec<Parsed<'_>> = parsed.into_iter().map(|(_, p)| p).collect();

        let assemble_started = Instant::now();
        let (columns, widenings) = assemble::unite(&parsed);
        let rows = assemble::write_dataset(&parsed, &columns, &bundle.join(parse_files::DATASET), &should_stop)
            .map_err(|e| io_error(&bundle.join(parse_files::DATASET), e))?;
        let Some(rows) = rows else { return Ok(JobEnd::Cancelled) };
        let rejects = assemble::write_rejects(&parsed, &bundle.join(parse_files::REJECTS))
            .map_err(|e| io_error(&bundle.join(parse_files::REJECTS), e))?;

        let mut report_tables: BTreeMap<usize, PrepTable> = failed;
        for (index, p) in order.iter().zip(&parsed) {
            report_tables.insert(*index, assemble::report_entry(p, &widenings));
        }
        write_json(
            &bundle.join(parse_files::PREP_REPORT),
            &PrepReport { tables: report_tables.into_values().collect() },
        )?;

        let dataset_columns = assemble::dataset_columns(&columns, &parsed);
        let plan = json!({ "steps": [
            { "step": "read_tables", "tables": selected.tables.len(), "parsed": parsed.len(), "chunk_rows": chunk_rows,
              "streamed_above_bytes": checkpoint::STREAM_ABOVE_BYTES },
            { "step": "infer_types", "rules": "int -> float -> string; date -> datetime -> string; nulls: empty, null tokens" },
            { "step": "reject_unparseable_rows", "rejects": rejects, "file": parse_files::REJECTS },
            { "step": "union_by_name", "columns": columns.iter().map(|(n, _)| n).collect::<Vec<_>>() },
            { "step": "widen_types", "widenings": widenings },
            { "step": "add_source_columns", "columns": assemble::SOURCE_COLUMNS },
            { "step": "write", "file": parse_files::DATASET, "rows": rows },
        ]});
        write_json(&bundle.join(parse_files::TRANSFORM_PLAN), &plan)?;

        let stage_ids = job
            .ctx
            .run
            .stages
            .values()
            .filter_map(|s| s.stage_id.as_ref().map(|id| (s.stage, id.to_string())))
            .filter(|(stage, _)| *stage <= Stage::Parse)
            .collect();
        let sources = parsed
            .iter()
            .map(|p| {
                let file = selection.files.iter().find(|f| f.path == p.table.file);
                SourceTable {
                    table_id: p.table.table_id.clone(),
                    file: p.table.file.to_string(),
                    sha256: file.map(|f| f.sha256.clone()).unwrap_or_default(),
                    size: file.map_or(0, |f| f.size),
                    rows: p.checkpoint.rows,
                }
            })
            .collect();
        let timings = BTreeMap::from([
            ("tables".to_owned(), read_secs),
            ("assemble".to_owned(), assemble_started.elapsed().as_secs_f64()),
            ("total".to_owned(), started.elapsed().as_secs_f64()),
        ]);
        let manifest = ParseManifest {
            run_id: job.ctx.run_id.to_string(),
            stage_ids,
            sources,
            columns: dataset_columns,
            rows,
            rejects,
            timings,
        };
        write_json(&bundle.join(parse_files::MANIFEST), &manifest)?;
        Ok(JobEnd::Completed)
    }
}

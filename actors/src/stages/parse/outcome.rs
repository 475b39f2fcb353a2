//! How a parse ended, written down: `prep_report.json` (every table), `result.json` (counts and
//! every table that failed or is partial, what a user checks first), `transform_plan.json`,
//! `manifest.json`, and `rejects.parquet` gathered from the tables' reject parts.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use dat_contracts::artifacts::{SelectedTable, SelectionArtifact};
use dat_contracts::bundle::{
    parse_files, DatasetColumn, FailureCode, ParseManifest, ParseResult, PrepReport, PrepTable, ProfileFile,
    SourceTable, TableFailure, TableOutcome, Widening,
};
use dat_contracts::{ColumnType, Stage};
use polars::prelude::{
    Column, DataFrame, Field as PolarsField, ParquetReader, ParquetWriter, PlSmallStr, PolarsResult, Scalar,
    Schema as PolarsSchema, SerReader,
};
use serde_json::json;

use super::assemble::{Parsed, United, SOURCE_COLUMNS};
use super::checkpoint::reject_file;
use super::conform::Losses;
use crate::stages::{write_synced, Job, StageError};

/// The tables' outcomes, by their index in the selection.
#[derive(Default)]
pub(super) struct Outcomes {
    report: BTreeMap<usize, PrepTable>,
    problems: BTreeMap<usize, TableOutcome>,
    panics_caught: u64,
}

/// What the bundle's files say besides the tables' outcomes.
pub(super) struct Summary<'a, 'j> {
    pub(super) job: &'a Job<'j>,
    pub(super) selection: &'a SelectionArtifact,
    pub(super) tables: usize,
    pub(super) parsed: &'a [&'a Parsed<'a>],
    pub(super) united: &'a United,
    /// With a profile: its tables' and outputs' files.
    pub(super) profile_files: BTreeMap<String, ProfileFile>,
    pub(super) rows: u64,
    /// sha256 of `dataset.parquet`, taken as it was written.
    pub(super) dataset_sha256: String,
    pub(super) rejects: u64,
    pub(super) chunk_rows: u64,
    pub(super) timings: [(&'static str, f64); 3],
}

/// The failure of a table no worker got to.
pub(super) fn not_read(table: &SelectedTable) -> TableFailure {
    TableFailure {
        code: FailureCode::Io,
        message: format!("{}: not read (its worker stopped)", table.table_id),
        details: Default::default(),
    }
}

/// A bundle file that cannot be written: the disk's problem, HTTP 500.
pub(super) fn io_error(path: &Path, e: impl std::fmt::Display) -> StageError {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    StageError::Io(format!("cannot write {name}: {e}"))
}

impl Outcomes {
    pub(super) fn failed(&mut self, index: usize, table: &SelectedTable, failure: TableFailure, panicked: bool) {
        self.panics_caught += u64::from(panicked);
        let entry = failed_entry(&table.table_id, failure.clone());
        self.problems.insert(
            index,
            TableOutcome {
                table_id: table.table_id.clone(),
                file: table.file.to_string(),
                status: entry.status.clone(),
                rows: 0,
                rejects: 0,
                error: Some(failure),
                warnings: vec![],
            },
        );
        self.report.insert(index, entry);
    }

    pub(super) fn parsed(&mut self, index: usize, parsed: &Parsed<'_>, entry: PrepTable) {
        if entry.status != "parsed" {
            self.problems.insert(
                index,
                TableOutcome {
                    table_id: entry.table_id.clone(),
                    file: parsed.table.file.to_string(),
                    status: entry.status.clone(),
                    rows: entry.rows,
                    rejects: entry.rejects,
                    error: None,
                    warnings: entry.warnings.clone(),
                },
            );
        }
        self.report.insert(index, entry);
    }

    /// Writes the report, the plan, the manifest and the result.
    ///
    /// # Errors
    /// [`StageError::Io`] when a file cannot be written.
    pub(super) fn write(self, bundle: &Path, s: &Summary<'_, '_>) -> Result<(), StageError> {
        let mut counts: BTreeMap<String, u64> =
            ["parsed", "partial", "failed"].into_iter().map(|k| (k.to_owned(), 0)).collect();
        for entry in self.report.values() {
            *counts.entry(entry.status.clone()).or_default() += 1;
        }
        write_json(
            &bundle.join(parse_files::PREP_REPORT),
            &PrepReport {
                tables: self.report.into_values().collect(),
                columns: s.united.decisions.clone(),
                header_mappings: s.united.mappings.clone(),
            },
        )?;

        let plan = json!({ "steps": [
            { "step": "read_tables", "tables": s.tables, "parsed": s.parsed.len(), "chunk_rows": s.chunk_rows,
              "verify": "each file's sha256, taken while it is read, must equal discovery's; a file whose size and change time are still those discovery hashed it under (at least 2 s after its last write) is not hashed twice" },
            { "step": "infer_types", "rules": "int -> float -> string; int -> decimal; date -> datetime -> string; nulls: empty, null tokens; text kept as read until the type is final" },
            { "step": "reject_unparseable_rows", "rejects": s.rejects, "file": parse_files::REJECTS },
            { "step": "union_by_name", "columns": s.united.columns.iter().map(|(n, _)| n).collect::<Vec<_>>(),
              "matching": "case, surrounding spaces and a BOM ignored; runs of spaces, _ and - the same",
              "mappings": s.united.mappings.len() },
            { "step": "widen_types", "widenings": s.united.widenings },
            { "step": "add_source_columns", "columns": SOURCE_COLUMNS },
            { "step": "write", "file": parse_files::DATASET, "rows": s.rows },
        ]});
        write_json(&bundle.join(parse_files::TRANSFORM_PLAN), &plan)?;

        let stage_ids = s
            .job
            .ctx
            .run
            .stages
            .values()
            .filter_map(|st| st.stage_id.as_ref().map(|id| (st.stage, id.to_string())))
            .filter(|(stage, _)| *stage <= Stage::Parse)
            .collect();
        let sources = s
            .parsed
            .iter()
            .map(|p| {
                let file = s.selection.files.iter().find(|f| f.path == p.table.file);
                SourceTable {
                    table_id: p.table.table_id.clone(),
                    file: p.table.file.to_string(),
                    sha256: p.checkpoint.sha256.clone(),
                    size: file.map_or(0, |f| f.size),
                    rows: p.checkpoint.rows,
                }
            })
            .collect();
        let manifest = ParseManifest {
            run_id: s.job.ctx.run_id.to_string(),
            stage_ids,
            sources,
            columns: dataset_columns(s.united, s.parsed),
            rows: s.rows,
            dataset_sha256: Some(s.dataset_sha256.clone()),
            rejects: s.rejects,
            timings: s.timings.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            profile_files: s.profile_files.clone(),
        };
        write_json(&bundle.join(parse_files::MANIFEST), &manifest)?;

        if self.panics_caught > 0 {
            tracing::error!(
                panics_caught = self.panics_caught,
                "readers panicked during this parse; their tables failed"
            );
        }
        let files = [
            ("dataset", parse_files::DATASET),
            ("rejects", parse_files::REJECTS),
            ("manifest", parse_files::MANIFEST),
            ("prep_report", parse_files::PREP_REPORT),
            ("transform_plan", parse_files::TRANSFORM_PLAN),
        ]
        .into_iter()
        .map(|(k, f)| (k.to_owned(), format!("{}/{f}", s.job.artifact.0)))
        .collect();
        let result = ParseResult {
            rows: s.rows,
            rejects: s.rejects,
            tables: counts,
            problems: self.problems.into_values().collect(),
            panics_caught: self.panics_caught,
            files,
        };
        write_json(&bundle.join(parse_files::RESULT), &result)?;
        // The names the files were renamed to are durable too before the stage is locked (a
        // profile's outputs are in a folder of their own).
        let outputs = bundle.join(parse_files::OUTPUTS);
        for dir in [outputs.as_path(), bundle].into_iter().filter(|d| d.is_dir()) {
            fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))?;
        }
        Ok(())
    }
}

/// Writes `value` to `path` whole: synced under a temporary name, then renamed (the stage's
/// lock is durable, so what it names must be too, or export would find a file cut short by a
/// crash).
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), StageError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| io_error(path, e))?;
    let tmp = path.with_extension("json.tmp");
    write_synced(&tmp, &bytes).and_then(|_| fs::rename(&tmp, path)).map_err(|e| io_error(path, e))
}

/// Writes `rejects.parquet` (file, line, reason, snippet) from every table's reject parts, in
/// table order, one part at a time; returns how many.
///
/// # Errors
/// A polars or I/O error.
pub(crate) fn write_rejects(tables: &[Parsed<'_>], path: &Path) -> PolarsResult<u64> {
    let tmp = path.with_extension("parquet.tmp");
    use polars::prelude::DataType as PolarsType;
    let schema: PolarsSchema = [
        PolarsField::new("file".into(), PolarsType::String),
        PolarsField::new("line".into(), PolarsType::Int64),
        PolarsField::new("reason".into(), PolarsType::String),
        PolarsField::new("snippet".into(), PolarsType::String),
    ]
    .into_iter()
    .collect();
    let mut writer = ParquetWriter::new(fs::File::create(&tmp)?).batched(&schema)?;
    let mut rows = 0u64;
    for parsed in tables {
        for index in 0..parsed.checkpoint.reject_parts {
            let part = ParquetReader::new(fs::File::open(reject_file(&parsed.dir, index))?).finish()?;
            let height = part.height();
            let file = Column::new_scalar(
                "file".into(),
                Scalar::from(PlSmallStr::from(parsed.table.table_id.as_str())),
                height,
            );
            let mut columns = vec![file];
            columns.extend(part.columns().iter().cloned());
            writer.write_batch(&DataFrame::new(height, columns)?)?;
            rows += height as u64;
        }
    }
    writer.finish()?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(rows)
}

/// The dataset's columns as the manifest lists them.
pub(crate) fn dataset_columns(united: &United, tables: &[&Parsed<'_>]) -> Vec<DatasetColumn> {
    let total: u64 = tables.iter().map(|t| t.checkpoint.rows).sum();
    let mut out: Vec<DatasetColumn> = united
        .columns
        .iter()
        .map(|(name, dtype)| {
            let present: u64 = tables
                .iter()
                .zip(&united.sources)
                .filter_map(|(t, sources)| Some((t, sources.get(name)?)))
                .map(|(t, own)| t.checkpoint.rows - t.checkpoint.nulls.get(own).copied().unwrap_or(0))
                .sum();
            DatasetColumn { name: name.clone(), dtype: *dtype, nullable: present < total }
        })
        .collect();
    out.push(DatasetColumn { name: SOURCE_COLUMNS[0].into(), dtype: ColumnType::String, nullable: false });
    out.push(DatasetColumn { name: SOURCE_COLUMNS[1].into(), dtype: ColumnType::String, nullable: false });
    out.push(DatasetColumn { name: SOURCE_COLUMNS[2].into(), dtype: ColumnType::Int, nullable: false });
    out
}

/// The report entry of a parsed table: `partial` when it had rejects.
pub(crate) fn report_entry(
    parsed: &Parsed<'_>,
    widenings: &[Widening],
    losses: &Losses,
    title: &[String],
) -> PrepTable {
    let c = &parsed.checkpoint;
    let mut warnings: Vec<String> =
        c.reject_samples.iter().map(|r| format!("line {}: rejected: {}", r.line, r.reason)).collect();
    if c.rejects > c.reject_samples.len() as u64 {
        warnings.push(format!("… {} rejects in all (rejects.parquet has every one)", c.rejects));
    }
    warnings.extend(c.warnings.iter().cloned());
    warnings.extend(losses.iter().map(|((column, reason), n)| format!("column `{column}`: {n} value(s) {reason}")));
    PrepTable {
        table_id: c.table_id.clone(),
        status: if c.rejects > 0 { "partial" } else { "parsed" }.into(),
        rows: c.rows,
        columns: c.columns.iter().map(|(n, _)| n.clone()).collect(),
        nulls: c.nulls.clone(),
        rejects: c.rejects,
        widenings: widenings.iter().filter(|w| w.file == c.table_id).cloned().collect(),
        warnings,
        error: None,
        accounting: c.accounting.clone(),
        title: title.to_vec(),
        footer: c.footer.clone(),
    }
}

/// The report entry of a table that could not be read.
pub(crate) fn failed_entry(table_id: &str, failure: TableFailure) -> PrepTable {
    PrepTable {
        table_id: table_id.to_owned(),
        status: "failed".into(),
        rows: 0,
        columns: vec![],
        nulls: BTreeMap::new(),
        rejects: 0,
        widenings: vec![],
        warnings: vec![failure.message.clone()],
        error: Some(failure),
        accounting: None,
        title: vec![],
        footer: vec![],
    }
}

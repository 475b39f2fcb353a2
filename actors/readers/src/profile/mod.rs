//! Profile-driven reading (SPEC §10): a JSON file's tables are the profile's tables, each id
//! `<file>#<table id>`, extracted by the profile's strategies from the document read whole
//! (within the record cap), then transformed (`column_transforms`), normalised (`nan_values`
//! are null; with `numeric_coercion` a string that is a number is typed like any text cell) and
//! checked against its `stable_columns`. Cells keep their text until the column's type is final,
//! like every other reader.
//!
//! # Layout
//! - `document`: the document and its mirror (text and key order as written).
//! - `budget`: how many cells and bytes a table may hold.
//! - `frame`: a table as extracted.
//! - `extract`: the strategies.
//! - `join`: the `join` strategy, its names and its row bound.
//! - `transform`: column transforms, normalisation, stable columns.
//! - `context`: context values from the content.

mod budget;
mod context;
mod document;
mod extract;
mod frame;
mod join;
mod transform;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use dat_contracts::profile::{ContextValue, Level, Profile, TableSpec};
use dat_contracts::{table_id, TableProbe, TableStatus};

use self::document::Document;
use self::frame::Frame;
use crate::chunk::{Cell, ChunkBuilder};
use crate::sink::{ReadEnd, ReadError, Reject, Sink};
use crate::typing::{number_kind, trim, TypeTally};
use crate::{Adapter, ReadOptions, SourceFile};

/// The adapter id of profile tables (what table availability records).
pub const PROFILE_ADAPTER: &str = "profile";

/// Reads JSON files by a profile: one table per profile table.
#[derive(Debug, Clone)]
pub struct ProfileAdapter {
    profile: Arc<Profile>,
}

/// One profile table out of one document, ready to be handed over.
struct TableOut {
    frame: Frame,
    warnings: Vec<String>,
    rejects: Vec<(u64, String)>,
    /// A stable column is missing (or, without `stable_columns_subset`, a column is extra).
    unstable: bool,
}

impl ProfileAdapter {
    /// The adapter of `profile`.
    pub fn new(profile: Arc<Profile>) -> Self {
        ProfileAdapter { profile }
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The context values `file`'s content holds, and the required ones it lacks.
    ///
    /// # Errors
    /// [`ReadError`] when the file cannot be read as a JSON document.
    pub fn content_context(
        &self,
        file: &SourceFile<'_>,
        options: &ReadOptions,
    ) -> Result<(Vec<ContextValue>, Vec<String>), ReadError> {
        let doc = Document::read(file, options.record_cap)?;
        Ok(context::content_context(&self.profile.spec, &doc))
    }

    fn table(&self, id: &str) -> Option<(&Level, &TableSpec)> {
        self.profile.spec.tables().find(|(_, t)| t.id == id)
    }

    /// Extracts, transforms and checks one table of `doc`.
    fn extract(
        &self,
        doc: &Document,
        level: &Level,
        table: &TableSpec,
        options: &ReadOptions,
    ) -> Result<TableOut, String> {
        let spec = &self.profile.spec;
        let context = |i: usize| context::element_context(spec, level.apply_context.as_deref(), doc, i);
        let extracted = extract::extract(doc, &table.select, &context, options.max_columns)?;
        let mut frame = extracted.frame;
        let mut warnings = extracted.warnings;
        warnings.extend(transform::apply(&mut frame, &table.column_transforms)?);
        if let Some(max) = spec.governance.as_ref().and_then(|g| g.limits.max_columns_per_table) {
            if frame.names.len() as u64 > max {
                return Err(format!(
                    "table `{}` has {} columns, more than governance.limits.max_columns_per_table ({max})",
                    table.id,
                    frame.names.len()
                ));
            }
        }
        let (unstable, remark) = transform::stable_columns(&frame, table)?;
        warnings.extend(remark);
        Ok(TableOut { frame, warnings, rejects: extracted.rejects, unstable })
    }

    /// A cell as handed to the chunk: `nan_values` null; with `numeric_coercion` a string that
    /// reads as a number typed by the typing rules.
    fn cell<'v>(&self, value: &'v frame::Value) -> Cell<'v> {
        let normalization = &self.profile.spec.normalization;
        match value {
            None => Cell::Null,
            Some((_, text)) if normalization.nan_values.iter().any(|n| n == text) => Cell::Null,
            Some((dat_contracts::ColumnType::String, text))
                if normalization.numeric_coercion && number_kind(trim(text)).is_some() =>
            {
                Cell::Infer(text)
            }
            Some((kind, text)) => Cell::Typed(*kind, text),
        }
    }
}

impl Adapter for ProfileAdapter {
    fn id(&self) -> &'static str {
        PROFILE_ADAPTER
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[]
    }
    fn compressible(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "JSON documents read by an extraction profile: one table per profile table"
    }

    fn probe(&self, file: &SourceFile<'_>, options: &ReadOptions) -> Vec<TableProbe> {
        let path = file.path.as_str();
        let doc = Document::read(file, options.record_cap);
        self.profile
            .spec
            .tables()
            .map(|(level, table)| {
                let failed = |reason: String| TableProbe {
                    table_id: table_id(path, Some(&table.id)),
                    sheet: Some(table.id.clone()),
                    ..TableProbe::failed(path, PROFILE_ADAPTER, TableStatus::Error, reason)
                };
                let doc = match &doc {
                    Ok(doc) => doc,
                    Err(e) => return failed(e.to_string()),
                };
                let out = match self.extract(doc, level, table, options) {
                    Ok(out) => out,
                    Err(reason) => return failed(format!("{path}: {reason}")),
                };
                let mut tallies = vec![TypeTally::default(); out.frame.names.len()];
                for row in &out.frame.rows {
                    for (tally, value) in tallies.iter_mut().zip(row) {
                        match self.cell(value) {
                            Cell::Null => tally.mark_null(),
                            Cell::Infer(text) => tally.observe(crate::typing::cell_type(text)),
                            Cell::Typed(kind, _) => tally.observe(kind),
                        }
                    }
                }
                let rows = out.frame.rows.len() as u64;
                let mut warnings = out.warnings;
                warnings.extend(out.rejects.iter().map(|(n, why)| format!("record {n}: {why}")));
                let status = match (rows, out.unstable || !out.rejects.is_empty()) {
                    (0, _) => TableStatus::Empty,
                    (_, true) => TableStatus::Partial,
                    (_, false) => TableStatus::Available,
                };
                TableProbe {
                    table_id: table_id(path, Some(&table.id)),
                    file: path.to_owned(),
                    sheet: Some(table.id.clone()),
                    adapter: PROFILE_ADAPTER.to_owned(),
                    status,
                    columns: out.frame.names.iter().zip(&tallies).map(|(n, t)| t.info(n.as_str())).collect(),
                    row_estimate: Some(rows),
                    row_count_exact: true,
                    sniff: None,
                    warnings,
                    error: None,
                }
            })
            .collect()
    }

    fn read(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        let path = file.path.as_str();
        let wanted = table.unwrap_or_default();
        let (level, spec) = self
            .table(wanted)
            .ok_or_else(|| ReadError::NoSuchTable { path: path.to_owned(), table: wanted.to_owned() })?;
        let doc = Document::read(file, options.record_cap)?;
        let out = self.extract(&doc, level, spec, options).map_err(|e| ReadError::format(path, e))?;
        for (n, why) in &out.rejects {
            sink.reject(Reject::new(*n, why.clone(), b""))?;
        }
        let mut builder = ChunkBuilder::new(out.frame.names.clone());
        // Each row at its position in its list (see `Frame::positions`), the one rejects name;
        // every row is handed over even were a position missing.
        for (i, row) in out.frame.rows.iter().enumerate() {
            let position = out.frame.positions.get(i).copied().unwrap_or(i as u64 + 1);
            builder.push_row(position, row.iter().map(|v| self.cell(v)));
            if builder.is_full(options) {
                sink.chunk(builder.take())?;
            }
        }
        if builder.rows() > 0 {
            sink.chunk(builder.take())?;
        }
        Ok(ReadEnd { warnings: out.warnings, ..ReadEnd::default() })
    }
}

/// A table id and its rows, or why it cannot be extracted.
pub type SampleTable = (String, Result<u64, String>);

/// What extracting every table of one document gives: per table, its rows (or why not).
///
/// # Errors
/// When `text` is not JSON.
pub fn sample_tables(profile: &Profile, text: &[u8]) -> Result<Vec<SampleTable>, String> {
    let doc = Document::parse(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let adapter = ProfileAdapter::new(Arc::new(profile.clone()));
    Ok(profile
        .spec
        .tables()
        .map(|(level, table)| {
            (
                table.id.clone(),
                adapter.extract(&doc, level, table, &ReadOptions::default()).map(|out| out.frame.rows.len() as u64),
            )
        })
        .collect())
}

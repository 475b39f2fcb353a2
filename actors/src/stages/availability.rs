//! Table availability: probe every table of the selected files on the probe pool, each read as
//! the user's `read_options` say where they say anything. A file that is gone is a `missing`
//! table; one the adapter cannot read is an `error` table; the stage itself only fails when its
//! inputs are unusable. Then the folder's schema is decided once from every table's sample:
//! columns matched across files by their normalised name, each with the type every sample fits
//! and, for `d/m/yyyy` dates, the day/month order every file is read in. Preview and parse read
//! each table as decided here ([`decided_hints`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dat_contracts::artifacts::{AvailabilityArtifact, FolderColumn, SelectionArtifact};
use dat_contracts::text_layout::{column_key, decide_date_orders, ColumnMatcher, DateOrder, ReadOverride};
use dat_contracts::{ColumnType, LockRequest, Stage, TableProbe, TableStatus, WorkspacePath};
use dat_readers::profile::ProfileAdapter;
use dat_readers::typing::widen;
use dat_readers::{probe_file, Compression, ReadOptions, SourceFile, TextHints};
use globset::{Glob, GlobMatcher};
use serde_json::{Map, Value};

use crate::stages::{to_content, StageContext, StageError, StageExecutor};
use crate::workers::{ProbeFile, ProbePool};

/// The table availability executor.
pub struct ProbeTables {
    pub pool: ProbePool,
    /// The limits the pool probes within.
    pub options: ReadOptions,
}

impl StageExecutor for ProbeTables {
    /// The read limits enter the stage ID (a file past a limit probes as `error`), and so does
    /// the run's profile version.
    fn content_inputs(&self, ctx: &StageContext<'_>, _: &LockRequest) -> Result<Map<String, Value>, StageError> {
        let mut inputs = crate::stages::parse::limits(&self.options);
        inputs.extend(ctx.profile_inputs());
        Ok(inputs)
    }

    fn produce(
        &self,
        ctx: &StageContext<'_>,
        request: &LockRequest,
        _: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        let selection: SelectionArtifact = ctx.upstream(Stage::Selection)?;
        let overrides = match request {
            LockRequest::TableAvailability { read_options } => Overrides::new(read_options, &selection)?,
            _ => Overrides::default(),
        };
        let mut tables: Vec<TableProbe> = Vec::new();
        let mut jobs = Vec::new();
        // With a profile, the files of its format are its tables (`<file>#<table id>`).
        let by_profile = ctx.profile.map(|p| {
            let format = p.spec.datasource.format.clone().unwrap_or_else(|| "json".to_owned());
            (ProfileAdapter::new(Arc::new(p.clone())), format)
        });
        let mut profiled = Vec::new();
        for file in &selection.files {
            let adapter = file.adapter.as_deref().unwrap_or("none");
            match ctx.workspace.resolve(&file.path) {
                Ok(disk)
                    if by_profile
                        .as_ref()
                        .is_some_and(|(_, format)| Some(format.as_str()) == file.adapter.as_deref()) =>
                {
                    profiled.push((file.path.clone(), disk));
                }
                Ok(disk) => {
                    let changed = std::fs::metadata(&disk).map(|m| m.len() != file.size).unwrap_or(false);
                    let text = overrides.hints_for(&file.path);
                    jobs.push((changed, ProbeFile { path: file.path.clone(), disk, text }));
                }
                Err(e) => {
                    tables.push(TableProbe::failed(file.path.as_str(), adapter, TableStatus::Missing, e.to_string()))
                }
            }
        }
        let (changed, jobs): (Vec<bool>, Vec<ProbeFile>) = jobs.into_iter().unzip();
        for (probes, changed) in self.pool.probe_all(jobs).into_iter().zip(changed) {
            for mut probe in probes {
                if changed {
                    probe
                        .warnings
                        .push("the file changed since discovery: re-lock discovery to pick up the change".into());
                }
                tables.push(probe);
            }
        }
        if let Some((adapter, _)) = &by_profile {
            tables.extend(probe_by_profile(adapter, &profiled, &self.options));
        }
        tables.sort_by(|a, b| a.table_id.cmp(&b.table_id));
        let mut counts = BTreeMap::new();
        for t in &tables {
            *counts.entry(t.status).or_insert(0) += 1;
        }
        let schema = folder_schema(&tables);
        Ok(to_content(&AvailabilityArtifact { tables, counts, schema }))
    }
}

/// The user's `read_options`, by path or glob.
#[derive(Default)]
struct Overrides {
    entries: Vec<(String, GlobMatcher, ReadOverride)>,
}

impl Overrides {
    /// Compiles the patterns; each must match some selected file (a pattern that matches none
    /// is a typo the user wants to hear about).
    fn new(read_options: &BTreeMap<String, ReadOverride>, selection: &SelectionArtifact) -> Result<Self, StageError> {
        let mut entries = Vec::new();
        for (pattern, read) in read_options {
            let glob = Glob::new(pattern)
                .map_err(|e| StageError::Invalid(format!("read_options `{pattern}` is not a path or glob: {e}")))?
                .compile_matcher();
            if !selection.files.iter().any(|f| glob.is_match(f.path.as_str())) {
                return Err(StageError::Invalid(format!(
                    "read_options `{pattern}` matches none of the selected files; give a workspace path such as `{}`",
                    selection.files.first().map_or("data/file.csv", |f| f.path.as_str())
                )));
            }
            entries.push((pattern.clone(), glob, read.clone()));
        }
        // A pattern naming the file exactly is applied last, so it wins over globs.
        entries.sort_by_key(|(pattern, _, _)| !pattern.contains(['*', '?', '[', '{']));
        Ok(Overrides { entries })
    }

    /// What the user set for `path` (patterns in order, a later one winning field by field).
    fn hints_for(&self, path: &WorkspacePath) -> TextHints {
        let mut hints = TextHints::default();
        for (_, _, read) in self.entries.iter().filter(|(_, glob, _)| glob.is_match(path.as_str())) {
            let mut set = |field: &str| {
                if !hints.overridden.iter().any(|f| f == field) {
                    hints.overridden.push(field.to_owned());
                }
            };
            if let Some(decimal) = read.decimal {
                hints.decimal = Some(decimal);
                set("decimal");
            }
            if let Ok(Some(thousands)) = read.thousands_sep() {
                hints.thousands = Some(thousands);
                set("thousands");
            }
            if let Some(lines) = read.lines_before() {
                hints.lines_before = Some(lines);
                set(if read.header_row.is_some() { "header_row" } else { "skip_rows" });
            }
            if read.header_row.is_some() {
                hints.header = Some(true);
            }
        }
        hints
    }
}

/// The folder's columns from every table's probe (tables in path order): matched by their
/// normalised name, types widened by the shared rules, `d/m/yyyy` dates decided once.
fn folder_schema(tables: &[TableProbe]) -> Vec<FolderColumn> {
    let usable: Vec<&TableProbe> = tables
        .iter()
        .filter(|t| matches!(t.status, TableStatus::Available | TableStatus::Partial | TableStatus::Empty))
        .filter(|t| !t.columns.is_empty())
        .collect();
    let evidence = usable.iter().flat_map(|t| {
        t.columns.iter().filter_map(|c| c.dates.as_ref().map(|d| (t.table_id.as_str(), c.name.as_str(), d)))
    });
    let decisions = decide_date_orders(evidence);
    let mut matcher = ColumnMatcher::for_dataset();
    let mut schema: Vec<FolderColumn> = Vec::new();
    for table in &usable {
        let outputs = matcher.match_table(&table.table_id, table.columns.iter().map(|c| c.name.as_str()));
        for (column, name) in table.columns.iter().zip(outputs) {
            let decision = column.dates.as_ref().and_then(|_| decisions.get(&column_key(&column.name)));
            let (dtype, date_order, dates) = match decision {
                Some(Ok((order, why))) => (column.dtype, Some(*order), Some(why.clone())),
                Some(Err(why)) => (ColumnType::String, None, Some(why.clone())),
                None => (column.dtype, None, None),
            };
            match schema.iter_mut().find(|c| c.name == name) {
                None => schema.push(FolderColumn {
                    name,
                    dtype,
                    nullable: column.nullable,
                    tables: vec![table.table_id.clone()],
                    date_order,
                    dates,
                    reason: None,
                }),
                Some(known) => {
                    let wider = widen(known.dtype, dtype);
                    if wider != known.dtype && known.dtype != ColumnType::Null && known.reason.is_none() {
                        known.reason = Some(format!(
                            "{wider} because `{}` has {dtype} values where earlier files have {}",
                            table.table_id, known.dtype
                        ));
                    }
                    known.dtype = wider;
                    known.nullable |= column.nullable;
                    known.tables.push(table.table_id.clone());
                    known.date_order = known.date_order.or(date_order);
                    known.dates = known.dates.take().or(dates);
                }
            }
        }
    }
    for column in &mut schema {
        column.nullable |= column.tables.len() < usable.len();
    }
    schema
}

/// How preview and parse read `table_id`: as table availability decided (the sniffed
/// delimiter and quote, the sniffed or given number format, title lines and header) with the
/// folder's date orders.
pub(crate) fn decided_hints(artifact: &AvailabilityArtifact, table_id: &str) -> TextHints {
    let date_orders: BTreeMap<String, DateOrder> =
        artifact.schema.iter().filter_map(|c| c.date_order.map(|o| (column_key(&c.name), o))).collect();
    let sniff = artifact.tables.iter().find(|t| t.table_id == table_id).and_then(|t| t.sniff.as_ref());
    match sniff {
        Some(s) => TextHints {
            delimiter: single_byte(&s.delimiter),
            quote: match &s.quote {
                None => Some(None),
                Some(quote) => single_byte(quote).map(Some),
            },
            decimal: Some(s.number.decimal),
            thousands: Some(s.number.thousands),
            lines_before: Some(s.title.len() as u64),
            header: Some(s.header),
            date_orders: Some(date_orders),
            overridden: s.overridden.clone(),
        },
        None => TextHints { date_orders: Some(date_orders), ..TextHints::default() },
    }
}

/// The byte of a one-character delimiter or quote as the sniff result writes it; else `None`,
/// and the reader sniffs again.
fn single_byte(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [byte] => Some(*byte),
        _ => None,
    }
}

/// The profile's tables of each file, probed on one thread per core.
fn probe_by_profile(
    adapter: &ProfileAdapter,
    files: &[(WorkspacePath, PathBuf)],
    options: &ReadOptions,
) -> Vec<TableProbe> {
    let per_thread = files.len().div_ceil(crate::stages::cores()).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .flat_map(|(path, disk)| {
                            let lower = path.as_str().to_ascii_lowercase();
                            let (_, compression) = Compression::strip(&lower);
                            probe_file(adapter, &SourceFile::new(path, disk, compression), options)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

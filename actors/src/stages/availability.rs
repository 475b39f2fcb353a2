//! Table availability: probe every table of the selected files on the probe pool. A file that
//! is gone is a `missing` table; one the adapter cannot read is an `error` table; the stage
//! itself only fails when its inputs are unusable.

use std::collections::BTreeMap;

use dat_contracts::artifacts::{AvailabilityArtifact, SelectionArtifact};
use dat_contracts::{LockRequest, Stage, TableProbe, TableStatus};
use serde_json::{Map, Value};

use std::path::PathBuf;
use std::sync::Arc;

use dat_contracts::WorkspacePath;
use dat_readers::profile::ProfileAdapter;
use dat_readers::{probe_file, Compression, ReadOptions, SourceFile};

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

    fn produce(&self, ctx: &StageContext<'_>, _: &LockRequest, _: &Map<String, Value>) -> Result<Value, StageError> {
        let selection: SelectionArtifact = ctx.upstream(Stage::Selection)?;
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
                    jobs.push((changed, ProbeFile { path: file.path.clone(), disk }));
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
        Ok(to_content(&AvailabilityArtifact { tables, counts }))
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

//! Table availability: probe every table of the selected files on the probe pool. A file that
//! is gone is a `missing` table; one the adapter cannot read is an `error` table; the stage
//! itself only fails when its inputs are unusable.

use std::collections::BTreeMap;

use dat_contracts::artifacts::{AvailabilityArtifact, SelectionArtifact};
use dat_contracts::{LockRequest, Stage, TableProbe, TableStatus};
use serde_json::{Map, Value};

use crate::stages::{to_content, StageContext, StageError, StageExecutor};
use crate::workers::{ProbeFile, ProbePool};

/// The table availability executor.
pub struct ProbeTables {
    pub pool: ProbePool,
    /// The limits the pool probes within.
    pub options: dat_readers::ReadOptions,
}

impl StageExecutor for ProbeTables {
    /// The read limits enter the stage ID: a file past a limit probes as `error`.
    fn content_inputs(&self, _: &StageContext<'_>, _: &LockRequest) -> Result<Map<String, Value>, StageError> {
        Ok(crate::stages::parse::limits(&self.options))
    }

    fn produce(&self, ctx: &StageContext<'_>, _: &LockRequest, _: &Map<String, Value>) -> Result<Value, StageError> {
        let selection: SelectionArtifact = ctx.upstream(Stage::Selection)?;
        let mut tables: Vec<TableProbe> = Vec::new();
        let mut jobs = Vec::new();
        for file in &selection.files {
            let adapter = file.adapter.as_deref().unwrap_or("none");
            match ctx.workspace.resolve(&file.path) {
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
        tables.sort_by(|a, b| a.table_id.cmp(&b.table_id));
        let mut counts = BTreeMap::new();
        for t in &tables {
            *counts.entry(t.status).or_insert(0) += 1;
        }
        Ok(to_content(&AvailabilityArtifact { tables, counts }))
    }
}

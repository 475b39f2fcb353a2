//! Preview: up to `rows` (≤ 100) rows of every selected table, read on the probe pool as table
//! availability decided (number format, title, header, date orders), with
//! `_source_file` and `_source_table` appended to each row. A table that cannot be read gets
//! its error in the artifact; the others are still previewed.

use dat_contracts::artifacts::{AvailabilityArtifact, PreviewArtifact, PreviewedTable, TableSelectionArtifact};
use dat_contracts::{LockRequest, Stage};
use serde_json::{Map, Value};

use crate::stages::availability::decided_hints;
use crate::stages::{to_content, StageContext, StageError, StageExecutor};
use crate::workers::{PreviewTable, ProbePool};

/// The preview executor.
pub struct PreviewTables {
    pub pool: ProbePool,
}

impl StageExecutor for PreviewTables {
    fn produce(
        &self,
        ctx: &StageContext<'_>,
        request: &LockRequest,
        _: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        let LockRequest::Preview { rows } = request else {
            return Err(StageError::Invalid("preview needs a preview request".into()));
        };
        let selection: TableSelectionArtifact = ctx.upstream(Stage::TableSelection)?;
        let availability: AvailabilityArtifact = ctx.upstream(Stage::TableAvailability)?;
        let mut results: Vec<PreviewedTable> = Vec::new();
        let mut jobs = Vec::new();
        let mut pending = Vec::new();
        for table in &selection.tables {
            match ctx.workspace.resolve(&table.file) {
                Ok(disk) => {
                    jobs.push(PreviewTable {
                        path: table.file.clone(),
                        disk,
                        sheet: table.sheet.clone(),
                        rows: usize::try_from(*rows).unwrap_or(100),
                        text: decided_hints(&availability, &table.table_id),
                    });
                    pending.push(table);
                }
                Err(e) => results.push(PreviewedTable {
                    table_id: table.table_id.clone(),
                    preview: None,
                    error: Some(e.to_string()),
                }),
            }
        }
        for (table, outcome) in pending.into_iter().zip(self.pool.preview_all(jobs)) {
            let (preview, error) = match outcome {
                Ok(mut preview) => {
                    preview.table_id = table.table_id.clone();
                    preview.columns.extend(["_source_file".to_owned(), "_source_table".to_owned()]);
                    let source_table = table.sheet.clone().unwrap_or_else(|| table.table_id.clone());
                    for row in &mut preview.rows {
                        row.resize(preview.columns.len() - 2, Value::Null);
                        row.push(Value::from(table.file.as_str()));
                        row.push(Value::from(source_table.as_str()));
                    }
                    (Some(preview), None)
                }
                Err(e) => (None, Some(e)),
            };
            results.push(PreviewedTable { table_id: table.table_id.clone(), preview, error });
        }
        results.sort_by(|a, b| a.table_id.cmp(&b.table_id));
        Ok(to_content(&PreviewArtifact { rows: *rows, tables: results }))
    }
}

//! Table selection: choose tables among the probed ones. By default every `available` or
//! `partial` table; an explicit list must name probed tables that are readable (not `error`
//! or `missing`), else 400 naming the others.

use dat_contracts::artifacts::{AvailabilityArtifact, SelectedTable, TableSelectionArtifact};
use dat_contracts::{LockRequest, Stage, TableStatus, WorkspacePath};
use serde_json::{Map, Value};

use crate::stages::{to_content, StageContext, StageError, StageExecutor};

/// The table selection executor.
pub struct SelectTables;

fn chosen(ctx: &StageContext<'_>, request: &LockRequest) -> Result<TableSelectionArtifact, StageError> {
    let LockRequest::TableSelection { tables } = request else {
        return Err(StageError::Invalid("table_selection needs a table_selection request".into()));
    };
    let availability: AvailabilityArtifact = ctx.upstream(Stage::TableAvailability)?;
    let picked: Vec<_> = match tables {
        None => availability.tables.iter().filter(|t| t.status.selectable()).collect(),
        Some(ids) => {
            let unknown: Vec<&str> = ids
                .iter()
                .filter(|id| !availability.tables.iter().any(|t| &t.table_id == *id))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(StageError::Invalid(format!("not found by table_availability: {}", unknown.join(", "))));
            }
            let picked: Vec<_> = availability.tables.iter().filter(|t| ids.contains(&t.table_id)).collect();
            let unreadable: Vec<String> = picked
                .iter()
                .filter(|t| matches!(t.status, TableStatus::Error | TableStatus::Missing))
                .map(|t| format!("{} ({})", t.table_id, t.error.as_deref().unwrap_or("unreadable")))
                .collect();
            if !unreadable.is_empty() {
                return Err(StageError::Invalid(format!("cannot select unreadable tables: {}", unreadable.join("; "))));
            }
            picked
        }
    };
    let tables = picked
        .into_iter()
        .map(|t| {
            let file = WorkspacePath::parse(&t.file).map_err(|e| StageError::Invalid(e.to_string()))?;
            Ok(SelectedTable {
                table_id: t.table_id.clone(),
                file,
                sheet: t.sheet.clone(),
                adapter: t.adapter.clone(),
                status: t.status,
            })
        })
        .collect::<Result<_, StageError>>()?;
    Ok(TableSelectionArtifact { tables })
}

impl StageExecutor for SelectTables {
    fn produce(
        &self,
        ctx: &StageContext<'_>,
        request: &LockRequest,
        _: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        Ok(to_content(&chosen(ctx, request)?))
    }
}

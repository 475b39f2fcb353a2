//! Table selection: choose tables among the probed ones. By default every `available` or
//! `partial` table; an explicit list must name probed tables that are readable (not `error`
//! or `missing`), else 400 naming the others.

use dat_contracts::artifacts::{AvailabilityArtifact, SelectedTable, TableSelectionArtifact};
use std::collections::BTreeSet;

use dat_contracts::profile::Profile;
use dat_contracts::{LockRequest, Stage, TableProbe, TableStatus, WorkspacePath};
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
    if let Some(profile) = ctx.profile {
        governance(profile, &picked)?;
    }
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

/// The profile's `governance.limits` on tables, checked before extraction from what the probe
/// found: tables per level, and the rows each output would get.
fn governance(profile: &Profile, picked: &[&TableProbe]) -> Result<(), StageError> {
    let Some(limits) = profile.spec.governance.as_ref().map(|g| &g.limits) else { return Ok(()) };
    if let Some(max) = limits.max_tables_per_level {
        for level in &profile.spec.levels {
            let tables: BTreeSet<&str> = picked
                .iter()
                .filter_map(|t| t.sheet.as_deref())
                .filter(|id| level.tables.iter().any(|t| t.id == *id))
                .collect();
            if tables.len() as u64 > max {
                return Err(StageError::Invalid(format!(
                    "{} tables of level `{}` selected, more than the profile's governance.limits.max_tables_per_level ({max})",
                    tables.len(),
                    level.name
                )));
            }
        }
    }
    if let Some(max) = limits.max_rows_output {
        for output in profile.spec.outputs() {
            let rows: u64 = picked
                .iter()
                .filter(|t| t.sheet.as_deref().is_some_and(|id| output.from_tables.iter().any(|f| f == id)))
                .filter_map(|t| t.row_estimate)
                .sum();
            if rows > max {
                return Err(StageError::Invalid(format!(
                    "output `{}` would hold about {rows} rows, more than the profile's governance.limits.max_rows_output ({max})",
                    output.id
                )));
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use dat_contracts::TableProbe;
    use serde_json::json;

    use super::*;

    /// A profile with two run-level tables feeding one output, under these limits.
    fn profile(limits: Value) -> Profile {
        let t = |id: &str| json!({"id": id, "select": {"strategy": "flat_object", "path": "$"}});
        Profile::from_value(json!({
            "meta": {"profile_id": "gov"},
            "levels": [{"name": "run", "tables": [t("a"), t("b")]}],
            "outputs": {"defaults": [{"id": "both", "from_level": "run", "from_tables": ["a", "b"]}]},
            "governance": {"limits": limits},
        }))
        .unwrap()
    }

    fn probe(file: &str, table: &str, rows: u64) -> TableProbe {
        let mut p = TableProbe::failed(file, "profile", TableStatus::Available, "");
        p.sheet = Some(table.to_owned());
        p.row_estimate = Some(rows);
        p.error = None;
        p
    }

    #[test]
    fn governance_refuses_a_selection_over_the_profiles_limits_naming_the_limit() {
        let picked = [probe("x.json", "a", 60), probe("y.json", "a", 30), probe("x.json", "b", 20)];
        let picked: Vec<&TableProbe> = picked.iter().collect();

        assert!(governance(&profile(json!({"max_tables_per_level": 2, "max_rows_output": 110})), &picked).is_ok());
        let Err(StageError::Invalid(m)) = governance(&profile(json!({"max_tables_per_level": 1})), &picked) else {
            panic!("two tables of level run against a limit of one")
        };
        assert!(m.contains("max_tables_per_level (1)") && m.contains("`run`"), "{m}");
        let Err(StageError::Invalid(m)) = governance(&profile(json!({"max_rows_output": 100})), &picked) else {
            panic!("110 rows against a limit of 100")
        };
        assert!(m.contains("about 110 rows") && m.contains("`both`"), "{m}");
    }
}

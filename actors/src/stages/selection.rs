//! Selection: choose files among the discovered ones. By default every supported file (with a
//! profile: every one its datasource filters and format accept); an explicit list must name
//! discovered, supported files (else 400 naming the others). A profile's governance limits on
//! files are checked here, before any extraction, with a message naming the limit.

use dat_contracts::artifacts::{DiscoveredFile, DiscoveryArtifact, SelectionArtifact};
use dat_contracts::profile::{matches, FileFacts, Profile};
use dat_contracts::{LockRequest, Stage};
use serde_json::{Map, Value};

use crate::stages::{to_content, StageContext, StageError, StageExecutor};

/// The selection executor.
pub struct Select;

fn chosen(ctx: &StageContext<'_>, request: &LockRequest) -> Result<SelectionArtifact, StageError> {
    let LockRequest::Selection { files } = request else {
        return Err(StageError::Invalid("selection needs a selection request".into()));
    };
    let discovery: DiscoveryArtifact = ctx.upstream(Stage::Discovery)?;
    let Some(wanted) = files else {
        let mut chosen = Vec::new();
        for file in discovery.files.into_iter().filter(|f| f.supported) {
            if ctx.profile.is_none_or(|p| by_profile(ctx, p, &file)) {
                chosen.push(file);
            }
        }
        let chosen = SelectionArtifact { files: chosen };
        governance(ctx, &chosen)?;
        return Ok(chosen);
    };
    let unknown: Vec<&str> =
        wanted.iter().filter(|w| !discovery.files.iter().any(|f| &f.path == *w)).map(|w| w.as_str()).collect();
    if !unknown.is_empty() {
        return Err(StageError::Invalid(format!("not found by discovery: {}", unknown.join(", "))));
    }
    let unsupported: Vec<&str> =
        discovery.files.iter().filter(|f| !f.supported && wanted.contains(&f.path)).map(|f| f.path.as_str()).collect();
    if !unsupported.is_empty() {
        return Err(StageError::Invalid(format!("no adapter reads: {}", unsupported.join(", "))));
    }
    let chosen =
        SelectionArtifact { files: discovery.files.into_iter().filter(|f| wanted.contains(&f.path)).collect() };
    governance(ctx, &chosen)?;
    Ok(chosen)
}

/// Whether the profile takes `file`: its datasource format (by the adapter) and filters.
fn by_profile(ctx: &StageContext<'_>, profile: &Profile, file: &DiscoveredFile) -> bool {
    let datasource = &profile.spec.datasource;
    if let Some(format) = &datasource.format {
        if file.adapter.as_deref() != Some(format.as_str()) {
            return false;
        }
    }
    let modified = ctx
        .workspace
        .resolve(&file.path)
        .ok()
        .and_then(|disk| std::fs::metadata(disk).ok()?.modified().ok())
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    matches(datasource.filters.as_ref(), &FileFacts::new(file.path.as_str(), file.size, modified))
}

/// The profile's `governance.limits` on files: refused with the limit named.
fn governance(ctx: &StageContext<'_>, chosen: &SelectionArtifact) -> Result<(), StageError> {
    let Some(limits) = ctx.profile.and_then(|p| p.spec.governance.as_ref()).map(|g| &g.limits) else {
        return Ok(());
    };
    let count = chosen.files.len() as u64;
    if let Some(max) = limits.max_files_per_run.filter(|&m| count > m) {
        return Err(StageError::Invalid(format!(
            "{count} files selected, more than the profile's governance.limits.max_files_per_run ({max})"
        )));
    }
    if let Some(max) = limits.max_file_size_mb {
        if let Some(big) = chosen.files.iter().find(|f| f.size > max.saturating_mul(1 << 20)) {
            return Err(StageError::Invalid(format!(
                "{} is {} MB, more than the profile's governance.limits.max_file_size_mb ({max})",
                big.path,
                big.size >> 20
            )));
        }
    }
    let total: u64 = chosen.files.iter().map(|f| f.size).sum();
    if let Some(max) = limits.max_total_size_gb.filter(|&m| total > m.saturating_mul(1 << 30)) {
        return Err(StageError::Invalid(format!(
            "the selected files hold {} GB, more than the profile's governance.limits.max_total_size_gb ({max})",
            total >> 30
        )));
    }
    Ok(())
}

impl StageExecutor for Select {
    fn content_inputs(&self, ctx: &StageContext<'_>, _: &LockRequest) -> Result<Map<String, Value>, StageError> {
        Ok(ctx.profile_inputs())
    }

    fn produce(
        &self,
        ctx: &StageContext<'_>,
        request: &LockRequest,
        _: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        Ok(to_content(&chosen(ctx, request)?))
    }
}

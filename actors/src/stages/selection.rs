//! Selection: choose files among the discovered ones. By default every supported file; an
//! explicit list must name discovered, supported files (else 400 naming the others).

use dat_contracts::artifacts::{DiscoveryArtifact, SelectionArtifact};
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
        return Ok(SelectionArtifact { files: discovery.files.into_iter().filter(|f| f.supported).collect() });
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
    Ok(SelectionArtifact { files: discovery.files.into_iter().filter(|f| wanted.contains(&f.path)).collect() })
}

impl StageExecutor for Select {
    fn produce(
        &self,
        ctx: &StageContext<'_>,
        request: &LockRequest,
        _: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        Ok(to_content(&chosen(ctx, request)?))
    }
}

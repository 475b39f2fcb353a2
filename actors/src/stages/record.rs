//! The executor every stage starts with: it checks the request's paths against the workspace
//! and records the inputs as the artifact, so locks, IDs and artifacts work end to end before
//! a stage's real work exists.

use dat_contracts::LockRequest;
use serde_json::{Map, Value};

use crate::stages::{StageContext, StageError, StageExecutor};

/// Records a stage's inputs as its artifact.
pub struct RecordInputs;

impl StageExecutor for RecordInputs {
    fn content_inputs(&self, ctx: &StageContext<'_>, request: &LockRequest) -> Result<Map<String, Value>, StageError> {
        if let LockRequest::Discovery { root, .. } = request {
            let dir = ctx.workspace.resolve(root)?;
            if !dir.is_dir() {
                return Err(StageError::Invalid(format!("discovery root `{root}` is not a folder")));
            }
        }
        Ok(Map::new())
    }

    fn produce(
        &self,
        _ctx: &StageContext<'_>,
        request: &LockRequest,
        inputs: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        Ok(serde_json::json!({ "stage": request.stage(), "inputs": inputs }))
    }
}

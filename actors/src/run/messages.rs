//! The requests a run actor answers, one struct each with its typed reply.

use dat_contracts::{LockRequest, Stage, StageGraphConfig, StageId};
use dat_events::{ArtifactRef, RunView, StageOutcome};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::run::error::RunError;

/// Create the run (first message to a new actor).
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct CreateRun {
    pub name: Option<String>,
    pub profile_id: Option<String>,
    /// The content hash of the profile's version.
    pub profile_hash: Option<String>,
    pub stage_graph: StageGraphConfig,
}

/// The run resource.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct GetRun;

/// Lock a stage with a parsed request.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct LockStage {
    pub request: LockRequest,
}

/// Unlock a stage and its cascade.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct UnlockStage {
    pub stage: Stage,
}

/// Skip an optional stage.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct SkipStage {
    pub stage: Stage,
}

/// Mark a locked stage completed.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct CompleteStage {
    pub stage: Stage,
}

/// Delete the run.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct DeleteRun;

/// The artifact of a locked stage.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<StageArtifact, RunError>")]
pub struct GetArtifact {
    pub stage: Stage,
}

/// A stage's artifact as served by the artifact route.
#[derive(Debug, Clone, Serialize)]
pub struct StageArtifact {
    /// The stage.
    pub stage: Stage,
    /// Its current stage ID.
    pub stage_id: StageId,
    /// The artifact folder, relative to the data dir.
    pub artifact: ArtifactRef,
    /// The inputs the ID was computed from.
    pub inputs: Map<String, Value>,
    /// What the stage produced.
    pub content: Value,
    /// How its background work ended, when it has (parse: `result.json`, the tables that
    /// failed or are partial and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// Stop after the current message (daemon shutdown).
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// A background job finished tables: its reporter queued them in `waiting` and goes on with
/// the next one. The actor records all that wait when it handles this, in one append; a
/// refusal sets `stop`, and the job stops at its next table or chunk.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct RecordCheckpoints {
    pub stage: Stage,
    pub stage_id: StageId,
    pub waiting: std::sync::Arc<std::sync::Mutex<Vec<TableDone>>>,
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A table a background job finished, waiting to be recorded as `Checkpointed`.
#[derive(Debug)]
pub struct TableDone {
    pub table_id: String,
    pub rows: u64,
    pub artifact: ArtifactRef,
}

/// A background job ended.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct FinishJob {
    pub stage: Stage,
    pub stage_id: StageId,
    pub outcome: StageOutcome,
}

/// Record the background work the log says is running as interrupted (the run was just
/// loaded: nothing of this daemon runs it), and resume it unless resuming is off.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct RecoverInterrupted;

/// Plan a cleanup of the run's files, and apply it unless `dry_run`.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<CleanupReport, RunError>")]
pub struct Cleanup {
    /// What may go (the default set when empty).
    pub targets: Vec<crate::cleanup::CleanupTarget>,
    /// Only list what would go.
    pub dry_run: bool,
    /// Only what was last changed longer ago than this (`dat gc --older-than`).
    pub older_than: Option<std::time::Duration>,
}

/// What a cleanup listed, and what it deleted when applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CleanupReport {
    /// Whether it only listed.
    pub dry_run: bool,
    /// What it listed (and, applied, deleted).
    #[serde(flatten)]
    pub plan: crate::cleanup::CleanupPlan,
}

/// Ask running stages to stop.
#[derive(Debug, actix::Message)]
#[rtype(result = "Result<RunView, RunError>")]
pub struct CancelRun {
    pub reason: Option<String>,
    pub by: Option<String>,
}

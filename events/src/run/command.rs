//! What may be asked of a run, and the typed reasons it may refuse.

use dat_contracts::{Stage, StageGraphConfig, StageId};
use serde_json::{Map, Value};

use crate::event::ArtifactRef;

/// A request to change a run. The actor has already done any I/O the command needs (scanned,
/// probed, written the artifact); the command carries the results as data.
#[derive(Debug, Clone, PartialEq)]
pub enum RunCommand {
    /// Create the run with the rules it will follow.
    CreateRun {
        /// Human name.
        name: Option<String>,
        /// Extraction profile.
        profile_id: Option<String>,
        /// The content hash of the profile's version.
        profile_hash: Option<String>,
        /// Gating and cascade rules, recorded in `RunCreated`.
        stage_graph: StageGraphConfig,
    },
    /// Lock a stage whose inputs and artifact are known.
    LockStage {
        /// The stage.
        stage: Stage,
        /// `StageId::compute(stage, &inputs)`.
        stage_id: StageId,
        /// Full inputs.
        inputs: Map<String, Value>,
        /// Where the artifact is.
        artifact: ArtifactRef,
        /// Whether the stage's work is done at lock time.
        completed: bool,
        /// Whether the artifact was reused rather than made.
        reused: bool,
    },
    /// Unlock a stage and its cascade.
    UnlockStage {
        /// The stage.
        stage: Stage,
    },
    /// Skip an optional stage.
    SkipStage {
        /// The stage.
        stage: Stage,
    },
    /// Mark a locked stage's work as finished.
    CompleteStage {
        /// The stage.
        stage: Stage,
        /// Whether dat's own background work for it is in progress (it completes the stage
        /// itself; completing it from outside would declare unfinished work done).
        work_in_progress: bool,
    },
    /// Record a table a background stage finished.
    RecordCheckpoint {
        /// The stage.
        stage: Stage,
        /// The lock the work belongs to.
        stage_id: StageId,
        /// The table.
        table_id: String,
        /// Rows written.
        rows: u64,
        /// The checkpoint file.
        artifact: ArtifactRef,
    },
    /// Record how a background stage's work ended.
    FinishStage {
        /// The stage.
        stage: Stage,
        /// The lock the work belongs to.
        stage_id: StageId,
        /// How it ended.
        outcome: StageOutcome,
    },
    /// Ask every running stage of the run to stop.
    CancelRun {
        /// Why.
        reason: Option<String>,
        /// Who asks.
        by: Option<String>,
    },
    /// Record that the background work of `stage` was running when the daemon stopped.
    RecordInterruption {
        /// The stage found running at start.
        stage: Stage,
    },
    /// Record the files a cleanup deleted (the actor deleted them before deciding).
    RecordCleanup {
        /// What was asked for.
        targets: Vec<String>,
        /// What went, with sizes.
        removed: Vec<crate::event::RemovedPath>,
        /// Locks whose artifact folder went.
        artifacts: Vec<StageId>,
        /// Locks whose checkpoints went.
        checkpoints: Vec<StageId>,
    },
    /// Delete the run (its log and artifacts stay for audit).
    DeleteRun,
}

/// How background work ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    /// All done.
    Completed,
    /// Failed as a whole, with the reason.
    Failed(String),
    /// Stopped at a checkpoint boundary after a cancel.
    Cancelled,
}

/// Why a command was refused. Nothing was appended; each variant's doc says how to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No such run, or it was deleted. HTTP 404.
    #[error("run not found")]
    RunNotFound,
    /// `CreateRun` on a run that already has events. HTTP 409.
    #[error("run already exists")]
    RunAlreadyExists,
    /// The run's stage graph does not contain this stage. HTTP 400.
    #[error("stage `{stage}` is not part of this run's stage graph")]
    StageNotInGraph {
        /// The stage.
        stage: Stage,
    },
    /// A gate of the stage graph is not satisfied: lock `needs` first (or wait for it to
    /// complete when `completed` is true). HTTP 400 `gate_not_met`.
    #[error("cannot lock {stage}: {needs} must be {} first", if *completed { "completed" } else { "locked" })]
    GateNotMet {
        /// The stage asked for.
        stage: Stage,
        /// The stage that must come first.
        needs: Stage,
        /// Whether `needs` must be completed, not only locked.
        completed: bool,
    },
    /// Skipping a required stage. HTTP 400 `stage_not_optional`.
    #[error("stage `{stage}` is required and cannot be skipped")]
    NotOptional {
        /// The stage.
        stage: Stage,
    },
    /// The same stage ID was stored with different inputs; nothing is overwritten. HTTP 409.
    #[error("stage id {stage_id} already exists with different inputs")]
    IdCollision {
        /// The colliding ID.
        stage_id: StageId,
    },
    /// A background job reports for a lock that is no longer current (the stage was unlocked
    /// or re-locked): the job stops. Never reaches HTTP.
    #[error("stage `{stage}` is no longer locked with the work being reported")]
    StaleWork {
        /// The stage.
        stage: Stage,
    },
    /// Cancel with nothing running. HTTP 409 `nothing_running`.
    #[error("nothing is running in this run")]
    NothingRunning,
    /// Completing a stage whose own background work is still running. HTTP 409
    /// `stage_running`: wait for it (it completes by itself) or cancel it.
    #[error("stage `{stage}` is still running; it completes by itself")]
    StageRunning {
        /// The stage.
        stage: Stage,
    },
    /// Completing a stage that is not locked. HTTP 409 `stage_not_locked`: lock it first.
    #[error("stage `{stage}` is not locked")]
    StageNotLocked {
        /// The stage.
        stage: Stage,
    },
}

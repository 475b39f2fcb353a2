//! The vocabulary: what can happen to a run, as past-tense facts. Names and fields are a public
//! contract (NATS subscribers read them): extend, never rename; a changed shape gets a new
//! schema version and an upcast step.

use dat_contracts::{Stage, StageGraphConfig, StageId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where a stage's artifact lives: a `/`-separated folder relative to the data dir, never absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArtifactRef(pub String);

/// A file or folder a cleanup deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedPath {
    /// Relative to the data dir, `/`-separated.
    pub path: String,
    /// Its size (a folder's: every file in it).
    pub bytes: u64,
    /// The target that took it.
    pub target: String,
}

/// One fact about a run. Serialized adjacently tagged: `{"type": "StageLocked", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RunEvent {
    /// The run exists. Its stage graph is recorded so that replay applies the same rules the
    /// live actor did, whatever graph the daemon is started with later.
    RunCreated {
        /// Human name, if given.
        name: Option<String>,
        /// Extraction profile, if given.
        profile_id: Option<String>,
        /// The content hash of the profile's version the run was created with: replaying or
        /// re-running the run uses that version, whatever the profile became since.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile_hash: Option<String>,
        /// The gating and cascade rules this run follows.
        stage_graph: StageGraphConfig,
    },
    /// A stage was locked with these inputs; its artifact is at `artifact`.
    StageLocked {
        /// The stage.
        stage: Stage,
        /// Content address of `inputs`.
        stage_id: StageId,
        /// The full inputs the ID was computed from (user inputs + upstream IDs + content).
        inputs: Map<String, Value>,
        /// The artifact folder.
        artifact: ArtifactRef,
        /// Whether the work is already done (fast stages) or runs in the background.
        completed: bool,
        /// True when an artifact made earlier from identical inputs was reused, not recomputed.
        reused: bool,
    },
    /// A stage was unlocked by the user.
    StageUnlocked {
        /// The stage.
        stage: Stage,
    },
    /// Unlocking `trigger` also unlocked these locked stages (the cascade of the stage graph).
    Cascaded {
        /// The stage whose unlock caused the cascade.
        trigger: Stage,
        /// The stages unlocked by it, in pipeline order.
        targets: Vec<Stage>,
    },
    /// An optional stage was skipped: it counts as locked and completed.
    StageSkipped {
        /// The stage.
        stage: Stage,
    },
    /// The work of a locked stage finished.
    StageCompleted {
        /// The stage.
        stage: Stage,
        /// The lock it completed.
        stage_id: StageId,
    },
    /// A table of a background stage was written to its checkpoint file (renamed into place,
    /// so it is complete). A resumed stage reuses it instead of reading the table again.
    Checkpointed {
        /// The stage.
        stage: Stage,
        /// The lock the work belongs to.
        stage_id: StageId,
        /// The table.
        table_id: String,
        /// Rows written.
        rows: u64,
        /// The checkpoint file, relative to the data dir.
        artifact: ArtifactRef,
    },
    /// The background work of a stage failed as a whole (a single bad table does not fail it).
    StageFailed {
        /// The stage.
        stage: Stage,
        /// The lock that failed.
        stage_id: StageId,
        /// Why, for the user.
        error: String,
    },
    /// Someone asked a running stage to stop.
    CancelRequested {
        /// The running stage.
        stage: Stage,
        /// Its lock.
        stage_id: StageId,
        /// Why, as given.
        reason: Option<String>,
        /// Who asked, as given.
        by: Option<String>,
    },
    /// A running stage stopped at a checkpoint boundary after a cancel; it is unlocked and its
    /// completed checkpoints are kept for a resume.
    StageCancelled {
        /// The stage.
        stage: Stage,
        /// The lock that was cancelled.
        stage_id: StageId,
    },
    /// The background work of a locked stage was running when the daemon stopped (a crash, a
    /// kill, a power loss), noticed when the daemon started again, before anything else
    /// happened to the run. The stage is unlocked with its checkpoints kept; the daemon then
    /// locks it again with the same inputs (so the same stage ID) to resume from them, unless
    /// it was started with `--no-resume`.
    Interrupted {
        /// The stage.
        stage: Stage,
        /// The lock whose work was interrupted.
        stage_id: StageId,
        /// Tables checkpointed before the interruption (a resume reuses them).
        checkpoints: u64,
    },
    /// Files of the run were deleted on request (`cleanup` with `apply`, `gc`): the log keeps
    /// what went, so a later replay explains why the files are gone.
    CleanupPerformed {
        /// What was asked for: `unreferenced`, `temporary`, `checkpoints`, `run`, `datasets`.
        targets: Vec<String>,
        /// Each file or folder deleted, relative to the data dir, with its size.
        removed: Vec<RemovedPath>,
        /// Bytes freed in all.
        bytes: u64,
        /// Locks whose whole artifact folder went: locking with their inputs makes it again.
        artifacts: Vec<StageId>,
        /// Locks whose checkpoints went: a resume of their work reads every table again.
        checkpoints: Vec<StageId>,
    },
    /// The run was deleted: it is no longer listed or served. Its log and artifacts stay.
    RunDeleted {},
    /// A profile was created (in the profiles stream only, never in a run's).
    ProfileCreated {
        /// Its id.
        profile_id: String,
        /// sha256 of its canonical content: the version.
        content_hash: String,
        /// The profile as parsed (every version's content stays in the log).
        content: Value,
    },
    /// A profile got a new version (profiles stream only).
    ProfileUpdated {
        /// Its id.
        profile_id: String,
        /// The new version's content hash.
        content_hash: String,
        /// The new version's content.
        content: Value,
    },
    /// A profile was deleted (profiles stream only); runs made with it keep their version.
    ProfileDeleted {
        /// Its id.
        profile_id: String,
    },
}

impl RunEvent {
    /// The event's type name, as in the envelope's `type` (e.g. `StageLocked`).
    pub fn type_name(&self) -> &'static str {
        match self {
            RunEvent::RunCreated { .. } => "RunCreated",
            RunEvent::StageLocked { .. } => "StageLocked",
            RunEvent::StageUnlocked { .. } => "StageUnlocked",
            RunEvent::Cascaded { .. } => "Cascaded",
            RunEvent::StageSkipped { .. } => "StageSkipped",
            RunEvent::StageCompleted { .. } => "StageCompleted",
            RunEvent::Checkpointed { .. } => "Checkpointed",
            RunEvent::StageFailed { .. } => "StageFailed",
            RunEvent::CancelRequested { .. } => "CancelRequested",
            RunEvent::StageCancelled { .. } => "StageCancelled",
            RunEvent::Interrupted { .. } => "Interrupted",
            RunEvent::CleanupPerformed { .. } => "CleanupPerformed",
            RunEvent::RunDeleted {} => "RunDeleted",
            RunEvent::ProfileCreated { .. } => "ProfileCreated",
            RunEvent::ProfileUpdated { .. } => "ProfileUpdated",
            RunEvent::ProfileDeleted { .. } => "ProfileDeleted",
        }
    }
}

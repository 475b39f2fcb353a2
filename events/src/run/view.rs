//! What a user sees of a run: the run resource and the per-stage status record of SPEC §2.2.

use std::collections::BTreeMap;

use dat_contracts::{RunId, Stage, StageId};
use serde::{Deserialize, Serialize};

use crate::envelope::Timestamp;
use crate::run::state::RunState;

/// Whether a stage is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    /// Locked (or skipped).
    Locked,
    /// Not locked.
    Unlocked,
}

/// The status record of one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageStatus {
    /// The stage.
    pub stage: Stage,
    /// Locked or unlocked.
    pub state: StageState,
    /// The ID of the current lock; `null` when unlocked or skipped.
    pub stage_id: Option<StageId>,
    /// The stage's work is done.
    pub completed: bool,
    /// Skipped (optional stages only); counts as locked and completed.
    pub skipped: bool,
    /// Locked and its background work not finished.
    pub running: bool,
    /// The last run of the stage was cancelled.
    pub cancelled: bool,
    /// The last run of the stage was interrupted (the daemon stopped while it worked) and was
    /// not resumed.
    #[serde(default)]
    pub interrupted: bool,
    /// When it was last locked.
    pub locked_at: Option<Timestamp>,
    /// When it was last unlocked.
    pub unlocked_at: Option<Timestamp>,
    /// When its current lock completed.
    pub completed_at: Option<Timestamp>,
    /// Why its work failed, if it did.
    pub error: Option<String>,
}

impl StageStatus {
    /// A stage that was never locked.
    pub fn unlocked(stage: Stage) -> Self {
        StageStatus {
            stage,
            state: StageState::Unlocked,
            stage_id: None,
            completed: false,
            skipped: false,
            running: false,
            cancelled: false,
            interrupted: false,
            locked_at: None,
            unlocked_at: None,
            completed_at: None,
            error: None,
        }
    }

    /// Locked or skipped.
    pub fn is_locked(&self) -> bool {
        self.state == StageState::Locked
    }
}

/// The run resource: `{run_id, name, created_at, profile_id, current_stage, stages}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    /// The run.
    pub run_id: RunId,
    /// Human name.
    pub name: Option<String>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// Extraction profile.
    pub profile_id: Option<String>,
    /// The content hash of the profile's version the run uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_hash: Option<String>,
    /// The first required stage not yet locked and completed; `null` when done.
    pub current_stage: Option<Stage>,
    /// Status of every stage, keyed by stage name, in pipeline order.
    pub stages: BTreeMap<Stage, StageStatus>,
}

impl From<&RunState> for RunView {
    fn from(state: &RunState) -> Self {
        RunView {
            run_id: state.run_id,
            name: state.name.clone(),
            created_at: state.created_at,
            profile_id: state.profile_id.clone(),
            profile_hash: state.profile_hash.clone(),
            current_stage: state.current_stage(),
            stages: state.stages.clone(),
        }
    }
}

//! The state of one run: nothing but the fold of its events (see `evolve`).

use std::collections::BTreeMap;

use dat_contracts::{RunId, Stage, StageGraphConfig, StageId};
use serde_json::{Map, Value};

use crate::envelope::{Seq, Timestamp};
use crate::event::ArtifactRef;
use crate::run::view::StageStatus;

/// An artifact a lock produced, remembered so that a re-lock with identical inputs reuses it and
/// a lock with the same ID but other inputs is refused as a collision.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedArtifact {
    /// The inputs its ID was computed from.
    pub inputs: Map<String, Value>,
    /// Where it is.
    pub artifact: ArtifactRef,
    /// Whether the work that made it completed (always true for fast stages), so a re-lock with
    /// the same inputs is complete at once.
    pub completed: bool,
}

/// A table a background stage finished: its checkpoint file and row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Rows written.
    pub rows: u64,
    /// The checkpoint file.
    pub artifact: ArtifactRef,
}

/// A run as of some seq of its log.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// The run.
    pub run_id: RunId,
    /// `Some` once `RunCreated` was applied.
    pub created_at: Option<Timestamp>,
    /// Human name.
    pub name: Option<String>,
    /// Extraction profile.
    pub profile_id: Option<String>,
    /// The content hash of the profile's version (see `RunCreated`).
    pub profile_hash: Option<String>,
    /// The rules recorded at creation.
    pub stage_graph: StageGraphConfig,
    /// Whether `RunDeleted` was applied.
    pub deleted: bool,
    /// One status per stage, all eight always present.
    pub stages: BTreeMap<Stage, StageStatus>,
    /// Every artifact any lock of this run produced, by stage ID (never forgotten on unlock).
    pub artifacts: BTreeMap<StageId, LockedArtifact>,
    /// Checkpointed tables of background stages, by stage ID and table id (kept across
    /// unlocks and cancels, so a re-lock with the same inputs resumes).
    pub checkpoints: BTreeMap<StageId, BTreeMap<String, Checkpoint>>,
    /// The last applied seq: the expected seq for the next append.
    pub last_seq: Seq,
}

impl RunState {
    /// A run with no events yet.
    pub fn new(run_id: RunId) -> Self {
        RunState {
            run_id,
            created_at: None,
            name: None,
            profile_id: None,
            profile_hash: None,
            stage_graph: StageGraphConfig::default(),
            deleted: false,
            stages: Stage::ALL.into_iter().map(|s| (s, StageStatus::unlocked(s))).collect(),
            artifacts: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            last_seq: Seq(0),
        }
    }

    /// Whether the run was created and not deleted.
    pub fn exists(&self) -> bool {
        self.created_at.is_some() && !self.deleted
    }

    /// The status of `stage`.
    pub fn status(&self, stage: Stage) -> &StageStatus {
        // Invariant: `new` inserts all eight stages and nothing removes one.
        &self.stages[&stage]
    }

    /// Stages whose background work is running.
    pub fn running_stages(&self) -> impl Iterator<Item = (Stage, &StageId)> + '_ {
        self.stages.values().filter(|s| s.running).filter_map(|s| s.stage_id.as_ref().map(|id| (s.stage, id)))
    }

    /// The first required stage of the graph that is not locked and completed; `None` when the
    /// whole pipeline is done (skipped optional stages count as done).
    pub fn current_stage(&self) -> Option<Stage> {
        self.stage_graph.stages().iter().copied().find(|s| {
            let status = self.status(*s);
            let done = status.is_locked() && status.completed;
            !self.stage_graph.is_optional(*s) && !done
        })
    }
}

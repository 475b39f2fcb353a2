//! Background work: what parse and export do after their lock is recorded. The run actor starts
//! the work on the blocking pool with a [`Job`] (a snapshot of the run) and a [`Reporter`] that
//! has each finished table recorded durably (a `Checkpointed` event) while the work goes on,
//! tells it when to stop, and publishes live progress.

use dat_contracts::{Stage, StageId};
use dat_events::{ArtifactRef, Checkpoint};
use serde_json::{Map, Value};

use crate::progress::Progress;
use crate::stages::{StageContext, StageError};

/// What the work is for.
pub struct Job<'a> {
    /// The run snapshot, workspace and artifacts.
    pub ctx: StageContext<'a>,
    /// The stage.
    pub stage: Stage,
    /// Its lock.
    pub stage_id: &'a StageId,
    /// The full inputs of the lock (user inputs with defaults, upstream IDs).
    pub inputs: &'a Map<String, Value>,
    /// The stage's artifact folder (its `artifact.json` was written at lock time).
    pub artifact: &'a ArtifactRef,
    /// What the daemon counts (rows, bytes, rejects).
    pub metrics: &'a crate::metrics::Metrics,
}

impl Job<'_> {
    /// A table this lock already checkpointed (a resumed stage reuses it).
    pub fn checkpoint(&self, table_id: &str) -> Option<&Checkpoint> {
        self.ctx.run.checkpoints.get(self.stage_id)?.get(table_id)
    }
}

/// How work that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Everything is done.
    Completed,
    /// Stopped at a table or chunk boundary because a cancel was asked.
    Cancelled,
}

/// The work was told to stop: its lock is no longer current (unlocked, re-locked, deleted) or
/// the daemon is shutting down. The work returns at once; nothing more is recorded.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the stage's lock is no longer current")]
pub struct Stopped;

/// The work's line back to its run.
pub trait Reporter: Send + Sync {
    /// Has a finished table recorded (a durable `Checkpointed` event) and returns at once: the
    /// next table is read while the event is appended (waiting for each made W2's parse 8%
    /// slower). The run's actor records them in order, before the job's end; one that is not
    /// recorded (a crash first, or a lock that moved on) only means that table is read again
    /// on resume. A refusal makes [`Reporter::should_stop`] true.
    ///
    /// # Errors
    /// [`Stopped`] when a refusal has already come back: stop working.
    fn checkpoint(&self, table_id: &str, rows: u64, artifact: ArtifactRef) -> Result<(), Stopped>;
    /// Publishes live progress (not logged).
    fn progress(&self, progress: Progress);
    /// Whether to stop at the next table or chunk boundary.
    fn should_stop(&self) -> bool;
}

/// The background part of a stage.
pub trait BackgroundWork: Send + Sync {
    /// Does the work.
    ///
    /// # Errors
    /// [`StageError`] when the stage as a whole fails (a single bad table is a result, not a failure).
    fn run(&self, job: &Job<'_>, report: &dyn Reporter) -> Result<JobEnd, StageError>;
}

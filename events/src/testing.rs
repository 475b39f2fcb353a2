//! A tiny given/when/then harness for the decision logic, in the manner of cqrs-es's
//! `TestFramework`: `given(events).when(command).then_events(..)` or `.then_rejects(..)`.
//! No runtime is needed because `decide` is synchronous and pure.

use dat_contracts::{RunId, Stage, StageGraphConfig, StageId};
use serde_json::{Map, Value};

use crate::envelope::{Envelope, Seq, Timestamp};
use crate::event::{ArtifactRef, RunEvent};
use crate::run::{decide, replay, Rejection, RunCommand, RunState};

/// The run every harness test talks about.
pub fn test_run_id() -> RunId {
    // Invariant: a literal, valid UUIDv7.
    "01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e".parse().unwrap_or_else(|_| unreachable!())
}

/// Wraps events as the log would: seq 1, 2, … at a fixed time.
pub fn envelopes(events: impl IntoIterator<Item = RunEvent>) -> Vec<Envelope> {
    let at = Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH);
    events.into_iter().enumerate().map(|(i, e)| Envelope::new(test_run_id(), Seq(i as u64 + 1), at, e)).collect()
}

/// The state after `events`.
pub fn given(events: impl IntoIterator<Item = RunEvent>) -> Given {
    Given { state: replay(test_run_id(), &envelopes(events)) }
}

/// A run with some history.
pub struct Given {
    state: RunState,
}

impl Given {
    /// Decides `cmd` against the given history.
    pub fn when(self, cmd: RunCommand) -> Then {
        Then { result: decide(&self.state, cmd) }
    }
}

/// The outcome of a decision.
pub struct Then {
    result: Result<Vec<RunEvent>, Rejection>,
}

impl Then {
    /// Asserts the command was accepted with exactly these events.
    #[track_caller]
    pub fn then_events(self, expected: Vec<RunEvent>) {
        assert_eq!(self.result, Ok(expected));
    }

    /// Asserts the command was refused for exactly this reason.
    #[track_caller]
    pub fn then_rejects(self, expected: Rejection) {
        assert_eq!(self.result, Err(expected));
    }
}

/// `RunCreated` with the default stage graph.
pub fn created() -> RunEvent {
    RunEvent::RunCreated { name: None, profile_id: None, profile_hash: None, stage_graph: StageGraphConfig::default() }
}

/// Inputs that stand for "the user's inputs, variant `n`" of a stage.
pub fn inputs(n: u64) -> Map<String, Value> {
    Map::from_iter([("variant".to_owned(), Value::from(n))])
}

/// The artifact folder a lock of `stage_id` would use.
pub fn artifact(stage_id: &StageId) -> ArtifactRef {
    ArtifactRef(format!("runs/test/{}", stage_id))
}

/// `StageLocked` of `stage` with inputs variant `n`, completed unless it runs in the background.
pub fn locked_with(stage: Stage, n: u64) -> RunEvent {
    let stage_id = StageId::compute(stage, &inputs(n));
    RunEvent::StageLocked {
        stage,
        artifact: artifact(&stage_id),
        stage_id,
        inputs: inputs(n),
        completed: !stage.runs_in_background(),
        reused: false,
    }
}

/// `StageLocked` of `stage` with inputs variant 0.
pub fn locked(stage: Stage) -> RunEvent {
    locked_with(stage, 0)
}

/// The `LockStage` command that produces [`locked_with`]`(stage, n)`.
pub fn lock_with(stage: Stage, n: u64) -> RunCommand {
    match locked_with(stage, n) {
        RunEvent::StageLocked { stage, stage_id, inputs, artifact, completed, reused } => {
            RunCommand::LockStage { stage, stage_id, inputs, artifact, completed, reused }
        }
        _ => unreachable!("locked_with builds StageLocked"),
    }
}

/// The `LockStage` command that produces [`locked`]`(stage)`.
pub fn lock(stage: Stage) -> RunCommand {
    lock_with(stage, 0)
}

/// `StageCompleted` for the lock made by [`locked`]`(stage)`.
pub fn completed(stage: Stage) -> RunEvent {
    RunEvent::StageCompleted { stage, stage_id: StageId::compute(stage, &inputs(0)) }
}

/// A created run with every stage up to and including `last` (pipeline order) locked and
/// completed; optional stages included.
pub fn pipeline_through(last: Stage) -> Vec<RunEvent> {
    let mut events = vec![created()];
    for stage in Stage::ALL.into_iter().take_while(|s| *s <= last) {
        events.push(locked(stage));
        if stage.runs_in_background() {
            events.push(completed(stage));
        }
    }
    events
}

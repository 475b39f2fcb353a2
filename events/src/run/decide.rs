//! The decision: given a run's state and a command, the events to append or the reason to refuse.
//! All run rules live here and in the stage graph they read; nothing here touches the outside world.
//!
//! Choices where SPEC is silent:
//! - Unlocking a stage that is not locked changes nothing and is not an error (unlock is
//!   idempotent, like lock), so clients can "make sure" a stage is unlocked.
//! - Skip checks the same gates as lock, so a run's locked stages always form a valid prefix.
//! - Re-locking or skipping a locked stage with other inputs first unlocks it with its cascade,
//!   exactly as an explicit unlock would, so the log shows why downstream stages were unlocked.

use dat_contracts::Stage;
use serde_json::{Map, Value};

use crate::event::RunEvent;
use crate::run::command::{Rejection, RunCommand, StageOutcome};
use crate::run::state::RunState;

/// Decides what `cmd` does to `run`.
///
/// # Errors
/// A [`Rejection`] saying why nothing may happen.
pub fn decide(run: &RunState, cmd: RunCommand) -> Result<Vec<RunEvent>, Rejection> {
    if let RunCommand::CreateRun { name, profile_id, profile_hash, stage_graph } = cmd {
        if run.created_at.is_some() {
            return Err(Rejection::RunAlreadyExists);
        }
        return Ok(vec![RunEvent::RunCreated { name, profile_id, profile_hash, stage_graph }]);
    }
    if !run.exists() {
        return Err(Rejection::RunNotFound);
    }
    match cmd {
        RunCommand::CreateRun { .. } => Err(Rejection::RunAlreadyExists),
        RunCommand::LockStage { stage, stage_id, inputs, artifact, completed, reused } => {
            check_gates(run, stage)?;
            if let Some(known) = run.artifacts.get(&stage_id) {
                if known.inputs != inputs {
                    return Err(Rejection::IdCollision { stage_id });
                }
            }
            let status = run.status(stage);
            let locked =
                RunEvent::StageLocked { stage, stage_id: stage_id.clone(), inputs, artifact, completed, reused };
            // The same lock again changes nothing, unless its work failed: then it starts over.
            if status.is_locked() && status.stage_id.as_ref() == Some(&stage_id) {
                return Ok(if status.error.is_some() { vec![locked] } else { vec![] });
            }
            let mut events = unlock_events(run, stage);
            events.push(locked);
            Ok(events)
        }
        RunCommand::UnlockStage { stage } => {
            in_graph(run, stage)?;
            Ok(unlock_events(run, stage))
        }
        RunCommand::SkipStage { stage } => {
            in_graph(run, stage)?;
            if !run.stage_graph.is_optional(stage) {
                return Err(Rejection::NotOptional { stage });
            }
            check_gates(run, stage)?;
            if run.status(stage).skipped {
                return Ok(vec![]);
            }
            let mut events = unlock_events(run, stage);
            events.push(RunEvent::StageSkipped { stage });
            Ok(events)
        }
        RunCommand::CompleteStage { stage, work_in_progress } => {
            in_graph(run, stage)?;
            if work_in_progress {
                return Err(Rejection::StageRunning { stage });
            }
            let status = run.status(stage);
            match (&status.stage_id, status.completed) {
                (_, true) => Ok(vec![]),
                (Some(stage_id), false) if status.is_locked() => {
                    Ok(vec![RunEvent::StageCompleted { stage, stage_id: stage_id.clone() }])
                }
                _ => Err(Rejection::StageNotLocked { stage }),
            }
        }
        RunCommand::RecordCheckpoint { stage, stage_id, table_id, rows, artifact } => {
            if !is_running(run, stage, &stage_id) {
                return Err(Rejection::StaleWork { stage });
            }
            Ok(vec![RunEvent::Checkpointed { stage, stage_id, table_id, rows, artifact }])
        }
        RunCommand::FinishStage { stage, stage_id, outcome } => {
            if !is_running(run, stage, &stage_id) {
                return Ok(vec![]); // the lock moved on; its outcome no longer matters
            }
            Ok(vec![match outcome {
                StageOutcome::Completed => RunEvent::StageCompleted { stage, stage_id },
                StageOutcome::Failed(error) => RunEvent::StageFailed { stage, stage_id, error },
                StageOutcome::Cancelled => RunEvent::StageCancelled { stage, stage_id },
            }])
        }
        RunCommand::CancelRun { reason, by } => {
            let events: Vec<RunEvent> = run
                .running_stages()
                .map(|(stage, stage_id)| RunEvent::CancelRequested {
                    stage,
                    stage_id: stage_id.clone(),
                    reason: reason.clone(),
                    by: by.clone(),
                })
                .collect();
            if events.is_empty() {
                return Err(Rejection::NothingRunning);
            }
            Ok(events)
        }
        RunCommand::RecordInterruption { stage } => {
            let status = run.status(stage);
            let Some(stage_id) = status.stage_id.clone().filter(|_| status.running) else {
                return Ok(vec![]); // nothing was running: nothing to record
            };
            let checkpoints = run.checkpoints.get(&stage_id).map_or(0, |c| c.len() as u64);
            Ok(vec![RunEvent::Interrupted { stage, stage_id, checkpoints }])
        }
        RunCommand::RecordCleanup { targets, removed, artifacts, checkpoints } => {
            if removed.is_empty() {
                return Ok(vec![]); // nothing went: nothing to explain
            }
            let bytes = removed.iter().map(|r| r.bytes).sum();
            Ok(vec![RunEvent::CleanupPerformed { targets, removed, bytes, artifacts, checkpoints }])
        }
        RunCommand::DeleteRun => Ok(vec![RunEvent::RunDeleted {}]),
    }
}

/// Checks the gates of `stage` and returns the upstream part of its inputs: `"<gate>_id"` for
/// each stage it must have locked (`null` when that stage was skipped), plus `"context_id"` for
/// stages after context when context is locked, so that new upstream work gives new IDs
/// downstream (SPEC §3). The actor calls this before doing any work for a lock.
///
/// # Errors
/// [`Rejection::RunNotFound`], [`Rejection::StageNotInGraph`] or [`Rejection::GateNotMet`].
pub fn upstream_inputs(run: &RunState, stage: Stage) -> Result<Map<String, Value>, Rejection> {
    if !run.exists() {
        return Err(Rejection::RunNotFound);
    }
    check_gates(run, stage)?;
    let id_of = |s: Stage| run.status(s).stage_id.as_ref().map_or(Value::Null, |id| Value::from(id.as_str()));
    let mut upstream: Map<String, Value> =
        run.stage_graph.gate(stage).requires_locked.into_iter().map(|s| (format!("{s}_id"), id_of(s))).collect();
    if stage > Stage::Context && run.status(Stage::Context).stage_id.is_some() {
        upstream.insert("context_id".to_owned(), id_of(Stage::Context));
    }
    Ok(upstream)
}

fn is_running(run: &RunState, stage: Stage, stage_id: &dat_contracts::StageId) -> bool {
    let status = run.status(stage);
    status.running && status.stage_id.as_ref() == Some(stage_id)
}

fn in_graph(run: &RunState, stage: Stage) -> Result<(), Rejection> {
    if run.stage_graph.contains(stage) {
        Ok(())
    } else {
        Err(Rejection::StageNotInGraph { stage })
    }
}

fn check_gates(run: &RunState, stage: Stage) -> Result<(), Rejection> {
    in_graph(run, stage)?;
    let gate = run.stage_graph.gate(stage);
    if let Some(needs) = gate.requires_locked.iter().find(|s| !run.status(**s).is_locked()) {
        return Err(Rejection::GateNotMet { stage, needs: *needs, completed: false });
    }
    if let Some(needs) = gate.requires_completed.iter().find(|s| !run.status(**s).completed) {
        return Err(Rejection::GateNotMet { stage, needs: *needs, completed: true });
    }
    Ok(())
}

/// `StageUnlocked` for a locked stage, then `Cascaded` with its locked cascade targets (if any).
fn unlock_events(run: &RunState, stage: Stage) -> Vec<RunEvent> {
    if !run.status(stage).is_locked() {
        return vec![];
    }
    let mut targets: Vec<Stage> =
        run.stage_graph.cascade_targets(stage).iter().copied().filter(|t| run.status(*t).is_locked()).collect();
    targets.sort();
    let mut events = vec![RunEvent::StageUnlocked { stage }];
    if !targets.is_empty() {
        events.push(RunEvent::Cascaded { trigger: stage, targets });
    }
    events
}

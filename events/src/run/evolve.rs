//! The fold: applying an event to a run's state. Total (never fails, never decides): every rule
//! was checked by `decide` before the event was appended.

use dat_contracts::{RunId, Stage};

use crate::envelope::Envelope;
use crate::event::RunEvent;
use crate::run::state::{Checkpoint, LockedArtifact, RunState};
use crate::run::view::{StageState, StageStatus};

/// Applies one event.
pub fn evolve(mut run: RunState, envelope: &Envelope) -> RunState {
    let at = Some(envelope.at);
    run.last_seq = envelope.seq;
    match &envelope.event {
        RunEvent::RunCreated { name, profile_id, profile_hash, stage_graph } => {
            run.created_at = at;
            run.name = name.clone();
            run.profile_id = profile_id.clone();
            run.profile_hash = profile_hash.clone();
            run.stage_graph = stage_graph.clone();
        }
        RunEvent::StageLocked { stage, stage_id, inputs, artifact, completed, .. } => {
            run.artifacts.insert(
                stage_id.clone(),
                LockedArtifact { inputs: inputs.clone(), artifact: artifact.clone(), completed: *completed },
            );
            let status = stage_mut(&mut run, *stage);
            *status = StageStatus {
                state: StageState::Locked,
                stage_id: Some(stage_id.clone()),
                completed: *completed,
                running: !*completed,
                locked_at: at,
                completed_at: if *completed { at } else { None },
                unlocked_at: status.unlocked_at,
                ..StageStatus::unlocked(*stage)
            };
        }
        RunEvent::StageUnlocked { stage } => unlock(&mut run, *stage, envelope),
        RunEvent::Cascaded { targets, .. } => {
            for stage in targets {
                unlock(&mut run, *stage, envelope);
            }
        }
        RunEvent::StageSkipped { stage } => {
            let status = stage_mut(&mut run, *stage);
            *status = StageStatus {
                state: StageState::Locked,
                completed: true,
                skipped: true,
                locked_at: at,
                completed_at: at,
                unlocked_at: status.unlocked_at,
                ..StageStatus::unlocked(*stage)
            };
        }
        RunEvent::StageCompleted { stage, stage_id } => {
            if let Some(known) = run.artifacts.get_mut(stage_id) {
                known.completed = true;
            }
            let status = stage_mut(&mut run, *stage);
            status.completed = true;
            status.running = false;
            status.completed_at = at;
        }
        RunEvent::Checkpointed { stage_id, table_id, rows, artifact, .. } => {
            let checkpoint = Checkpoint { rows: *rows, artifact: artifact.clone() };
            run.checkpoints.entry(stage_id.clone()).or_default().insert(table_id.clone(), checkpoint);
        }
        RunEvent::StageFailed { stage, error, .. } => {
            let status = stage_mut(&mut run, *stage);
            status.running = false;
            status.error = Some(error.clone());
        }
        RunEvent::CancelRequested { .. } => {} // the log records who asked; the stage runs until it stops
        RunEvent::StageCancelled { stage, .. } => {
            unlock(&mut run, *stage, envelope);
            stage_mut(&mut run, *stage).cancelled = true;
        }
        RunEvent::Interrupted { stage, .. } => {
            unlock(&mut run, *stage, envelope);
            stage_mut(&mut run, *stage).interrupted = true;
        }
        RunEvent::CleanupPerformed { artifacts, checkpoints, .. } => {
            for stage_id in artifacts {
                run.artifacts.remove(stage_id);
                run.checkpoints.remove(stage_id);
            }
            for stage_id in checkpoints {
                run.checkpoints.remove(stage_id);
            }
        }
        RunEvent::RunDeleted {} => run.deleted = true,
        // Profile events live in the profiles stream, never in a run's: nothing to apply.
        RunEvent::ProfileCreated { .. } | RunEvent::ProfileUpdated { .. } | RunEvent::ProfileDeleted { .. } => {}
    }
    run
}

fn stage_mut(run: &mut RunState, stage: Stage) -> &mut StageStatus {
    // Invariant: `RunState::new` inserts all eight stages and nothing removes one.
    run.stages.entry(stage).or_insert_with(|| StageStatus::unlocked(stage))
}

fn unlock(run: &mut RunState, stage: Stage, envelope: &Envelope) {
    let status = stage_mut(run, stage);
    *status =
        StageStatus { unlocked_at: Some(envelope.at), locked_at: status.locked_at, ..StageStatus::unlocked(stage) };
}

/// Rebuilds a run's state from its events, in log order.
pub fn replay<'a>(run_id: RunId, events: impl IntoIterator<Item = &'a Envelope>) -> RunState {
    events.into_iter().fold(RunState::new(run_id), evolve)
}

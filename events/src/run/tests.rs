//! Given/when/then tests of every gate and cascade rule of SPEC §2.1 and of the lock words of §2.2.

use dat_contracts::Stage::{self, *};
use dat_contracts::StageId;

use crate::event::RunEvent;
use crate::run::{upstream_inputs, Rejection, RunCommand};
use crate::testing::*;

fn gate(stage: Stage, needs: Stage, completed: bool) -> Rejection {
    Rejection::GateNotMet { stage, needs, completed }
}

/// Events that lock every stage up to (not including) `stage`, except `missing`.
fn all_before_except(stage: Stage, missing: Stage) -> Vec<RunEvent> {
    let mut events = vec![created()];
    for s in Stage::ALL.into_iter().take_while(|s| *s < stage).filter(|s| *s != missing) {
        events.push(locked(s));
        if s.runs_in_background() {
            events.push(completed(s));
        }
    }
    events
}

// ---- gate table: one test per row -------------------------------------------------------------

#[test]
fn discovery_has_no_gate() {
    given([created()]).when(lock(Discovery)).then_events(vec![locked(Discovery)]);
}

#[test]
fn selection_waits_for_discovery() {
    given([created()]).when(lock(Selection)).then_rejects(gate(Selection, Discovery, false));
    given(all_before_except(Selection, Parse)).when(lock(Selection)).then_events(vec![locked(Selection)]);
}

#[test]
fn context_waits_for_selection() {
    given(all_before_except(Context, Selection)).when(lock(Context)).then_rejects(gate(Context, Selection, false));
    given(all_before_except(Context, Parse)).when(lock(Context)).then_events(vec![locked(Context)]);
}

#[test]
fn table_availability_waits_for_selection_not_context() {
    given(all_before_except(TableAvailability, Selection)).when(lock(TableAvailability)).then_rejects(gate(
        TableAvailability,
        Selection,
        false,
    ));
    given(all_before_except(TableAvailability, Context))
        .when(lock(TableAvailability))
        .then_events(vec![locked(TableAvailability)]);
}

#[test]
fn table_selection_waits_for_table_availability() {
    given(all_before_except(TableSelection, TableAvailability)).when(lock(TableSelection)).then_rejects(gate(
        TableSelection,
        TableAvailability,
        false,
    ));
    given(all_before_except(TableSelection, Context))
        .when(lock(TableSelection))
        .then_events(vec![locked(TableSelection)]);
}

#[test]
fn preview_waits_for_table_selection() {
    given(all_before_except(Preview, TableSelection)).when(lock(Preview)).then_rejects(gate(
        Preview,
        TableSelection,
        false,
    ));
    given(all_before_except(Preview, Context)).when(lock(Preview)).then_events(vec![locked(Preview)]);
}

#[test]
fn parse_waits_for_table_selection_not_preview() {
    given(all_before_except(Parse, TableSelection)).when(lock(Parse)).then_rejects(gate(Parse, TableSelection, false));
    given(all_before_except(Parse, Preview)).when(lock(Parse)).then_events(vec![locked(Parse)]);
}

#[test]
fn export_waits_for_parse_locked_and_completed() {
    given(all_before_except(Export, Parse)).when(lock(Export)).then_rejects(gate(Export, Parse, false));
    let mut running = all_before_except(Export, Parse);
    running.push(locked(Parse)); // background: locked, not completed
    given(running.clone()).when(lock(Export)).then_rejects(gate(Export, Parse, true));
    running.push(completed(Parse));
    given(running).when(lock(Export)).then_events(vec![locked(Export)]);
}

// ---- cascade table: one test per row ----------------------------------------------------------

fn unlock(stage: Stage) -> RunCommand {
    RunCommand::UnlockStage { stage }
}

fn cascade(trigger: Stage, targets: &[Stage]) -> Vec<RunEvent> {
    let mut events = vec![RunEvent::StageUnlocked { stage: trigger }];
    if !targets.is_empty() {
        events.push(RunEvent::Cascaded { trigger, targets: targets.to_vec() });
    }
    events
}

#[test]
fn unlocking_discovery_unlocks_everything_locked() {
    given(pipeline_through(Export)).when(unlock(Discovery)).then_events(cascade(
        Discovery,
        &[Selection, Context, TableAvailability, TableSelection, Preview, Parse, Export],
    ));
}

#[test]
fn unlocking_selection_unlocks_everything_after_it() {
    given(pipeline_through(Export))
        .when(unlock(Selection))
        .then_events(cascade(Selection, &[Context, TableAvailability, TableSelection, Preview, Parse, Export]));
}

#[test]
fn unlocking_table_availability_unlocks_table_selection_onwards() {
    given(pipeline_through(Export))
        .when(unlock(TableAvailability))
        .then_events(cascade(TableAvailability, &[TableSelection, Preview, Parse, Export]));
}

#[test]
fn unlocking_table_selection_unlocks_preview_parse_export() {
    given(pipeline_through(Export))
        .when(unlock(TableSelection))
        .then_events(cascade(TableSelection, &[Preview, Parse, Export]));
}

#[test]
fn unlocking_parse_unlocks_export() {
    given(pipeline_through(Export)).when(unlock(Parse)).then_events(cascade(Parse, &[Export]));
}

#[test]
fn unlocking_optional_or_terminal_stages_cascades_nowhere() {
    for stage in [Context, Preview, Export] {
        given(pipeline_through(Export)).when(unlock(stage)).then_events(cascade(stage, &[]));
    }
}

#[test]
fn cascade_names_only_locked_targets() {
    given(pipeline_through(TableAvailability))
        .when(unlock(Discovery))
        .then_events(cascade(Discovery, &[Selection, Context, TableAvailability]));
}

// ---- the words of §2.2 ------------------------------------------------------------------------

#[test]
fn skipping_an_optional_stage_locks_and_completes_it() {
    given(pipeline_through(Selection))
        .when(RunCommand::SkipStage { stage: Context })
        .then_events(vec![RunEvent::StageSkipped { stage: Context }]);
}

#[test]
fn skipping_a_required_stage_is_refused() {
    given(pipeline_through(Selection))
        .when(RunCommand::SkipStage { stage: TableAvailability })
        .then_rejects(Rejection::NotOptional { stage: TableAvailability });
}

#[test]
fn skipped_stage_satisfies_gates_and_chains_null() {
    let mut events = pipeline_through(TableSelection);
    events.push(RunEvent::StageSkipped { stage: Preview });
    given(events.clone()).when(lock(Parse)).then_events(vec![locked(Parse)]);
    let state = crate::run::replay(test_run_id(), &envelopes(events));
    assert!(state.status(Preview).completed);
}

#[test]
fn completing_a_running_stage_records_it_once() {
    let mut events = pipeline_through(TableSelection);
    events.push(locked(Parse));
    given(events.clone())
        .when(RunCommand::CompleteStage { stage: Parse, work_in_progress: false })
        .then_events(vec![completed(Parse)]);
    events.push(completed(Parse));
    given(events).when(RunCommand::CompleteStage { stage: Parse, work_in_progress: false }).then_events(vec![]);
}

#[test]
fn completing_an_unlocked_stage_is_refused() {
    given(pipeline_through(Selection))
        .when(RunCommand::CompleteStage { stage: Parse, work_in_progress: false })
        .then_rejects(Rejection::StageNotLocked { stage: Parse });
}

#[test]
fn relock_with_same_inputs_is_idempotent() {
    given(pipeline_through(Selection)).when(lock(Selection)).then_events(vec![]);
}

#[test]
fn relock_after_unlock_brings_the_same_id_back() {
    let mut events = pipeline_through(Selection);
    events.extend(cascade(Discovery, &[Selection]));
    given(events).when(lock(Discovery)).then_events(vec![locked(Discovery)]);
}

#[test]
fn relock_with_other_inputs_unlocks_the_cascade_first() {
    let mut expected = cascade(TableAvailability, &[TableSelection, Preview, Parse, Export]);
    expected.push(locked_with(TableAvailability, 1));
    given(pipeline_through(Export)).when(lock_with(TableAvailability, 1)).then_events(expected);
}

#[test]
fn same_id_with_other_inputs_is_a_collision_and_changes_nothing() {
    let RunCommand::LockStage { stage, stage_id, artifact, completed, reused, .. } = lock(Discovery) else {
        unreachable!()
    };
    let forged =
        RunCommand::LockStage { stage, stage_id: stage_id.clone(), inputs: inputs(9), artifact, completed, reused };
    given([created(), locked(Discovery), RunEvent::StageUnlocked { stage: Discovery }])
        .when(forged)
        .then_rejects(Rejection::IdCollision { stage_id });
}

#[test]
fn unlocking_a_never_locked_stage_changes_nothing() {
    given([created()]).when(unlock(Parse)).then_events(vec![]);
}

#[test]
fn commands_on_missing_or_deleted_runs_are_not_found() {
    given([]).when(lock(Discovery)).then_rejects(Rejection::RunNotFound);
    given([created(), RunEvent::RunDeleted {}]).when(lock(Discovery)).then_rejects(Rejection::RunNotFound);
    given([created()]).when(RunCommand::DeleteRun).then_events(vec![RunEvent::RunDeleted {}]);
}

#[test]
fn creating_twice_is_refused() {
    let create =
        RunCommand::CreateRun { name: None, profile_id: None, profile_hash: None, stage_graph: Default::default() };
    given([created()]).when(create).then_rejects(Rejection::RunAlreadyExists);
}

#[test]
fn upstream_inputs_chain_gate_ids_and_context() {
    let mut events = pipeline_through(Selection);
    let selection_id = StageId::compute(Selection, &inputs(0));
    let state = crate::run::replay(test_run_id(), &envelopes(events.clone()));
    let up = upstream_inputs(&state, TableAvailability).unwrap();
    assert_eq!(up, serde_json::json!({"selection_id": selection_id.as_str()}).as_object().cloned().unwrap());

    events.push(locked(Context));
    let state = crate::run::replay(test_run_id(), &envelopes(events));
    let up = upstream_inputs(&state, TableAvailability).unwrap();
    let context_id = StageId::compute(Context, &inputs(0));
    assert_eq!(up["context_id"], context_id.as_str());
    assert_eq!(upstream_inputs(&state, Export), Err(gate(Export, Parse, false)));
}

#[test]
fn current_stage_skips_optional_stages_and_is_none_when_done() {
    let state = |events| crate::run::replay(test_run_id(), &envelopes(events));
    assert_eq!(state(vec![created()]).current_stage(), Some(Discovery));
    assert_eq!(state(pipeline_through(Selection)).current_stage(), Some(TableAvailability));
    let mut running = pipeline_through(TableSelection);
    running.push(locked(Parse));
    assert_eq!(state(running).current_stage(), Some(Parse));
    assert_eq!(state(pipeline_through(Export)).current_stage(), None);
}

// ---- background stages: checkpoints, outcomes, cancel ----------------------------------------

fn parse_id() -> StageId {
    StageId::compute(Parse, &inputs(0))
}

fn running_parse() -> Vec<RunEvent> {
    let mut events = pipeline_through(TableSelection);
    events.push(locked(Parse));
    events
}

fn checkpoint(table: &str) -> RunCommand {
    RunCommand::RecordCheckpoint {
        stage: Parse,
        stage_id: parse_id(),
        table_id: table.into(),
        rows: 10,
        artifact: artifact(&parse_id()),
    }
}

fn checkpointed(table: &str) -> RunEvent {
    RunEvent::Checkpointed {
        stage: Parse,
        stage_id: parse_id(),
        table_id: table.into(),
        rows: 10,
        artifact: artifact(&parse_id()),
    }
}

fn finish(outcome: crate::run::StageOutcome) -> RunCommand {
    RunCommand::FinishStage { stage: Parse, stage_id: parse_id(), outcome }
}

#[test]
fn checkpoints_are_recorded_only_for_the_running_lock() {
    given(running_parse()).when(checkpoint("a.csv")).then_events(vec![checkpointed("a.csv")]);
    let mut unlocked = running_parse();
    unlocked.push(RunEvent::StageUnlocked { stage: Parse });
    given(unlocked).when(checkpoint("a.csv")).then_rejects(Rejection::StaleWork { stage: Parse });
}

#[test]
fn outcomes_complete_fail_or_cancel_the_running_stage() {
    use crate::run::StageOutcome::*;
    given(running_parse()).when(finish(Completed)).then_events(vec![completed(Parse)]);
    given(running_parse()).when(finish(Failed("disk full".into()))).then_events(vec![RunEvent::StageFailed {
        stage: Parse,
        stage_id: parse_id(),
        error: "disk full".into(),
    }]);
    given(running_parse())
        .when(finish(Cancelled))
        .then_events(vec![RunEvent::StageCancelled { stage: Parse, stage_id: parse_id() }]);
    given(pipeline_through(Export)).when(finish(Completed)).then_events(vec![]);
}

#[test]
fn cancel_asks_running_stages_and_refuses_when_nothing_runs() {
    let cancel = || RunCommand::CancelRun { reason: Some("wrong lot".into()), by: Some("ana".into()) };
    given(running_parse()).when(cancel()).then_events(vec![RunEvent::CancelRequested {
        stage: Parse,
        stage_id: parse_id(),
        reason: Some("wrong lot".into()),
        by: Some("ana".into()),
    }]);
    given(pipeline_through(Export)).when(cancel()).then_rejects(Rejection::NothingRunning);
}

#[test]
fn a_cancelled_stage_is_unlocked_keeps_its_checkpoints_and_resumes_on_relock() {
    let mut events = running_parse();
    events.push(checkpointed("a.csv"));
    events.push(RunEvent::StageCancelled { stage: Parse, stage_id: parse_id() });
    let state = crate::run::replay(test_run_id(), &envelopes(events.clone()));
    assert!(!state.status(Parse).is_locked() && state.status(Parse).cancelled);
    assert_eq!(state.checkpoints[&parse_id()]["a.csv"].rows, 10);
    given(events).when(lock(Parse)).then_events(vec![locked(Parse)]);
}

#[test]
fn a_failed_stage_starts_over_when_locked_again() {
    let mut events = running_parse();
    events.push(RunEvent::StageFailed { stage: Parse, stage_id: parse_id(), error: "disk full".into() });
    given(events).when(lock(Parse)).then_events(vec![locked(Parse)]);
}

#[test]
fn a_stage_doing_its_own_work_cannot_be_completed_from_outside() {
    given(running_parse())
        .when(RunCommand::CompleteStage { stage: Parse, work_in_progress: true })
        .then_rejects(Rejection::StageRunning { stage: Parse });
}

#[test]
fn work_running_at_a_restart_is_recorded_as_interrupted_with_its_checkpoints_then_resumes_on_relock() {
    let mut events = running_parse();
    events.push(checkpointed("a.csv"));
    given(events.clone())
        .when(RunCommand::RecordInterruption { stage: Parse })
        .then_events(vec![RunEvent::Interrupted { stage: Parse, stage_id: parse_id(), checkpoints: 1 }]);
    events.push(RunEvent::Interrupted { stage: Parse, stage_id: parse_id(), checkpoints: 1 });
    let state = crate::run::replay(test_run_id(), &envelopes(events.clone()));
    let parse = state.status(Parse);
    assert!(!parse.is_locked() && !parse.running && parse.interrupted, "{parse:?}");
    assert_eq!(state.checkpoints[&parse_id()]["a.csv"].rows, 10, "checkpoints are kept for the resume");
    given(events.clone()).when(RunCommand::RecordInterruption { stage: Parse }).then_events(vec![]);
    given(events.clone()).when(lock(Parse)).then_events(vec![locked(Parse)]);
    events.push(locked(Parse));
    let resumed = crate::run::replay(test_run_id(), &envelopes(events));
    assert!(resumed.status(Parse).running && !resumed.status(Parse).interrupted);
}

#[test]
fn a_cleanup_is_recorded_with_what_went_and_forgets_the_artifacts_it_deleted() {
    let mut events = running_parse();
    events.push(checkpointed("a.csv"));
    events.push(RunEvent::StageCancelled { stage: Parse, stage_id: parse_id() });
    let removed = vec![crate::RemovedPath { path: "runs/x/parse_1".into(), bytes: 10, target: "unreferenced".into() }];
    let cleanup = RunCommand::RecordCleanup {
        targets: vec!["unreferenced".into()],
        removed: removed.clone(),
        artifacts: vec![parse_id()],
        checkpoints: vec![],
    };
    let performed = RunEvent::CleanupPerformed {
        targets: vec!["unreferenced".into()],
        removed,
        bytes: 10,
        artifacts: vec![parse_id()],
        checkpoints: vec![],
    };
    given(events.clone()).when(cleanup).then_events(vec![performed.clone()]);
    let nothing =
        RunCommand::RecordCleanup { targets: vec![], removed: vec![], artifacts: vec![], checkpoints: vec![] };
    given(events.clone()).when(nothing).then_events(vec![]);
    events.push(performed);
    let state = crate::run::replay(test_run_id(), &envelopes(events));
    assert!(!state.artifacts.contains_key(&parse_id()) && !state.checkpoints.contains_key(&parse_id()));
}

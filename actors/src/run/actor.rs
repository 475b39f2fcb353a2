//! The run actor. Handlers that change the run are atomic (no other message is handled until
//! the append has landed and been applied), so the actor's state is always the fold of the
//! log. Blocking work (files) runs on tokio's blocking pool, not on the actor's thread; appends
//! are submitted and their durability awaited (the log's flusher syncs them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use dat_contracts::{LockRequest, Stage, StageId};
use dat_events::{
    decide, evolve, upstream_inputs, Envelope, Rejection, RunCommand, RunEvent, RunState, RunView, Seq, Timestamp,
};
use dat_store::{ArtifactStore, EventLog};
use serde_json::{Map, Value};

use crate::bridge::AppendSignal;
use crate::progress::ProgressHub;
use crate::run::error::RunError;
use crate::run::job;
use crate::run::messages::*;
use crate::stages::{StageContext, Stages};
use crate::workspace::Workspace;

/// What every run actor shares: the log, artifacts, workspace and stage executors.
pub(crate) struct RunDeps {
    pub log: Arc<dyn EventLog>,
    pub artifacts: ArtifactStore,
    pub workspace: Workspace,
    pub stages: Stages,
    pub progress: ProgressHub,
    /// Poked after every successful append so the NATS bridge publishes without polling; never
    /// waits.
    pub appended: AppendSignal,
    /// Where a run finds the version of the profile it was created with.
    pub profiles: Arc<crate::profiles::ProfileCatalog>,
    /// Whether interrupted background work is resumed (see [`RecoverInterrupted`]).
    pub resume: bool,
    /// What the daemon counts.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The single writer of one run.
pub(crate) struct RunActor {
    pub(super) state: RunState,
    pub(super) deps: Arc<RunDeps>,
    /// Background work in flight, by stage: the lock it works for and its stop flag.
    jobs: HashMap<Stage, (StageId, Arc<AtomicBool>)>,
    /// When finished tables were last taken to be recorded (see [`CHECKPOINT_EVERY`]).
    checkpoints_taken: Option<Instant>,
}

/// How often, at most, a run records the tables its background work finished: those finished
/// meanwhile wait and share one append (one fsync). W2's 500 tables were 470 appends, each
/// waking the log's flusher and this actor (about 3,000 context switches a run); a table not
/// yet recorded when the process dies is only read again on resume.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

type Reply<T> = AtomicResponse<RunActor, Result<T, RunError>>;

fn ready<T: 'static>(result: Result<T, RunError>) -> Reply<T> {
    AtomicResponse::new(Box::pin(fut::ready(result)))
}

impl RunActor {
    pub fn new(state: RunState, deps: Arc<RunDeps>) -> Self {
        RunActor { state, deps, jobs: HashMap::new(), checkpoints_taken: None }
    }

    /// Starts background work for `stage`'s current lock (a no-op without background work).
    fn start_job(&mut self, stage: Stage, ctx: &mut Context<Self>) {
        let Some(stage_id) = self.state.status(stage).stage_id.clone() else { return };
        if let Some(stop) = job::spawn(ctx.address(), self.deps.clone(), self.state.clone(), stage) {
            tracing::info!(run_id = %self.state.run_id, %stage, %stage_id, "background work started");
            self.jobs.insert(stage, (stage_id, stop));
        }
    }

    /// Tells the job of `stage` to stop at its next boundary.
    fn stop_job(&mut self, stage: Stage) {
        if let Some((_, stop)) = self.jobs.remove(&stage) {
            stop.store(true, Ordering::SeqCst);
        }
    }

    /// Starts, stops and forgets background work as the applied events say.
    fn after_commit(&mut self, envelopes: &[Envelope], ctx: &mut Context<Self>) {
        for envelope in envelopes {
            match &envelope.event {
                RunEvent::StageLocked { stage, completed: false, .. } => {
                    self.stop_job(*stage);
                    self.start_job(*stage, ctx);
                }
                RunEvent::StageUnlocked { stage } | RunEvent::StageSkipped { stage } => self.stop_job(*stage),
                RunEvent::Cascaded { targets, .. } => targets.iter().for_each(|t| self.stop_job(*t)),
                RunEvent::CancelRequested { stage, .. } => {
                    if let Some((_, stop)) = self.jobs.get(stage) {
                        stop.store(true, Ordering::SeqCst);
                    }
                }
                RunEvent::StageCompleted { stage, .. }
                | RunEvent::StageFailed { stage, .. }
                | RunEvent::StageCancelled { stage, .. } => {
                    self.jobs.remove(stage);
                }
                RunEvent::RunDeleted {} => {
                    let stages: Vec<Stage> = self.jobs.keys().copied().collect();
                    stages.into_iter().for_each(|s| self.stop_job(s));
                }
                _ => {}
            }
        }
    }

    /// Decide, append (durably, awaited without a thread), apply, reply with the new view.
    /// On an append failure the actor stops, so the registry rehydrates it from the log: the
    /// log, not this actor's memory, says what happened.
    pub(super) fn commit(&mut self, cmd: RunCommand) -> ResponseActFuture<Self, Result<RunView, RunError>> {
        self.commit_all(vec![cmd])
    }

    /// [`Self::commit`] for several commands, each decided against the state the ones before
    /// it leave, their events appended at once: one durable append (one fsync) for a batch of
    /// checkpoints instead of one each. A rejection ends the batch: the events decided before it
    /// are appended, and the rejection is the reply.
    pub(super) fn commit_all(&mut self, cmds: Vec<RunCommand>) -> ResponseActFuture<Self, Result<RunView, RunError>> {
        let run = self.state.run_id;
        let expected = self.state.last_seq;
        let at = Timestamp::from_datetime(Utc::now());
        let several = cmds.len() > 1;
        // The state the next command is decided against, once an earlier one changed it.
        let mut scratch: Option<RunState> = None;
        let (mut envelopes, mut rejected) = (Vec::new(), None);
        for cmd in cmds {
            let events = match decide(scratch.as_ref().unwrap_or(&self.state), cmd) {
                Ok(events) => events,
                Err(rejection) => {
                    rejected = Some(RunError::from(rejection));
                    break;
                }
            };
            for event in events {
                let envelope = Envelope::new(run, Seq(expected.0 + envelopes.len() as u64 + 1), at, event);
                if several {
                    let state = scratch.take().unwrap_or_else(|| self.state.clone());
                    scratch = Some(evolve(state, &envelope));
                }
                envelopes.push(envelope);
            }
        }
        if envelopes.is_empty() {
            return Box::pin(fut::ready(rejected.map_or_else(|| Ok(RunView::from(&self.state)), Err)));
        }
        // The conflict check and the events' order are settled here; the log's flusher makes
        // them durable while this actor waits without holding a thread.
        let submitted = self.deps.log.submit(run, expected, &envelopes);
        let append = async move { submitted?.await };
        Box::pin(append.into_actor(self).map(move |appended, act, ctx| {
            if let Err(e) = appended.map_err(RunError::from) {
                tracing::error!(run_id = %run, error = %e, "append failed; stopping the run actor");
                ctx.stop();
                return Err(e);
            }
            act.deps.appended.appended(envelopes.len());
            act.deps.metrics.event_appends.inc_by(envelopes.len() as u64);
            for envelope in &envelopes {
                act.state = evolve(std::mem::replace(&mut act.state, RunState::new(run)), envelope);
            }
            act.after_commit(&envelopes, ctx);
            rejected.map_or_else(|| Ok(RunView::from(&act.state)), Err)
        }))
    }

    fn commit_atomic(&mut self, cmd: RunCommand) -> Reply<RunView> {
        AtomicResponse::new(self.commit(cmd))
    }
}

/// Computes the full inputs and stage ID of a lock, then reuses or produces its artifact.
/// Runs on the blocking pool: executors read files.
fn prepare_lock(
    deps: &RunDeps,
    run: &RunState,
    request: LockRequest,
    upstream: Map<String, Value>,
) -> Result<RunCommand, RunError> {
    let stage = request.stage();
    let executor = deps.stages.get(stage);
    let profile = deps.profiles.of_run(run).map_err(|e| RunError::Stage(crate::StageError::Invalid(e.to_string())))?;
    let ctx = StageContext {
        run_id: run.run_id,
        run,
        workspace: &deps.workspace,
        artifacts: &deps.artifacts,
        profile: profile.as_deref(),
    };
    let mut inputs = request.user_inputs();
    inputs.extend(upstream);
    inputs.extend(executor.content_inputs(&ctx, &request)?);
    let stage_id = StageId::compute(stage, &inputs);
    let collision = || RunError::Rejected(Rejection::IdCollision { stage_id: stage_id.clone() });
    let fast = !stage.runs_in_background();
    let (artifact, reused, completed) = match run.artifacts.get(&stage_id) {
        Some(known) if known.inputs == inputs => (known.artifact.clone(), true, fast || known.completed),
        Some(_) => return Err(collision()),
        // Not in the log, but maybe on disk from a lock whose event never landed (a crash
        // between writing the artifact and appending): identical inputs make it reusable.
        None => match deps.artifacts.stored_inputs(run.run_id, &stage_id)? {
            Some(stored) if stored == inputs => (ArtifactStore::reference(run.run_id, &stage_id), true, fast),
            Some(_) => return Err(collision()),
            None => {
                let content = executor.produce(&ctx, &request, &inputs)?;
                (deps.artifacts.write(run.run_id, &stage_id, &inputs, &content)?, false, fast)
            }
        },
    };
    Ok(RunCommand::LockStage { stage, stage_id, inputs, artifact, completed, reused })
}

impl Actor for RunActor {
    type Context = Context<Self>;
}

impl Handler<RecordCheckpoints> for RunActor {
    type Result = AtomicResponse<Self, ()>;

    /// Records every checkpoint waiting in the job's queue in one append, at most once per
    /// [`CHECKPOINT_EVERY`]: those the job finishes meanwhile share it. The wait is part of the
    /// atomic reply, so the job's end (sent after its last checkpoint) is handled after it;
    /// other messages to the run wait as long (20 ms at most). A message that finds the queue
    /// empty (an earlier one took its checkpoint) records nothing.
    fn handle(&mut self, msg: RecordCheckpoints, _: &mut Context<Self>) -> Self::Result {
        let RecordCheckpoints { stage, stage_id, waiting, stop } = msg;
        if waiting.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        let wait = self.checkpoints_taken.map_or(Duration::ZERO, |at| CHECKPOINT_EVERY.saturating_sub(at.elapsed()));
        let record = fut::wrap_future::<_, Self>(tokio::time::sleep(wait)).then(move |(), act, _| {
            act.checkpoints_taken = Some(Instant::now());
            let checkpoints = std::mem::take(&mut *waiting.lock().unwrap_or_else(|p| p.into_inner()));
            let cmds = checkpoints
                .into_iter()
                .map(|c| RunCommand::RecordCheckpoint {
                    stage,
                    stage_id: stage_id.clone(),
                    table_id: c.table_id,
                    rows: c.rows,
                    artifact: c.artifact,
                })
                .collect();
            act.commit_all(cmds).map(move |result, _, _| {
                if let Err(e) = result {
                    tracing::info!(%stage, error = %e, "checkpoint not recorded; the work stops");
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            })
        });
        AtomicResponse::new(Box::pin(record))
    }
}

impl Handler<FinishJob> for RunActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: FinishJob, _: &mut Context<Self>) -> Self::Result {
        let FinishJob { stage, stage_id, outcome } = msg;
        let cmd = RunCommand::FinishStage { stage, stage_id, outcome };
        AtomicResponse::new(Box::pin(self.commit(cmd).map(move |result, _, _| {
            if let Err(e) = result {
                tracing::error!(%stage, error = %e, "cannot record the end of background work");
            }
        })))
    }
}

impl Handler<CancelRun> for RunActor {
    type Result = Reply<RunView>;

    #[tracing::instrument(name = "cancel", skip_all, fields(run_id = %self.state.run_id))]
    fn handle(&mut self, msg: CancelRun, _: &mut Context<Self>) -> Self::Result {
        self.commit_atomic(RunCommand::CancelRun { reason: msg.reason, by: msg.by })
    }
}

impl Handler<CreateRun> for RunActor {
    type Result = Reply<RunView>;

    fn handle(&mut self, msg: CreateRun, _: &mut Context<Self>) -> Self::Result {
        let CreateRun { name, profile_id, profile_hash, stage_graph } = msg;
        self.commit_atomic(RunCommand::CreateRun { name, profile_id, profile_hash, stage_graph })
    }
}

impl Handler<GetRun> for RunActor {
    type Result = Result<RunView, RunError>;

    fn handle(&mut self, _: GetRun, _: &mut Context<Self>) -> Self::Result {
        if self.state.exists() {
            Ok(RunView::from(&self.state))
        } else {
            Err(RunError::NotFound(self.state.run_id))
        }
    }
}

impl Handler<LockStage> for RunActor {
    type Result = Reply<RunView>;

    #[tracing::instrument(name = "lock", skip_all, fields(run_id = %self.state.run_id, stage = %msg.request.stage()))]
    fn handle(&mut self, msg: LockStage, _: &mut Context<Self>) -> Self::Result {
        let upstream = match upstream_inputs(&self.state, msg.request.stage()) {
            Ok(upstream) => upstream,
            Err(rejection) => return ready(Err(rejection.into())),
        };
        let deps = self.deps.clone();
        let snapshot = self.state.clone();
        let prepare = async move {
            tokio::task::spawn_blocking(move || {
                let (stage, started) = (msg.request.stage(), std::time::Instant::now());
                let prepared = prepare_lock(&deps, &snapshot, msg.request, upstream);
                if !stage.runs_in_background() && prepared.is_ok() {
                    deps.metrics.stage_took(stage, started.elapsed().as_secs_f64());
                }
                prepared
            })
            .await
        };
        AtomicResponse::new(Box::pin(prepare.into_actor(self).then(|prepared, act, _| {
            match prepared.map_err(RunError::from).and_then(|r| r) {
                Ok(cmd) => act.commit(cmd),
                Err(e) => Box::pin(fut::ready(Err(e))),
            }
        })))
    }
}

impl Handler<UnlockStage> for RunActor {
    type Result = Reply<RunView>;

    #[tracing::instrument(name = "unlock", skip_all, fields(run_id = %self.state.run_id, stage = %msg.stage))]
    fn handle(&mut self, msg: UnlockStage, _: &mut Context<Self>) -> Self::Result {
        self.commit_atomic(RunCommand::UnlockStage { stage: msg.stage })
    }
}

impl Handler<SkipStage> for RunActor {
    type Result = Reply<RunView>;

    #[tracing::instrument(name = "skip", skip_all, fields(run_id = %self.state.run_id, stage = %msg.stage))]
    fn handle(&mut self, msg: SkipStage, _: &mut Context<Self>) -> Self::Result {
        self.commit_atomic(RunCommand::SkipStage { stage: msg.stage })
    }
}

impl Handler<CompleteStage> for RunActor {
    type Result = Reply<RunView>;

    #[tracing::instrument(name = "complete", skip_all, fields(run_id = %self.state.run_id, stage = %msg.stage))]
    fn handle(&mut self, msg: CompleteStage, _: &mut Context<Self>) -> Self::Result {
        let work_in_progress = self.jobs.contains_key(&msg.stage);
        self.commit_atomic(RunCommand::CompleteStage { stage: msg.stage, work_in_progress })
    }
}

impl Handler<DeleteRun> for RunActor {
    type Result = Reply<RunView>;

    #[tracing::instrument(name = "delete", skip_all, fields(run_id = %self.state.run_id))]
    fn handle(&mut self, _: DeleteRun, _: &mut Context<Self>) -> Self::Result {
        self.commit_atomic(RunCommand::DeleteRun)
    }
}

impl Handler<GetArtifact> for RunActor {
    type Result = ResponseFuture<Result<StageArtifact, RunError>>;

    fn handle(&mut self, msg: GetArtifact, _: &mut Context<Self>) -> Self::Result {
        let found = self.locked_artifact(msg.stage);
        let artifacts = self.deps.artifacts.clone();
        Box::pin(async move {
            let (stage_id, artifact, inputs) = found?;
            let reference = artifact.clone();
            let (content, result) = tokio::task::spawn_blocking(move || {
                Ok::<_, dat_store::ArtifactError>((
                    artifacts.read(&reference)?,
                    artifacts.read_beside(&reference, dat_contracts::bundle::parse_files::RESULT)?,
                ))
            })
            .await??;
            Ok(StageArtifact { stage: msg.stage, stage_id, artifact, inputs, content, result })
        })
    }
}

impl RunActor {
    fn locked_artifact(
        &self,
        stage: Stage,
    ) -> Result<(StageId, dat_events::ArtifactRef, Map<String, Value>), RunError> {
        if !self.state.exists() {
            return Err(RunError::NotFound(self.state.run_id));
        }
        let stage_id = self.state.status(stage).stage_id.clone().ok_or(RunError::NoArtifact(stage))?;
        let known = self.state.artifacts.get(&stage_id).ok_or(RunError::NoArtifact(stage))?;
        Ok((stage_id, known.artifact.clone(), known.inputs.clone()))
    }
}

impl Handler<Shutdown> for RunActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        // Atomic handlers finish before this message is handled, so no append is cut short.
        // Background work stops at its next boundary; its checkpoints are in the log, and the
        // stage resumes when the run is next loaded.
        let stages: Vec<Stage> = self.jobs.keys().copied().collect();
        stages.into_iter().for_each(|s| self.stop_job(s));
        ctx.stop();
    }
}

//! Running a stage's background work for a run actor: the work runs on the blocking pool with a
//! snapshot of the run; its reporter turns checkpoints into durable events through the actor
//! (so the actor stays the run's only writer) and its end into a `FinishJob` message.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix::Addr;
use dat_contracts::{Stage, StageId};
use dat_events::{ArtifactRef, RunState, StageOutcome};

use crate::progress::Progress;
use crate::run::actor::{RunActor, RunDeps};
use crate::run::messages::{FinishJob, RecordCheckpoints, TableDone};
use crate::stages::{Job, JobEnd, Reporter, StageContext, Stopped};

/// The reporter a job gets.
struct ActorReporter {
    addr: Addr<RunActor>,
    deps: Arc<RunDeps>,
    stage: Stage,
    stage_id: StageId,
    stop: Arc<AtomicBool>,
    /// Tables finished and not yet taken by the actor: one message per table, but the actor
    /// records all that wait at once, at most every 20 ms, so tables finished meanwhile share
    /// one append.
    waiting: Arc<Mutex<Vec<TableDone>>>,
}

impl Reporter for ActorReporter {
    fn checkpoint(&self, table_id: &str, rows: u64, artifact: ArtifactRef) -> Result<(), Stopped> {
        // A run actor that stopped (its log failed, the daemon is going down) records nothing.
        if self.stop.load(Ordering::SeqCst) || !self.addr.connected() {
            self.stop.store(true, Ordering::SeqCst);
            return Err(Stopped);
        }
        let done = TableDone { table_id: table_id.to_owned(), rows, artifact };
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).push(done);
        self.addr.do_send(RecordCheckpoints {
            stage: self.stage,
            stage_id: self.stage_id.clone(),
            waiting: self.waiting.clone(),
            stop: self.stop.clone(),
        });
        Ok(())
    }

    fn progress(&self, progress: Progress) {
        self.deps.progress.publish(progress);
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Starts the background work of `stage` for the lock in `run`; returns its stop flag.
/// Does nothing (and returns `None`) when the stage has no background work.
pub(crate) fn spawn(addr: Addr<RunActor>, deps: Arc<RunDeps>, run: RunState, stage: Stage) -> Option<Arc<AtomicBool>> {
    let executor = deps.stages.get(stage);
    executor.background()?;
    let stage_id = run.status(stage).stage_id.clone()?;
    let stop = Arc::new(AtomicBool::new(false));
    let reporter = ActorReporter {
        addr: addr.clone(),
        deps: deps.clone(),
        stage,
        stage_id: stage_id.clone(),
        stop: stop.clone(),
        waiting: Arc::default(),
    };
    tokio::task::spawn_blocking(move || {
        let profile = deps.profiles.of_run(&run);
        let outcome = match (run.artifacts.get(&stage_id), profile) {
            (None, _) => StageOutcome::Failed("the stage's artifact is not recorded".into()),
            (_, Err(e)) => StageOutcome::Failed(e.to_string()),
            (Some(known), Ok(profile)) => {
                let job = Job {
                    ctx: StageContext {
                        run_id: run.run_id,
                        run: &run,
                        workspace: &deps.workspace,
                        artifacts: &deps.artifacts,
                        profile: profile.as_deref(),
                    },
                    stage,
                    stage_id: &stage_id,
                    inputs: &known.inputs,
                    artifact: &known.artifact,
                    metrics: &deps.metrics,
                };
                let work = executor.background();
                let started = std::time::Instant::now();
                let result = catch_unwind(AssertUnwindSafe(|| work.map(|w| w.run(&job, &reporter))));
                if matches!(result, Ok(Some(Ok(JobEnd::Completed)))) {
                    deps.metrics.stage_took(stage, started.elapsed().as_secs_f64());
                }
                match result {
                    Ok(Some(Ok(JobEnd::Completed))) | Ok(None) => StageOutcome::Completed,
                    Ok(Some(Ok(JobEnd::Cancelled))) => StageOutcome::Cancelled,
                    Ok(Some(Err(e))) => StageOutcome::Failed(e.to_string()),
                    Err(_) => StageOutcome::Failed("internal error in the stage's work; see the daemon log".into()),
                }
            }
        };
        tracing::info!(run_id = %run.run_id, %stage, ?outcome, "background work ended");
        addr.do_send(FinishJob { stage, stage_id, outcome });
    });
    Some(stop)
}

//! The run actor's housekeeping: work found interrupted when a run is loaded (recorded, then
//! resumed unless resuming is off), and cleanups of the run's files (planned, applied exactly as
//! listed, recorded). Same rules as every handler: decide, append, evolve, reply.

use actix::prelude::*;
use dat_contracts::Stage;
use dat_events::{RunCommand, RunView};

use crate::run::actor::RunActor;
use crate::run::error::RunError;
use crate::run::messages::*;

impl RunActor {
    /// Records each interrupted stage in `stages`, then resumes it when the daemon resumes work.
    fn recover(&mut self, mut stages: Vec<Stage>) -> ResponseActFuture<Self, Result<RunView, RunError>> {
        let Some(stage) = stages.pop() else {
            return Box::pin(fut::ready(Ok(RunView::from(&self.state))));
        };
        // The lock that resumes it: the same inputs, so the same stage ID and artifact, whose
        // checkpoints the work reuses.
        let resume = self.state.status(stage).stage_id.clone().and_then(|stage_id| {
            let known = self.state.artifacts.get(&stage_id)?;
            let (inputs, artifact) = (known.inputs.clone(), known.artifact.clone());
            Some(RunCommand::LockStage { stage, stage_id, inputs, artifact, completed: false, reused: true })
        });
        let recorded = self.commit(RunCommand::RecordInterruption { stage });
        Box::pin(recorded.then(move |result, act, _| -> ResponseActFuture<Self, Result<RunView, RunError>> {
            if let Err(e) = result {
                return Box::pin(fut::ready(Err(e)));
            }
            let resumed = match resume.filter(|_| act.deps.resume) {
                Some(cmd) => act.commit(cmd),
                None => Box::pin(fut::ready(Ok(RunView::from(&act.state)))),
            };
            Box::pin(resumed.then(move |result, act, _| -> ResponseActFuture<Self, Result<RunView, RunError>> {
                match result {
                    Ok(_) => act.recover(stages),
                    Err(e) => Box::pin(fut::ready(Err(e))),
                }
            }))
        }))
    }
}

impl Handler<Cleanup> for RunActor {
    type Result = AtomicResponse<Self, Result<CleanupReport, RunError>>;

    /// Plans on the blocking pool; applied, deletes exactly what the plan lists, then records
    /// what went (also when a deletion failed part-way: what did go is recorded).
    fn handle(&mut self, msg: Cleanup, _: &mut Context<Self>) -> Self::Result {
        let Cleanup { targets, dry_run, older_than } = msg;
        let data_dir = self.deps.artifacts.data_dir().to_path_buf();
        let state = self.state.clone();
        let work = async move {
            tokio::task::spawn_blocking(move || {
                let plan = crate::cleanup::plan(&data_dir, &state, &targets, older_than)?;
                let applied = (!dry_run).then(|| crate::cleanup::apply(&data_dir, &plan));
                Ok::<_, RunError>((plan, applied))
            })
            .await
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).then(move |done, act, _| {
            let done = done.map_err(RunError::from).and_then(|r| r);
            let (plan, applied) = match done {
                Err(e) => return Box::pin(fut::ready(Err(e))) as ResponseActFuture<Self, _>,
                Ok((plan, None)) => return Box::pin(fut::ready(Ok(CleanupReport { dry_run, plan }))),
                Ok((plan, Some(applied))) => (plan, applied),
            };
            let (removed, failed) = match applied {
                Ok(removed) => (removed, None),
                Err((removed, e)) => (removed, Some(e)),
            };
            let gone = |id: &dat_contracts::StageId| {
                removed
                    .iter()
                    .any(|r| r.path.ends_with(&format!("/{id}")) || r.path.ends_with(&format!("/{id}/checkpoints")))
            };
            let cmd = RunCommand::RecordCleanup {
                targets: plan.targets.iter().map(|t| t.as_str().to_owned()).collect(),
                artifacts: plan.artifacts.iter().filter(|id| gone(id)).cloned().collect(),
                checkpoints: plan.checkpoints.iter().filter(|id| gone(id)).cloned().collect(),
                removed,
            };
            Box::pin(act.commit(cmd).map(move |committed, _, _| {
                committed?;
                match failed {
                    Some(e) => Err(crate::cleanup::CleanupError::Io(e).into()),
                    None => Ok(CleanupReport { dry_run, plan }),
                }
            }))
        })))
    }
}

impl Handler<RecoverInterrupted> for RunActor {
    type Result = AtomicResponse<Self, Result<RunView, RunError>>;

    /// Background work the log says is running, in an actor that was just loaded, is work the
    /// daemon lost when it stopped: each such stage gets an `Interrupted` event, then (unless
    /// the daemon was started with `--no-resume`) a lock with the same inputs that resumes it.
    fn handle(&mut self, _: RecoverInterrupted, _: &mut Context<Self>) -> Self::Result {
        let running: Vec<Stage> = self.state.running_stages().map(|(stage, _)| stage).collect();
        AtomicResponse::new(self.recover(running))
    }
}

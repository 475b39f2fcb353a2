//! The registry: the only place run actors are created, found, or rehydrated from the log after
//! a restart; `housekeeping` holds what it does for the daemon's operations (interrupted work
//! at start, cleanup, gc). Run actors live on one arbiter (thread) of their own, so HTTP workers stopping at
//! shutdown never cut an append short.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use dat_contracts::{LockRequest, RunId, Stage, StageGraphConfig};
use dat_events::{replay, RawEnvelope, RunState, RunView, Seq};
use dat_store::{ArtifactStore, EventLog, FingerprintCache};

use crate::bridge::AppendSignal;
use crate::progress::{Progress, ProgressHub};
use crate::run::messages::*;
use crate::run::{RunActor, RunDeps, RunError, StageArtifact};
use crate::stages::Stages;
use crate::workspace::Workspace;

mod housekeeping;

pub use housekeeping::{GcReport, GcRun};

/// What the registry needs to run runs.
pub struct RegistryConfig {
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// Artifact folders.
    pub artifacts: ArtifactStore,
    /// The workspace files are read from.
    pub workspace: Workspace,
    /// Stage executors.
    pub stages: Stages,
    /// The rules new runs are created with (existing runs keep the ones they recorded).
    pub stage_graph: StageGraphConfig,
    /// Where background work publishes progress.
    pub progress: ProgressHub,
    /// The profiles, and every version runs were made with.
    pub profiles: Arc<crate::profiles::ProfileCatalog>,
    /// Whether background work found interrupted (running when the daemon last stopped) is
    /// resumed from its checkpoints; otherwise its stage is left unlocked (`--no-resume`).
    pub resume: bool,
    /// Discovery's fingerprint cache, which `gc` prunes of files that are gone.
    pub fingerprints: Arc<dyn FingerprintCache>,
    /// What the daemon counts.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs with this status (see [`run_status`]).
    pub status: Option<String>,
    /// At most this many (default 50).
    pub limit: Option<usize>,
    /// Only runs created before this one (for paging: pass the last ID of the previous page).
    pub before: Option<RunId>,
}

/// A run's coarse status for listing: `completed` (export done), `running` (a stage works in
/// the background), `open` (anything else).
pub fn run_status(view: &RunView) -> &'static str {
    if view.current_stage.is_none() {
        "completed"
    } else if view.stages.values().any(|s| s.running) {
        "running"
    } else {
        "open"
    }
}

/// Finds or rehydrates run actors.
pub struct Registry {
    deps: Arc<RunDeps>,
    stage_graph: StageGraphConfig,
    arbiter: Arbiter,
    /// Live actors. A tokio mutex, held across rehydration, so two first uses of the same run
    /// can never start two writers.
    runs: tokio::sync::Mutex<HashMap<RunId, Addr<RunActor>>>,
    pub(crate) fingerprints: Arc<dyn FingerprintCache>,
}

impl Registry {
    /// A registry; must be called inside an actix system.
    pub fn new(config: RegistryConfig) -> Self {
        Self::with_append_signal(config, AppendSignal::default())
    }

    /// A registry whose run actors poke `appended` after every successful append (the NATS
    /// bridge waits on it). A separate constructor so that callers without a bridge keep
    /// building [`RegistryConfig`] as before.
    pub fn with_append_signal(config: RegistryConfig, appended: AppendSignal) -> Self {
        let RegistryConfig {
            log,
            artifacts,
            workspace,
            stages,
            stage_graph,
            progress,
            profiles,
            resume,
            fingerprints,
            metrics,
        } = config;
        Registry {
            deps: Arc::new(RunDeps {
                log,
                artifacts,
                workspace,
                stages,
                progress,
                appended,
                profiles,
                resume,
                metrics,
            }),
            fingerprints,
            stage_graph,
            arbiter: Arbiter::new(),
            runs: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    fn start(&self, state: RunState) -> Addr<RunActor> {
        let deps = self.deps.clone();
        RunActor::start_in_arbiter(&self.arbiter.handle(), move |_| RunActor::new(state, deps))
    }

    async fn replay(&self, run: RunId) -> Result<RunState, RunError> {
        let log = self.deps.log.clone();
        let events = tokio::task::spawn_blocking(move || log.read(run, Seq(0))).await??;
        Ok(replay(run, &events))
    }

    /// Creates a run with the registry's stage graph and, when given, a profile's version
    /// (`(id, content hash)`, resolved by the caller from the [`crate::profiles::ProfileCatalog`]).
    ///
    /// # Errors
    /// [`RunError`] when the creation cannot be appended.
    pub async fn create(&self, name: Option<String>, profile: Option<(String, String)>) -> Result<RunView, RunError> {
        let run = RunId::from_uuid(uuid::Uuid::now_v7()).map_err(|e| RunError::Internal(e.to_string()))?;
        let addr = self.start(RunState::new(run));
        let (profile_id, profile_hash) = profile.unzip();
        let view =
            addr.send(CreateRun { name, profile_id, profile_hash, stage_graph: self.stage_graph.clone() }).await??;
        self.runs.lock().await.insert(run, addr);
        Ok(view)
    }

    /// The live actor of `run`, rehydrated from the log on first use.
    async fn actor(&self, run: RunId) -> Result<Addr<RunActor>, RunError> {
        let mut runs = self.runs.lock().await;
        if let Some(addr) = runs.get(&run).filter(|a| a.connected()) {
            return Ok(addr.clone());
        }
        let state = self.replay(run).await?;
        if !state.exists() {
            return Err(RunError::NotFound(run));
        }
        let interrupted = state.running_stages().next().is_some();
        let addr = self.start(state);
        if interrupted {
            // Before anything else happens to the run: its running work was interrupted.
            addr.send(RecoverInterrupted).await??;
        }
        runs.insert(run, addr.clone());
        Ok(addr)
    }

    /// The run resource.
    ///
    /// # Errors
    /// [`RunError::NotFound`] for unknown or deleted runs.
    pub async fn get(&self, run: RunId) -> Result<RunView, RunError> {
        self.actor(run).await?.send(GetRun).await?
    }

    /// The run as of `seq` (the state its first `seq` events fold to): what `dat replay --until`
    /// shows, for the console's history.
    ///
    /// # Errors
    /// [`RunError::NotFound`] for unknown runs (or ones not created by then).
    pub async fn view_at(&self, run: RunId, seq: Seq) -> Result<RunView, RunError> {
        self.actor(run).await?;
        let log = self.deps.log.clone();
        let events = tokio::task::spawn_blocking(move || log.read(run, Seq(0))).await??;
        let upto: Vec<_> = events.into_iter().filter(|e| e.seq <= seq).collect();
        let state = replay(run, &upto);
        if state.created_at.is_none() {
            return Err(RunError::NotFound(run));
        }
        Ok(RunView::from(&state))
    }

    /// Locks a stage.
    ///
    /// # Errors
    /// [`RunError`] when a gate, the request or the work refuses.
    pub async fn lock(&self, run: RunId, request: LockRequest) -> Result<RunView, RunError> {
        self.actor(run).await?.send(LockStage { request }).await?
    }

    /// Unlocks a stage and its cascade.
    ///
    /// # Errors
    /// [`RunError`] for unknown runs or append failures.
    pub async fn unlock(&self, run: RunId, stage: Stage) -> Result<RunView, RunError> {
        self.actor(run).await?.send(UnlockStage { stage }).await?
    }

    /// Skips an optional stage.
    ///
    /// # Errors
    /// [`RunError`] for required stages, unmet gates, unknown runs.
    pub async fn skip(&self, run: RunId, stage: Stage) -> Result<RunView, RunError> {
        self.actor(run).await?.send(SkipStage { stage }).await?
    }

    /// Marks a locked stage completed.
    ///
    /// # Errors
    /// [`RunError`] when the stage is not locked.
    pub async fn complete(&self, run: RunId, stage: Stage) -> Result<RunView, RunError> {
        self.actor(run).await?.send(CompleteStage { stage }).await?
    }

    /// Deletes a run (its log and artifacts stay).
    ///
    /// # Errors
    /// [`RunError`] for unknown runs.
    pub async fn delete(&self, run: RunId) -> Result<(), RunError> {
        let addr = self.actor(run).await?;
        addr.send(DeleteRun).await??;
        addr.do_send(Shutdown);
        self.runs.lock().await.remove(&run);
        Ok(())
    }

    /// Asks the run's running stages to stop at their next boundary.
    ///
    /// # Errors
    /// [`RunError::Rejected`] with `NothingRunning` when no stage runs.
    pub async fn cancel(&self, run: RunId, reason: Option<String>, by: Option<String>) -> Result<RunView, RunError> {
        self.actor(run).await?.send(CancelRun { reason, by }).await?
    }

    /// Live progress of every run's background work.
    pub fn progress(&self) -> tokio::sync::broadcast::Receiver<Progress> {
        self.deps.progress.subscribe()
    }

    /// The artifact of a locked stage.
    ///
    /// # Errors
    /// [`RunError::NoArtifact`] when the stage is not locked or was skipped.
    pub async fn artifact(&self, run: RunId, stage: Stage) -> Result<StageArtifact, RunError> {
        self.actor(run).await?.send(GetArtifact { stage }).await?
    }

    /// The run's events after `after`, as stored (the audit log).
    ///
    /// # Errors
    /// [`RunError::NotFound`] for unknown or deleted runs.
    pub async fn events(&self, run: RunId, after: Seq) -> Result<Vec<RawEnvelope>, RunError> {
        self.actor(run).await?;
        let log = self.deps.log.clone();
        Ok(tokio::task::spawn_blocking(move || log.read_raw(run, after)).await??)
    }

    /// Runs, newest first.
    ///
    /// # Errors
    /// [`RunError`] when the log cannot be read.
    pub async fn list(&self, filter: RunFilter) -> Result<Vec<RunView>, RunError> {
        let log = self.deps.log.clone();
        let ids = tokio::task::spawn_blocking(move || log.list_runs()).await??;
        let limit = filter.limit.unwrap_or(50);
        let mut views = Vec::new();
        for run in ids.into_iter().filter(|id| filter.before.is_none_or(|b| *id < b)) {
            if views.len() >= limit {
                break;
            }
            let live = self.runs.lock().await.get(&run).filter(|a| a.connected()).cloned();
            let view = match live {
                Some(addr) => addr.send(GetRun).await?,
                None => {
                    let state = self.replay(run).await?;
                    if state.exists() {
                        Ok(RunView::from(&state))
                    } else {
                        Err(RunError::NotFound(run))
                    }
                }
            };
            let Ok(view) = view else { continue }; // deleted
            if filter.status.as_deref().is_none_or(|s| s == run_status(&view)) {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// Stops every run actor after its current message, then flushes the log. Called once at
    /// shutdown, after HTTP has stopped accepting requests.
    ///
    /// # Errors
    /// [`RunError::Append`] when the final flush fails.
    pub async fn shutdown(&self) -> Result<(), RunError> {
        let actors: Vec<_> = self.runs.lock().await.drain().map(|(_, a)| a).collect();
        for addr in actors {
            let _ = addr.send(Shutdown).await;
        }
        self.arbiter.stop();
        let log = self.deps.log.clone();
        tokio::task::spawn_blocking(move || log.flush()).await??;
        Ok(())
    }
}

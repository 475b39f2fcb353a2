//! What the registry does for the daemon's operations: load the runs whose work a stop
//! interrupted (at start, before anything else), clean up a run's files, and `gc` across runs.

use dat_contracts::RunId;

use super::Registry;
use crate::run::messages::{Cleanup, CleanupReport};
use crate::run::RunError;

/// What `gc` listed or deleted, run by run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GcReport {
    /// Whether it only listed.
    pub dry_run: bool,
    /// Each run with something to clean up.
    pub runs: Vec<GcRun>,
    /// Bytes in all.
    pub bytes: u64,
    /// Cached fingerprints of files that no longer exist (forgotten when applied).
    pub fingerprints: Vec<String>,
}

/// One run's part of a [`GcReport`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct GcRun {
    /// The run.
    pub run_id: RunId,
    /// Its cleanup.
    #[serde(flatten)]
    pub cleanup: CleanupReport,
}

impl Registry {
    /// Loads every run whose background work was running when the daemon last stopped, which
    /// records each interruption and resumes it (see [`RecoverInterrupted`]); returns how many.
    /// Called once at start, before the daemon serves anything.
    ///
    /// # Errors
    /// [`RunError`] when the log cannot be read or an interruption cannot be recorded.
    pub async fn recover_interrupted(&self) -> Result<usize, RunError> {
        let log = self.deps.log.clone();
        let runs = tokio::task::spawn_blocking(move || log.list_runs()).await??;
        let mut recovered = 0;
        for run in runs {
            let state = self.replay(run).await?;
            if state.exists() && state.running_stages().next().is_some() {
                self.actor(run).await?;
                recovered += 1;
            }
        }
        Ok(recovered)
    }

    /// Lists (`dry_run`) or deletes the run's files a cleanup of `targets` takes.
    ///
    /// # Errors
    /// [`RunError`] for unknown runs, a whole-run cleanup while work runs, or I/O.
    pub async fn cleanup(
        &self,
        run: RunId,
        targets: Vec<crate::cleanup::CleanupTarget>,
        dry_run: bool,
        older_than: Option<std::time::Duration>,
    ) -> Result<CleanupReport, RunError> {
        self.actor(run).await?.send(Cleanup { targets, dry_run, older_than }).await?
    }

    /// Housekeeping of the whole data dir: every live run's default cleanup (deleted runs keep
    /// their artifacts as their audit trail; exported datasets are never touched), limited to
    /// what is older than `older_than`, and the fingerprints of files that are gone. Applied
    /// (`dry_run` false), each run's log records its `CleanupPerformed`.
    ///
    /// # Errors
    /// [`RunError`] when the log cannot be read or a cleanup fails.
    pub async fn gc(&self, dry_run: bool, older_than: Option<std::time::Duration>) -> Result<GcReport, RunError> {
        let log = self.deps.log.clone();
        let runs = tokio::task::spawn_blocking(move || log.list_runs()).await??;
        let mut report = GcReport { dry_run, runs: vec![], bytes: 0, fingerprints: vec![] };
        for run in runs {
            if !self.replay(run).await?.exists() {
                continue;
            }
            let cleanup = self.cleanup(run, vec![], dry_run, older_than).await?;
            if !cleanup.plan.items.is_empty() {
                report.bytes += cleanup.plan.bytes;
                report.runs.push(GcRun { run_id: run, cleanup });
            }
        }
        let (cache, workspace) = (self.fingerprints.clone(), self.deps.workspace.clone());
        report.fingerprints = tokio::task::spawn_blocking(move || -> Result<Vec<String>, RunError> {
            let mut gone = Vec::new();
            for path in cache.paths()? {
                let exists = dat_contracts::WorkspacePath::parse(&path)
                    .ok()
                    .and_then(|p| workspace.resolve(&p).ok())
                    .is_some_and(|disk| disk.exists());
                if !exists {
                    gone.push(path);
                }
            }
            if !dry_run {
                cache.forget(&gone)?;
            }
            Ok(gone)
        })
        .await??;
        Ok(report)
    }
}

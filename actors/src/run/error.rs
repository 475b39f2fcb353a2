//! Everything a run operation can fail with, classified so the HTTP layer maps each to one
//! status and code (see `bin/http/error.rs`).

use dat_contracts::{InputError, RunId, Stage};
use dat_events::Rejection;
use dat_store::{AppendError, ArtifactError, LogReadError};

use crate::stages::StageError;

/// Why a run operation failed. Nothing was appended in any case.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No such run (or it was deleted). HTTP 404 `run_not_found`.
    #[error("run {0} not found")]
    NotFound(RunId),
    /// The run's rules refused the command. HTTP 400/404/409 by rejection.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The lock body is invalid. HTTP 400.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The stage's work could not be done. HTTP 400 (request) or 500 (storage).
    #[error(transparent)]
    Stage(#[from] StageError),
    /// A stage that has no artifact (not locked, or skipped). HTTP 404 `artifact_not_found`.
    #[error("stage `{0}` has no artifact: it is not locked, or was skipped")]
    NoArtifact(Stage),
    /// Appending failed. HTTP 409 for a conflict, 500 otherwise.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// Reading the log failed. HTTP 500.
    #[error(transparent)]
    Read(#[from] LogReadError),
    /// Reading an artifact failed. HTTP 404/409/500 by kind.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A cleanup cannot be planned or applied. HTTP 409 (the run's work runs) or 500.
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    /// The run actor is gone (the daemon is shutting down). HTTP 503: retry later.
    #[error("the run is not available: the daemon is shutting down")]
    Unavailable,
    /// A worker task failed unexpectedly (a bug); logged. HTTP 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<actix::MailboxError> for RunError {
    fn from(_: actix::MailboxError) -> Self {
        RunError::Unavailable
    }
}

impl From<tokio::task::JoinError> for RunError {
    fn from(e: tokio::task::JoinError) -> Self {
        RunError::Internal(e.to_string())
    }
}

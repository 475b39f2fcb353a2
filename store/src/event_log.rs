//! The event log contract: per-run append with optimistic concurrency, durable before it
//! returns, plus one global order across runs that subscribers (the NATS bridge) tail from a
//! saved cursor.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use dat_contracts::RunId;
use dat_events::{Envelope, RawEnvelope, Seq};

use crate::group_commit::Receipt;

/// Position of an event in the global append order (across all runs). Increasing in append
/// order; may have gaps. Subscribers save the last position they handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlobalPos(pub u64);

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer got there first: reload the run, decide again. Nothing was written.
    /// HTTP 409.
    #[error("run {run}: expected last seq {expected}, log has {actual}")]
    Conflict {
        /// The run.
        run: RunId,
        /// The seq the caller expected to be last.
        expected: Seq,
        /// The seq that is last.
        actual: Seq,
    },
    /// The envelopes do not continue the run's log (wrong run or seq). A bug in the caller.
    /// Nothing was written.
    #[error("run {run}: envelopes must continue the log at seq {next}")]
    OutOfSequence {
        /// The run.
        run: RunId,
        /// The seq the first envelope must have.
        next: Seq,
    },
    /// The storage failed; logged with its cause. HTTP 500. When writing or syncing the log
    /// failed, what reached the disk is unknown (as after any failed `fsync`): the log refuses
    /// appends until it is opened again, and the appends that failed are then found in it, or
    /// not, whole.
    #[error("event log unavailable")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why reading the event log (or a cursor, or the fingerprint cache) failed.
#[derive(Debug, thiserror::Error)]
pub enum LogReadError {
    /// A stored event cannot be decoded (damaged log, or written by a newer dat). Log it; HTTP 500.
    #[error("stored event {key} cannot be read: {reason}")]
    Corrupt {
        /// Which event (`run:seq` or a global position).
        key: String,
        /// Why.
        reason: String,
    },
    /// The storage failed; logged with its cause. HTTP 500.
    #[error("event log unavailable")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why the log could not be opened. Shown at startup; exit code 2 for `Locked`.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (a running daemon) holds the data dir: talk to it instead (`--server`).
    #[error("the event log in {path} is in use by another dat process (a running daemon?)")]
    Locked {
        /// The log folder.
        path: String,
    },
    /// The log was written by a later dat, in a layout this one does not read: upgrade dat.
    #[error("the event log in {path} has layout {found}, written by a later dat; this one reads up to layout {supported}: upgrade dat")]
    NewerFormat {
        /// The log folder.
        path: String,
        /// The layout found.
        found: u64,
        /// The latest layout this dat reads.
        supported: u64,
    },
    /// The folder cannot be created or read.
    #[error("cannot open the event log in {path}")]
    Backend {
        /// The log folder.
        path: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// An append submitted with [`EventLog::submit`]: resolves once its events are durable, or with
/// the error that keeps them from being so.
#[must_use = "the events are not known durable until this resolves"]
pub struct Submitted(Option<Receipt>);

impl Submitted {
    /// An append that was durable when submitted (or needs no disk).
    pub fn done() -> Self {
        Submitted(None)
    }

    /// An append that is durable once `receipt` resolves.
    pub(crate) fn pending(receipt: Receipt) -> Self {
        Submitted(Some(receipt))
    }
}

impl Future for Submitted {
    type Output = Result<(), AppendError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(receipt) = self.0.as_mut() else { return Poll::Ready(Ok(())) };
        Pin::new(receipt).poll(cx).map(|answer| match answer {
            Ok(Ok(())) => Ok(()),
            Ok(Err(flush)) => Err(AppendError::Backend(flush.into())),
            Err(_) => Err(AppendError::Backend("the event log closed before the append was durable".into())),
        })
    }
}

/// Checks that `events` belong to `run` and follow `expected` one by one (what every log
/// refuses before looking at its stored head).
///
/// # Errors
/// [`AppendError::OutOfSequence`] otherwise.
pub(crate) fn check_order(run: RunId, expected: Seq, events: &[Envelope]) -> Result<(), AppendError> {
    let in_order = events.iter().enumerate().all(|(i, e)| e.run_id == run && e.seq.0 == expected.0 + 1 + i as u64);
    if in_order {
        Ok(())
    } else {
        Err(AppendError::OutOfSequence { run, next: expected.next() })
    }
}

/// An append-only, per-run event log with a global order.
///
/// One writer per run (its actor) is the expected use; `append` still checks the expected seq
/// so that a second writer can never overwrite or interleave silently.
pub trait EventLog: Send + Sync {
    /// Appends `events` (seq `expected + 1`, `+ 2`, …) to `run` if its last seq is `expected`.
    /// Returns only once the events are durable (unless durability was turned off).
    ///
    /// # Errors
    /// [`AppendError::Conflict`] when the last seq differs; [`AppendError::Backend`] on I/O failure.
    fn append(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<(), AppendError>;

    /// [`Self::append`] without a thread waiting for the disk: the conflict check and the
    /// events' place in the run and the global order are settled when this returns; the events
    /// are durable (and readable) once the [`Submitted`] resolves `Ok`. For callers that must not
    /// block a thread per append in flight (run actors). The default appends and waits, for
    /// logs with no disk to wait for.
    ///
    /// # Errors
    /// As [`Self::append`]: at once for a conflict, through the [`Submitted`] for a failed flush.
    fn submit(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<Submitted, AppendError> {
        self.append(run, expected, events).map(|()| Submitted::done())
    }

    /// The events of `run` with seq greater than `after`, in order, as stored (not upcast).
    ///
    /// # Errors
    /// [`LogReadError`] on I/O failure or undecodable bytes.
    fn read_raw(&self, run: RunId, after: Seq) -> Result<Vec<RawEnvelope>, LogReadError>;

    /// The events of `run` with seq greater than `after`, upcast and typed.
    ///
    /// # Errors
    /// [`LogReadError`] on I/O failure or an event that cannot be upcast.
    fn read(&self, run: RunId, after: Seq) -> Result<Vec<Envelope>, LogReadError> {
        self.read_raw(run, after)?
            .into_iter()
            .map(|raw| {
                let key = raw.event_id.clone();
                Envelope::from_raw(raw).map_err(|e| LogReadError::Corrupt { key, reason: e.to_string() })
            })
            .collect()
    }

    /// The last seq of `run` (`Seq(0)` when it has no events).
    ///
    /// # Errors
    /// [`LogReadError::Backend`] on I/O failure.
    fn last_seq(&self, run: RunId) -> Result<Seq, LogReadError>;

    /// Every run that has events, newest first (run IDs are time-ordered); the profiles stream
    /// ([`RunId::PROFILES`]) is not a run and is not listed.
    ///
    /// # Errors
    /// [`LogReadError`] on I/O failure.
    fn list_runs(&self) -> Result<Vec<RunId>, LogReadError>;

    /// Up to `limit` durable events after `after` in global append order.
    ///
    /// # Errors
    /// [`LogReadError`] on I/O failure or undecodable bytes.
    fn read_global(&self, after: GlobalPos, limit: usize) -> Result<Vec<(GlobalPos, RawEnvelope)>, LogReadError>;

    /// The saved position of cursor `name` (`GlobalPos(0)` when never saved).
    ///
    /// # Errors
    /// [`LogReadError::Backend`] on I/O failure.
    fn load_cursor(&self, name: &str) -> Result<GlobalPos, LogReadError>;

    /// Saves cursor `name` durably.
    ///
    /// # Errors
    /// [`AppendError::Backend`] on I/O failure.
    fn save_cursor(&self, name: &str, pos: GlobalPos) -> Result<(), AppendError>;

    /// Makes everything written so far durable (used at shutdown).
    ///
    /// # Errors
    /// [`AppendError::Backend`] on I/O failure.
    fn flush(&self) -> Result<(), AppendError>;
}

//! The NATS bridge: tails the event log from its cursor in the store and publishes every event
//! to JetStream (stream `DAT_EVENTS`, subject `dat.events.<run_id>.<type_snake_case>`, payload
//! the envelope JSON as stored, header `Nats-Msg-Id: <event_id>`), in order, at least once;
//! live progress goes to core NATS `dat.progress.<run_id>`; and `dat events tail` reads back.
//!
//! Guarantees and how they hold:
//! - Never blocks the runs: run actors only poke an [`AppendSignal`]; the bridge reads the log.
//! - Never lost: the cursor is saved only up to what JetStream acknowledged, so after a crash
//!   or an outage the bridge re-publishes from there; the stream drops the re-sent copies by
//!   message id within [`DUPLICATE_WINDOW`].
//! - In order: one connection per session, no client-side reconnection, acks awaited in order
//!   (see [`connect`] and [`publisher`]).
//!
//! # Layout
//! - [`signal`]: [`AppendSignal`], the wake-up and unacknowledged count run actors update.
//! - [`status`]: [`BridgeStatus`], connected/disconnected/disabled and the lag, for health.
//! - [`url`]: [`NatsUrl`], a checked server address.
//! - [`subject`]: subject names and `type_snake_case`.
//! - [`cursor`]: the saved position (monotonic saves).
//! - [`connect`]: one session's client and the stream config.
//! - [`publisher`]: the publish/ack window of one session.
//! - [`supervise`]: reconnection with backoff, shutdown.
//! - [`progress`]: progress updates to core NATS.
//! - [`tail`]: the ordered consumer behind `dat events tail`.
//! - [`error`]: [`BridgeError`], NATS and store failures classified.

pub mod connect;
pub(crate) mod cursor;
pub mod error;
pub(crate) mod progress;
pub(crate) mod publisher;
pub mod signal;
pub mod status;
pub mod subject;
pub(crate) mod supervise;
pub mod tail;
pub mod url;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dat_store::{AppendError, EventLog, GlobalPos};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use connect::{stream_config, DUPLICATE_WINDOW};
pub use cursor::CURSOR_NAME;
pub use error::BridgeError;
pub use signal::AppendSignal;
pub use status::{BridgeStatus, NatsState};
pub use tail::{tail, TailOptions};
pub use url::{BadNatsUrl, NatsUrl};

use crate::progress::ProgressHub;
use cursor::Cursor;
use publisher::Publisher;

/// Tuning of the bridge. The defaults suit a daemon; tests and benchmarks change them.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    /// Publishes awaiting their ack at most. Bounds memory and the re-publish after a failure;
    /// 256 keeps the connection busy at local round-trip times.
    pub max_in_flight: usize,
    /// Events read from the log at once.
    pub batch: usize,
    /// How often the acknowledged position is saved in the store (`nats_cursor_save_ms`). Each
    /// save is an fsync, so it is not done per ack; a crash re-publishes at most this much,
    /// which the stream de-duplicates.
    pub cursor_save: Duration,
    /// Fallback poll of the log when no append signal arrives (appends by another process).
    pub poll: Duration,
    /// How long a publish may wait for its ack before the session is restarted.
    pub ack_timeout: Duration,
}

impl Default for BridgeSettings {
    fn default() -> Self {
        BridgeSettings {
            max_in_flight: 256,
            batch: 256,
            cursor_save: Duration::from_millis(200),
            poll: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(5),
        }
    }
}

/// What the bridge needs.
pub struct BridgeConfig {
    /// The server.
    pub url: NatsUrl,
    /// The log to tail; its cursor store keeps the bridge's position.
    pub log: Arc<dyn EventLog>,
    /// The signal the registry pokes after appends (pass the same one to the registry).
    pub signal: AppendSignal,
    /// Progress to forward to core NATS, if any.
    pub progress: Option<ProgressHub>,
    /// Tuning.
    pub settings: BridgeSettings,
}

/// The running bridge: its status, and how to stop it.
pub struct BridgeHandle {
    status: BridgeStatus,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    forwarder: Option<JoinHandle<()>>,
    cursor: Cursor,
}

/// Starts the bridge on the current tokio runtime. Loads the cursor and counts the events not
/// yet acknowledged (the health lag) before returning, so call it before anything appends:
/// appends from then on are counted by the signal.
///
/// # Errors
/// [`BridgeError::Store`] when the cursor or the log cannot be read.
pub async fn start(config: BridgeConfig) -> Result<BridgeHandle, BridgeError> {
    let BridgeConfig { url, log, signal, progress, settings } = config;
    let (cursor, acked, backlog) = {
        let log = log.clone();
        tokio::task::spawn_blocking(move || -> Result<_, BridgeError> {
            let (cursor, acked) = Cursor::load(log.clone()).map_err(BridgeError::store)?;
            Ok((cursor, acked, count_after(log.as_ref(), acked)?))
        })
        .await
        .map_err(BridgeError::store)??
    };
    signal.backlog(backlog);
    let status = BridgeStatus::enabled(signal.clone(), acked);
    let (stop, stop_rx) = watch::channel(false);
    let (current, current_rx) = watch::channel(None);
    let publisher = Publisher {
        log,
        cursor: cursor.clone(),
        signal,
        status: status.clone(),
        settings,
        acked,
        last_save: Instant::now(),
        saving: None,
    };
    let task = tokio::spawn(supervise::supervise(publisher, url, stop_rx, current));
    let forwarder = progress.map(|hub| tokio::spawn(progress::forward(hub.subscribe(), current_rx)));
    tracing::info!(acked = acked.0, backlog, "NATS bridge started");
    Ok(BridgeHandle { status, stop, task, forwarder, cursor })
}

/// Events in the log after `after` (read once at startup).
fn count_after(log: &dyn EventLog, mut after: GlobalPos) -> Result<u64, BridgeError> {
    let mut count = 0;
    loop {
        let batch = log.read_global(after, 4096).map_err(BridgeError::store)?;
        let Some((last, _)) = batch.last() else { return Ok(count) };
        after = *last;
        count += batch.len() as u64;
    }
}

impl BridgeHandle {
    /// The bridge's status (for health).
    pub fn status(&self) -> BridgeStatus {
        self.status.clone()
    }

    /// Stops the bridge: it publishes what is left and awaits the acks for up to `grace`, then
    /// the acknowledged position is saved. Call after the registry has shut down (nothing
    /// appends any more) and before exiting; the save flushes the store.
    ///
    /// # Errors
    /// [`AppendError`] when the final cursor save fails (events since the last save will be
    /// re-published and de-duplicated).
    pub async fn shutdown(mut self, grace: Duration) -> Result<(), AppendError> {
        self.stop.send_replace(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "NATS bridge did not drain in time");
            self.task.abort();
            let _ = (&mut self.task).await;
        }
        if let Some(forwarder) = self.forwarder.take() {
            forwarder.abort();
        }
        let acked = *self.status.acked().borrow();
        self.cursor.save(acked).await
    }
}

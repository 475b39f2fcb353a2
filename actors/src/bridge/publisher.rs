//! The publishing loop of one session: read the log after the acknowledged position in
//! batches, publish with a bounded window of acks in flight, await the acks in order, advance
//! the acknowledged position, and save it every `cursor_save` interval.
//!
//! Order: events are read in global log order (which contains each run's seq order) and sent
//! on one connection, so JetStream stores them in that order; acks are awaited front first, so
//! the acknowledged position never skips an event.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::Context;
use async_nats::HeaderMap;
use dat_events::RawEnvelope;
use dat_store::{AppendError, EventLog, GlobalPos};
use futures_util::FutureExt;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::bridge::cursor::Cursor;
use crate::bridge::error::BridgeError;
use crate::bridge::signal::AppendSignal;
use crate::bridge::status::BridgeStatus;
use crate::bridge::subject::event_subject;
use crate::bridge::BridgeSettings;

/// A published event waiting for its ack.
struct InFlight {
    pos: GlobalPos,
    ack: PublishAckFuture,
}

/// State that outlives sessions: the acknowledged position and when it was last saved.
pub(crate) struct Publisher {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) cursor: Cursor,
    pub(crate) signal: AppendSignal,
    pub(crate) status: BridgeStatus,
    pub(crate) settings: BridgeSettings,
    /// Highest position JetStream acknowledged; every event up to it is in the stream.
    pub(crate) acked: GlobalPos,
    pub(crate) last_save: Instant,
    /// A save running in the background: saves are fsyncs, so the pump does not wait for them;
    /// at most one runs at a time.
    pub(crate) saving: Option<JoinHandle<Result<(), AppendError>>>,
}

/// Whether shutdown was asked for (or its sender is gone, which means the same).
pub(crate) fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

impl Publisher {
    /// Publishes until the connection fails (`Err`) or shutdown is asked for and everything read
    /// is acknowledged (`Ok`).
    ///
    /// # Errors
    /// [`BridgeError`] on any NATS or store failure; the caller reconnects and calls again,
    /// which re-publishes from the acknowledged position.
    pub(crate) async fn pump(
        &mut self,
        js: &Context,
        lost: &Notify,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), BridgeError> {
        let window = self.settings.max_in_flight.max(1);
        let mut next = self.acked;
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(window);
        loop {
            // Refill when the window is at least half empty and the log has more than is in
            // flight (the signal's count is a hint; an idle pass always reads, so a missed
            // count only delays an event to the next pass).
            let unread = self.signal.unacked() > in_flight.len() as u64;
            if in_flight.is_empty() || (in_flight.len() <= window / 2 && unread) {
                let limit = (window - in_flight.len()).min(self.settings.batch);
                for (pos, raw) in self.read(next, limit).await? {
                    in_flight.push_back(InFlight { pos, ack: publish(js, &raw).await? });
                    next = pos;
                }
            }
            if let Some(front) = in_flight.pop_front() {
                front.ack.await.map_err(|e| BridgeError::jetstream("publish ack", e))?;
                self.on_acked(front.pos);
                continue;
            }
            // Idle: everything in the log is acknowledged.
            if stopping(stop) {
                return Ok(());
            }
            let due = self.save_due();
            if due.is_some_and(|d| d.is_zero()) {
                self.save_in_background();
            }
            let save_wait = due.filter(|d| !d.is_zero()).unwrap_or(self.settings.poll);
            tokio::select! {
                () = self.signal.wait() => {}
                () = lost.notified() => return Err(BridgeError::ConnectionLost),
                _ = stop.changed() => {}
                () = tokio::time::sleep(self.settings.poll.min(save_wait)) => {}
            }
        }
    }

    async fn read(&self, after: GlobalPos, limit: usize) -> Result<Vec<(GlobalPos, RawEnvelope)>, BridgeError> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.read_global(after, limit))
            .await
            .map_err(BridgeError::store)?
            .map_err(BridgeError::store)
    }

    fn on_acked(&mut self, pos: GlobalPos) {
        if pos > self.acked {
            self.acked = pos;
            self.signal.acked(1);
            self.status.set_acked(pos);
        }
        if self.save_due().is_some_and(|d| d.is_zero()) {
            self.save_in_background();
        }
    }

    /// Starts saving the acknowledged position unless a save is still running. A failed save
    /// is only logged: the position stays in memory and the next save carries it.
    fn save_in_background(&mut self) {
        if let Some(saving) = self.saving.take_if(|s| s.is_finished()) {
            match saving.now_or_never() {
                Some(Ok(Err(e))) => {
                    tracing::warn!(error = %e, "NATS bridge cursor not saved; retrying at the next interval")
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "NATS bridge cursor save failed; retrying at the next interval")
                }
                Some(Ok(Ok(()))) | None => {}
            }
        }
        if self.saving.is_some() {
            return;
        }
        let (cursor, acked) = (self.cursor.clone(), self.acked);
        self.saving = Some(tokio::spawn(async move { cursor.save(acked).await }));
        self.last_save = Instant::now();
    }

    /// How long until the acknowledged position should be saved; `None` when it is saved.
    fn save_due(&self) -> Option<std::time::Duration> {
        (self.acked > self.cursor.saved()).then(|| self.settings.cursor_save.saturating_sub(self.last_save.elapsed()))
    }

    /// Waits for a background save, then saves the acknowledged position now (at shutdown).
    ///
    /// # Errors
    /// [`BridgeError::Store`] when the store refuses.
    pub(crate) async fn save(&mut self) -> Result<(), BridgeError> {
        if let Some(saving) = self.saving.take() {
            let _ = saving.await;
        }
        self.cursor.save(self.acked).await.map_err(BridgeError::store)?;
        self.last_save = Instant::now();
        Ok(())
    }
}

/// Publishes one envelope to its subject with its event id as `Nats-Msg-Id`; returns once the
/// message is queued on the connection, with the future of its ack.
async fn publish(js: &Context, raw: &RawEnvelope) -> Result<PublishAckFuture, BridgeError> {
    let payload = serde_json::to_vec(raw).map_err(|e| BridgeError::jetstream("encoding", e))?;
    let mut headers = HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, raw.event_id.as_str());
    js.publish_with_headers(event_subject(raw.run_id, &raw.event_type), headers, payload.into())
        .await
        .map_err(|e| BridgeError::jetstream("publish", e))
}

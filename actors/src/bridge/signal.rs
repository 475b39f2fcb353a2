//! How run actors tell the bridge that events were appended, without ever waiting for it: a
//! `Notify` permit plus a counter of events appended but not yet acknowledged by JetStream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Poked by the run actor after each successful append; awaited by the bridge.
///
/// Cheap to clone (one `Arc`). With no bridge running nobody waits and the count only grows,
/// which costs nothing.
#[derive(Debug, Clone, Default)]
pub struct AppendSignal {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `notify_one` keeps one permit when the bridge is busy, so a wake-up is never lost.
    notify: Notify,
    /// Events in the log after the acknowledged position: the health route's `nats_lag`. Kept
    /// as a counter so that health never scans the log.
    unacked: AtomicU64,
}

impl AppendSignal {
    /// Records that `events` were appended and wakes the bridge. Never blocks.
    pub fn appended(&self, events: usize) {
        self.inner.unacked.fetch_add(events as u64, Ordering::SeqCst);
        self.inner.notify.notify_one();
    }

    /// Events appended but not yet acknowledged by JetStream.
    pub fn unacked(&self) -> u64 {
        self.inner.unacked.load(Ordering::SeqCst)
    }

    /// Waits for the next [`AppendSignal::appended`] (or returns at once if one happened since
    /// the last wait).
    pub(crate) async fn wait(&self) {
        self.inner.notify.notified().await;
    }

    /// Counts `events` found in the log at startup that were never acknowledged.
    pub(crate) fn backlog(&self, events: u64) {
        self.inner.unacked.fetch_add(events, Ordering::SeqCst);
    }

    /// Counts `events` as acknowledged.
    pub(crate) fn acked(&self, events: u64) {
        let _ = self.inner.unacked.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(events)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_up_before_the_wait_is_not_lost() {
        let signal = AppendSignal::default();
        signal.appended(3);
        tokio::time::timeout(std::time::Duration::from_secs(1), signal.wait()).await.unwrap();
        assert_eq!(signal.unacked(), 3);
        signal.acked(2);
        signal.acked(5);
        assert_eq!(signal.unacked(), 0, "never below zero");
    }
}

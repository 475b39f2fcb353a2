//! How run actors tell the bridge that events were appended, without ever waiting for it: a
//! `Notify` permit plus a counter of events appended but not yet acknowledged by JetStream.

use std::sync::atomic::{AtomicI64, Ordering};
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
    /// as a counter so that health never scans the log. Signed: the bridge may read and get the
    /// ack of an event before its run actor has counted it (the actor counts after the append
    /// returns), so the count can dip below zero for a moment; it never loses a step.
    unacked: AtomicI64,
}

impl AppendSignal {
    /// Records that `events` were appended and wakes the bridge. Never blocks.
    pub fn appended(&self, events: usize) {
        self.inner.unacked.fetch_add(i64::try_from(events).unwrap_or(i64::MAX), Ordering::SeqCst);
        self.inner.notify.notify_one();
    }

    /// Events appended but not yet acknowledged by JetStream.
    pub fn unacked(&self) -> u64 {
        u64::try_from(self.inner.unacked.load(Ordering::SeqCst)).unwrap_or(0)
    }

    /// Waits for the next [`AppendSignal::appended`] (or returns at once if one happened since
    /// the last wait).
    pub(crate) async fn wait(&self) {
        self.inner.notify.notified().await;
    }

    /// Counts `events` found in the log at startup that were never acknowledged.
    pub(crate) fn backlog(&self, events: u64) {
        self.inner.unacked.fetch_add(i64::try_from(events).unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    /// Counts `events` as acknowledged.
    pub(crate) fn acked(&self, events: u64) {
        self.inner.unacked.fetch_sub(i64::try_from(events).unwrap_or(i64::MAX), Ordering::SeqCst);
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
        assert_eq!(signal.unacked(), 1);
    }

    #[test]
    fn an_ack_counted_before_its_append_is_not_lost() {
        let signal = AppendSignal::default();
        signal.acked(1); // the bridge was faster than the run actor's count
        assert_eq!(signal.unacked(), 0, "shown as zero, never negative");
        signal.appended(1);
        assert_eq!(signal.unacked(), 0);
        signal.appended(1);
        assert_eq!(signal.unacked(), 1);
    }
}

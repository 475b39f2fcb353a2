//! What the bridge reports to the health route and to observers: connected or not, how many
//! events wait for an acknowledgment, and the acknowledged position.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dat_store::GlobalPos;
use tokio::sync::watch;

use crate::bridge::signal::AppendSignal;

/// The bridge's connection as the health route shows it (`nats` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatsState {
    /// No `--nats` URL: nothing is published.
    Disabled,
    /// Connected, the stream exists; publishing.
    Connected,
    /// Retrying with backoff; the log keeps growing and is caught up on reconnection.
    Disconnected,
}

impl NatsState {
    /// The wire name: `disabled`, `connected`, `disconnected`.
    pub fn as_str(self) -> &'static str {
        match self {
            NatsState::Disabled => "disabled",
            NatsState::Connected => "connected",
            NatsState::Disconnected => "disconnected",
        }
    }
}

/// Shared, lock-free view of the bridge. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BridgeStatus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    enabled: bool,
    connected: AtomicBool,
    signal: AppendSignal,
    /// The highest position JetStream acknowledged (not necessarily saved yet). A watch so that
    /// observers (the benchmark, a future metrics route) see every advance without polling.
    acked: watch::Sender<GlobalPos>,
    /// Publishing sessions that failed (a disconnection, a refused publish), for the metrics.
    publish_errors: std::sync::atomic::AtomicU64,
}

impl BridgeStatus {
    pub(crate) fn enabled(signal: AppendSignal, acked: GlobalPos) -> Self {
        Self::build(true, signal, acked)
    }

    /// The status of a daemon started without `--nats`.
    pub fn disabled() -> Self {
        Self::build(false, AppendSignal::default(), GlobalPos(0))
    }

    fn build(enabled: bool, signal: AppendSignal, acked: GlobalPos) -> Self {
        let inner = Inner {
            enabled,
            connected: AtomicBool::new(false),
            signal,
            acked: watch::channel(acked).0,
            publish_errors: Default::default(),
        };
        BridgeStatus { inner: Arc::new(inner) }
    }

    /// Connected, disconnected or disabled.
    pub fn state(&self) -> NatsState {
        match (self.inner.enabled, self.inner.connected.load(Ordering::SeqCst)) {
            (false, _) => NatsState::Disabled,
            (true, true) => NatsState::Connected,
            (true, false) => NatsState::Disconnected,
        }
    }

    /// Events in the log not yet acknowledged by JetStream; `None` when disabled.
    pub fn lag(&self) -> Option<u64> {
        self.inner.enabled.then(|| self.inner.signal.unacked())
    }

    /// The acknowledged position, updated after every ack.
    pub fn acked(&self) -> watch::Receiver<GlobalPos> {
        self.inner.acked.subscribe()
    }

    /// Publishing sessions that failed so far.
    pub fn publish_errors(&self) -> u64 {
        self.inner.publish_errors.load(Ordering::Relaxed)
    }

    pub(crate) fn count_publish_error(&self) {
        self.inner.publish_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.inner.connected.store(connected, Ordering::SeqCst);
    }

    pub(crate) fn set_acked(&self, pos: GlobalPos) {
        self.inner.acked.send_replace(pos);
    }
}

//! Live progress of background work: published on a broadcast channel that the CLI's progress
//! bar, the HTTP progress stream and the NATS bridge subscribe to. Never logged: a slow or
//! absent subscriber only misses updates, it never slows the work.

use dat_contracts::{RunId, Stage};
use serde::Serialize;
use tokio::sync::broadcast;

/// How far a background stage has come.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The run.
    pub run_id: RunId,
    /// The stage working.
    pub stage: Stage,
    /// Tables finished (parsed or reused).
    pub tables_done: u64,
    /// Tables in all.
    pub tables_total: u64,
    /// Rows written so far.
    pub rows: u64,
    /// Input bytes read so far.
    pub bytes: u64,
    /// 0–100, by input bytes.
    pub percent: f64,
}

/// The broadcast channel.
#[derive(Debug, Clone)]
pub struct ProgressHub {
    tx: broadcast::Sender<Progress>,
}

impl Default for ProgressHub {
    fn default() -> Self {
        // 1024 updates of slack: a subscriber that falls further behind skips ahead.
        ProgressHub { tx: broadcast::channel(1024).0 }
    }
}

impl ProgressHub {
    /// Publishes an update (dropped when nobody listens).
    pub fn publish(&self, progress: Progress) {
        let _ = self.tx.send(progress);
    }

    /// A new subscriber, seeing updates from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.tx.subscribe()
    }
}

//! Live progress of background work: published on a broadcast channel that the CLI's progress
//! bar, the HTTP progress stream and the NATS bridge subscribe to. Never logged: a slow or
//! absent subscriber only misses updates, it never slows the work.

use std::time::Duration;

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
    /// 0–100 of the stage's work.
    pub percent: f64,
    /// Time so far and to come.
    #[serde(flatten)]
    pub timing: Timing,
}

/// How long background work has run and how long it will still take, from its rate so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Timing {
    /// Seconds since the work started.
    pub elapsed_seconds: f64,
    /// Seconds still to go at the rate so far; `null` until there is a rate to go by (1% of
    /// the work and half a second done).
    pub eta_seconds: Option<f64>,
    /// Input bytes read per second so far; `null` until then too.
    pub bytes_per_second: Option<f64>,
}

impl Timing {
    /// The timing of work that has done `fraction` (0 to 1) of itself, `bytes` of its input,
    /// in `elapsed`.
    pub fn of(elapsed: Duration, fraction: f64, bytes: u64) -> Timing {
        let secs = elapsed.as_secs_f64();
        let known = fraction >= 0.01 && secs >= 0.5;
        Timing {
            elapsed_seconds: secs,
            eta_seconds: known.then(|| (secs * (1.0 - fraction) / fraction).max(0.0)),
            bytes_per_second: known.then(|| bytes as f64 / secs),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_follows_the_rate_so_far_and_is_unknown_before_there_is_one() {
        let t = Timing::of(Duration::from_secs(10), 0.25, 1_000);
        assert_eq!(t.eta_seconds, Some(30.0));
        assert_eq!(t.bytes_per_second, Some(100.0));
        assert_eq!(Timing::of(Duration::from_secs(10), 0.001, 0).eta_seconds, None, "too little done");
        assert_eq!(Timing::of(Duration::from_millis(100), 0.5, 0).eta_seconds, None, "too early");
        assert_eq!(Timing::of(Duration::from_secs(4), 1.0, 0).eta_seconds, Some(0.0));
    }
}

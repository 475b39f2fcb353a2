//! How far a parse has come, and when it will end: reading the tables is counted by their rows
//! against the probe's row estimates (by bytes once a table is done, so a wrong estimate
//! corrects itself), assembling the dataset by the rows written; the two phases weigh 70% and
//! 30% of the work (what they take on the benchmarks). The ETA and the rate come from the
//! time taken so far. Published on every chunk, and at least once a second by a heartbeat.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dat_contracts::{RunId, Stage};

use crate::progress::{Progress, Timing};

/// Share of the work reading takes (assembling takes the rest).
const READ_SHARE: f64 = 0.7;

/// The counters the workers and the assembly move, and what they are measured against.
pub(crate) struct Meter {
    run_id: RunId,
    started: Instant,
    tables_total: u64,
    total_bytes: u64,
    /// The probe's row estimates of the tables, summed (0 when none).
    total_rows: u64,
    pub(crate) tables_done: AtomicU64,
    /// Rows read into checkpoints.
    pub(crate) rows: AtomicU64,
    /// Input bytes of the tables done.
    pub(crate) bytes_done: AtomicU64,
    /// Rows written to the dataset.
    pub(crate) assembled: AtomicU64,
    /// The tables are read; the dataset is being written.
    pub(crate) assembling: AtomicBool,
}

impl Meter {
    pub(crate) fn new(run_id: RunId, tables_total: u64, total_bytes: u64, total_rows: u64) -> Self {
        Meter {
            run_id,
            started: Instant::now(),
            tables_total,
            total_bytes: total_bytes.max(1),
            total_rows,
            tables_done: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            assembled: AtomicU64::new(0),
            assembling: AtomicBool::new(false),
        }
    }

    /// The share of the work done, 0 to 1.
    fn fraction(&self) -> f64 {
        let rows = self.rows.load(Ordering::Relaxed);
        let by_bytes = self.bytes_done.load(Ordering::Relaxed) as f64 / self.total_bytes as f64;
        let by_rows = if self.total_rows > 0 { rows as f64 / self.total_rows as f64 } else { 0.0 };
        // Rows of the tables in flight count until the estimate says they are done: at most 99%.
        let read = by_bytes.max(by_rows.min(0.99)).min(1.0);
        if !self.assembling.load(Ordering::Relaxed) {
            return READ_SHARE * read;
        }
        let assembled = self.assembled.load(Ordering::Relaxed) as f64 / rows.max(1) as f64;
        if assembled >= 1.0 {
            return 1.0;
        }
        READ_SHARE + (1.0 - READ_SHARE) * assembled
    }

    /// The progress to publish now.
    pub(crate) fn progress(&self) -> Progress {
        let fraction = self.fraction();
        let read = (fraction / READ_SHARE).min(1.0);
        let bytes = (read * self.total_bytes as f64) as u64;
        Progress {
            run_id: self.run_id,
            stage: Stage::Parse,
            tables_done: self.tables_done.load(Ordering::Relaxed),
            tables_total: self.tables_total,
            rows: self.rows.load(Ordering::Relaxed),
            bytes,
            percent: fraction * 100.0,
            timing: Timing::of(self.started.elapsed(), fraction, bytes),
        }
    }
}

/// Publishes `meter` through `publish` every `every` until `done` is set.
pub(crate) fn heartbeat(meter: &Meter, done: &AtomicBool, every: Duration, publish: &dyn Fn(Progress)) {
    let step = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        waited += step;
        if waited >= every {
            publish(meter.progress());
            waited = Duration::ZERO;
        }
    }
}

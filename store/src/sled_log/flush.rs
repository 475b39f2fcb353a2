//! The pending group and its flush: written to the write-ahead file, queued for the inserter's
//! thread, made durable by one `fdatasync`, then shown to readers.

use std::sync::atomic::Ordering;

use dat_contracts::RunId;

use super::{lock, Shared};
use crate::sled_keys::{global_key, head_key};
use crate::wal::{self, Wal, RESET_BYTES};

/// Events at consecutive global positions, inserted and made durable together.
#[derive(Default)]
pub(super) struct Group {
    /// The global position of the first event.
    pub(super) first: u64,
    /// The `g` value: a pointer per event.
    pub(super) pointers: Vec<u8>,
    /// `e` keys and envelopes.
    pub(super) events: Vec<(Vec<u8>, Vec<u8>)>,
    /// Runs whose first events are in the group (their `h` keys).
    pub(super) new_runs: Vec<RunId>,
    /// Each run's last seq in the group, in append order.
    pub(super) heads: Vec<(RunId, u64)>,
}

impl Group {
    /// Its keys and values in the order they are inserted (see [`crate::sled_keys`]), with what
    /// readers are shown once it is durable: each run's last seq in it, and its last position.
    pub(super) fn split(self) -> (wal::Pairs, Vec<(RunId, u64)>, u64) {
        let last = self.first + self.events.len() as u64 - 1;
        let mut pairs = Vec::with_capacity(self.events.len() + self.new_runs.len() + 1);
        pairs.push((global_key(self.first).to_vec(), self.pointers));
        pairs.extend(self.events);
        pairs.extend(self.new_runs.into_iter().map(|run| (head_key(run), Vec::new())));
        (pairs, self.heads, last)
    }
}

/// Failures a test makes happen, each once.
#[cfg(test)]
#[derive(Default)]
pub(super) struct Faults {
    /// The next write of records fails.
    pub(super) write: std::sync::atomic::AtomicBool,
    /// The next sync waits this long, then fails.
    pub(super) sync: std::sync::Mutex<Option<std::time::Duration>>,
    /// The next sync waits this long first, then syncs.
    pub(super) slow: std::sync::Mutex<Option<std::time::Duration>>,
    /// The next group inserted waits this long first.
    pub(super) insert: std::sync::Mutex<Option<std::time::Duration>>,
}

/// What one flush at a time holds (the *turn*): the write-ahead file, and how far the syncs
/// of its records reached.
pub(super) struct Turn {
    pub(super) wal: Wal,
    /// The last ticket a sync made durable.
    pub(super) synced: u64,
}

impl Shared {
    /// Inserts a group's `pairs` into sled, on this thread.
    pub(super) fn insert(&self, pairs: &wal::Pairs) -> Result<(), sled::Error> {
        #[cfg(test)]
        if let Some(delay) = lock(&self.faults.insert).take() {
            std::thread::sleep(delay);
        }
        for (key, value) in pairs {
            self.log.insert(key.as_slice(), value.as_slice())?;
        }
        Ok(())
    }

    /// Lets readers see a durable group: its runs' heads and its last global position.
    pub(super) fn publish(&self, heads: &[(RunId, u64)], last: u64) {
        let mut visible = lock(&self.visible);
        for (run, head) in heads {
            let entry = visible.entry(*run).or_default();
            *entry = (*entry).max(*head);
        }
        drop(visible);
        self.durable.fetch_max(last, Ordering::SeqCst);
    }

    /// One flush, in the turn (one at a time): takes the pending group, writes its record,
    /// queues the group for the inserter, syncs the record, and shows the group to readers;
    /// returns the last ticket made durable. Once the file is large, the group is inserted here
    /// and sled is flushed instead (it then holds everything inserted) and the file starts over.
    ///
    /// The group holds every append that came while the flush before it ran (see
    /// [`crate::group_commit`]). Groups reach the file, sled (the inserter's one thread) and
    /// readers in the order of their positions: a crash can tear only the first group sled
    /// lacks, and `open` applies the records again first.
    ///
    /// The group is shown once its record is synced, whether or not the inserter has put it
    /// into sled yet: readers wait for the inserter first ([`Shared::inserted_so_far`]), so an
    /// append is acknowledged without waiting for sled, and still reads back at once.
    ///
    /// After a write, sync or insert fails, no later flush writes or syncs (the failure is
    /// recorded in the turn, or by the inserter): nothing more is shown or acknowledged. What
    /// the failed flushes wrote may still reach sled's files or be applied from the file: their
    /// appends are found in the log, or not, once it is opened again.
    pub(super) fn flush(&self) -> Result<u64, String> {
        let mut turn = lock(&self.turn);
        if let Some(error) = self.failure.get() {
            return Err(error.clone());
        }
        let (group, covers) = {
            let mut writer = lock(&self.writer);
            (std::mem::take(&mut writer.pending), writer.issued)
        };
        if group.events.is_empty() {
            // Every record written is synced: writes and syncs happen in the turn.
            return Ok(turn.synced);
        }
        let (pairs, heads, last) = group.split();
        let writing = |e: String| self.fail(format!("cannot write the event log: {e}"));
        if turn.wal.bytes >= RESET_BYTES {
            // Everything inserted so far, earlier flushes' groups and this one included, is then
            // in sled's files: the file's records are no longer needed.
            self.inserter.wait_all()?;
            self.insert(&pairs).map_err(|e| writing(e.to_string()))?;
            self.synced(|| {
                let flushed = self.db.flush().map(|_| ()).map_err(|e| e.to_string());
                flushed
                    .and_then(|()| turn.wal.reset().map_err(|e| e.to_string()))
                    .map_err(|e| format!("cannot start the event log's file over: {e}"))
            })?;
        } else {
            // Fails only for a key or value over 4 GiB, which serialised events never reach.
            turn.wal.buffer(&pairs).map_err(|e| writing(e.to_string()))?;
            let (bytes, at) = turn.wal.take();
            self.write_record(&turn.wal, &bytes, at).map_err(|e| {
                turn.wal.rewind(at);
                writing(e.to_string())
            })?;
            // One append's group, with none queued before it, is inserted here: handing a few
            // inserts to the other thread cost a lone run more (a context switch each) than
            // doing them before its sync (1 run with receipts: 0.89-0.94x raw, 0.99-1.11 so).
            if heads.len() == 1 && self.inserter.idle() {
                self.insert(&pairs).map_err(|e| writing(e.to_string()))?;
            } else {
                self.inserter.queue(pairs)?;
            }
            self.synced(|| self.sync_records(&turn.wal).map_err(|e| format!("cannot sync the event log: {e}")))?;
        }
        turn.synced = covers;
        self.publish(&heads, last);
        Ok(covers)
    }

    /// Runs `sync` (of the write-ahead file, or sled's flush and the file's start-over), counted
    /// and timed; a failure becomes the log's.
    fn synced(&self, sync: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        let started = std::time::Instant::now();
        self.syncs.fetch_add(1, Ordering::Relaxed);
        sync().map_err(|e| self.fail(e))?;
        if let Ok(observer) = self.flush_observer.read() {
            if let Some(observe) = observer.as_ref() {
                observe(started.elapsed());
            }
        }
        Ok(())
    }

    /// Records `error` as the log's failure (unless one is recorded already) and returns it.
    pub(super) fn fail(&self, error: String) -> String {
        let _ = self.failure.set(error.clone());
        error
    }

    /// Writes records at `at` in the file (cut back to `at` when that fails).
    fn write_record(&self, wal: &Wal, bytes: &[u8], at: u64) -> std::io::Result<()> {
        #[cfg(test)]
        if self.faults.write.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::other("a write failure the test made"));
        }
        wal::write_at(wal.file(), bytes, at)
    }

    /// Syncs the records written (`fdatasync`).
    fn sync_records(&self, wal: &Wal) -> std::io::Result<()> {
        #[cfg(test)]
        {
            let fault = lock(&self.faults.sync).take();
            if let Some(delay) = fault {
                std::thread::sleep(delay);
                return Err(std::io::Error::other("a sync failure the test made"));
            }
            let slow = lock(&self.faults.slow).take();
            if let Some(delay) = slow {
                std::thread::sleep(delay);
            }
        }
        wal.file().sync_data()
    }
}

//! The pending group and its flush: written to the write-ahead file, inserted into sled (on the
//! inserter's thread) while one `fdatasync` makes the record durable, then shown to readers.

use std::sync::atomic::Ordering;

use dat_contracts::RunId;

use super::{lock, Shared};
use crate::sled_keys::{global_key, head_key};
use crate::wal::{self, RESET_BYTES};

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

/// A group taken by a flush, to be shown to readers once a sync covers it and it is in sled.
pub(super) struct Taken {
    /// The last ticket of the appends in it.
    covers: u64,
    /// Its number in the inserter's queue (0: inserted by the flush itself).
    queued: u64,
    /// Each run's last seq in it.
    heads: Vec<(RunId, u64)>,
    /// Its last global position.
    last: u64,
}

/// The groups taken and not yet shown, in the order taken.
#[derive(Default)]
pub(super) struct Unpublished {
    taken: std::collections::VecDeque<Taken>,
    /// The last ticket of the last group shown: appends up to it may be acknowledged.
    through: u64,
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

    /// Lets readers see the groups a sync that covered tickets up to `synced` made durable and
    /// the inserter has put in sled, in the order they were taken (a later flush's sync covers
    /// an earlier flush's group too); returns the last ticket shown so far. A group still being
    /// inserted is shown by its own flush, which waits for it: an append is acknowledged only
    /// once its events can be read.
    fn publish_through(&self, synced: u64) -> u64 {
        let inserted = self.inserter.inserted();
        let mut unpublished = lock(&self.unpublished);
        while unpublished.taken.front().is_some_and(|taken| taken.covers <= synced && taken.queued <= inserted) {
            if let Some(taken) = unpublished.taken.pop_front() {
                self.publish(&taken.heads, taken.last);
                unpublished.through = taken.covers;
            }
        }
        unpublished.through
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

    /// One flush: takes the pending group (telling `took` the last ticket it holds), writes its
    /// record, syncs the file while the inserter puts the group into sled, and returns the last
    /// ticket shown to readers, which may be past the group's when the sync covered later
    /// flushes' records too. With no pending group it only syncs what other flushes wrote (if a
    /// sync has not yet covered it). Once the file is large, the group is inserted here and sled
    /// is flushed instead (it then holds everything inserted) and the file starts over.
    ///
    /// Taking, writing and queueing the group happen under the write-ahead file's lock, so
    /// groups reach the file and sled (the inserter's one thread) in the order of their
    /// positions: a crash can tear only the last one in sled, and `open` applies the records
    /// again first. The sync happens outside the lock, so the next flush prepares its group
    /// meanwhile, and in the sync turn, one at a time.
    ///
    /// After a write, sync or insert fails, no later flush writes or syncs (the failure is
    /// recorded under the lock that orders the writes, in the sync turn, or by the inserter),
    /// and one that was past its write fails at its sync turn: nothing more is shown or
    /// acknowledged. What the failed flushes wrote may still reach sled's files or be applied
    /// from the file: their appends are found in the log, or not, once it is opened again.
    pub(super) fn flush(&self, took: &dyn Fn(u64)) -> Result<u64, String> {
        let mut wal = lock(&self.wal);
        if let Some(error) = self.failure.get() {
            return Err(error.clone());
        }
        let (group, covers) = {
            let mut writer = lock(&self.writer);
            (std::mem::take(&mut writer.pending), writer.issued)
        };
        if group.events.is_empty() {
            drop(wal);
            // Nothing new to write: a record another flush wrote and has not synced yet is
            // synced by this one (see `GroupCommit::flusher_turn`).
            let written = self.written.load(Ordering::Acquire);
            let through = self.records_synced(written)?;
            return Ok(self.publish_through(through));
        }
        took(covers);
        let (pairs, heads, last) = group.split();
        let writing = |e: String| self.fail(format!("cannot write the event log: {e}"));
        let (through, queued) = if wal.bytes >= RESET_BYTES {
            // Everything inserted so far, earlier flushes' groups and this one included, is then
            // in sled's files: the file's records are no longer needed.
            self.inserter.wait_all()?;
            self.insert(&pairs).map_err(|e| writing(e.to_string()))?;
            lock(&self.unpublished).taken.push_back(Taken { covers, queued: 0, heads, last });
            let through = self.synced(covers, || {
                let flushed = self.db.flush().map(|_| ()).map_err(|e| e.to_string());
                flushed
                    .and_then(|()| wal.reset().map_err(|e| e.to_string()))
                    .map_err(|e| format!("cannot start the event log's file over: {e}"))
            })?;
            (through, 0)
        } else {
            // Fails only for a key or value over 4 GiB, which serialised events never reach.
            wal.buffer(&pairs).map_err(|e| writing(e.to_string()))?;
            let (bytes, at) = wal.take();
            self.write_record(&bytes, at).map_err(|e| {
                wal.rewind(at);
                writing(e.to_string())
            })?;
            // One append's group, with none queued before it, is inserted here: handing a few
            // inserts to the other thread cost a lone run more (a context switch each) than
            // doing them before its sync (1 run with receipts: 0.89-0.94x raw, 0.99-1.11 so).
            let queued = if heads.len() == 1 && self.inserter.idle() {
                self.insert(&pairs).map_err(|e| writing(e.to_string()))?;
                0
            } else {
                self.inserter.queue(pairs)
            };
            lock(&self.unpublished).taken.push_back(Taken { covers, queued, heads, last });
            self.written.fetch_max(covers, Ordering::Release);
            drop(wal);
            (self.records_synced(covers)?, queued)
        };
        self.inserter.wait(queued)?;
        Ok(self.publish_through(through))
    }

    /// Makes the record of tickets up to `covers` durable in the sync turn, unless a write or
    /// sync failed before (its failure fails every later flush), and returns the last ticket
    /// made durable. A sync that began after the record was written covers it: then `sync` is
    /// not run. Otherwise `sync` (of the write-ahead file, or sled's flush and the file's
    /// start-over) covers every record written before it starts, other flushes' included.
    fn synced(&self, covers: u64, sync: impl FnOnce() -> Result<(), String>) -> Result<u64, String> {
        let mut synced = lock(&self.sync_turn);
        if let Some(error) = self.failure.get() {
            return Err(error.clone());
        }
        if *synced >= covers {
            return Ok(*synced);
        }
        let through = self.written.load(Ordering::Acquire).max(covers);
        let started = std::time::Instant::now();
        self.syncs.fetch_add(1, Ordering::Relaxed);
        sync().map_err(|e| self.fail(e))?;
        if let Ok(observer) = self.flush_observer.read() {
            if let Some(observe) = observer.as_ref() {
                observe(started.elapsed());
            }
        }
        *synced = through;
        Ok(through)
    }

    /// [`Self::synced`] for the write-ahead file's records (an `fdatasync`).
    fn records_synced(&self, covers: u64) -> Result<u64, String> {
        self.synced(covers, || self.sync_records().map_err(|e| format!("cannot sync the event log: {e}")))
    }

    /// Records `error` as the log's failure (unless one is recorded already) and returns it.
    pub(super) fn fail(&self, error: String) -> String {
        let _ = self.failure.set(error.clone());
        error
    }

    /// Writes records at `at` in the file (cut back to `at` when that fails).
    fn write_record(&self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        #[cfg(test)]
        if self.faults.write.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::other("a write failure the test made"));
        }
        wal::write_at(&self.syncer, bytes, at)
    }

    /// Syncs the records written (`fdatasync`).
    fn sync_records(&self) -> std::io::Result<()> {
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
        self.syncer.sync_data()
    }
}

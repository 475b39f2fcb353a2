//! The sled-backed event log. Events, the global order and the list of runs are keys of one
//! tree (`sled_keys`); cursors and the fingerprint cache have their own trees.
//!
//! An append, under the writer's mutex, checks the run's head, takes global positions and adds
//! its events to the *pending group*; then it waits for a flush that covers it
//! ([`GroupCommit`], one flush at a time), on its thread or with a receipt
//! ([`EventLog::submit`], answered by the log's flusher thread). A flush takes the pending
//! group, writes it as one checksummed record to the write-ahead file, queues it for the
//! inserter's thread and syncs the record (one `write`, one `fdatasync`); every append in the
//! group is acknowledged once the sync returns. Meanwhile the inserter puts the group into sled
//! (one `g` key for the whole group, one `e` key per event: plain inserts, not a `sled::Batch`,
//! which writes and syncs sled's io buffer each time). A group of one append, with none waiting
//! for the inserter, is inserted by its flush instead, before the sync. Appends go on filling
//! the next group while a flush runs. A crash can leave the groups after some point missing
//! from sled, the first of them maybe half in: [`SledLog::open`] applies the write-ahead
//! records again, so every acknowledged group is whole, and removes a half group whose record
//! did not reach the disk (never acknowledged; `sled_keys::repair`).
//!
//! Readers see what is durable only: a run's events up to its *visible* head and global
//! positions up to the durable watermark, both moved once a group is synced. A reader that
//! reads sled first waits for the inserter to have put in every group shown so far (a few
//! inserts, usually none). So nothing is read, published or replayed that a crash could still
//! take back, and an acknowledged append can be read at once.
//!
//! # Layout
//! - this file: [`SledLog`], opening, appending and reading;
//! - `flush`: the pending group and its flush;
//! - `inserter`: the thread that inserts flushed groups into sled;
//! - `fingerprints`: the fingerprint cache's tree;
//! - `tests`: against real sled in temporary folders.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use dat_contracts::RunId;
use dat_events::{Envelope, RawEnvelope, Seq};

use crate::event_log::{check_order, AppendError, EventLog, GlobalPos, LogReadError, OpenError, Submitted};
use crate::group_commit::GroupCommit;
use crate::sled_format::{self, WAL_FILE};
use crate::sled_keys::{self, be_u64, event_key, global_key, last_event_seq, pointers, push_pointer};
use crate::wal::Wal;

mod fingerprints;
mod flush;
mod inserter;
#[cfg(test)]
mod tests;

use flush::Group;

/// Whether appends wait for the disk. Turning it off is the operator's explicit choice (tests,
/// benchmarks, throwaway runs): acknowledged events may then be lost in a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flush (fsync) before an append returns. The default.
    Flush,
    /// Return once written to sled's memory; sled flushes in the background.
    Buffered,
}

/// The event log in a sled database.
pub struct SledLog {
    shared: Arc<Shared>,
    /// Leads the flushes that appends submitted with [`EventLog::submit`] wait for (none when
    /// appends do not wait for the disk).
    flusher: Option<std::thread::JoinHandle<()>>,
    /// Inserts the groups flushes queue (none when appends do not wait for the disk).
    inserter: Option<std::thread::JoinHandle<()>>,
}

/// What appends share: sled, the writer state and the flushes.
struct Shared {
    db: sled::Db,
    log: sled::Tree,
    cursors: sled::Tree,
    fingerprints: sled::Tree,
    durability: Durability,
    /// `fdatasync`s (or sled flushes) run: fsyncs issued, for benchmarks.
    syncs: AtomicU64,
    /// The first write or sync of the write-ahead file that failed: no flush writes or syncs
    /// after it, as what reached the disk is unknown (see `flush`).
    failure: std::sync::OnceLock<String>,
    /// Failures a test makes happen.
    #[cfg(test)]
    faults: flush::Faults,
    /// Next global position, run heads and the pending group. The mutex serializes the head
    /// check and the positions of every append, which makes the conflict check exact and the
    /// global order that of the appends.
    writer: Mutex<Writer>,
    /// The write-ahead file, held by the flush that takes, writes and syncs a group. Group
    /// commit runs one flush at a time; the lock keeps it so for any caller, as each sync must
    /// be told of any write-back error since the one before (Linux tells only one of two syncs
    /// under way on one file of an error).
    turn: Mutex<flush::Turn>,
    /// Each run's last durable seq, as readers may see it (read from sled the first time, then
    /// moved by flushes). Taken after `writer` when both are needed.
    visible: Mutex<HashMap<RunId, u64>>,
    /// Inserts the groups flushes wrote into sled, in their order.
    inserter: inserter::Inserter,
    /// Highest global position known durable: tailers never read past it.
    durable: AtomicU64,
    /// Appends waiting for the disk share flushes.
    commit: GroupCommit,
    /// Told how long each flush (write and sync) took, for the daemon's metrics.
    flush_observer: std::sync::RwLock<Option<FlushObserver>>,
}

/// Told the duration of each flush of the log.
pub type FlushObserver = Box<dyn Fn(std::time::Duration) + Send + Sync>;

/// What appends change under the writer's lock.
struct Writer {
    next_global: u64,
    /// Each run's last seq, as appended (pending ones included).
    heads: HashMap<RunId, u64>,
    /// Appended, not yet taken by a flush.
    pending: Group,
    /// The last ticket handed out: appends in groups so far.
    issued: u64,
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// sled's background flush period.
const FLUSH_EVERY_MS: u64 = 50;
/// How long [`SledLog::open`] waits for a lock held by a log that is closing (a few flusher
/// periods).
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// Recovers a mutex a panicking thread held: the state it guards is only counters and pending
/// events, still valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Waits until every group queued for the inserter so far, so every group shown to readers
    /// so far, is in sled: a reader calls it after it looked at what is shown (a run's visible
    /// head, the durable position) and before it reads sled. Flushes show a group once it is
    /// durable, without waiting for sled (see `flush`).
    ///
    /// # Errors
    /// [`LogReadError::Backend`] when an insert failed (the log is then failed).
    fn inserted_so_far(&self) -> Result<(), LogReadError> {
        self.inserter.wait_all().map_err(|e| LogReadError::Backend(e.into()))
    }

    /// `run`'s visible head, read from sled the first time.
    fn visible_head(&self, run: RunId) -> Result<u64, sled::Error> {
        let mut visible = lock(&self.visible);
        if let Some(head) = visible.get(&run) {
            return Ok(*head);
        }
        let head = last_event_seq(&self.log, run)?;
        visible.insert(run, head);
        Ok(head)
    }

    /// Checks `run`'s head, gives `events` their global positions and adds them to the pending
    /// group; returns the ticket a flush will cover, or `None` when appends do not wait for the
    /// disk (the events are then in sled already).
    fn enqueue(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<Option<u64>, AppendError> {
        if events.is_empty() {
            return Ok(None);
        }
        check_order(run, expected, events)?;
        // Nothing is added to a group no flush will take.
        if let Some(error) = self.commit.failed() {
            return Err(AppendError::Backend(error.into()));
        }
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(events.len());
        for event in events {
            let json = serde_json::to_vec(&event.to_raw()).map_err(|e| AppendError::Backend(backend(e)))?;
            entries.push((event_key(run, event.seq), json));
        }
        let mut writer = lock(&self.writer);
        let actual = match writer.heads.get(&run) {
            Some(head) => *head,
            None => self.visible_head(run).map_err(|e| AppendError::Backend(backend(e)))?,
        };
        if actual != expected.0 {
            return Err(AppendError::Conflict { run, expected, actual: Seq(actual) });
        }
        let last = expected.0 + events.len() as u64;
        writer.heads.insert(run, last);
        let next = writer.next_global;
        writer.next_global += events.len() as u64;
        let group = &mut writer.pending;
        if group.events.is_empty() {
            group.first = next;
        }
        for event in events {
            push_pointer(&mut group.pointers, run, event.seq);
        }
        group.events.extend(entries);
        if actual == 0 {
            group.new_runs.push(run);
        }
        group.heads.push((run, last));
        writer.issued += 1;
        let ticket = writer.issued;
        if self.durability == Durability::Buffered {
            // Inserted under the lock, so that groups reach sled in the order of their positions.
            let (pairs, heads, last) = std::mem::take(&mut writer.pending).split();
            self.insert(&pairs).map_err(|e| AppendError::Backend(backend(e)))?;
            drop(writer);
            self.publish(&heads, last);
            return Ok(None);
        }
        Ok(Some(ticket))
    }
}

impl SledLog {
    /// Tells `observer` how long each later sync of the log (one fdatasync) takes.
    pub fn on_flush(&self, observer: FlushObserver) {
        if let Ok(mut slot) = self.shared.flush_observer.write() {
            *slot = Some(observer);
        }
    }

    /// Flushes led for durable appends so far (one that found no pending group issues no
    /// sync: see [`Self::syncs`]).
    pub fn flushes(&self) -> u64 {
        self.shared.commit.flushes()
    }

    /// Syncs issued for durable appends so far (fsyncs, for benchmarks).
    pub fn syncs(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// Opens (or creates) the log in `dir`.
    ///
    /// # Errors
    /// [`OpenError::Locked`] when another process holds it; [`OpenError::NewerFormat`] when a
    /// later dat wrote it; [`OpenError::Backend`] otherwise.
    pub fn open(dir: &Path, durability: Durability) -> Result<Self, OpenError> {
        let path = dir.display().to_string();
        // sled's background flusher keeps explicit flushes short (appends are a third faster
        // with it, see benches/event_log.rs); a short period also means a dropped log lets go
        // of its file lock soon, as the flusher holds it until its next wake-up.
        let flush_every_ms = Some(FLUSH_EVERY_MS);
        let attempt = || {
            sled::Config::new().path(dir).flush_every_ms(flush_every_ms).open().map_err(|e| match e {
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") =>
                {
                    OpenError::Locked { path: path.clone() }
                }
                other => OpenError::Backend { path: path.clone(), source: backend(other) },
            })
        };
        // A log just dropped (in this process, or by a process that is exiting) may keep its
        // file lock until sled's background threads have stopped: a lock is only reported once
        // it outlasts that.
        let deadline = std::time::Instant::now() + LOCK_GRACE;
        let db = loop {
            match attempt() {
                Err(OpenError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let open_err = |e: sled::Error| OpenError::Backend { path: path.clone(), source: backend(e) };
        let log = db.open_tree("log").map_err(open_err)?;
        let cursors = db.open_tree("cursors").map_err(open_err)?;
        let fingerprints = db.open_tree("fingerprints").map_err(open_err)?;
        // Groups acknowledged but maybe not yet in sled's files: apply them again, repair what
        // a crash left, flush, and start the write-ahead file over.
        sled_format::take_over(dir, &log)?;
        let wal_path = dir.join(WAL_FILE);
        let io_err =
            |e: std::io::Error| OpenError::Backend { path: wal_path.display().to_string(), source: backend(e) };
        let (mut wal, pending) = Wal::open(&wal_path).map_err(io_err)?;
        for pairs in pending {
            for (key, value) in pairs {
                log.insert(key, value).map_err(open_err)?;
            }
        }
        sled_keys::repair(&log).map_err(open_err)?;
        db.flush().map_err(open_err)?;
        wal.reset().map_err(io_err)?;
        sled_format::settle(dir, &db, &log)?;
        let last_global = sled_keys::last_global(&log).map_err(open_err)?;
        let shared = Arc::new(Shared {
            db,
            log,
            cursors,
            fingerprints,
            durability,
            syncs: AtomicU64::new(0),
            failure: std::sync::OnceLock::new(),
            #[cfg(test)]
            faults: flush::Faults::default(),
            writer: Mutex::new(Writer {
                next_global: last_global + 1,
                heads: HashMap::new(),
                pending: Group::default(),
                issued: 0,
            }),
            turn: Mutex::new(flush::Turn { wal, synced: 0 }),
            visible: Mutex::new(HashMap::new()),
            inserter: inserter::Inserter::default(),
            durable: AtomicU64::new(last_global),
            commit: GroupCommit::default(),
            flush_observer: std::sync::RwLock::new(None),
        });
        if durability == Durability::Buffered {
            return Ok(SledLog { shared, flusher: None, inserter: None });
        }
        let inserting = shared.clone();
        let insert = move || {
            let insert = |pairs: &_| inserting.insert(pairs).map_err(|e| format!("cannot write the event log: {e}"));
            inserting.inserter.run(insert, |error| {
                inserting.fail(error);
            });
        };
        let inserter = std::thread::Builder::new().name("dat-log-insert".into()).spawn(insert).map_err(io_err)?;
        // Built before the flusher starts: if it cannot, dropping the log stops the inserter.
        let mut log = SledLog { shared, flusher: None, inserter: Some(inserter) };
        let shared = log.shared.clone();
        let flusher = std::thread::Builder::new()
            .name("dat-log-flush".into())
            .spawn(move || while shared.commit.flusher_turn(|| shared.flush()) {})
            .map_err(io_err)?;
        log.flusher = Some(flusher);
        Ok(log)
    }

    fn decode(key: String, bytes: &[u8]) -> Result<RawEnvelope, LogReadError> {
        serde_json::from_slice(bytes).map_err(|e| LogReadError::Corrupt { key, reason: e.to_string() })
    }
}

impl Drop for SledLog {
    /// Lets the flusher answer the receipts handed out (the inserter inserting what its
    /// flushes wrote), then stop.
    fn drop(&mut self) {
        self.shared.commit.close();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        self.shared.inserter.close();
        if let Some(inserter) = self.inserter.take() {
            let _ = inserter.join();
        }
    }
}

impl EventLog for SledLog {
    fn append(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<(), AppendError> {
        let Some(ticket) = self.shared.enqueue(run, expected, events)? else { return Ok(()) };
        self.shared.commit.wait(ticket, || self.shared.flush()).map_err(|e| AppendError::Backend(e.into()))
    }

    fn submit(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<Submitted, AppendError> {
        let Some(ticket) = self.shared.enqueue(run, expected, events)? else { return Ok(Submitted::done()) };
        Ok(Submitted::pending(self.shared.commit.receipt(ticket)))
    }

    fn read_raw(&self, run: RunId, after: Seq) -> Result<Vec<RawEnvelope>, LogReadError> {
        // Up to the visible head: a group being flushed is in sled before it is durable.
        let head = self.shared.visible_head(run).map_err(|e| LogReadError::Backend(backend(e)))?;
        if head <= after.0 {
            return Ok(vec![]);
        }
        self.shared.inserted_so_far()?;
        let start = event_key(run, after.next());
        let end = event_key(run, Seq(head));
        self.shared
            .log
            .range(start..=end)
            .map(|item| {
                let (key, value) = item.map_err(|e| LogReadError::Backend(backend(e)))?;
                let seq = be_u64(&key[17..]).unwrap_or(0);
                Self::decode(format!("{run}:{seq}"), &value)
            })
            .collect()
    }

    fn last_seq(&self, run: RunId) -> Result<Seq, LogReadError> {
        self.shared.visible_head(run).map(Seq).map_err(|e| LogReadError::Backend(backend(e)))
    }

    fn list_runs(&self) -> Result<Vec<RunId>, LogReadError> {
        self.shared.inserted_so_far()?;
        let mut runs = Vec::new();
        for key in self.shared.log.scan_prefix(b"h").keys().rev() {
            let key = key.map_err(|e| LogReadError::Backend(backend(e)))?;
            let bytes: [u8; 16] = key.get(1..17).and_then(|b| b.try_into().ok()).unwrap_or_default();
            let run = RunId::from_bytes(bytes)
                .map_err(|e| LogReadError::Corrupt { key: "run head".into(), reason: e.to_string() })?;
            // A run whose first group is in sled but not yet durable is not listed yet.
            if !run.is_profiles() && self.shared.visible_head(run).map_err(|e| LogReadError::Backend(backend(e)))? > 0 {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    fn read_global(&self, after: GlobalPos, limit: usize) -> Result<Vec<(GlobalPos, RawEnvelope)>, LogReadError> {
        let durable = self.shared.durable.load(Ordering::SeqCst);
        if after.0 >= durable || limit == 0 {
            return Ok(vec![]);
        }
        self.shared.inserted_so_far()?;
        let log = &self.shared.log;
        let wanted = after.0 + 1;
        // The group holding `wanted` starts at or before it.
        let start = log
            .range(global_key(0)..=global_key(wanted))
            .keys()
            .next_back()
            .transpose()
            .map_err(|e| LogReadError::Backend(backend(e)))?
            .map_or_else(|| global_key(wanted).to_vec(), |key| key.to_vec());
        let mut out = Vec::new();
        for item in log.range(start..=global_key(durable).to_vec()) {
            let (key, value) = item.map_err(|e| LogReadError::Backend(backend(e)))?;
            let first = be_u64(&key[1..]).unwrap_or(0);
            let corrupt = || LogReadError::Corrupt { key: format!("global {first}"), reason: "bad pointers".into() };
            for (pos, (run, seq)) in (first..).zip(pointers(&value).ok_or_else(corrupt)?) {
                if pos < wanted {
                    continue;
                }
                if pos > durable || out.len() == limit {
                    return Ok(out);
                }
                let bytes = log.get(event_key(run, seq)).map_err(|e| LogReadError::Backend(backend(e)))?;
                out.push((GlobalPos(pos), Self::decode(format!("{run}:{seq}"), &bytes.ok_or_else(corrupt)?)?));
            }
        }
        Ok(out)
    }

    fn load_cursor(&self, name: &str) -> Result<GlobalPos, LogReadError> {
        let value = self.shared.cursors.get(name).map_err(|e| LogReadError::Backend(backend(e)))?;
        Ok(GlobalPos(value.and_then(|v| be_u64(&v)).unwrap_or(0)))
    }

    fn save_cursor(&self, name: &str, pos: GlobalPos) -> Result<(), AppendError> {
        self.shared.cursors.insert(name, &pos.0.to_be_bytes()).map_err(|e| AppendError::Backend(backend(e)))?;
        self.flush()
    }

    fn flush(&self) -> Result<(), AppendError> {
        self.shared.db.flush().map(|_| ()).map_err(|e| AppendError::Backend(backend(e)))
    }
}

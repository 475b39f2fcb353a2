//! The sled-backed event log. Events, the global order and the list of runs are keys of one
//! tree ([`crate::sled_keys`]); cursors and the fingerprint cache have their own trees.
//!
//! An append, under the writer's mutex, checks the run's head, takes global positions and adds
//! its events to the *pending group*; then it waits for a flush that covers it
//! ([`GroupCommit`]). The flush leader takes the pending group, inserts it into sled (one `g`
//! key for the whole group, one `e` key per event: plain inserts, not a `sled::Batch`, which
//! writes and syncs sled's io buffer each time), writes it as one checksummed record to the
//! write-ahead file and syncs that (one `write`, one `fdatasync`); every append in the group is
//! then acknowledged. Appends go on filling the next group while a flush runs. A crash can
//! leave only the last group half in sled, never acknowledged; [`SledLog::open`] applies the
//! write-ahead records again and removes such a group ([`crate::sled_keys::repair`]).
//!
//! Readers see what is durable only: a run's events up to its *visible* head and global
//! positions up to the durable watermark, both moved once a group is synced. So nothing is
//! read, published or replayed that a crash could still take back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use dat_contracts::RunId;
use dat_events::{Envelope, RawEnvelope, Seq};

use crate::event_log::{check_order, AppendError, EventLog, GlobalPos, LogReadError, OpenError};
use crate::fingerprints::{Fingerprint, FingerprintCache};
use crate::group_commit::GroupCommit;
use crate::sled_format::{self, WAL_FILE};
use crate::sled_keys::{self, be_u64, event_key, global_key, head_key, last_event_seq, pointers, push_pointer};
use crate::wal::{self, Wal, RESET_BYTES};

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
    shared: Shared,
    /// Writes and syncs the write-ahead records, outside the writer's lock.
    syncer: std::fs::File,
}

/// What appends share: sled, the writer state and the flushes.
struct Shared {
    db: sled::Db,
    log: sled::Tree,
    cursors: sled::Tree,
    fingerprints: sled::Tree,
    durability: Durability,
    /// Next global position, run heads and the pending group. The mutex serializes the head
    /// check and the positions of every append, which makes the conflict check exact and the
    /// global order that of the appends.
    writer: Mutex<Writer>,
    /// The write-ahead file: used by one flush leader at a time (and by `open`).
    wal: Mutex<Wal>,
    /// Each run's last durable seq, as readers may see it (read from sled the first time, then
    /// moved by flushes). Taken after `writer` when both are needed.
    visible: Mutex<HashMap<RunId, u64>>,
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

/// Events at consecutive global positions, inserted and made durable together.
#[derive(Default)]
struct Group {
    /// The global position of the first event.
    first: u64,
    /// The `g` value: a pointer per event.
    pointers: Vec<u8>,
    /// `e` keys and envelopes.
    events: Vec<(Vec<u8>, Vec<u8>)>,
    /// Runs whose first events are in the group (their `h` keys).
    new_runs: Vec<RunId>,
    /// Each run's last seq in the group, in append order.
    heads: Vec<(RunId, u64)>,
}

impl Group {
    /// Its keys and values in the order they are inserted (see [`crate::sled_keys`]).
    fn pairs(self) -> wal::Pairs {
        let mut pairs = Vec::with_capacity(self.events.len() + self.new_runs.len() + 1);
        pairs.push((global_key(self.first).to_vec(), self.pointers));
        pairs.extend(self.events);
        pairs.extend(self.new_runs.into_iter().map(|run| (head_key(run), Vec::new())));
        pairs
    }

    /// The last global position in the group.
    fn last(&self) -> u64 {
        self.first + self.events.len() as u64 - 1
    }
}

/// A group in sled, not yet visible to readers.
struct Inserted {
    /// Its keys and values, for the write-ahead record.
    pairs: wal::Pairs,
    /// Each run's last seq in it.
    heads: Vec<(RunId, u64)>,
    /// Its last global position.
    last: u64,
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

    /// Inserts `group` into sled.
    fn insert(&self, mut group: Group) -> Result<Inserted, sled::Error> {
        let last = group.last();
        let heads = std::mem::take(&mut group.heads);
        let pairs = group.pairs();
        for (key, value) in &pairs {
            self.log.insert(key.as_slice(), value.as_slice())?;
        }
        Ok(Inserted { pairs, heads, last })
    }

    /// Lets readers see a durable group.
    fn publish(&self, inserted: &Inserted) {
        let mut visible = lock(&self.visible);
        for (run, head) in &inserted.heads {
            let entry = visible.entry(*run).or_default();
            *entry = (*entry).max(*head);
        }
        drop(visible);
        self.durable.fetch_max(inserted.last, Ordering::SeqCst);
    }

    /// One flush: inserts the pending group into sled, writes its record and syncs it; returns
    /// the last ticket that covers. Once the file is large, sled is flushed instead (it then
    /// holds everything inserted) and the file starts over.
    fn flush(&self, file: &std::fs::File) -> Result<u64, String> {
        let (group, covers) = {
            let mut writer = lock(&self.writer);
            (std::mem::take(&mut writer.pending), writer.issued)
        };
        if group.events.is_empty() {
            return Ok(covers);
        }
        let inserted = self.insert(group).map_err(|e| format!("cannot write the event log: {e}"))?;
        let mut wal = lock(&self.wal);
        if wal.bytes >= RESET_BYTES {
            let reset = self.db.flush().map(|_| ()).map_err(|e| e.to_string());
            reset
                .and_then(|()| wal.reset().map_err(|e| e.to_string()))
                .map_err(|e| format!("cannot start the event log's file over: {e}"))?;
        } else {
            // Fails only for a key or value over 4 GiB, which serialised events never reach.
            wal.buffer(&inserted.pairs).map_err(|e| format!("cannot write the event log: {e}"))?;
            let (bytes, at) = wal.take();
            let started = std::time::Instant::now();
            let synced = wal::write_synced(file, &bytes, at);
            if let Ok(observer) = self.flush_observer.read() {
                if let Some(observe) = observer.as_ref() {
                    observe(started.elapsed());
                }
            }
            synced.map_err(|e| {
                wal.rewind(at);
                format!("cannot sync the event log: {e}")
            })?;
        }
        drop(wal);
        self.publish(&inserted);
        Ok(covers)
    }
}

impl SledLog {
    /// Tells `observer` how long each later flush (one write and one fdatasync) takes.
    pub fn on_flush(&self, observer: FlushObserver) {
        if let Ok(mut slot) = self.shared.flush_observer.write() {
            *slot = Some(observer);
        }
    }

    /// Flushes run for durable appends so far (fsyncs issued, for benchmarks).
    pub fn flushes(&self) -> u64 {
        self.shared.commit.flushes()
    }

    /// Opens (or creates) the log in `dir`.
    ///
    /// # Errors
    /// [`OpenError::Locked`] when another process holds it; [`OpenError::Backend`] otherwise.
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
        let syncer = wal.syncer().map_err(io_err)?;
        let last_global = sled_keys::last_global(&log).map_err(open_err)?;
        let shared = Shared {
            db,
            log,
            cursors,
            fingerprints,
            durability,
            writer: Mutex::new(Writer {
                next_global: last_global + 1,
                heads: HashMap::new(),
                pending: Group::default(),
                issued: 0,
            }),
            wal: Mutex::new(wal),
            visible: Mutex::new(HashMap::new()),
            durable: AtomicU64::new(last_global),
            commit: GroupCommit::default(),
            flush_observer: std::sync::RwLock::new(None),
        };
        Ok(SledLog { shared, syncer })
    }

    fn decode(key: String, bytes: &[u8]) -> Result<RawEnvelope, LogReadError> {
        serde_json::from_slice(bytes).map_err(|e| LogReadError::Corrupt { key, reason: e.to_string() })
    }
}

impl EventLog for SledLog {
    fn append(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<(), AppendError> {
        if events.is_empty() {
            return Ok(());
        }
        check_order(run, expected, events)?;
        let shared = &self.shared;
        // Nothing is added to a group no flush will take.
        if let Some(error) = shared.commit.failed() {
            return Err(AppendError::Backend(error.into()));
        }
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(events.len());
        for event in events {
            let json = serde_json::to_vec(&event.to_raw()).map_err(|e| AppendError::Backend(backend(e)))?;
            entries.push((event_key(run, event.seq), json));
        }
        let mut writer = lock(&shared.writer);
        let actual = match writer.heads.get(&run) {
            Some(head) => *head,
            None => shared.visible_head(run).map_err(|e| AppendError::Backend(backend(e)))?,
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
        if shared.durability == Durability::Buffered {
            // Inserted under the lock, so that groups reach sled in the order of their positions.
            let group = std::mem::take(&mut writer.pending);
            let inserted = shared.insert(group).map_err(|e| AppendError::Backend(backend(e)))?;
            drop(writer);
            shared.publish(&inserted);
            return Ok(());
        }
        drop(writer);
        let flush = || shared.flush(&self.syncer);
        shared.commit.wait(ticket, flush).map_err(|e| AppendError::Backend(e.into()))
    }

    fn read_raw(&self, run: RunId, after: Seq) -> Result<Vec<RawEnvelope>, LogReadError> {
        // Up to the visible head: a group being flushed is in sled before it is durable.
        let head = self.shared.visible_head(run).map_err(|e| LogReadError::Backend(backend(e)))?;
        if head <= after.0 {
            return Ok(vec![]);
        }
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
        self.shared
            .log
            .scan_prefix(b"h")
            .keys()
            .rev()
            .map(|key| {
                let key = key.map_err(|e| LogReadError::Backend(backend(e)))?;
                let bytes: [u8; 16] = key.get(1..17).and_then(|b| b.try_into().ok()).unwrap_or_default();
                RunId::from_bytes(bytes)
                    .map_err(|e| LogReadError::Corrupt { key: "run head".into(), reason: e.to_string() })
            })
            .filter(|run| !run.as_ref().is_ok_and(RunId::is_profiles))
            .collect()
    }

    fn read_global(&self, after: GlobalPos, limit: usize) -> Result<Vec<(GlobalPos, RawEnvelope)>, LogReadError> {
        let durable = self.shared.durable.load(Ordering::SeqCst);
        if after.0 >= durable || limit == 0 {
            return Ok(vec![]);
        }
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

impl FingerprintCache for SledLog {
    fn lookup(&self, path: &str, size: u64, stamp: i128) -> Result<Option<String>, LogReadError> {
        let Some(bytes) = self.shared.fingerprints.get(path).map_err(|e| LogReadError::Backend(backend(e)))? else {
            return Ok(None);
        };
        // A damaged entry is only a cache miss.
        let cached: Option<Fingerprint> = serde_json::from_slice(&bytes).ok();
        Ok(cached.filter(|f| f.size == size && f.stamp == stamp).map(|f| f.sha256))
    }

    fn remember(&self, path: &str, fingerprint: &Fingerprint) -> Result<(), LogReadError> {
        let bytes = serde_json::to_vec(fingerprint).map_err(|e| LogReadError::Backend(backend(e)))?;
        self.shared.fingerprints.insert(path, bytes).map_err(|e| LogReadError::Backend(backend(e)))?;
        Ok(())
    }

    fn paths(&self) -> Result<Vec<String>, LogReadError> {
        self.shared
            .fingerprints
            .iter()
            .keys()
            .map(|key| {
                let key = key.map_err(|e| LogReadError::Backend(backend(e)))?;
                Ok(String::from_utf8_lossy(&key).into_owned())
            })
            .collect()
    }

    fn forget(&self, paths: &[String]) -> Result<(), LogReadError> {
        for path in paths {
            self.shared.fingerprints.remove(path.as_str()).map_err(|e| LogReadError::Backend(backend(e)))?;
        }
        self.shared.fingerprints.flush().map_err(|e| LogReadError::Backend(backend(e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sled_keys::push_pointer;
    use dat_events::testing::{created, locked, test_run_id};
    use dat_events::{RunEvent, Timestamp};

    fn open(dir: &Path) -> SledLog {
        SledLog::open(dir, Durability::Flush).unwrap()
    }

    fn envelopes(run: RunId, from: u64, events: Vec<RunEvent>) -> Vec<Envelope> {
        let at = Timestamp::from_datetime(chrono_epoch());
        events.into_iter().enumerate().map(|(i, e)| Envelope::new(run, Seq(from + i as u64), at, e)).collect()
    }

    fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::UNIX_EPOCH
    }

    fn other_run() -> RunId {
        "01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5f".parse().unwrap()
    }

    #[test]
    fn appends_only_in_the_write_ahead_file_come_back_at_open() {
        // A crash after the record was synced and acknowledged, before sled wrote its files:
        // the record is in the write-ahead file only.
        let run = test_run_id();
        let event = envelopes(run, 1, vec![created()]).remove(0);
        let pairs = vec![
            (global_key(1).to_vec(), [run.as_bytes().as_slice(), &1u64.to_be_bytes()].concat()),
            (event_key(run, Seq(1)), serde_json::to_vec(&event.to_raw()).unwrap()),
            (head_key(run), vec![]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(&dir.path().join(WAL_FILE)).unwrap();
        wal.write(&pairs).unwrap();
        drop(wal);
        let log = open(dir.path());
        assert_eq!(log.read(run, Seq(0)).unwrap(), [event]);
        assert_eq!(log.last_seq(run).unwrap(), Seq(1));
        assert_eq!(log.list_runs().unwrap(), [run]);
        let next = envelopes(run, 2, vec![locked(dat_contracts::Stage::Discovery)]);
        log.append(run, Seq(1), &next).unwrap();
        assert!(std::fs::metadata(dir.path().join(WAL_FILE)).unwrap().len() > 0, "the append's record");
        drop(log);
        let log = open(dir.path());
        assert_eq!(log.read(run, Seq(0)).unwrap().len(), 2);
        assert_eq!(log.read_global(GlobalPos(0), 10).unwrap().len(), 2);
    }

    #[test]
    fn a_half_inserted_group_left_by_a_crash_is_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (test_run_id(), other_run());
        let c: RunId = "01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d60".parse().unwrap();
        {
            let log = open(dir.path());
            log.append(a, Seq(0), &envelopes(a, 1, vec![created()])).unwrap();
            log.append(b, Seq(0), &envelopes(b, 1, vec![created()])).unwrap();
            // A crash while a flush inserted the group of `a`'s second event and `c`'s first:
            // sled kept the group's pointers and `a`'s event, not `c`'s event nor its `h` key.
            let next = envelopes(a, 2, vec![locked(dat_contracts::Stage::Discovery)]);
            let json = serde_json::to_vec(&next[0].to_raw()).unwrap();
            let mut pointers = Vec::new();
            push_pointer(&mut pointers, a, Seq(2));
            push_pointer(&mut pointers, c, Seq(1));
            let tree = &log.shared.log;
            tree.insert(global_key(3), pointers).unwrap();
            tree.insert(event_key(a, Seq(2)), json).unwrap();
            assert_eq!(log.read(a, Seq(0)).unwrap().len(), 1, "reads stop at the durable head");
            assert_eq!(log.read_global(GlobalPos(0), 10).unwrap().len(), 2, "and at the durable position");
            log.flush().unwrap();
        }
        let log = open(dir.path());
        assert_eq!(log.last_seq(a).unwrap(), Seq(1));
        let ids: Vec<_> =
            log.read_global(GlobalPos(0), 10).unwrap().into_iter().map(|(p, e)| (p.0, e.event_id)).collect();
        assert_eq!(ids, [(1, format!("{a}:1")), (2, format!("{b}:1"))], "the torn group is gone");
        assert!(log.shared.log.get(event_key(a, Seq(2))).unwrap().is_none(), "and its event");
        assert_eq!(log.list_runs().unwrap(), [b, a], "c never had an event");
        // The next append takes the freed positions.
        log.append(a, Seq(1), &envelopes(a, 2, vec![locked(dat_contracts::Stage::Discovery)])).unwrap();
        let last = log.read_global(GlobalPos(2), 10).unwrap();
        assert_eq!((last[0].0 .0, last[0].1.event_id.clone()), (3, format!("{a}:2")));
    }

    #[test]
    fn a_log_of_the_earlier_layout_is_read_and_its_torn_append_removed() {
        // One `g` key per event and the run's head in its `h` key, moved last by each append:
        // `a` appended one event; `b` one, acknowledged, in the write-ahead file only; then `a`
        // crashed in the middle of a two-event append.
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (test_run_id(), other_run());
        let events = envelopes(a, 1, vec![created(), locked(dat_contracts::Stage::Discovery)]);
        let b_event = envelopes(b, 1, vec![created()]).remove(0);
        let json = |e: &Envelope| serde_json::to_vec(&e.to_raw()).unwrap();
        let pointer = |run: RunId, seq: u64| [run.as_bytes().as_slice(), &seq.to_be_bytes()].concat();
        {
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let tree = db.open_tree("log").unwrap();
            tree.insert(global_key(1), pointer(a, 1)).unwrap();
            tree.insert(event_key(a, Seq(1)), json(&events[0])).unwrap();
            tree.insert(head_key(a), &1u64.to_be_bytes()).unwrap();
            tree.insert(global_key(3), pointer(a, 2)).unwrap();
            tree.insert(event_key(a, Seq(2)), json(&events[1])).unwrap();
            tree.insert(global_key(4), pointer(a, 3)).unwrap();
            db.flush().unwrap();
        }
        let (mut legacy, _) = Wal::open(&dir.path().join("events.wal")).unwrap();
        legacy
            .write(&[
                (global_key(2).to_vec(), pointer(b, 1)),
                (event_key(b, Seq(1)), json(&b_event)),
                (head_key(b), 1u64.to_be_bytes().to_vec()),
            ])
            .unwrap();
        drop(legacy);
        let log = open(dir.path());
        assert_eq!(log.read(a, Seq(0)).unwrap(), events[..1]);
        assert_eq!(log.read(b, Seq(0)).unwrap(), [b_event], "the write-ahead file is applied");
        let positions: Vec<_> = log.read_global(GlobalPos(0), 10).unwrap().into_iter().map(|(p, _)| p.0).collect();
        assert_eq!(positions, [1, 2], "the torn append's positions are gone");
        assert_eq!(log.list_runs().unwrap(), [b, a]);
        assert_eq!(log.shared.log.get(head_key(a)).unwrap().unwrap().len(), 0, "the old head is emptied");
        // Earlier versions open `events.wal` as a file before anything else: a folder stops them.
        let fence = dir.path().join("events.wal");
        assert!(fence.is_dir() && fence.join("README").is_file(), "the fence is up");
        log.append(a, Seq(1), &events[1..]).unwrap();
        drop(log);
        let log = open(dir.path());
        assert_eq!(log.read(a, Seq(0)).unwrap(), events, "appends after the upgrade are not taken for torn");
        let positions: Vec<_> = log.read_global(GlobalPos(0), 10).unwrap().into_iter().map(|(p, _)| p.0).collect();
        assert_eq!(positions, [1, 2, 3]);
    }

    #[test]
    fn a_log_of_a_later_layout_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let run = test_run_id();
        {
            let log = open(dir.path());
            log.append(run, Seq(0), &envelopes(run, 1, vec![created()])).unwrap();
            log.shared.log.insert(b"v", &3u64.to_be_bytes()).unwrap();
            log.flush().unwrap();
        }
        match SledLog::open(dir.path(), Durability::Flush) {
            Err(OpenError::NewerFormat { found: 3, supported: 2, .. }) => {}
            other => panic!("expected NewerFormat, got {:?}", other.map(|_| ())),
        }
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        assert_eq!(db.open_tree("log").unwrap().get(b"v").unwrap().as_deref(), Some(3u64.to_be_bytes().as_slice()));
        assert!(db.open_tree("log").unwrap().contains_key(event_key(run, Seq(1))).unwrap());
    }

    #[test]
    fn concurrent_runs_share_groups_and_every_event_reads_back_in_one_global_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(open(dir.path()));
        let runs: Vec<RunId> = (0..8).map(|_| RunId::from_uuid(uuid::Uuid::now_v7()).unwrap()).collect();
        std::thread::scope(|scope| {
            for run in &runs {
                let log = log.clone();
                scope.spawn(move || {
                    for seq in 1..=40u64 {
                        let event = envelopes(*run, seq, vec![locked(dat_contracts::Stage::Discovery)]);
                        log.append(*run, Seq(seq - 1), &event).unwrap();
                        assert_eq!(log.last_seq(*run).unwrap(), Seq(seq), "acknowledged means readable");
                    }
                });
            }
        });
        let check = |log: &SledLog| {
            let all = log.read_global(GlobalPos(0), 1000).unwrap();
            let positions: Vec<u64> = all.iter().map(|(p, _)| p.0).collect();
            assert_eq!(positions, (1..=320).collect::<Vec<_>>(), "no gap, no repeat");
            for run in &runs {
                let seqs: Vec<u64> = all.iter().filter(|(_, e)| e.run_id == *run).map(|(_, e)| e.seq.0).collect();
                assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "each run in its order");
                assert_eq!(log.read(*run, Seq(0)).unwrap().len(), 40);
            }
            // Tailing in small steps crosses groups at every position.
            let mut after = GlobalPos(0);
            let mut stepped = 0;
            while let Some((pos, _)) = log.read_global(after, 3).unwrap().last() {
                after = *pos;
                stepped += 1;
            }
            assert_eq!((after.0, stepped), (320, 107));
        };
        check(&log);
        let groups = log.shared.log.scan_prefix(b"g").count();
        assert!(groups < 320, "appends waiting together share a group: {groups} groups for 320 events");
        drop(log);
        check(&open(dir.path()));
    }

    #[test]
    fn appends_read_back_in_order_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let run = test_run_id();
        let events = envelopes(run, 1, vec![created(), locked(dat_contracts::Stage::Discovery)]);
        {
            let log = open(dir.path());
            log.append(run, Seq(0), &events).unwrap();
        }
        let log = open(dir.path());
        assert_eq!(log.read(run, Seq(0)).unwrap(), events);
        assert_eq!(log.read(run, Seq(1)).unwrap(), events[1..]);
        assert_eq!(log.last_seq(run).unwrap(), Seq(2));
        assert_eq!(log.list_runs().unwrap(), vec![run]);
    }

    #[test]
    fn stale_expected_seq_is_a_conflict_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let run = test_run_id();
        log.append(run, Seq(0), &envelopes(run, 1, vec![created()])).unwrap();
        let err = log.append(run, Seq(0), &envelopes(run, 1, vec![created()])).unwrap_err();
        assert!(matches!(err, AppendError::Conflict { expected: Seq(0), actual: Seq(1), .. }));
        let err = log.append(run, Seq(1), &envelopes(run, 5, vec![created()])).unwrap_err();
        assert!(matches!(err, AppendError::OutOfSequence { .. }));
        assert_eq!(log.read(run, Seq(0)).unwrap().len(), 1);
    }

    #[test]
    fn global_order_spans_runs_and_cursors_persist() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (test_run_id(), other_run());
        {
            let log = open(dir.path());
            log.append(a, Seq(0), &envelopes(a, 1, vec![created()])).unwrap();
            log.append(b, Seq(0), &envelopes(b, 1, vec![created()])).unwrap();
            log.append(a, Seq(1), &envelopes(a, 2, vec![locked(dat_contracts::Stage::Discovery)])).unwrap();
            let all = log.read_global(GlobalPos(0), 10).unwrap();
            let ids: Vec<_> = all.iter().map(|(_, e)| e.event_id.clone()).collect();
            assert_eq!(ids, vec![format!("{a}:1"), format!("{b}:1"), format!("{a}:2")]);
            log.save_cursor("bridge", all[1].0).unwrap();
        }
        let log = open(dir.path());
        let cursor = log.load_cursor("bridge").unwrap();
        let rest = log.read_global(cursor, 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1.event_id, format!("{a}:2"));
        assert_eq!(log.list_runs().unwrap(), vec![b, a], "newest first");
    }

    #[test]
    fn fingerprints_are_valid_only_for_the_same_size_and_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let fp = Fingerprint { size: 10, stamp: 5, sha256: "ab".into() };
        log.remember("data/a.csv", &fp).unwrap();
        assert_eq!(log.lookup("data/a.csv", 10, 5).unwrap(), Some("ab".into()));
        assert_eq!(log.lookup("data/a.csv", 11, 5).unwrap(), None);
        assert_eq!(log.lookup("data/a.csv", 10, 6).unwrap(), None);
        assert_eq!(log.lookup("data/b.csv", 10, 5).unwrap(), None);
    }

    #[test]
    fn second_open_of_the_same_dir_reports_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _held = open(dir.path());
        // sled's lock is per process file descriptor; a second open in-process may succeed, so
        // only check that, when refused, it is classified as Locked.
        if let Err(e) = SledLog::open(dir.path(), Durability::Flush) {
            assert!(matches!(e, OpenError::Locked { .. }), "{e}");
        }
    }
}

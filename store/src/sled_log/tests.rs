//! The sled log against real sled in temporary folders: order, conflicts, crash repair, the
//! layout taken over from earlier versions, concurrent runs.

use super::*;
use crate::fingerprints::{Fingerprint, FingerprintCache};
use crate::sled_keys::{head_key, push_pointer};
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
    let ids: Vec<_> = log.read_global(GlobalPos(0), 10).unwrap().into_iter().map(|(p, e)| (p.0, e.event_id)).collect();
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
    let runs: Vec<RunId> = (0..16).map(|_| RunId::from_uuid(uuid::Uuid::now_v7()).unwrap()).collect();
    let (threads, actors) = runs.split_at(8);
    std::thread::scope(|scope| {
        // Eight runs append on threads of their own (each thread may lead a flush)…
        for run in threads {
            let log = log.clone();
            scope.spawn(move || {
                for seq in 1..=40u64 {
                    let event = envelopes(*run, seq, vec![locked(dat_contracts::Stage::Discovery)]);
                    log.append(*run, Seq(seq - 1), &event).unwrap();
                    assert_eq!(log.last_seq(*run).unwrap(), Seq(seq), "acknowledged means readable");
                }
            });
        }
        // …and eight as run actors do: tasks on one thread, each awaiting its receipt.
        let log = log.clone();
        scope.spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let tasks: Vec<_> = actors
                    .iter()
                    .map(|run| {
                        let (log, run) = (log.clone(), *run);
                        tokio::spawn(async move {
                            for seq in 1..=40u64 {
                                let event = envelopes(run, seq, vec![locked(dat_contracts::Stage::Discovery)]);
                                log.submit(run, Seq(seq - 1), &event).unwrap().await.unwrap();
                                assert_eq!(log.last_seq(run).unwrap(), Seq(seq), "durable means readable");
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
        });
    });
    let check = |log: &SledLog| {
        let all = log.read_global(GlobalPos(0), 1000).unwrap();
        let positions: Vec<u64> = all.iter().map(|(p, _)| p.0).collect();
        assert_eq!(positions, (1..=640).collect::<Vec<_>>(), "no gap, no repeat");
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
        assert_eq!((after.0, stepped), (640, 214));
    };
    check(&log);
    let groups = log.shared.log.scan_prefix(b"g").count();
    assert!(groups < 640, "appends waiting together share a group: {groups} groups for 640 events");
    drop(log);
    check(&open(dir.path()));
}

#[test]
fn receipts_handed_out_before_the_log_is_dropped_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let run = other_run();
    let receipts: Vec<_> = (1..=5u64)
        .map(|seq| {
            let event = envelopes(run, seq, vec![locked(dat_contracts::Stage::Discovery)]);
            log.submit(run, Seq(seq - 1), &event).unwrap()
        })
        .collect();
    drop(log);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for receipt in receipts {
        runtime.block_on(receipt).unwrap();
    }
    assert_eq!(open(dir.path()).last_seq(run).unwrap(), Seq(5), "every answered append is there");
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

/// What readers see of `run`: its events, its head, whether it is listed, global positions.
fn seen(log: &SledLog, run: RunId) -> (usize, Seq, bool, usize) {
    let listed = log.list_runs().unwrap().contains(&run);
    (
        log.read(run, Seq(0)).unwrap().len(),
        log.last_seq(run).unwrap(),
        listed,
        log.read_global(GlobalPos(0), 10).unwrap().len(),
    )
}

#[test]
fn after_a_failed_write_nothing_more_is_written_acknowledged_or_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (test_run_id(), other_run());
    let log = open(dir.path());
    log.append(a, Seq(0), &envelopes(a, 1, vec![created()])).unwrap();
    log.shared.faults.write.store(true, Ordering::SeqCst);
    let failed = log.append(b, Seq(0), &envelopes(b, 1, vec![created()]));
    assert!(matches!(failed, Err(AppendError::Backend(_))), "{failed:?}");
    // The write no longer fails, but the log does not trust the disk any more.
    let later = log.append(a, Seq(1), &envelopes(a, 2, vec![locked(dat_contracts::Stage::Discovery)]));
    assert!(matches!(later, Err(AppendError::Backend(_))), "{later:?}");
    assert_eq!(seen(&log, a), (1, Seq(1), true, 1), "what was acknowledged before stays");
    assert_eq!(seen(&log, b), (0, Seq(0), false, 1), "the failed append is not shown");
    drop(log);
    // Opened again, the log is whole: the failed append is there or not, and appends go on.
    let log = open(dir.path());
    let b_head = log.last_seq(b).unwrap();
    assert!(b_head == Seq(0) || b_head == Seq(1), "{b_head:?}");
    assert_eq!(seen(&log, a), (1, Seq(1), true, 1 + b_head.0 as usize));
    log.append(a, Seq(1), &envelopes(a, 2, vec![locked(dat_contracts::Stage::Discovery)])).unwrap();
    assert_eq!(log.read(a, Seq(0)).unwrap().len(), 2);
}

/// Appends run `run`'s first event on a thread whose sync is delayed 200 ms by the fault
/// `delay` picks (then fails or succeeds, as that fault does); returns once that sync began.
fn append_in_a_200_ms_sync(
    log: &Arc<SledLog>,
    run: RunId,
    delay: fn(&super::flush::Faults) -> &std::sync::Mutex<Option<std::time::Duration>>,
) -> std::thread::JoinHandle<Result<(), AppendError>> {
    *delay(&log.shared.faults).lock().unwrap() = Some(std::time::Duration::from_millis(200));
    let first = {
        let log = log.clone();
        std::thread::spawn(move || log.append(run, Seq(0), &envelopes(run, 1, vec![created()])))
    };
    while delay(&log.shared.faults).lock().unwrap().is_some() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    first
}

#[test]
fn an_append_waiting_while_a_sync_fails_is_neither_acknowledged_nor_shown() {
    // The first append's sync takes 200 ms and fails; a second append comes meanwhile and waits
    // for that flush. It fails with it: no flush after the failure is trusted to cover it.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (test_run_id(), other_run());
    let log = Arc::new(open(dir.path()));
    let first = append_in_a_200_ms_sync(&log, a, |faults| &faults.sync);
    let second = log.append(b, Seq(0), &envelopes(b, 1, vec![created()]));
    let first = first.join().unwrap();
    assert!(matches!(first, Err(AppendError::Backend(_))), "{first:?}");
    assert!(matches!(second, Err(AppendError::Backend(_))), "{second:?}");
    assert_eq!(log.flushes(), 1, "no flush after the failure");
    assert_eq!(seen(&log, a), (0, Seq(0), false, 0));
    assert_eq!(seen(&log, b), (0, Seq(0), false, 0));
}

#[test]
fn a_sync_covers_the_records_written_before_it_began_and_no_later_one() {
    // The first append's sync takes 200 ms; meanwhile a second append comes and waits for that
    // flush, which took its group before the second append was in it: the second append is
    // acknowledged only after a sync of its own.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (test_run_id(), other_run());
    let log = Arc::new(open(dir.path()));
    let first = append_in_a_200_ms_sync(&log, a, |faults| &faults.slow);
    let started = std::time::Instant::now();
    log.append(b, Seq(0), &envelopes(b, 1, vec![created()])).unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(log.syncs(), 2, "the second record had a sync of its own");
    assert!(started.elapsed() >= std::time::Duration::from_millis(150), "acknowledged before the first sync ended");
    assert_eq!(seen(&log, a).1, Seq(1));
    assert_eq!(seen(&log, b).1, Seq(1));
    // A flush with nothing new to write syncs nothing once every record is covered.
    assert_eq!(log.shared.flush(), Ok(2));
    assert_eq!(log.syncs(), 2);
}

#[test]
fn an_append_is_acknowledged_once_durable_and_reads_back_at_once_while_sled_is_slow() {
    // Two runs' appends share one group, which the inserter puts into sled slowly (300 ms). The
    // appends are acknowledged once the group's record is synced, long before that; a read
    // right after waits for the inserter and finds the events.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (test_run_id(), other_run());
    let log = open(dir.path());
    let held = lock(&log.shared.turn); // no flush takes a group until both appends are in it
    let receipts = [a, b].map(|run| log.submit(run, Seq(0), &envelopes(run, 1, vec![created()])).unwrap());
    *log.shared.faults.insert.lock().unwrap() = Some(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    drop(held);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for receipt in receipts {
        runtime.block_on(receipt).unwrap();
    }
    let acknowledged = started.elapsed();
    assert!(acknowledged < std::time::Duration::from_millis(250), "waited for sled: {acknowledged:?}");
    for run in [a, b] {
        assert_eq!(seen(&log, run), (1, Seq(1), true, 2));
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "read before the group was in sled");
    assert!(log.shared.faults.insert.lock().unwrap().is_none(), "the group went through the inserter");
}

//! The event log after its process is killed (SIGKILL) while appends are under way, again and
//! again: every run reads back gap-free up to its head, every global position from 1 up is
//! there once and points to an event of its run at or below that run's head (a half-inserted,
//! never-acknowledged append is gone), every append the child saw acknowledged survived, and
//! appends go on from there.
//!
//! The test binary runs itself as the child (`DAT_KILLED_CHILD` names the log's folder).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dat_contracts::{RunId, Stage};
use dat_events::testing::{created, locked_with};
use dat_events::{Envelope, Seq, Timestamp};
use dat_store::{Durability, EventLog, GlobalPos, SledLog};

const CHILD: &str = "DAT_KILLED_CHILD";
const WRITERS: usize = 4;

fn envelopes(run: RunId, from: u64, count: u64) -> Vec<Envelope> {
    let at = Timestamp::from_datetime(chrono::Utc::now());
    (from..from + count)
        .map(|seq| {
            let event = if seq == 1 { created() } else { locked_with(Stage::Discovery, seq % 7) };
            Envelope::new(run, Seq(seq), at, event)
        })
        .collect()
}

/// The child: `WRITERS` threads append to runs of their own (continuing the runs it finds, one
/// per thread, and new ones), one to sixteen events at a time (the more, the likelier a kill
/// parts one), and print each acknowledged head. Half of them wait for the disk on their own
/// thread, half with receipts as run actors do, so both ways of waiting are killed mid-way, and
/// so are acknowledged groups the inserter has not yet put into sled.
fn child(dir: &str) {
    let log = Arc::new(SledLog::open(std::path::Path::new(dir), Durability::Flush).expect("open"));
    let existing = log.list_runs().expect("runs");
    let threads: Vec<_> = (0..WRITERS)
        .map(|i| {
            let log = log.clone();
            let mut run = existing.get(i).copied().unwrap_or_else(new_run);
            std::thread::spawn(move || {
                // Half the writers wait on their own thread, half with receipts (the flusher).
                let runtime =
                    (i % 2 == 1).then(|| tokio::runtime::Builder::new_current_thread().build().expect("runtime"));
                let mut head = log.last_seq(run).expect("head").0;
                for n in 0u64.. {
                    if n % 50 == 49 {
                        run = new_run();
                        head = 0;
                    }
                    let count = 1 + n % 16;
                    let batch = envelopes(run, head + 1, count);
                    match &runtime {
                        Some(runtime) => {
                            let submitted = log.submit(run, Seq(head), &batch).expect("submit");
                            runtime.block_on(submitted).expect("durable");
                        }
                        None => log.append(run, Seq(head), &batch).expect("append"),
                    }
                    head += count;
                    println!("{run} {head}");
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

fn new_run() -> RunId {
    RunId::from_uuid(uuid::Uuid::now_v7()).expect("a v7 UUID")
}

/// Every run gap-free to its head; every global position once, in order, within its run's head.
fn check(log: &SledLog) -> (u64, HashMap<RunId, u64>) {
    let mut heads = HashMap::new();
    for run in log.list_runs().expect("runs") {
        let head = log.last_seq(run).expect("head").0;
        let seqs: Vec<u64> = log.read(run, Seq(0)).expect("read").iter().map(|e| e.seq.0).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "run {run} reads back gap-free to its head");
        heads.insert(run, head);
    }
    let global = log.read_global(GlobalPos(0), usize::MAX).expect("global order");
    let mut per_run: HashMap<RunId, u64> = HashMap::new();
    for (i, (pos, envelope)) in global.iter().enumerate() {
        assert_eq!(pos.0, i as u64 + 1, "global positions from 1 without a gap");
        let head = heads.get(&envelope.run_id).copied().unwrap_or(0);
        let seq = envelope.seq.0;
        assert!(seq <= head, "global {} points past its run's head ({seq} > {head})", pos.0);
        *per_run.entry(envelope.run_id).or_default() += 1;
    }
    assert_eq!(
        per_run,
        heads.iter().filter(|(_, h)| **h > 0).map(|(r, h)| (*r, *h)).collect(),
        "one position per event"
    );
    (global.len() as u64, heads)
}

#[test]
fn appends_killed_mid_way_leave_a_whole_log_that_goes_on() {
    if let Ok(dir) = std::env::var(CHILD) {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    // A fixed sequence of kill delays (xorshift), so a failure repeats.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Counted from the child's first acknowledged append: its start (exec, opening sled)
        // takes longer than the delays on a busy machine.
        let delay = Duration::from_millis(state % 160);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "appends_killed_mid_way_leave_a_whole_log_that_goes_on",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child");
        let stdout = child.stdout.take().expect("stdout");
        let (first_tx, first_ack) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acknowledged: HashMap<String, u64> = HashMap::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((run, head)) = line.split_once(' ') {
                    if let Ok(head) = head.parse::<u64>() {
                        acknowledged.insert(run.to_owned(), head);
                        let _ = first_tx.send(());
                    }
                }
            }
            acknowledged
        });
        let appending = first_ack.recv_timeout(Duration::from_secs(30));
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let acknowledged = reader.join().expect("reader");
        assert!(appending.is_ok(), "round {round}: the child acknowledged no append in 30 s");
        let log = SledLog::open(dir.path(), Durability::Flush).expect("open after the kill");
        let (positions, heads) = check(&log);
        for (run, head) in &acknowledged {
            let run: RunId = run.parse().expect("run id");
            assert!(heads.get(&run).copied().unwrap_or(0) >= *head, "round {round}: {run} lost acknowledged appends");
        }
        // And it goes on: the next append takes the next seq and the next global position.
        let run = new_run();
        log.append(run, Seq(0), &envelopes(run, 1, 1)).expect("append after recovery");
        let last = log.read_global(GlobalPos(positions), 10).expect("global");
        assert_eq!(last.len(), 1, "round {round}");
        assert_eq!((last[0].0 .0, last[0].1.run_id), (positions + 1, run), "round {round}");
    }
}

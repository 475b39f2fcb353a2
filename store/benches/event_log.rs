//! Event log benchmark: durable appends/s for one run and for 16 runs at once, and the replay
//! time of a 10,000-event run (read + upcast + decode + fold). Run with
//! `cargo bench -p dat-store --bench event_log`. Figures depend on the disk's fsync latency.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use dat_contracts::{RunId, Stage, StageGraphConfig};
use dat_events::testing::locked_with;
use dat_events::{replay, Envelope, RunEvent, Seq, Timestamp};
use dat_store::{Durability, EventLog, SledLog};

fn new_run() -> RunId {
    RunId::from_uuid(uuid::Uuid::now_v7()).expect("now_v7 is a v7 UUID")
}

/// The n-th event of a busy run: a lock or unlock of discovery with realistic inputs.
fn event(n: u64) -> RunEvent {
    if n == 1 {
        RunEvent::RunCreated {
            name: Some("bench".into()),
            profile_id: None,
            profile_hash: None,
            stage_graph: StageGraphConfig::default(),
        }
    } else if n.is_multiple_of(2) {
        locked_with(Stage::Discovery, n % 7)
    } else {
        RunEvent::StageUnlocked { stage: Stage::Discovery }
    }
}

fn append_run(log: &dyn EventLog, run: RunId, count: u64) {
    let at = Timestamp::from_datetime(Utc::now());
    for seq in 1..=count {
        let envelope = Envelope::new(run, Seq(seq), at, event(seq));
        log.append(run, Seq(seq - 1), &[envelope]).expect("append");
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log: Arc<dyn EventLog> = Arc::new(SledLog::open(&dir.path().join("log"), Durability::Flush).expect("open"));

    let single = 2_000;
    let start = Instant::now();
    append_run(log.as_ref(), new_run(), single);
    let secs = start.elapsed().as_secs_f64();
    println!("durable appends, 1 run:    {:>8.0} appends/s ({single} appends in {secs:.2} s)", single as f64 / secs);

    let runs = 16;
    let per_run = 300;
    let start = Instant::now();
    let threads: Vec<_> = (0..runs)
        .map(|_| {
            let log = log.clone();
            std::thread::spawn(move || append_run(log.as_ref(), new_run(), per_run))
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let secs = start.elapsed().as_secs_f64();
    let total = runs as u64 * per_run;
    println!("durable appends, 16 runs:  {:>8.0} appends/s ({total} appends in {secs:.2} s)", total as f64 / secs);

    let big = new_run();
    let buffered = SledLog::open(&dir.path().join("replay-log"), Durability::Buffered).expect("open");
    append_run(&buffered, big, 10_000);
    buffered.flush().expect("flush");
    let start = Instant::now();
    let events = buffered.read(big, Seq(0)).expect("read");
    let state = replay(big, &events);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(state.last_seq, Seq(10_000));
    println!("replay of a 10,000-event run: {:.1} ms (read + decode + fold)", secs * 1000.0);
}

//! Event log benchmark: durable appends/s for one run and for 16 runs at once, beside the raw
//! `fdatasync` rate of the same disk measured in the same run (disks differ: the ratios are
//! what counts), with the fsyncs the log issued; and the replay time of a 10,000-event run
//! (read + upcast + decode + fold). Runs append both ways the log offers: on their own thread
//! (`append`) and as run actors do (`submit`, then the receipt awaited, tasks on one thread).
//! Run with `cargo bench -p dat-store --bench event_log`; `BENCH_PER_RUN` sets the appends
//! of each of the 16 runs (300).

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

/// [`append_run`] as a run actor appends: submitted, then the receipt awaited before the next.
async fn submit_run(log: &dyn EventLog, run: RunId, count: u64) {
    let at = Timestamp::from_datetime(Utc::now());
    for seq in 1..=count {
        let envelope = Envelope::new(run, Seq(seq), at, event(seq));
        log.submit(run, Seq(seq - 1), &[envelope]).expect("submit").await.expect("durable");
    }
}

/// CPU time of this process so far (user + system), from /proc (0 where there is none).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Appends/s of `runs` runs of `per_run` appends each, as dat runs them: tasks on one thread
/// (the registry's arbiter), each awaiting its append's receipt before the next.
fn submitted_rate(log: &Arc<SledLog>, runs: u64, per_run: u64) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let start = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..runs)
            .map(|_| {
                let log = log.clone();
                tokio::spawn(async move { submit_run(log.as_ref(), new_run(), per_run).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
    (runs * per_run) as f64 / start.elapsed().as_secs_f64()
}

/// Small writes, each followed by `fdatasync`, per second: the disk's own limit. Appending
/// (`prefill` false, the rate the ratios are to) or overwriting a file of zeros (as the log's
/// pre-zeroed write-ahead file does: no size to commit, so each sync is cheaper; printed beside
/// the first for honesty).
fn raw_fdatasync_rate(dir: &std::path::Path, prefill: bool) -> f64 {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::create(dir.join(format!("raw-{prefill}"))).expect("raw file");
    if prefill {
        file.write_all_at(&vec![0; 1 << 20], 0).expect("zeros");
        file.sync_all().expect("fsync");
    }
    let count = 1_000;
    let start = Instant::now();
    for i in 0..count {
        file.write_all_at(format!("{i:08}\n").as_bytes(), i * 9).expect("write");
        file.sync_data().expect("fdatasync");
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// Appends/s of bare sled doing the least an append of one event does to it (its `e` key, a
/// 300-byte event; the log adds one `g` key per group and one `h` key per run) from `threads`
/// threads: what the log can reach at best on this machine, whatever it does around sled.
fn sled_inserts_rate(path: &std::path::Path, threads: u64, per_thread: u64) -> f64 {
    let db = sled::Config::new().path(path).flush_every_ms(Some(50)).open().expect("sled");
    let tree = db.open_tree("log").expect("tree");
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tree = &tree;
            scope.spawn(move || {
                let run = uuid::Uuid::now_v7();
                let event = vec![b'x'; 300];
                for seq in 1..=per_thread {
                    let key = [b"e".as_slice(), run.as_bytes(), &seq.to_be_bytes()].concat();
                    tree.insert(key, event.clone()).expect("e");
                }
            });
        }
    });
    (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = raw_fdatasync_rate(dir.path(), false);
    println!("raw fdatasync:             {raw:>8.0} /s ({:.0} µs each)", 1e6 / raw);
    let overwrite = raw_fdatasync_rate(dir.path(), true);
    println!("raw fdatasync, overwrite:  {overwrite:>8.0} /s ({:.0} µs each)", 1e6 / overwrite);
    let sled = Arc::new(SledLog::open(&dir.path().join("log"), Durability::Flush).expect("open"));
    let log: Arc<dyn EventLog> = sled.clone();

    let single = 2_000;
    let start = Instant::now();
    append_run(log.as_ref(), new_run(), single);
    let secs = start.elapsed().as_secs_f64();
    let rate = single as f64 / secs;
    println!(
        "durable appends, 1 run:    {rate:>8.0} appends/s = {:.2}x raw, {:.2}x raw overwrite ({single} appends on the run's thread, {} fsyncs, {secs:.2} s)",
        rate / raw,
        rate / overwrite,
        sled.syncs()
    );
    let before = sled.syncs();
    let rate = submitted_rate(&sled, 1, single);
    println!(
        "durable appends, 1 run:    {rate:>8.0} appends/s = {:.2}x raw, {:.2}x raw overwrite ({single} appends with receipts, as a run actor, {} fsyncs)",
        rate / raw,
        rate / overwrite,
        sled.syncs() - before
    );

    // 16 runs as dat runs them (tasks on one thread, receipts synced by the log's flusher).
    let runs = 16;
    let per_run = std::env::var("BENCH_PER_RUN").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let total = runs * per_run;
    let before = sled.syncs();
    let cpu = cpu_seconds();
    let rate = submitted_rate(&sled, runs, per_run);
    let cpu = cpu_seconds() - cpu;
    let fsyncs = sled.syncs() - before;
    println!(
        "durable appends, 16 runs:  {rate:>8.0} appends/s = {:.2}x raw, {:.2}x raw overwrite ({total} appends with receipts, as run actors, {fsyncs} fsyncs: {:.1} appends per fsync, {:.0} µs CPU per append)",
        rate / raw,
        rate / overwrite,
        total as f64 / fsyncs.max(1) as f64,
        cpu * 1e6 / total as f64
    );

    // The same from 16 threads, each blocked on its append: a flush covers 8 or so (the threads
    // one flush acknowledges append again while the next one syncs what the others appended).
    let before = sled.syncs();
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
    let rate = total as f64 / secs;
    let fsyncs = sled.syncs() - before;
    println!(
        "durable appends, 16 threads: {rate:>6.0} appends/s = {:.2}x raw ({total} appends, each thread blocked on its own, {fsyncs} fsyncs: {:.1} appends per fsync)",
        rate / raw,
        total as f64 / fsyncs.max(1) as f64
    );

    let memory = Arc::new(SledLog::open(&dir.path().join("buffered-log"), Durability::Buffered).expect("open"));
    let start = Instant::now();
    let threads: Vec<_> = (0..runs)
        .map(|_| {
            let log = memory.clone();
            std::thread::spawn(move || append_run(log.as_ref(), new_run(), per_run))
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let secs = start.elapsed().as_secs_f64();
    let buffered = total as f64 / secs;
    println!(
        "buffered appends, 16 runs: {buffered:>8.0} appends/s = {:.2}x raw (no fsync: the log's own work, a bound on any durable rate)",
        buffered / raw
    );
    let ceiling = sled_inserts_rate(&dir.path().join("bare-sled"), runs, per_run);
    // The log inserts groups one after another (its inserter thread): one writer at a time is what
    // it can get from sled.
    let one = sled_inserts_rate(&dir.path().join("bare-sled-1"), 1, runs * per_run);
    println!(
        "sled alone, 1 thread:      {one:>8.0} appends/s = {:.2}x raw (one writer at a time, as the log inserts)",
        one / raw
    );
    println!(
        "sled alone, 16 threads:    {ceiling:>8.0} appends/s = {:.2}x raw (one insert per append, nothing else: the ceiling)",
        ceiling / raw
    );

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

//! NATS bridge benchmark, printing figures (run: `cargo bench -p dat-actors --bench bridge`).
//! Starts its own `nats-server -js` on a free port and a durable sled log in a temp dir.
//! 1. Live: 16 runs append 2,000 events each concurrently (one event per append, fsync'd, as
//!    stage changes are) while the bridge publishes; prints events/s from the first append to
//!    the last ack, and the publish lag p50/p99/max from each append's return to its JetStream ack.
//! 2. Catch-up: 32,000 events already in the log (NATS was down), bridge started; prints
//!    events/s until all are acknowledged.
//!
//! Skips (exit 0, with a message) when nats-server is not installed.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dat_actors::bridge::{self, AppendSignal, BridgeConfig, BridgeSettings, NatsUrl};
use dat_contracts::{RunId, Stage};
use dat_events::testing::{created, locked_with};
use dat_events::{Envelope, Seq, Timestamp};
use dat_store::{Durability, EventLog, GlobalPos, SledLog};

const RUNS: usize = 16;
const EVENTS_PER_RUN: u64 = 2_000;

/// The server process and its store dir (removed after the process is killed).
struct NatsServer {
    child: Child,
    _store: tempfile::TempDir,
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_binary() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/sbin/nats-server");
    if debian.exists() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|p| p.join("nats-server")).find(|p| p.exists())
}

fn start_nats(binary: &PathBuf) -> (NatsServer, NatsUrl) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let store = tempfile::tempdir().unwrap();
    let child = Command::new(binary)
        .args(["-js", "-sd"])
        .arg(store.path())
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (NatsServer { child, _store: store }, NatsUrl::parse(&format!("nats://127.0.0.1:{port}")).unwrap())
}

fn envelope(run: RunId, seq: u64) -> Envelope {
    let event = if seq == 1 { created() } else { locked_with(Stage::Discovery, seq) };
    Envelope::new(run, Seq(seq), Timestamp::from_datetime(chrono::Utc::now()), event)
}

fn new_run() -> RunId {
    RunId::from_uuid(uuid::Uuid::now_v7()).unwrap()
}

async fn wait_acked(status: &bridge::BridgeStatus, target: GlobalPos, acks: Option<&Mutex<Vec<(GlobalPos, Instant)>>>) {
    let mut acked = status.acked();
    loop {
        let pos = *acked.borrow_and_update();
        if let Some(acks) = acks {
            acks.lock().unwrap().push((pos, Instant::now()));
        }
        if pos >= target {
            return;
        }
        tokio::time::timeout(Duration::from_secs(60), acked.changed()).await.expect("acks stalled").unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn live(rt: &tokio::runtime::Runtime, binary: &PathBuf) {
    let (_nats, url) = start_nats(binary);
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(SledLog::open(dir.path(), Durability::Flush).unwrap());
    let signal = AppendSignal::default();
    let config = BridgeConfig {
        url,
        log: log.clone(),
        signal: signal.clone(),
        progress: None,
        settings: BridgeSettings::default(),
    };
    let handle = rt.block_on(bridge::start(config)).unwrap();
    let status = handle.status();
    rt.block_on(async {
        while status.state() != bridge::NatsState::Connected {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let total = RUNS as u64 * EVENTS_PER_RUN;
    let acks = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let watcher = {
        let (status, acks) = (status.clone(), acks.clone());
        rt.spawn(async move { wait_acked(&status, GlobalPos(total), Some(&acks)).await })
    };
    let start = Instant::now();
    let appenders: Vec<_> = (0..RUNS)
        .map(|_| {
            let (log, signal) = (log.clone(), signal.clone());
            std::thread::spawn(move || {
                let run = new_run();
                let mut appended = Vec::with_capacity(EVENTS_PER_RUN as usize);
                for seq in 1..=EVENTS_PER_RUN {
                    log.append(run, Seq(seq - 1), &[envelope(run, seq)]).unwrap();
                    signal.appended(1);
                    appended.push((format!("{run}:{seq}"), Instant::now()));
                }
                appended
            })
        })
        .collect();
    let appended: std::collections::HashMap<String, Instant> =
        appenders.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let appends_done = start.elapsed();
    rt.block_on(watcher).unwrap();
    let elapsed = start.elapsed();
    rt.block_on(handle.shutdown(Duration::from_secs(5))).unwrap();

    // Each event's ack time: the first observed acked position at or past it.
    let acks = acks.lock().unwrap().clone();
    let events = log.read_global(GlobalPos(0), total as usize + 1).unwrap();
    assert_eq!(events.len() as u64, total);
    let mut lags: Vec<Duration> = events
        .iter()
        .map(|(pos, raw)| {
            let i = acks.partition_point(|(acked, _)| acked < pos);
            acks[i].1.saturating_duration_since(appended[&raw.event_id])
        })
        .collect();
    lags.sort();
    println!(
        "live: {RUNS} runs x {EVENTS_PER_RUN} events, appends (fsync) done in {:.2} s ({:.0} appends/s)",
        appends_done.as_secs_f64(),
        total as f64 / appends_done.as_secs_f64()
    );
    println!(
        "live: bridge throughput {:.0} events/s (first append to last ack, {:.2} s)",
        total as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "live: publish lag append -> JetStream ack: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lags, 0.50).as_secs_f64() * 1e3,
        percentile(&lags, 0.99).as_secs_f64() * 1e3,
        lags.last().unwrap().as_secs_f64() * 1e3
    );
}

fn catch_up(rt: &tokio::runtime::Runtime, binary: &PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(SledLog::open(dir.path(), Durability::Buffered).unwrap());
    let total = RUNS as u64 * EVENTS_PER_RUN;
    for _ in 0..RUNS {
        let run = new_run();
        let batch: Vec<_> = (1..=EVENTS_PER_RUN).map(|seq| envelope(run, seq)).collect();
        log.append(run, Seq(0), &batch).unwrap();
    }
    log.flush().unwrap();
    let (_nats, url) = start_nats(binary);
    let config = BridgeConfig {
        url,
        log: log.clone(),
        signal: AppendSignal::default(),
        progress: None,
        settings: BridgeSettings::default(),
    };
    let start = Instant::now();
    let handle = rt.block_on(bridge::start(config)).unwrap();
    let status = handle.status();
    assert_eq!(status.lag(), Some(total), "the backlog is counted at start");
    rt.block_on(wait_acked(&status, GlobalPos(total), None));
    let elapsed = start.elapsed();
    rt.block_on(handle.shutdown(Duration::from_secs(5))).unwrap();
    println!(
        "catch-up: {total} events in the log, all acknowledged in {:.2} s: {:.0} events/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let Some(binary) = nats_binary() else {
        println!("bridge bench skipped: nats-server is not installed (scripts/test installs it)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    live(&rt, &binary);
    catch_up(&rt, &binary);
}

//! The NATS bridge against a real nats-server: every event on JetStream in order with its
//! subject, payload and message id; nothing lost or doubled across a NATS outage or a daemon
//! SIGKILL; live progress on core NATS; `dat events tail`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use crate::support::daemon::wait_for;
use crate::support::nats::{free_port, Js, NatsServer};
use crate::support::{dat, Daemon, Dirs};

fn snake_case(event_type: &str) -> String {
    let mut out = String::new();
    for (i, c) in event_type.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn health(d: &Daemon) -> Value {
    let (status, body) = d.get("/api/dat/health");
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the daemon's bridge is `state` with no unacknowledged events.
fn wait_caught_up(d: &Daemon, state: &str) -> Value {
    wait_for(60, || {
        let h = health(d);
        (h["nats"] == state && h["nats_lag"] == 0).then_some(h)
    })
}

/// Waits until the stream holds exactly the events of `logs` (all runs' audit logs), checks
/// they are stored once each, in each run's seq order, and returns them.
fn assert_stream_holds(js: &Js, logs: &[Vec<Value>]) {
    let total: usize = logs.iter().map(Vec::len).sum();
    wait_for(60, || (js.count() as usize >= total).then_some(()));
    let stored = js.events();
    let ids: Vec<&str> = stored.iter().map(|e| e.msg_id.as_str()).collect();
    assert_eq!(stored.len(), total, "stream count = log length; ids: {ids:?}");
    for log in logs {
        let run = log[0]["run_id"].as_str().unwrap();
        let of_run: Vec<_> = stored.iter().filter(|e| e.payload["run_id"] == run).collect();
        assert_eq!(of_run.len(), log.len(), "each event of run {run} exactly once");
        for (event, expected) in of_run.iter().zip(log) {
            let event_id = expected["event_id"].as_str().unwrap();
            assert_eq!(event.msg_id, event_id, "in seq order with Nats-Msg-Id = event_id");
            assert_eq!(event.payload, *expected, "payload = the envelope JSON");
            let subject = format!("dat.events.{run}.{}", snake_case(expected["type"].as_str().unwrap()));
            assert_eq!(event.subject, subject);
        }
    }
}

/// A few stage changes: lock/unlock of discovery and selection.
fn stage_changes(d: &Daemon, run: &str, pairs: usize) {
    for _ in 0..pairs {
        d.lock(run, "selection", r#"{"files": ["data/a.csv"]}"#);
        let (status, body) = d.stage(run, "selection", "unlock", "");
        assert_eq!(status, 200, "{body}");
    }
}

fn nats_daemon(dirs: Dirs, url: &str, extra: &[&str]) -> Daemon {
    let mut args = vec!["--nats", url];
    args.extend_from_slice(extra);
    Daemon::start_with(dirs, &args)
}

#[test]
fn a_runs_events_arrive_in_seq_order_with_subjects_payloads_and_message_ids() {
    let nats = NatsServer::start();
    let d = nats_daemon(Dirs::new(), &nats.url, &[]);
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    stage_changes(&d, &run, 2);
    d.lock(&run, "selection", "{}");
    let other = d.create_run();
    d.lock(&other, "discovery", r#"{"root": "data"}"#);

    let js = Js::connect(&nats.url);
    assert_stream_holds(&js, &[d.audit(&run), d.audit(&other)]);
    assert_eq!(js.duplicate_window(), Duration::from_secs(120), "documented duplicate window");
    let h = wait_caught_up(&d, "connected");
    assert_eq!(h["status"], "ok");
}

#[test]
fn health_says_disabled_without_nats() {
    let d = Daemon::start();
    let h = health(&d);
    assert_eq!(h["nats"], "disabled");
    assert!(h["nats_lag"].is_null(), "{h}");
}

#[test]
fn a_nats_outage_mid_run_loses_and_doubles_nothing() {
    let mut nats = NatsServer::start();
    let d = nats_daemon(Dirs::new(), &nats.url, &[]);
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    stage_changes(&d, &run, 3);
    wait_caught_up(&d, "connected");

    nats.kill();
    // The daemon keeps serving and writing the log while NATS is down.
    stage_changes(&d, &run, 50); // 100 stage changes
    let h = wait_for(30, || {
        let h = health(&d);
        (h["nats"] == "disconnected").then_some(h)
    });
    assert!(h["nats_lag"].as_u64().unwrap() >= 100, "the lag counts what is not yet acknowledged: {h}");

    nats.restart();
    wait_caught_up(&d, "connected");
    let js = Js::connect(&nats.url);
    assert_stream_holds(&js, &[d.audit(&run)]);
}

#[test]
fn nats_killed_while_many_runs_change_keeps_every_runs_order() {
    let mut nats = NatsServer::start();
    let d = nats_daemon(Dirs::new(), &nats.url, &[]);
    let runs: Vec<String> = (0..8).map(|_| d.create_run()).collect();
    for run in &runs {
        d.lock(run, "discovery", r#"{"root": "data"}"#);
    }
    let js = Js::connect(&nats.url);
    // Whatever is in flight when the server dies, and however soon it is back, the stream
    // ends up with each event once, in each run's order.
    std::thread::scope(|scope| {
        for run in &runs {
            let d = &d;
            scope.spawn(move || stage_changes(d, run, 15));
        }
        wait_for(60, || (js.count() >= 40).then_some(()));
        nats.kill();
        nats.restart();
    });
    wait_caught_up(&d, "connected");
    let js = Js::connect(&nats.url);
    let logs: Vec<Vec<Value>> = runs.iter().map(|run| d.audit(run)).collect();
    assert_stream_holds(&js, &logs);
}

#[test]
fn a_daemon_killed_before_saving_its_cursor_publishes_each_event_once() {
    let nats = NatsServer::start();
    let dead_nats = format!("nats://127.0.0.1:{}", free_port());
    // The cursor is saved once an hour: the SIGKILL below lands after every publish was
    // acknowledged but before the acknowledged position was saved.
    let d = nats_daemon(Dirs::new(), &nats.url, &["--nats-cursor-save-ms", "3600000"]);
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    stage_changes(&d, &run, 3);
    let log_len = d.audit(&run).len();
    let js = Js::connect(&nats.url);
    assert_stream_holds(&js, &[d.audit(&run)]);
    wait_caught_up(&d, "connected");
    let dirs = d.kill();

    // Proof that the cursor was not saved: against an unreachable NATS, every event is pending.
    let d = nats_daemon(dirs, &dead_nats, &[]);
    let h = health(&d);
    assert_eq!(h["nats"], "disconnected");
    assert_eq!(h["nats_lag"], log_len as u64, "{h}");
    let (code, dirs) = d.stop();
    assert_eq!(code, Some(0));

    // Back on the real NATS: everything is published again, and the stream drops the copies.
    let d = nats_daemon(dirs, &nats.url, &[]);
    wait_caught_up(&d, "connected");
    assert_stream_holds(&js, &[d.audit(&run)]);
    // The cursor advances again: new events are published once, and after a clean stop
    // nothing is pending.
    stage_changes(&d, &run, 2);
    assert_stream_holds(&js, &[d.audit(&run)]);
    wait_caught_up(&d, "connected");
    let (_, dirs) = d.stop();
    let d = nats_daemon(dirs, &dead_nats, &[]);
    assert_eq!(health(&d)["nats_lag"], 0, "the acknowledged position was saved");
}

#[test]
fn parse_progress_is_published_on_core_nats() {
    let nats = NatsServer::start();
    let d = nats_daemon(Dirs::new(), &nats.url, &[]);
    wait_for(30, || (health(&d)["nats"] == "connected").then_some(()));
    let run = d.create_run();
    let js = Js::connect(&nats.url);
    let mut updates = js.block_on(async {
        let sub = js.client.subscribe(format!("dat.progress.{run}")).await.unwrap();
        js.client.flush().await.unwrap();
        sub
    });
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    d.stage(&run, "context", "skip", "");
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    d.lock(&run, "parse", "{}");
    d.wait_completed(&run, "parse");
    let first = js.block_on(async { tokio::time::timeout(Duration::from_secs(30), updates.next()).await });
    let message = first.expect("a progress update within 30 s").expect("subscription open");
    let progress: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(progress["run_id"], run.as_str());
    assert_eq!(progress["stage"], "parse");
    for field in ["rows", "tables_done", "tables_total", "percent"] {
        assert!(progress[field].is_number(), "{field} in {progress}");
    }
}

/// Starts `dat events tail ARGS` (with `DAT_NATS_URL` set) and a thread passing its lines on.
fn spawn_tail(args: &[&str], nats_url: &str) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dat"))
        .args(["events", "tail"])
        .args(args)
        .env("DAT_NATS_URL", nats_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

#[test]
fn events_tail_prints_events_as_they_arrive() {
    let nats = NatsServer::start();
    let d = nats_daemon(Dirs::new(), &nats.url, &[]);
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    let js = Js::connect(&nats.url);
    assert_stream_holds(&js, &[d.audit(&run)]);

    let (mut tail, rx) = spawn_tail(&["--nats", &nats.url, "--run", &run, "--from-start", "--json"], &nats.url);
    let next_line = || -> Value {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("a line from dat events tail");
        serde_json::from_str(&line).expect("one JSON envelope per line")
    };
    for expected in d.audit(&run) {
        assert_eq!(next_line(), expected, "stored events first, in order");
    }
    d.lock(&run, "selection", "{}");
    let live = next_line();
    assert_eq!(live["type"], "StageLocked");
    assert_eq!(live["data"]["stage"], "selection");
    let _ = tail.kill();
    let _ = tail.wait();

    // Human form: one line per event with its time, run, seq, type and stage.
    let (mut human, rx) = spawn_tail(&["--from-start"], &nats.url);
    let first = rx.recv_timeout(Duration::from_secs(30)).expect("a line");
    let second = rx.recv_timeout(Duration::from_secs(30)).expect("a second line");
    let _ = human.kill();
    let _ = human.wait();
    assert!(first.contains(&run) && first.contains(" 1 RunCreated"), "{first}");
    assert!(second.ends_with(" 2 StageLocked discovery"), "{second}");

    // NATS unreachable: a clear message and exit code 1.
    let unreachable = format!("nats://127.0.0.1:{}", free_port());
    let out = dat(&["events", "tail", "--nats", &unreachable]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach NATS"), "{out:?}");
}

#[test]
fn the_nats_url_comes_from_the_config_file_and_a_bad_one_is_a_usage_error() {
    let nats = NatsServer::start();
    let dirs = Dirs::new();
    let config = dirs.data_dir.with_extension("toml");
    std::fs::write(&config, format!("nats = \"{}\"\nnats_cursor_save_ms = 50\n", nats.url)).unwrap();
    let d = Daemon::start_with(dirs.clone(), &["--config", config.to_str().unwrap()]);
    wait_caught_up(&d, "connected");
    drop(d);

    let workspace = dirs.workspace.to_str().unwrap();
    let out = dat(&["serve", "--workspace", workspace, "--nats", "http://[::1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nats") && stderr.contains("fix:"), "{stderr}");
}

//! Durability: every acknowledged change survives SIGKILL, and the restarted daemon's state is
//! exactly the replay of its log (`dat replay`).

use serde_json::Value;

use crate::support::{dat, Daemon};

fn replay_json(data_dir: &std::path::Path, run: &str, until: Option<u64>) -> Value {
    let mut args = vec!["replay", run, "--json", "--data-dir", data_dir.to_str().unwrap()];
    let until_text = until.map(|u| u.to_string());
    if let Some(u) = &until_text {
        args.extend(["--until", u.as_str()]);
    }
    let out = dat(&args);
    assert!(out.status.success(), "dat replay failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("replay JSON")
}

#[test]
fn acknowledged_changes_survive_sigkill_and_equal_replay() {
    let d = Daemon::start();
    let run = d.create_run();
    let mut acknowledged = vec![d.run(&run)];
    acknowledged.push(d.lock(&run, "discovery", r#"{"root": "data"}"#));
    acknowledged.push(d.lock(&run, "selection", r#"{"files": ["data/a.csv"]}"#));
    acknowledged.push(d.stage(&run, "context", "skip", "").1);
    acknowledged.push(d.lock(&run, "table_availability", "{}"));
    acknowledged.push(d.stage(&run, "selection", "unlock", "").1);
    acknowledged.push(d.lock(&run, "selection", "{}"));
    acknowledged.push(d.lock(&run, "table_availability", "{}"));
    acknowledged.push(d.lock(&run, "table_selection", "{}"));
    d.lock(&run, "parse", "{}");
    acknowledged.push(d.wait_completed(&run, "parse"));
    let last = acknowledged.last().unwrap().clone();
    let log_len = d.audit(&run).len();

    let dirs = d.kill();
    let d = Daemon::start_with(dirs, &[]);
    assert_eq!(d.run(&run), last, "state after restart equals the last acknowledged state");
    let events = d.audit(&run);
    assert_eq!(events.len(), log_len);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=log_len as u64).collect::<Vec<_>>());
    // The restarted daemon keeps working on the rehydrated run.
    let after_restart = d.stage(&run, "table_availability", "unlock", "").1;
    assert_eq!(after_restart["stages"]["parse"]["state"], "unlocked");

    let (code, dirs) = d.stop();
    assert_eq!(code, Some(0), "SIGTERM is a clean shutdown");
    assert_eq!(replay_json(&dirs.data_dir, &run, None), after_restart, "dat replay equals the live state");
    // Replay as of an earlier seq: the state right after the first lock.
    let first_lock_seq = 2;
    assert_eq!(replay_json(&dirs.data_dir, &run, Some(first_lock_seq)), acknowledged[1]);
}

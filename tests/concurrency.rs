//! Concurrent requests on one run are serialized by its actor: the log has no gaps and the live
//! state equals the replay of the log.

use std::sync::Arc;

use crate::support::{dat, Daemon};

#[test]
fn fifty_concurrent_lock_unlock_requests_leave_a_gap_free_log() {
    let d = Arc::new(Daemon::start());
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let (d, run) = (d.clone(), run.clone());
            std::thread::spawn(move || {
                let (stage, action, body) = match i % 5 {
                    0 => ("discovery", "unlock", ""),
                    1 => ("discovery", "lock", r#"{"root": "data"}"#),
                    2 => ("selection", "lock", "{}"),
                    3 => ("selection", "unlock", ""),
                    _ => ("discovery", "lock", r#"{"root": "data", "recursive": false}"#),
                };
                let (status, body) = d.stage(&run, stage, action, body);
                // A lock may find its gate unmet because of another request; nothing else.
                assert!(status == 200 || body["error"]["code"] == "gate_not_met", "{status} {body}");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("request thread");
    }
    let events = d.audit(&run);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>(), "seq 1..N without gaps");
    assert!(events.len() > 20, "most requests changed the run ({} events)", events.len());

    let out = dat(&["replay", &run, "--json", "--server", &d.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let replayed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed, d.run(&run), "live state equals the replay of the log");
}

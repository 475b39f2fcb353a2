//! The inspection commands, offline on a data dir and against a running daemon.

use crate::support::{dat, Daemon};

#[test]
fn runs_show_and_audit_work_offline_and_through_the_daemon() {
    let d = Daemon::start();
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    let data_dir = d.data_dir().to_str().unwrap().to_owned();

    // While the daemon holds the data dir, the CLI says so and asks it.
    let out = dat(&["audit", &run, "--json", "--data-dir", &data_dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds"), "says a daemon holds the data dir");
    let online: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(online.as_array().unwrap().len(), 3);

    let (code, _dirs) = d.stop();
    assert_eq!(code, Some(0));
    let out = dat(&["audit", &run, "--json", "--data-dir", &data_dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let offline: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(offline, online, "offline audit reads the same log");
    let types: Vec<&str> = offline.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["RunCreated", "StageLocked", "StageLocked"]);

    let out = dat(&["audit", &run, "--data-dir", &data_dir]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("StageLocked") && table.contains("discovery_"), "{table}");

    let out = dat(&["runs", "--data-dir", &data_dir]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains(&run) && listing.contains("table_availability"), "{listing}");

    let out = dat(&["show", &run, "--data-dir", &data_dir]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("selection_"));

    let out = dat(&["show", "01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e", "--data-dir", &data_dir]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

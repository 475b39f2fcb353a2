//! A file edited after discovery never enters a dataset under the stage IDs of its old content:
//! parse fails that table with `source_changed` (file, expected and found sha256), over HTTP and
//! in `dat run`, also when the edit keeps the size and restores the mtime, and when discovery
//! had remembered the file's hash (parse then trusts an unchanged size and change time).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::{dat, Daemon, Dirs};

fn lock_until_table_selection(d: &Daemon) -> String {
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    run
}

/// The parse artifact's `result.problems`, once parse completed.
fn problems(d: &Daemon, run: &str) -> Vec<Value> {
    d.lock(run, "parse", "{}");
    d.wait_completed(run, "parse");
    let (status, artifact) = d.get(&format!("/api/dat/runs/{run}/stages/parse/artifact"));
    assert_eq!(status, 200, "{artifact}");
    artifact["result"]["problems"].as_array().cloned().unwrap_or_default()
}

fn assert_source_changed(problems: &[Value], file: &str) {
    assert_eq!(problems.len(), 1, "{problems:?}");
    let error = &problems[0]["error"];
    assert_eq!(problems[0]["file"], file);
    assert_eq!(error["code"], "source_changed", "{error}");
    assert_eq!(error["details"]["file"], file);
    assert_ne!(error["details"]["expected_sha256"], error["details"]["found_sha256"]);
    assert!(error["message"].as_str().unwrap().contains("re-lock discovery"), "{error}");
}

#[test]
fn an_edit_after_table_selection_fails_that_table_with_source_changed() {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    std::fs::write(data.join("a.csv"), "id,v\n1,10\n").unwrap();
    std::fs::write(data.join("b.csv"), "id,v\n2,20\n").unwrap();
    let d = Daemon::start_with(dirs, &[]);
    let run = lock_until_table_selection(&d);
    std::fs::write(data.join("a.csv"), "id,v\n1,99\n2,20\n").unwrap();
    let found = problems(&d, &run);
    assert_source_changed(&found, "data/a.csv");
    let view = d.run(&run);
    assert_eq!(view["stages"]["parse"]["completed"], true, "the other table is parsed: {view}");
}

#[test]
fn an_edit_that_keeps_the_size_and_the_mtime_is_still_found() {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    let file = data.join("a.csv");
    std::fs::write(&file, "id,v\n1,10\n").unwrap();
    let reference = dirs.workspace.join("reference");
    std::fs::copy(&file, &reference).unwrap();
    assert!(Command::new("touch").arg("-r").arg(&file).arg(&reference).status().unwrap().success());
    // Settled (its last write over 2 s before discovery): discovery remembers its hash under
    // its size and change time, which parse trusts instead of hashing while they are unchanged.
    std::thread::sleep(Duration::from_millis(2100));
    let d = Daemon::start_with(dirs, &[]);
    let run = lock_until_table_selection(&d);
    std::fs::write(&file, "id,v\n1,11\n").unwrap(); // same size
    assert!(Command::new("touch").arg("-r").arg(&reference).arg(&file).status().unwrap().success());
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        std::fs::metadata(&reference).unwrap().modified().unwrap()
    );
    assert_source_changed(&problems(&d, &run), "data/a.csv");

    // A new run discovers the new content (the fingerprint cache keys on the change time,
    // which `touch -r` cannot restore) and parses it.
    let again = lock_until_table_selection(&d);
    assert!(problems(&d, &again).is_empty(), "a fresh discovery reads the edited file");
}

/// Appends a row to `file` every few milliseconds until `stop` is set, each version written
/// beside as `scratch` and renamed into place, so a reader never sees half a file.
fn keep_editing(file: &Path, scratch: &Path, stop: &AtomicBool) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let mut text = std::fs::read_to_string(file).unwrap();
        text.push_str(&format!("{n},{n}\n"));
        std::fs::write(scratch, text).unwrap();
        std::fs::rename(scratch, file).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dat_run_names_a_file_that_changed_while_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("steady.csv"), "id,v\n1,1\n").unwrap();
    let growing = data.join("growing.csv");
    std::fs::write(&growing, "id,v\n0,0\n").unwrap();
    let stop = AtomicBool::new(false);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| keep_editing(&growing, &dir.path().join("scratch.csv"), &stop));
        let p = |p: &Path| p.to_str().unwrap().to_owned();
        let out =
            dat(&["run", &p(&data), "--data-dir", &p(&dir.path().join("dd")), "--out", &p(&dir.path().join("out"))]);
        stop.store(true, Ordering::Relaxed);
        out
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the steady file is parsed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("failed: growing.csv: [source_changed] growing.csv changed after discovery"), "{stdout}");
    assert!(stdout.contains("1 parsed, 0 partial, 1 failed"), "{stdout}");
}

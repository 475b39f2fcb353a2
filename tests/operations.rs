//! Operating the daemon: work interrupted by SIGKILL is recorded and resumed, cleanup lists
//! before it deletes and deletes exactly what it listed, `dat cancel` stops a parse, metrics
//! are scraped in Prometheus format, and progress carries an ETA.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{dat, wait_for, Daemon, Dirs};

/// `files` CSVs of `rows` rows each under `data/` (replacing the default two files).
fn many_files(files: usize, rows: usize) -> Dirs {
    let dirs = Dirs::new();
    let data = dirs.workspace.join("data");
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    for f in 0..files {
        let mut text = String::from("id,lot,x,y,ts\n");
        for i in 0..rows {
            let x = (i * 7919 + f * 104_729) % 100_000;
            text.push_str(&format!(
                "{i},LOT{f:03},{}.{:04},{},2025-01-{:02}T10:00:00\n",
                x / 1000,
                x % 10_000,
                i % 97,
                1 + i % 28
            ));
        }
        std::fs::write(data.join(format!("f{f:03}.csv")), text).unwrap();
    }
    dirs
}

/// Locks every stage up to table_selection, then parse; returns the run id.
fn start_parse(d: &Daemon, parse_body: &str) -> String {
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    d.lock(&run, "parse", parse_body);
    run
}

/// A small deterministic generator (xorshift), so that a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_parse_killed_twenty_times_is_recorded_resumed_and_ends_byte_identical() {
    let seed = std::env::var("DAT_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    }) | 1;
    println!("kill test seed: {seed} (DAT_TEST_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    // Enough work that parse outlasts most of the kills on a fast machine too (50 files did not).
    let files = 100;
    let dirs = many_files(files, 6000);
    let clean_dirs = dirs.with_data_dir(&dirs.workspace.parent().unwrap().join("clean-data-dir"));

    let mut d = Daemon::start_with(dirs, &[]);
    let run = start_parse(&d, "{}");
    let (mut during_parse, mut kills) = (0, 0);
    while kills < 20 {
        // A moment drawn from the generator while the daemon works (or, once parse is done, not).
        std::thread::sleep(Duration::from_millis(30 + rng.next() % 250));
        let before = d.audit(&run);
        let running = d.run(&run)["stages"]["parse"]["running"] == true;
        let dirs = d.kill();
        kills += 1;
        d = Daemon::start_with(dirs, &[]);
        // The restarted daemon replays the run; what it appended at start is the interruption.
        let after = d.audit(&run);
        let seqs: Vec<u64> = after.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=after.len() as u64).collect::<Vec<_>>(), "seed {seed}: gap-free after kill {kills}");
        let new = types(&after[before.len()..]);
        let interrupted = new.iter().filter(|t| *t == "Interrupted").count();
        assert!(interrupted <= 1, "seed {seed}: kill {kills}: one interruption, one event: {new:?}");
        // Running when looked at, and not completed before the kill: the restart must say so.
        let first_end = new.iter().position(|t| t == "StageCompleted" || t == "Interrupted");
        if running && first_end.is_some_and(|i| new[i] != "StageCompleted") {
            assert_eq!(interrupted, 1, "seed {seed}: kill {kills}: {new:?}");
        }
        if running && first_end.is_none() {
            panic!("seed {seed}: kill {kills}: parse ran, and the restart recorded nothing: {new:?}");
        }
        during_parse += interrupted;
    }
    let done = d.wait_completed(&run, "parse");
    println!("{during_parse} of 20 kills while parse ran");
    assert!(during_parse >= 15, "seed {seed}: only {during_parse} of 20 kills while parse ran");

    let events = d.audit(&run);
    let all = types(&events);
    // Every interruption is recorded once and resumed by a lock with the same stage ID.
    let parse_id = done["stages"]["parse"]["stage_id"].as_str().unwrap().to_owned();
    for (i, e) in events.iter().enumerate().filter(|(_, e)| e["type"] == "Interrupted") {
        assert_eq!(e["data"]["stage_id"], parse_id.as_str(), "seed {seed}");
        let next = &events[i + 1];
        assert_eq!(
            (next["type"].as_str(), next["data"]["stage_id"].as_str()),
            (Some("StageLocked"), Some(parse_id.as_str()))
        );
    }
    assert_eq!(all.iter().filter(|t| *t == "Interrupted").count(), during_parse, "seed {seed}: {all:?}");
    // A table checkpointed before a kill is never checkpointed again.
    let mut checkpoints: BTreeMap<String, u64> = BTreeMap::new();
    for e in events.iter().filter(|e| e["type"] == "Checkpointed") {
        *checkpoints.entry(e["data"]["table_id"].as_str().unwrap().to_owned()).or_default() += 1;
        // No partly written file is referenced: every checkpoint folder is whole.
        let folder = d.dirs.data_dir.join(e["data"]["artifact"].as_str().unwrap());
        assert!(folder.join("table.json").is_file(), "seed {seed}: {} is not a whole checkpoint", folder.display());
    }
    assert_eq!(checkpoints.len(), files, "seed {seed}");
    assert!(checkpoints.values().all(|n| *n == 1), "seed {seed}: tables checkpointed twice: {checkpoints:?}");
    let bundle = d.dirs.data_dir.join("runs").join(&run).join(&parse_id);
    let dataset = sha256(&bundle.join("dataset.parquet"));

    // The same files parsed without interruption give the same bytes.
    let clean = Daemon::start_with(clean_dirs, &[]);
    let clean_run = start_parse(&clean, "{}");
    let clean_view = clean.wait_completed(&clean_run, "parse");
    assert_eq!(clean_view["stages"]["parse"]["stage_id"], parse_id.as_str());
    let clean_bundle = clean.dirs.data_dir.join("runs").join(&clean_run).join(&parse_id);
    assert_eq!(sha256(&clean_bundle.join("dataset.parquet")), dataset, "seed {seed}: byte-identical dataset");
}

#[test]
fn work_interrupted_without_resume_is_left_unlocked_and_marked() {
    let mut d = Daemon::start_with(many_files(20, 3000), &[]);
    let run = start_parse(&d, "{}");
    wait_for(30, || (d.run(&run)["stages"]["parse"]["running"] == true).then_some(()));
    let dirs = d.kill();
    d = Daemon::start_with(dirs, &["--no-resume"]);
    let view = d.run(&run);
    let parse = &view["stages"]["parse"];
    assert_eq!((parse["state"].as_str(), parse["interrupted"].as_bool()), (Some("unlocked"), Some(true)), "{parse}");
    assert_eq!(types(&d.audit(&run)).last().map(String::as_str), Some("Interrupted"));
    // Locking again with the same inputs resumes from the checkpoints.
    d.lock(&run, "parse", "{}");
    let done = d.wait_completed(&run, "parse");
    assert_eq!(done["stages"]["parse"]["interrupted"], false);
}

/// Every file under `dir` with its sha256.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned(), sha256(&path));
            }
        }
    }
    out
}

#[test]
fn cleanup_lists_before_it_deletes_and_deletes_exactly_that() {
    let d = Daemon::start_with(many_files(3, 50), &[]);
    let run = start_parse(&d, "{}");
    d.wait_completed(&run, "parse");
    d.lock(&run, "export", r#"{"format": "csv"}"#);
    let exported = d.wait_completed(&run, "export");
    // Two more table selections: the first of them is referenced by nothing (the dataset
    // refers to the one it was made from, which stays).
    d.lock(&run, "table_selection", r#"{"tables": ["data/f000.csv"]}"#);
    let unreferenced = d.run(&run)["stages"]["table_selection"]["stage_id"].as_str().unwrap().to_owned();
    d.lock(&run, "table_selection", r#"{"tables": ["data/f001.csv"]}"#);
    let view = d.run(&run);
    let runs_dir = d.dirs.data_dir.join("runs").join(&run);
    // Leftovers of stopped work.
    std::fs::create_dir_all(runs_dir.join(".tmp-stopped")).unwrap();
    std::fs::write(runs_dir.join(".tmp-stopped/half"), "x").unwrap();

    // Offline is refused while the daemon holds the data dir: the CLI asks the daemon.
    let before = tree(&d.dirs.data_dir.join("runs"));
    let datasets_before = tree(&d.dirs.data_dir.join("datasets"));
    let data_dir = d.dirs.data_dir.to_str().unwrap().to_owned();
    let out = dat(&["cleanup", &run, "--data-dir", &data_dir, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["dry_run"], true);
    assert_eq!(tree(&d.dirs.data_dir.join("runs")), before, "a dry run changes nothing");
    let items: Vec<String> =
        listed["items"].as_array().unwrap().iter().map(|i| i["path"].as_str().unwrap().to_owned()).collect();
    let targets: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|i| i["target"].as_str().unwrap()).collect();
    assert!(targets.contains(&"unreferenced") && targets.contains(&"temporary"), "{listed}");
    assert!(items.iter().any(|p| p.ends_with(&format!("/{unreferenced}"))), "{listed}");
    // What locked stages and the exported dataset refer to is never listed.
    for stage in ["discovery", "selection", "table_availability", "table_selection", "parse", "export"] {
        if let Some(id) = view["stages"][stage]["stage_id"].as_str() {
            assert!(!items.iter().any(|p| p.ends_with(&format!("/{id}"))), "{stage} {id} listed: {items:?}");
        }
    }

    let out = dat(&["cleanup", &run, "--data-dir", &data_dir, "--apply", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = tree(&d.dirs.data_dir.join("runs"));
    let gone: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    for file in &gone {
        let full = format!("runs/{file}");
        assert!(items.iter().any(|i| full.starts_with(i.as_str())), "{file} went but was not listed");
    }
    for item in &items {
        assert!(!d.dirs.data_dir.join(item).exists(), "{item} was listed and is still there");
    }
    assert_eq!(tree(&d.dirs.data_dir.join("datasets")), datasets_before, "the exported dataset survives");
    assert!(after.keys().all(|k| before.contains_key(k)), "nothing new appeared");
    let events = d.audit(&run);
    let performed = events.iter().rfind(|e| e["type"] == "CleanupPerformed").expect("CleanupPerformed");
    let recorded: Vec<&str> =
        performed["data"]["removed"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(recorded, items.iter().map(String::as_str).collect::<Vec<_>>(), "the event lists what went");
    assert!(exported["stages"]["export"]["completed"] == true);
    // The locked stages still read their artifacts.
    let (status, _) = d.get(&format!("/api/dat/runs/{run}/stages/table_selection/artifact"));
    assert_eq!(status, 200);
}

#[test]
fn dat_cancel_stops_a_running_parse_of_a_live_daemon() {
    let d = Daemon::start_with(many_files(40, 6000), &[]);
    let run = start_parse(&d, "{}");
    wait_for(30, || (d.run(&run)["stages"]["parse"]["running"] == true).then_some(()));
    let data_dir = d.dirs.data_dir.to_str().unwrap().to_owned();
    let out = dat(&["cancel", &run, "--reason", "wrong folder", "--data-dir", &data_dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let view = wait_for(30, || {
        let view = d.run(&run);
        (view["stages"]["parse"]["cancelled"] == true).then_some(view)
    });
    assert_eq!(view["stages"]["parse"]["state"], "unlocked");
    let events = d.audit(&run);
    let asked = events.iter().find(|e| e["type"] == "CancelRequested").expect("CancelRequested");
    assert_eq!(
        (asked["data"]["reason"].as_str(), asked["data"]["by"].as_str()),
        (Some("wrong folder"), Some("dat cancel"))
    );
    // Nothing runs now: a second cancel is refused.
    let again = dat(&["cancel", &run, "--data-dir", &data_dir]);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn tables_finished_close_together_share_an_fsync_at_most_every_20_ms() {
    let d = Daemon::start_with(many_files(200, 20), &[]);
    let fsyncs = || {
        let text = ureq::get(&format!("{}/api/dat/metrics", d.url)).call().unwrap().into_string().unwrap();
        prometheus_samples(&text)["dat_fsync_seconds_count"]
    };
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    let before = fsyncs();
    let started = Instant::now();
    d.lock(&run, "parse", "{}");
    d.wait_completed(&run, "parse");
    let took = started.elapsed();
    let checkpointed = d.audit(&run).iter().filter(|e| e["type"] == "Checkpointed").count();
    assert_eq!(checkpointed, 200, "one Checkpointed event per table");
    // The lock, the end, and the finished tables recorded at most every 20 ms.
    let most = 3.0 + (took.as_millis() / 20) as f64;
    let synced = fsyncs() - before;
    assert!(synced <= most, "{synced} fsyncs for 200 tables in {took:?} (at most {most})");
}

/// Checks the Prometheus text exposition format line by line; returns the samples by name
/// (labels included).
fn prometheus_samples(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut typed = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line: {line}");
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name: {line}");
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "bad labels: {line}");
            }
        }
        let base = ["_bucket", "_count", "_sum", "_total"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
        assert!(typed.contains(name) || typed.contains(base), "sample before its # TYPE: {line}");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        samples.insert(series.to_owned(), value);
    }
    samples
}

/// `dat` re-executes itself with its malloc settings (`bin/malloc.rs`): without them parse has
/// the kernel fault in and zero its buffers again for every chunk, and more arenas hold more
/// memory.
#[test]
fn the_daemon_runs_with_its_malloc_settings() {
    let d = Daemon::start();
    let environ = std::fs::read(format!("/proc/{}/environ", d.pid())).expect("the daemon's environment");
    let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    for var in ["MALLOC_ARENA_MAX=4", "MALLOC_MMAP_THRESHOLD_=16777216", "MALLOC_TRIM_THRESHOLD_=33554432"] {
        assert!(vars.contains(&var.as_bytes()), "{var} is not in the daemon's environment");
    }
}

#[test]
fn metrics_after_a_run_count_rows_appends_and_requests_in_prometheus_format() {
    let token_dirs = many_files(2, 100);
    let token = token_dirs.workspace.parent().unwrap().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let d = Daemon::start_with(token_dirs, &["--token-file", token.to_str().unwrap()]);
    let (status, _) = d.request("GET", "/api/dat/metrics", None, None);
    assert_eq!(status, 401, "metrics are behind the token");
    let run = {
        let (_, view) = d.request("POST", "/api/dat/runs", Some("{}"), Some("s3cret"));
        view["run_id"].as_str().unwrap().to_owned()
    };
    for (stage, body) in [
        ("discovery", r#"{"root": "data"}"#),
        ("selection", "{}"),
        ("table_availability", "{}"),
        ("table_selection", "{}"),
        ("parse", "{}"),
    ] {
        let (status, body) =
            d.request("POST", &format!("/api/dat/runs/{run}/stages/{stage}/lock"), Some(body), Some("s3cret"));
        assert_eq!(status, 200, "{stage}: {body}");
    }
    wait_for(60, || {
        let (_, view) = d.request("GET", &format!("/api/dat/runs/{run}"), None, Some("s3cret"));
        (view["stages"]["parse"]["completed"] == true).then_some(())
    });
    let response =
        ureq::get(&format!("{}/api/dat/metrics", d.url)).set("Authorization", "Bearer s3cret").call().unwrap();
    assert!(response.content_type().starts_with("text/plain"), "{}", response.content_type());
    let mut text = String::new();
    response.into_reader().read_to_string(&mut text).unwrap();
    let samples = prometheus_samples(&text);
    assert_eq!(samples.get("dat_rows_parsed_total"), Some(&200.0), "{text}");
    assert!(samples["dat_event_appends_total"] > 0.0, "{text}");
    assert!(samples["dat_fsync_seconds_count"] > 0.0, "{text}");
    assert!(
        samples
            .iter()
            .any(|(k, v)| k.starts_with("dat_http_requests_total{") && k.contains("status=\"200\"") && *v > 0.0),
        "{text}"
    );
    assert!(samples.contains_key("dat_http_requests_total{route=\"/api/dat/metrics\",status=\"401\"}"), "{text}");
    assert!(samples.get("dat_stage_duration_seconds_count{stage=\"parse\"}").is_some_and(|n| *n >= 1.0), "{text}");
    assert_eq!(samples.get("dat_runs{state=\"open\"}"), Some(&1.0), "{text}");
}

#[test]
fn progress_of_a_long_parse_carries_an_eta_at_least_every_two_seconds() {
    let d = Daemon::start_with(many_files(60, 12_000), &[]);
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    d.lock(&run, "selection", "{}");
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    let agent = ureq::AgentBuilder::new().timeout_read(Duration::from_secs(20)).build();
    let stream = agent.get(&format!("{}/api/dat/runs/{run}/progress", d.url)).call().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen: Vec<(Instant, Value)> = Vec::new();
        for line in BufReader::new(stream.into_reader()).lines() {
            let Ok(line) = line else { break };
            if let Some(data) = line.strip_prefix("data:") {
                let progress: Value = serde_json::from_str(data.trim()).unwrap();
                let last = progress["percent"].as_f64() == Some(100.0);
                seen.push((Instant::now(), progress));
                if last {
                    break;
                }
            }
        }
        seen
    });
    let started = Instant::now();
    d.lock(&run, "parse", "{}");
    d.wait_completed(&run, "parse");
    let took = started.elapsed();
    let seen = reader.join().unwrap();
    assert!(took >= Duration::from_secs(3), "the parse took {took:?}: make the input larger for this test");
    let with_eta: Vec<&(Instant, Value)> = seen.iter().filter(|(_, p)| p["eta_seconds"].is_number()).collect();
    assert!(with_eta.len() >= 2, "{} updates, {} with an ETA", seen.len(), with_eta.len());
    let close = with_eta.windows(2).any(|w| w[1].0.duration_since(w[0].0) <= Duration::from_secs(2));
    assert!(close, "two updates with an ETA at most 2 s apart");
    let (_, last) = seen.last().unwrap();
    assert!(last["bytes_per_second"].as_f64().is_some_and(|b| b > 0.0), "{last}");
    // At least one update every two seconds while the parse ran.
    let gaps = seen.windows(2).map(|w| w[1].0.duration_since(w[0].0)).max().unwrap_or_default();
    assert!(gaps <= Duration::from_millis(2100), "a gap of {gaps:?} between updates");
}

#[test]
fn gc_offline_lists_then_deletes_every_runs_leftovers_and_stale_fingerprints() {
    let files = many_files(3, 20);
    // Settled (written over 2 s before discovery), so discovery remembers their fingerprints.
    std::thread::sleep(Duration::from_millis(2100));
    let d = Daemon::start_with(files, &[]);
    let run = start_parse(&d, "{}");
    d.wait_completed(&run, "parse");
    d.lock(&run, "table_selection", r#"{"tables": ["data/f000.csv"]}"#);
    let (code, dirs) = d.stop();
    assert_eq!(code, Some(0));
    std::fs::remove_file(dirs.workspace.join("data/f002.csv")).unwrap();
    let (data_dir, workspace) = (dirs.data_dir.to_str().unwrap(), dirs.workspace.to_str().unwrap());
    let gc = |apply: bool| {
        let mut args = vec!["gc", "--data-dir", data_dir, "--workspace", workspace, "--json"];
        if apply {
            args.push("--apply");
        }
        let out = dat(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let listed = gc(false);
    let runs = listed["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{listed}");
    assert!(runs[0]["items"].as_array().unwrap().iter().any(|i| i["target"] == "unreferenced"), "{listed}");
    assert_eq!(listed["fingerprints"], serde_json::json!(["data/f002.csv"]), "{listed}");
    assert_eq!(gc(false), listed, "a dry run changes nothing");
    let applied = gc(true);
    for item in applied["runs"][0]["items"].as_array().unwrap() {
        assert!(!dirs.data_dir.join(item["path"].as_str().unwrap()).exists(), "{item}");
    }
    let again = gc(false);
    assert_eq!((again["runs"].as_array().unwrap().len(), again["fingerprints"].as_array().unwrap().len()), (0, 0));
    let audit = dat(&["audit", &run, "--data-dir", data_dir, "--json"]);
    let events: Vec<Value> = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(events.last().unwrap()["type"], "CleanupPerformed", "the log says what gc took");
}

/// Tables finished while the event log syncs share the next sync: with every `fdatasync` made
/// 20 ms slow (strace's fault injection, standing in for a slow disk), 300 small tables are
/// recorded with far fewer syncs than checkpoints (one each before: 300 tables waited 6 s for
/// the log), and every table is still recorded. At 5 ms the count depended on the machine's
/// load: 86–150 syncs alone, 157–231 beside two busy processes (as when the other tests run);
/// at 20 ms 70–89 beside them.
#[test]
fn tables_finished_during_a_slow_fsync_are_recorded_together() {
    let dirs = many_files(300, 2);
    let data = dirs.workspace.join("data");
    let out = dirs.workspace.join("out");
    let trace = dirs.workspace.join("syncs.txt");
    let p = |p: &Path| p.to_str().unwrap().to_owned();
    let run = std::process::Command::new("strace")
        .args(["-f", "-o", &p(&trace), "-e", "trace=fdatasync", "-e", "inject=fdatasync:delay_exit=20000"])
        .arg(env!("CARGO_BIN_EXE_dat"))
        .args(["run", &p(&data), "--data-dir", &p(&dirs.data_dir), "--out", &p(&out), "--export", "parquet"])
        .output()
        .expect("strace (scripts/test installs it)");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let syncs = std::fs::read_to_string(&trace).unwrap().lines().filter(|l| l.contains("fdatasync(")).count();
    let runs = std::fs::read_dir(dirs.data_dir.join("runs")).unwrap().next().unwrap().unwrap();
    let audit = dat(&["audit", runs.file_name().to_str().unwrap(), "--data-dir", &p(&dirs.data_dir), "--json"]);
    let events: Vec<Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let checkpointed = events.iter().filter(|e| e["type"] == "Checkpointed").count();
    assert_eq!(checkpointed, 300, "every table is recorded");
    assert!(syncs < checkpointed / 2, "{syncs} syncs for {checkpointed} checkpoints");
}

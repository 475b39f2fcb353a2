//! `dat probe`: the probe result per table, as a table or JSON lines; reads only what it needs.

use serde_json::Value;

use crate::support::dat;

fn probe_json(files: &[&std::path::Path]) -> (Option<i32>, Vec<Value>) {
    let mut args = vec!["probe".to_owned(), "--json".to_owned()];
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = dat(&args);
    let lines =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    (out.status.code(), lines)
}

#[test]
fn probe_prints_one_json_object_per_table_and_fails_on_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tsv");
    std::fs::write(&good, "a\tb\n1\t2\n3\t4\n").unwrap();
    let (code, tables) = probe_json(&[&good]);
    assert_eq!(code, Some(0));
    assert_eq!(tables.len(), 1);
    let t = &tables[0];
    assert_eq!(
        (t["status"].as_str(), t["row_estimate"].as_u64(), t["row_count_exact"].as_bool()),
        (Some("available"), Some(2), Some(true))
    );
    assert_eq!(t["sniff"]["delimiter"], "\t");
    for field in ["table_id", "status", "columns", "row_estimate", "row_count_exact", "sniff", "warnings", "error"] {
        assert!(t.get(field).is_some(), "probe result lacks {field}");
    }
    assert!(!t["table_id"].as_str().unwrap().starts_with('/'), "no absolute path: {}", t["table_id"]);

    let bad = dir.path().join("scalar.json");
    std::fs::write(&bad, "42").unwrap();
    let (code, tables) = probe_json(&[&good, &bad]);
    assert_eq!(code, Some(1), "an unreadable table fails the command");
    assert_eq!(tables.len(), 2, "but every file is still reported");
    assert_eq!(tables[1]["status"], "error");
}

#[test]
fn probing_a_1_gib_csv_reads_only_its_first_rows() {
    // 1 GiB whose first MiB is CSV and the rest a hole of zero bytes: a probe that read past
    // its sample would meet the zeros and report them; one that reads only what it needs
    // estimates the rows from the size.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.csv");
    let mut text = String::from("lot,wafer,site,value\n");
    let mut rows = 0u64;
    while text.len() < 2 << 20 {
        text.push_str(&format!("LOT1,W{:02},{},{}.25\n", rows % 25, rows % 49, rows % 1000));
        rows += 1;
    }
    std::fs::write(&path, &text).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(1 << 30).unwrap();
    let (code, tables) = probe_json(&[&path]);
    assert_eq!(code, Some(0), "{tables:?}");
    let t = &tables[0];
    assert_eq!(t["status"], "available", "{t}");
    assert_eq!(t["row_count_exact"], false);
    let estimate = t["row_estimate"].as_u64().unwrap() as f64;
    let per_row = text.len() as f64 / rows as f64;
    let expected = (1u64 << 30) as f64 / per_row;
    assert!((estimate / expected - 1.0).abs() < 0.2, "estimate {estimate} vs {expected}");
}

#[test]
fn shared_fixtures_probe_as_expected() {
    // The checkout the test runs in (cargo sets it at run time): a cached build may have been
    // compiled in another one.
    let base = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../shared/fixtures/basic");
    assert!(base.is_dir(), "the shared fixtures are missing: expected {} beside the repository", base.display());
    let expect = [
        ("sample.csv", "available"),
        ("sample.tsv", "available"),
        ("sample.json", "available"),
        ("sample.jsonl", "available"),
        ("sample.parquet", "available"),
        ("empty.csv", "empty"),
        ("invalid.json", "error"),
    ];
    for (name, status) in expect {
        let (_, tables) = probe_json(&[&base.join(name)]);
        assert_eq!(tables[0]["status"], status, "{name}: {}", tables[0]);
    }
}

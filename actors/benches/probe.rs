//! Probe benchmark, printing figures (run: `cargo bench -p dat-actors --bench probe`):
//! 1. `dat probe` cost of a generated 1 GiB CSV and of a large Parquet file (reads only the
//!    first rows / the footer, so it must not grow with file size);
//! 2. the whole table_availability stage for 1,000 generated files through the real registry
//!    with a durable sled log, per file; plus discovery's first scan and its cached re-scan.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dat_actors::profiles::ProfileCatalog;
use dat_actors::readers::{probe_file, AdapterRegistry, ReadOptions, SourceFile};
use dat_actors::workers::ProbePool;
use dat_actors::{Registry, RegistryConfig, Stages, Workspace};
use dat_contracts::{LockRequest, Stage, StageGraphConfig, WorkspacePath};
use dat_store::{ArtifactStore, Durability, SledLog};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

fn write_csv(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "lot,wafer,site,x_mm,y_mm,thickness_nm,operator")?;
    let (mut written, mut rows) = (0u64, 0u64);
    while written < bytes {
        let line = format!(
            "LOT{:05},W{:02},{},{:.3},{:.3},{:.4},op{}\n",
            rows / 5000,
            rows % 25,
            rows % 49,
            (rows % 300) as f64 * 0.5,
            (rows % 170) as f64 * 0.25,
            100.0 + (rows % 97) as f64 * 0.01,
            rows % 7
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        rows += 1;
    }
    out.flush()?;
    Ok(rows)
}

fn write_parquet(path: &Path, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let schema = Arc::new(parse_message_type(
        "message m { REQUIRED INT64 id; REQUIRED DOUBLE value; REQUIRED BYTE_ARRAY wafer (UTF8); }",
    )?);
    let mut writer =
        SerializedFileWriter::new(std::fs::File::create(path)?, schema, Arc::new(WriterProperties::builder().build()))?;
    let group = 1_000_000;
    for start in (0..rows).step_by(group) {
        let n = group.min(rows - start);
        let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
        let values: Vec<f64> = ids.iter().map(|i| (*i % 1000) as f64 * 0.1).collect();
        let wafers: Vec<ByteArray> = ids.iter().map(|i| ByteArray::from(format!("W{:02}", i % 25).as_str())).collect();
        let mut rg = writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut col) = rg.next_column()? {
            match index {
                0 => col.typed::<Int64Type>().write_batch(&ids, None, None)?,
                1 => col.typed::<DoubleType>().write_batch(&values, None, None)?,
                _ => col.typed::<ByteArrayType>().write_batch(&wafers, None, None)?,
            };
            col.close()?;
            index += 1;
        }
        rg.close()?;
    }
    writer.close()?;
    Ok(())
}

fn time_probe(adapters: &AdapterRegistry, disk: &Path, name: &str) {
    let path = WorkspacePath::parse(name).expect("relative name");
    let (adapter, compression) = adapters.for_name(name).expect("supported");
    let start = Instant::now();
    let tables = probe_file(adapter.as_ref(), &SourceFile::new(&path, disk, compression), &ReadOptions::default());
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let size = std::fs::metadata(disk).map(|m| m.len()).unwrap_or(0) as f64 / (1 << 20) as f64;
    let t = &tables[0];
    println!(
        "probe {name} ({size:.0} MiB): {ms:.1} ms, status {:?}, rows {:?} (exact: {}), {} columns",
        t.status,
        t.row_estimate,
        t.row_count_exact,
        t.columns.len()
    );
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let adapters = AdapterRegistry::default();

    let csv = tmp.path().join("big.csv");
    let start = Instant::now();
    let rows = write_csv(&csv, 1 << 30).expect("write csv");
    println!("generated 1 GiB CSV ({rows} rows) in {:.1} s", start.elapsed().as_secs_f64());
    time_probe(&adapters, &csv, "big.csv");
    std::fs::remove_file(&csv).ok();

    let pq = tmp.path().join("big.parquet");
    write_parquet(&pq, 20_000_000).expect("write parquet");
    time_probe(&adapters, &pq, "big.parquet");
    std::fs::remove_file(&pq).ok();

    let workspace = tmp.path().join("workspace");
    let files = 1_000;
    for i in 0..files {
        let dir = workspace.join(format!("lot{:02}", i / 100));
        std::fs::create_dir_all(&dir).expect("dir");
        if i % 10 == 9 {
            let mut text = String::new();
            for r in 0..50 {
                text.push_str(&format!(
                    "{{\"wafer\": \"W{:02}\", \"site\": {r}, \"cd_nm\": {}.5}}\n",
                    i % 25,
                    40 + r % 7
                ));
            }
            std::fs::write(dir.join(format!("m{i:04}.jsonl")), text).expect("jsonl");
        } else {
            write_csv(&dir.join(format!("m{i:04}.csv")), 4_000).expect("csv");
        }
    }

    actix::System::new().block_on(async move {
        let log = Arc::new(SledLog::open(&tmp.path().join("data/log"), Durability::Flush).expect("log"));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let profiles_log: Arc<dyn dat_store::EventLog> = log.clone();
        let fingerprints_log: Arc<dyn dat_store::FingerprintCache> = log.clone();
        let registry = Registry::new(RegistryConfig {
            log: log.clone(),
            artifacts: ArtifactStore::new(tmp.path().join("data")),
            workspace: Workspace::open(&workspace).expect("workspace"),
            stages: Stages::standard(
                adapters.clone(),
                log,
                ProbePool::start(cores, adapters, ReadOptions::default()),
                tmp.path().join("data/datasets"),
                ReadOptions::default(),
            ),
            stage_graph: StageGraphConfig::default(),
            progress: Default::default(),
            profiles: Arc::new(ProfileCatalog::open(profiles_log, &tmp.path().join("data"), None).expect("profiles")),
            resume: true,
            fingerprints: fingerprints_log,
            metrics: Default::default(),
        });
        let lock = |stage, body: serde_json::Value| LockRequest::parse(stage, body).expect("body");
        for pass in ["first scan", "cached re-scan"] {
            let run = registry.create(None, None).await.expect("create").run_id;
            let start = Instant::now();
            registry.lock(run, lock(Stage::Discovery, serde_json::json!({"root": "."}))).await.expect("discovery");
            println!("discovery of {files} files ({pass}): {:.0} ms", start.elapsed().as_secs_f64() * 1000.0);
            registry.lock(run, lock(Stage::Selection, serde_json::json!({}))).await.expect("selection");
            let start = Instant::now();
            let view = registry.lock(run, lock(Stage::TableAvailability, serde_json::json!({}))).await.expect("probe");
            let secs = start.elapsed().as_secs_f64();
            assert!(view.stages[&Stage::TableAvailability].completed);
            println!(
                "table_availability for {files} files ({pass}): {:.0} ms, {:.2} ms per file (probe on {cores} workers + durable event)",
                secs * 1000.0,
                secs * 1000.0 / files as f64
            );
            let artifact = registry.artifact(run, Stage::TableAvailability).await.expect("artifact");
            println!("  table statuses: {}", artifact.content["counts"]);
        }
        registry.shutdown().await.expect("shutdown");
    });
}

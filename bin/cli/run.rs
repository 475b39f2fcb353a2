//! `dat run FOLDER`: the whole pipeline in one command, in this process. FOLDER is the
//! workspace; every stage is locked with its defaults (context and preview skipped), with a
//! progress bar while parse and export work, then a summary. The exported dataset is copied
//! to `--out` as `data.<ext>` + `manifest.json`. Exits 1 when no table could be parsed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use dat_actors::profiles::ProfileCatalog;
use dat_actors::readers::AdapterRegistry;
use dat_actors::workers::ProbePool;
use dat_actors::{Registry, RegistryConfig, Stages, Workspace};
use dat_contracts::bundle::{parse_files, ParseManifest, ParseResult};
use dat_contracts::profile::Profile;
use dat_contracts::{LockRequest, RunId, Stage, StageGraphConfig};
use dat_events::RunView;
use dat_store::{ArtifactStore, Durability, EventLog, FingerprintCache, MemoryLog, SledLog};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::config::ConfigError;
use crate::daemon::log_dir;

/// `dat run` arguments.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The folder to turn into a dataset (the workspace).
    pub folder: PathBuf,
    /// Export format.
    #[arg(long, value_enum, default_value = "parquet")]
    pub export: ExportFormatArg,
    /// Where the dataset is written.
    #[arg(long, default_value = "dat-out")]
    pub out: PathBuf,
    /// Data dir for the log and artifacts [default: FOLDER/.dat].
    #[arg(long, env = "DAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Extraction profile: the id of one in --profiles-dir, or a profile file (YAML or JSON).
    #[arg(long)]
    pub profile: Option<String>,
    /// How files are laid out where the sniffer should not decide, as JSON by path or glob
    /// (relative to FOLDER): '{"*.csv": {"decimal": ",", "thousands": ".", "header_row": 3}}'.
    #[arg(long, value_name = "JSON")]
    pub read_options: Option<String>,
    /// Folder of profiles --profile may name [default: none].
    #[arg(long, env = "DAT_PROFILES_DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// Limits of the file readers.
    #[command(flatten)]
    pub limits: crate::config::LimitArgs,
    /// Acknowledge events once in the log's memory instead of once on disk: faster for a
    /// throwaway run, but a crash can lose the run's last events (SPEC §5: only on request).
    #[arg(long, env = "DAT_NO_FSYNC")]
    pub no_fsync: bool,
    /// Keep the run's events in this process's memory only, not in the data dir's log: the run
    /// cannot be shown, audited or resumed afterwards. For measuring what the log costs (the
    /// benchmark's event-log share); the files it writes are the same.
    #[arg(long, conflicts_with = "no_fsync")]
    pub memory_log: bool,
}

/// The export formats, for clap.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[allow(missing_docs)]
pub enum ExportFormatArg {
    Parquet,
    Csv,
    Tsv,
    Json,
    Jsonl,
    Xlsx,
}

impl ExportFormatArg {
    fn name(self) -> &'static str {
        match self {
            ExportFormatArg::Parquet => "parquet",
            ExportFormatArg::Csv => "csv",
            ExportFormatArg::Tsv => "tsv",
            ExportFormatArg::Json => "json",
            ExportFormatArg::Jsonl => "jsonl",
            ExportFormatArg::Xlsx => "xlsx",
        }
    }
}

/// Runs the command.
///
/// # Errors
/// When a stage fails, the data dir is held by a daemon, or no table could be parsed.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(pipeline(args))
}

fn lock(stage: Stage, body: Value) -> anyhow::Result<LockRequest> {
    Ok(LockRequest::parse(stage, body)?)
}

async fn pipeline(args: RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let workspace = Workspace::open(&args.folder).with_context(|| format!("cannot open {}", args.folder.display()))?;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| args.folder.join(".dat"));
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let (log, fingerprints): (Arc<dyn EventLog>, Arc<dyn FingerprintCache>) = if args.memory_log {
        let log = Arc::new(MemoryLog::default());
        (log.clone(), log)
    } else {
        let durability = if args.no_fsync { Durability::Buffered } else { Durability::Flush };
        let log = Arc::new(SledLog::open(&log_dir(&data_dir), durability)?);
        (log.clone(), log)
    };
    let options = args.limits.options(&Default::default(), "flags or DAT_*")?;
    let adapters = AdapterRegistry::default();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = ProbePool::start(cores, adapters.clone(), options.clone());
    let profiles =
        Arc::new(ProfileCatalog::open(log.clone(), &data_dir, args.profiles_dir.as_deref()).map_err(|e| {
            ConfigError::new("--profiles-dir", "flags or DAT_PROFILES_DIR", e, "fix or remove the profile")
        })?);
    let profile = match &args.profile {
        Some(given) => Some(resolve_profile(&profiles, given)?),
        None => None,
    };
    let registry = Registry::new(RegistryConfig {
        log: log.clone(),
        artifacts: ArtifactStore::new(&data_dir),
        workspace,
        stages: Stages::standard(adapters, fingerprints.clone(), pool, data_dir.join("datasets"), options),
        stage_graph: StageGraphConfig::default(),
        progress: Default::default(),
        profiles,
        // A run of its own, in a data dir of its own by default: nothing to resume.
        resume: true,
        fingerprints,
        metrics: Default::default(),
    });
    let name = args.folder.file_name().map(|n| n.to_string_lossy().into_owned());
    let run = registry.create(name, profile).await?.run_id;
    let outcome = walk(&registry, run, &args).await;
    registry.shutdown().await?;
    let (view, format) = outcome?;
    summarize(&data_dir, run, &view, &args, format, started.elapsed())
}

/// `--profile`: a file when one exists at that path (its version is kept in the data dir), else
/// the id of a profile of `--profiles-dir` (or of the data dir's log).
fn resolve_profile(profiles: &ProfileCatalog, given: &str) -> anyhow::Result<(String, String)> {
    let path = Path::new(given);
    let profile = if path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {given}"))?;
        let parsed = Profile::parse(&text).map_err(|e| ConfigError::new("--profile", given, e, "fix the profile"))?;
        profiles.remember(parsed)
    } else {
        profiles.get(given).map(|(p, _)| p).map_err(|e| {
            ConfigError::new("--profile", given, e, "give a profile file, or an id of a profile in --profiles-dir")
        })?
    };
    Ok((profile.id.to_string(), profile.content_hash.clone()))
}

/// The table_availability lock body: `--read-options`, when given.
fn availability_body(args: &RunArgs) -> anyhow::Result<Value> {
    let Some(text) = &args.read_options else { return Ok(json!({})) };
    let options: Value = serde_json::from_str(text).map_err(|e| {
        ConfigError::new("--read-options", text, e, r#"give JSON such as '{"*.csv": {"decimal": ","}}'"#)
    })?;
    Ok(json!({ "read_options": options }))
}

async fn walk(registry: &Registry, run: RunId, args: &RunArgs) -> anyhow::Result<(RunView, &'static str)> {
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    for (stage, body) in [
        (Stage::Discovery, json!({"root": "."})),
        (Stage::Selection, json!({})),
        (Stage::TableAvailability, availability_body(args)?),
        (Stage::TableSelection, json!({})),
    ] {
        spinner.set_message(format!("{stage}…"));
        let t0 = std::time::Instant::now();
        registry.lock(run, lock(stage, body)?).await?;
        if std::env::var("DAT_T").is_ok() {
            eprintln!("{stage}: {:?}", t0.elapsed());
        }
        if stage == Stage::Selection {
            // A profile reads context (file names, content); without one there is none.
            if args.profile.is_some() {
                registry.lock(run, lock(Stage::Context, json!({}))?).await?;
            } else {
                registry.skip(run, Stage::Context).await?;
            }
        }
    }
    registry.skip(run, Stage::Preview).await?;
    spinner.finish_and_clear();
    let t0 = std::time::Instant::now();
    registry.lock(run, lock(Stage::Parse, json!({}))?).await?;
    wait(registry, run, Stage::Parse).await?;
    if std::env::var("DAT_T").is_ok() {
        eprintln!("parse: {:?}", t0.elapsed());
    }
    let t0 = std::time::Instant::now();
    let format = args.export.name();
    registry.lock(run, lock(Stage::Export, json!({ "format": format }))?).await?;
    let view = wait(registry, run, Stage::Export).await?;
    if std::env::var("DAT_T").is_ok() {
        eprintln!("export: {:?}", t0.elapsed());
    }
    Ok((view, format))
}

/// Seconds as `42s`, `3m05s` or `1h02m`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Waits for a background stage, drawing its progress.
async fn wait(registry: &Registry, run: RunId, stage: Stage) -> anyhow::Result<RunView> {
    let mut updates = registry.progress();
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{msg:8} [{bar:40}] {pos:>3}% {prefix}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(stage.to_string());
    loop {
        while let Ok(progress) = updates.try_recv() {
            if progress.run_id == run && progress.stage == stage {
                bar.set_position(progress.percent as u64);
                let eta = progress.timing.eta_seconds.map_or(String::new(), |s| format!(", ETA {}", duration(s)));
                bar.set_prefix(format!(
                    "{}/{} tables, {} rows{eta}",
                    progress.tables_done, progress.tables_total, progress.rows
                ));
            }
        }
        let view = registry.get(run).await?;
        let status = view.stages.get(&stage).ok_or_else(|| anyhow!("no {stage} in this run"))?;
        if let Some(error) = &status.error {
            bar.abandon();
            bail!("{stage} failed: {error}");
        }
        if status.completed {
            bar.set_position(100);
            bar.finish_and_clear();
            return Ok(view);
        }
        if !status.running {
            bar.abandon();
            bail!("{stage} stopped before completing");
        }
        // A look costs the actor a few µs; every 50 ms, the end of each background stage waited
        // 25 ms on average for the run to notice it (W1: up to 0.1 s of its 3).
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

fn artifact_dir(data_dir: &Path, view: &RunView, stage: Stage) -> anyhow::Result<PathBuf> {
    let id =
        view.stages.get(&stage).and_then(|s| s.stage_id.clone()).ok_or_else(|| anyhow!("{stage} is not locked"))?;
    Ok(data_dir.join("runs").join(view.run_id.to_string()).join(id.to_string()))
}

fn summarize(
    data_dir: &Path,
    run: RunId,
    view: &RunView,
    args: &RunArgs,
    format: &str,
    elapsed: Duration,
) -> anyhow::Result<()> {
    let discovery: Value = read_json(&artifact_dir(data_dir, view, Stage::Discovery)?.join("artifact.json"))?;
    let availability: Value =
        read_json(&artifact_dir(data_dir, view, Stage::TableAvailability)?.join("artifact.json"))?;
    let parse_dir = artifact_dir(data_dir, view, Stage::Parse)?;
    let manifest: ParseManifest = read_json(&parse_dir.join(parse_files::MANIFEST))?;
    let result: ParseResult = read_json(&parse_dir.join(parse_files::RESULT))?;
    let export: Value = read_json(&artifact_dir(data_dir, view, Stage::Export)?.join("artifact.json"))?;
    let dataset_id =
        export.get("dataset_id").and_then(Value::as_str).ok_or_else(|| anyhow!("export names no dataset"))?;
    let dataset_dir = data_dir.join("datasets").join(dataset_id);
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let data_file = format!("data.{format}");
    for name in [data_file.as_str(), "manifest.json"] {
        // Linked where it can be (the dataset can be large; dat never changes it), else copied.
        let (from, to) = (dataset_dir.join(name), args.out.join(name));
        let _ = std::fs::remove_file(&to);
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).with_context(|| format!("cannot copy {name} to {}", args.out.display()))?;
        }
    }

    let count = |status: &str| result.tables.get(status).copied().unwrap_or(0);
    let (parsed, partial, failed) = (count("parsed"), count("partial"), count("failed"));
    let counts = availability.get("counts").cloned().unwrap_or(Value::Null);
    let statuses = counts
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    let number = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let rows = [
        ("run", run.to_string()),
        (
            "files",
            format!(
                "{} found, {} supported",
                number(&discovery, "supported") + number(&discovery, "unsupported"),
                number(&discovery, "supported")
            ),
        ),
        ("tables", statuses),
        ("parsed", format!("{parsed} parsed, {partial} partial, {failed} failed")),
        ("rows", manifest.rows.to_string()),
        ("columns", manifest.columns.len().to_string()),
        ("rejects", manifest.rejects.to_string()),
        ("rejects at", parse_dir.join(parse_files::REJECTS).display().to_string()),
        ("time", format!("{:.2} s", elapsed.as_secs_f64())),
        ("output", args.out.join(&data_file).display().to_string()),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_owned(), v]);
    }
    println!("{t}");
    for table in availability.get("tables").and_then(Value::as_array).into_iter().flatten() {
        if let (Some("error" | "missing"), Some(id)) =
            (table.get("status").and_then(Value::as_str), table.get("table_id").and_then(Value::as_str))
        {
            let reason = table.get("error").and_then(Value::as_str).unwrap_or_default();
            println!("not read: {id}: {reason}");
        }
    }
    for problem in &result.problems {
        match &problem.error {
            Some(error) => {
                let code = serde_json::to_value(error.code).ok().and_then(|v| v.as_str().map(str::to_owned));
                println!("failed: {}: [{}] {}", problem.table_id, code.unwrap_or_default(), error.message);
            }
            None => println!(
                "partial: {}: {} row(s), {} reject(s); {}",
                problem.table_id,
                problem.rows,
                problem.rejects,
                problem.warnings.first().map_or("", String::as_str)
            ),
        }
    }
    if result.panics_caught > 0 {
        println!(
            "readers failed {} time(s) on file content (a bug: please report it with the file)",
            result.panics_caught
        );
    }
    if parsed + partial == 0 {
        bail!("no table could be parsed");
    }
    Ok(())
}

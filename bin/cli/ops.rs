//! `dat cancel`, `dat cleanup`, `dat gc`: the daemon's operations from the command line. Each
//! asks the daemon that holds the data dir (as `dat runs` does), or works on the data dir
//! directly when none does, through the same run actors (so a cleanup is recorded alike).
//! Offline, a run whose work the log says is running gets its `Interrupted` event, since
//! nothing runs it, and is not resumed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::ValueEnum;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use dat_actors::cleanup::CleanupTarget;
use dat_actors::profiles::ProfileCatalog;
use dat_actors::{Registry, RegistryConfig, Stages, Workspace};
use dat_contracts::{RunId, StageGraphConfig};
use dat_store::{ArtifactStore, SledLog};
use serde_json::{json, Value};

use crate::cli::source::Source;
use crate::cli::SourceArgs;

/// What `dat cleanup --target` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetArg {
    /// Artifacts of locks the run no longer has.
    Unreferenced,
    /// Leftovers of stopped work.
    Temporary,
    /// Checkpoints of a completed parse.
    Checkpoints,
    /// Every artifact of the run.
    Run,
    /// The datasets exported from the run.
    Datasets,
}

impl From<TargetArg> for CleanupTarget {
    fn from(t: TargetArg) -> Self {
        match t {
            TargetArg::Unreferenced => CleanupTarget::Unreferenced,
            TargetArg::Temporary => CleanupTarget::Temporary,
            TargetArg::Checkpoints => CleanupTarget::Checkpoints,
            TargetArg::Run => CleanupTarget::Run,
            TargetArg::Datasets => CleanupTarget::Datasets,
        }
    }
}

fn parse_run(raw: &str) -> anyhow::Result<RunId> {
    raw.parse().with_context(|| format!("`{raw}` is not a run id"))
}

/// `dat cancel RUN [--reason]`.
///
/// # Errors
/// No daemon holds the data dir (nothing can be running), or the daemon refuses.
pub fn cancel(source: &SourceArgs, run: &str, reason: Option<String>) -> anyhow::Result<()> {
    let run = parse_run(run)?;
    match Source::open(source)? {
        server @ Source::Server { .. } => {
            let body = json!({ "reason": reason, "by": "dat cancel" }).to_string();
            let view = server.request("POST", &format!("/api/dat/runs/{run}/cancel"), Some(&body))?;
            let running: Vec<&str> = view["stages"]
                .as_object()
                .map(|stages| stages.iter().filter(|(_, s)| s["running"] == true).map(|(k, _)| k.as_str()).collect())
                .unwrap_or_default();
            println!("cancel requested for run {run}: {} stop at the next table or chunk", running.join(", "));
            Ok(())
        }
        Source::Local(_) => bail!("no daemon holds this data dir, so nothing of run {run} is running"),
    }
}

/// `dat cleanup RUN [--apply] [--target T]…`.
///
/// # Errors
/// When the run is unknown, its whole cleanup is asked while it runs, or files cannot be deleted.
pub fn cleanup(source: &SourceArgs, run: &str, targets: &[TargetArg], apply: bool, json: bool) -> anyhow::Result<()> {
    let run = parse_run(run)?;
    let targets: Vec<CleanupTarget> = targets.iter().map(|t| (*t).into()).collect();
    let report = match Source::open(source)? {
        server @ Source::Server { .. } => {
            let body = json!({ "targets": targets, "dry_run": !apply }).to_string();
            server.request("POST", &format!("/api/dat/runs/{run}/cleanup"), Some(&body))?
        }
        Source::Local(log) => offline(source, *log, None, move |registry| async move {
            Ok(serde_json::to_value(registry.cleanup(run, targets, !apply, None).await?)?)
        })?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_items(&report);
    summary(&report, apply);
    Ok(())
}

/// `dat gc [--apply] [--older-than 30d]`.
///
/// # Errors
/// When the log cannot be read or files cannot be deleted.
pub fn gc(
    source: &SourceArgs,
    workspace: Option<PathBuf>,
    older_than: Option<Duration>,
    apply: bool,
    json: bool,
) -> anyhow::Result<()> {
    let report = match Source::open(source)? {
        server @ Source::Server { .. } => {
            let body = json!({ "dry_run": !apply, "older_than_seconds": older_than.map(|d| d.as_secs()) });
            server.request("POST", "/api/dat/gc", Some(&body.to_string()))?
        }
        Source::Local(log) => offline(source, *log, workspace, move |registry| async move {
            Ok(serde_json::to_value(registry.gc(!apply, older_than).await?)?)
        })?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for run in report["runs"].as_array().into_iter().flatten() {
        println!("run {}:", run["run_id"].as_str().unwrap_or_default());
        print_items(run);
    }
    let forgotten = report["fingerprints"].as_array().map_or(0, Vec::len);
    if forgotten > 0 {
        let verb = if apply { "forgotten" } else { "to forget" };
        println!("{forgotten} cached fingerprint(s) of files that no longer exist, {verb}");
    }
    summary(&report, apply);
    Ok(())
}

/// Runs `work` on a registry over the data dir's own log (no daemon holds it).
fn offline<F, Fut>(source: &SourceArgs, log: SledLog, workspace: Option<PathBuf>, work: F) -> anyhow::Result<Value>
where
    F: FnOnce(Arc<Registry>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Value>>,
{
    let data_dir = source.data_dir.clone().unwrap_or_else(|| PathBuf::from(".dat"));
    let workspace = workspace.unwrap_or_else(|| PathBuf::from("."));
    actix_web::rt::System::new().block_on(async move {
        let log = Arc::new(log);
        let workspace =
            Workspace::open(&workspace).with_context(|| format!("cannot open workspace {}", workspace.display()))?;
        let profiles = Arc::new(ProfileCatalog::open(log.clone(), &data_dir, None)?);
        let registry = Arc::new(Registry::new(RegistryConfig {
            log: log.clone(),
            artifacts: ArtifactStore::new(&data_dir),
            workspace,
            stages: Stages::default(),
            stage_graph: StageGraphConfig::default(),
            progress: Default::default(),
            profiles,
            // Nothing runs work here: interrupted work is recorded, not resumed.
            resume: false,
            fingerprints: log,
            metrics: Default::default(),
        }));
        work(registry).await
    })
}

fn print_items(report: &Value) {
    let items = report["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!("nothing to clean up");
        return;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header(vec!["PATH", "SIZE", "TARGET"]);
    for item in &items {
        table.add_row(vec![
            item["path"].as_str().unwrap_or_default().to_owned(),
            mib(item["bytes"].as_u64().unwrap_or(0)),
            item["target"].as_str().unwrap_or_default().to_owned(),
        ]);
    }
    println!("{table}");
}

fn summary(report: &Value, apply: bool) {
    let bytes = mib(report["bytes"].as_u64().unwrap_or(0));
    if apply {
        println!("deleted {bytes}; the run's log records what went (CleanupPerformed)");
    } else {
        println!("dry run: {bytes} would be freed, nothing was deleted; run again with --apply");
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A duration as `30d`, `12h`, `45m` or `90s`.
///
/// # Errors
/// Any other spelling.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not an age like 30d, 12h, 45m or 90s"))?;
    let seconds = match unit {
        "d" => n * 86_400,
        "h" => n * 3_600,
        "m" => n * 60,
        "s" | "" => n,
        _ => return Err(format!("`{text}`: the unit is d, h, m or s")),
    };
    Ok(Duration::from_secs(seconds))
}

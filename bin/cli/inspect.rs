//! `dat runs`, `dat show`, `dat audit`, `dat replay`: read-only views of runs, all computed by
//! folding the run's events (the same fold the live actor uses).

use anyhow::{bail, Context};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use dat_actors::registry::run_status;
use dat_contracts::RunId;
use dat_events::{replay, Envelope, RawEnvelope, RunView};
use serde_json::Value;

use crate::cli::source::Source;

fn parse_run(raw: &str) -> anyhow::Result<RunId> {
    raw.parse().with_context(|| format!("`{raw}` is not a run id"))
}

/// The run as of `until` (inclusive), or `None` if it was deleted by then.
fn fold(run: RunId, events: Vec<RawEnvelope>, until: Option<u64>) -> anyhow::Result<Option<RunView>> {
    let typed = events
        .into_iter()
        .filter(|e| until.is_none_or(|u| e.seq.0 <= u))
        .map(|raw| {
            let id = raw.event_id.clone();
            Envelope::from_raw(raw).with_context(|| format!("event {id} cannot be read"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let state = replay(run, &typed);
    if state.created_at.is_none() {
        bail!("run {run} has no events up to seq {}", until.unwrap_or(0));
    }
    Ok(state.exists().then(|| RunView::from(&state)))
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// `dat runs`.
///
/// # Errors
/// When the source cannot be read.
pub fn runs(source: &Source, json: bool) -> anyhow::Result<()> {
    let mut views = Vec::new();
    for run in source.run_ids()? {
        if let Some(view) = fold(run, source.events(run)?, None)? {
            views.push(view);
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    let mut t = table(&["RUN", "NAME", "CREATED", "STATUS", "CURRENT STAGE"]);
    for v in &views {
        t.add_row(vec![
            v.run_id.to_string(),
            or_dash(v.name.as_ref()),
            or_dash(v.created_at),
            run_status(v).to_owned(),
            or_dash(v.current_stage),
        ]);
    }
    println!("{t}");
    println!("{} run(s)", views.len());
    Ok(())
}

fn print_view(view: &RunView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(view)?);
        return Ok(());
    }
    println!("run      {}", view.run_id);
    println!("name     {}", or_dash(view.name.as_ref()));
    println!("created  {}", or_dash(view.created_at));
    println!("status   {} (current stage: {})", run_status(view), or_dash(view.current_stage));
    let mut t = table(&["STAGE", "STATE", "STAGE ID", "COMPLETED", "SKIPPED", "RUNNING", "LOCKED AT"]);
    for s in view.stages.values() {
        let state = serde_json::to_value(s.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        t.add_row(vec![
            s.stage.to_string(),
            state,
            or_dash(s.stage_id.as_ref()),
            s.completed.to_string(),
            s.skipped.to_string(),
            s.running.to_string(),
            or_dash(s.locked_at),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// `dat show RUN`.
///
/// # Errors
/// When the run is unknown or deleted.
pub fn show(source: &Source, run: &str, json: bool) -> anyhow::Result<()> {
    let run = parse_run(run)?;
    match fold(run, source.events(run)?, None)? {
        Some(view) => print_view(&view, json),
        None => bail!("run {run} was deleted (its events remain: dat audit {run})"),
    }
}

/// `dat replay RUN [--until SEQ]`.
///
/// # Errors
/// When the run is unknown or has no events up to `until`.
pub fn replay_run(source: &Source, run: &str, until: Option<u64>, json: bool) -> anyhow::Result<()> {
    let run = parse_run(run)?;
    match fold(run, source.events(run)?, until)? {
        Some(view) => print_view(&view, json),
        None => bail!("run {run} was deleted at or before seq {}", or_dash(until)),
    }
}

/// One line describing an event's data, for the audit table.
fn summary(event: &RawEnvelope) -> String {
    let d = &event.data;
    let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    match event.event_type.as_str() {
        "StageLocked" => {
            let mut s = format!("{} {}", text("stage"), text("stage_id"));
            if d.get("reused").and_then(Value::as_bool) == Some(true) {
                s.push_str(" (reused artifact)");
            }
            if d.get("completed").and_then(Value::as_bool) == Some(false) {
                s.push_str(" (running)");
            }
            s
        }
        "Cascaded" => {
            let targets: Vec<&str> = d
                .get("targets")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("{} -> {}", text("trigger"), targets.join(", "))
        }
        "RunCreated" => or_dash(d.get("name").and_then(Value::as_str)),
        "Checkpointed" => format!(
            "{} {} ({} rows)",
            text("stage"),
            text("table_id"),
            d.get("rows").and_then(Value::as_u64).unwrap_or(0)
        ),
        "StageFailed" => format!("{}: {}", text("stage"), text("error")),
        "ProfileCreated" | "ProfileUpdated" => format!("{} version {}", text("profile_id"), text("content_hash")),
        "ProfileDeleted" => text("profile_id"),
        "CancelRequested" => format!(
            "{} by {} ({})",
            text("stage"),
            or_dash(d.get("by").and_then(Value::as_str)),
            or_dash(d.get("reason").and_then(Value::as_str))
        ),
        _ => text("stage"),
    }
}

/// `dat audit RUN`.
///
/// # Errors
/// When the run is unknown.
pub fn audit(source: &Source, run: &str, json: bool) -> anyhow::Result<()> {
    let run = parse_run(run)?;
    print_events(&source.events(run)?, json)
}

/// `dat audit --profiles`: the profiles stream's events.
///
/// # Errors
/// When the log or daemon cannot be read.
pub fn audit_profiles(source: &Source, json: bool) -> anyhow::Result<()> {
    print_events(&source.profile_events()?, json)
}

fn print_events(events: &[dat_events::RawEnvelope], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    let mut t = table(&["SEQ", "AT", "TYPE", "DETAILS"]);
    for e in events {
        t.add_row(vec![e.seq.to_string(), e.at.to_string(), e.event_type.clone(), summary(e)]);
    }
    println!("{t}");
    Ok(())
}

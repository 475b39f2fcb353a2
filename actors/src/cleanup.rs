//! What a run's cleanup deletes, planned from the run's state and the folders on disk: dry by
//! default (the plan is only listed), applied exactly as listed. A plan never holds what a
//! locked stage or an exported dataset refers to, nor anything of work that is running, unless
//! the whole run (`run`) or its datasets (`datasets`) are asked for by name.
//!
//! Targets (none given means `unreferenced`, `temporary` and `checkpoints`):
//! - `unreferenced`: artifact folders of locks the run no longer has (unlocked, replaced,
//!   cancelled, interrupted and not resumed);
//! - `temporary`: half-written leftovers of work that was stopped (`.tmp-*` folders, `*.tmp`
//!   and `*.part` files);
//! - `checkpoints`: the checkpoints of a completed parse (its dataset is whole; they only serve
//!   resuming it);
//! - `run`: every artifact of the run (refused while its work runs);
//! - `datasets`: the datasets exported from the run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dat_contracts::bundle::{parse_files, DatasetManifest};
use dat_contracts::{RunId, Stage, StageId};
use dat_events::{RemovedPath, RunState};
use serde::{Deserialize, Serialize};

/// What a cleanup may delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupTarget {
    Unreferenced,
    Temporary,
    Checkpoints,
    Run,
    Datasets,
}

impl CleanupTarget {
    /// The targets of a cleanup that names none.
    pub const DEFAULT: [CleanupTarget; 3] =
        [CleanupTarget::Unreferenced, CleanupTarget::Temporary, CleanupTarget::Checkpoints];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupTarget::Unreferenced => "unreferenced",
            CleanupTarget::Temporary => "temporary",
            CleanupTarget::Checkpoints => "checkpoints",
            CleanupTarget::Run => "run",
            CleanupTarget::Datasets => "datasets",
        }
    }
}

/// The plan: every file or folder to delete, with why and its size.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CleanupPlan {
    /// The targets it was made for.
    pub targets: Vec<CleanupTarget>,
    /// What goes, in path order.
    pub items: Vec<RemovedPath>,
    /// Bytes in all.
    pub bytes: u64,
    /// Locks whose whole artifact folder goes.
    #[serde(skip)]
    pub artifacts: Vec<StageId>,
    /// Locks whose checkpoints go.
    #[serde(skip)]
    pub checkpoints: Vec<StageId>,
}

/// Why a cleanup cannot be planned. HTTP 409 for `Running`, 500 for `Io`.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// The whole run was asked for while its work runs: cancel it first.
    #[error("the run's {0} is running: cancel it before cleaning up the whole run")]
    Running(Stage),
    /// The folders could not be read.
    #[error("cannot look through the run's folders: {0}")]
    Io(#[from] std::io::Error),
}

/// Plans the cleanup of `run` in `data_dir` for `targets` (the default set when empty); with
/// `older_than`, only what was last changed longer ago than that.
///
/// # Errors
/// [`CleanupError`].
pub fn plan(
    data_dir: &Path,
    run: &RunState,
    targets: &[CleanupTarget],
    older_than: Option<std::time::Duration>,
) -> Result<CleanupPlan, CleanupError> {
    let targets: BTreeSet<CleanupTarget> = if targets.is_empty() {
        CleanupTarget::DEFAULT.into_iter().collect()
    } else {
        targets.iter().copied().collect()
    };
    let running: Vec<(Stage, &StageId)> = run.running_stages().collect();
    if let (true, Some((stage, _))) = (targets.contains(&CleanupTarget::Run), running.first()) {
        return Err(CleanupError::Running(*stage));
    }
    let run_dir = data_dir.join("runs").join(run.run_id.to_string());
    let datasets = run_datasets(data_dir, run.run_id);
    // What must stay unless named: the locks the run has, and the ones its datasets came from.
    let locked: BTreeSet<String> =
        run.stages.values().filter_map(|s| s.stage_id.as_ref().map(|id| id.to_string())).collect();
    let exported: BTreeSet<String> = datasets.iter().flat_map(|d| d.stage_ids.values().cloned()).collect();
    let mut plan = CleanupPlan { targets: targets.iter().copied().collect(), ..CleanupPlan::default() };
    let old_enough = |path: &Path| match older_than {
        None => true,
        Some(age) => modified_age(path).is_some_and(|a| a >= age),
    };
    let add = |plan: &mut CleanupPlan, path: PathBuf, target: CleanupTarget| -> Result<(), CleanupError> {
        if !old_enough(&path) {
            return Ok(());
        }
        let bytes = size(&path)?;
        let relative = path.strip_prefix(data_dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        plan.bytes += bytes;
        plan.items.push(RemovedPath { path: relative, bytes, target: target.as_str().to_owned() });
        Ok(())
    };
    for entry in read_dir(&run_dir)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let stage_id = StageId::parse(&name).ok();
        if targets.contains(&CleanupTarget::Run) {
            plan.artifacts.extend(stage_id);
            add(&mut plan, path, CleanupTarget::Run)?;
            continue;
        }
        if name.starts_with(".tmp-") {
            if targets.contains(&CleanupTarget::Temporary) && running.is_empty() {
                add(&mut plan, path, CleanupTarget::Temporary)?;
            }
            continue;
        }
        let Some(stage_id) = stage_id else { continue };
        let is_running = running.iter().any(|(_, id)| **id == stage_id);
        if is_running {
            continue;
        }
        if !locked.contains(stage_id.as_str()) && !exported.contains(stage_id.as_str()) {
            if targets.contains(&CleanupTarget::Unreferenced) {
                plan.artifacts.push(stage_id);
                add(&mut plan, path, CleanupTarget::Unreferenced)?;
            }
            continue;
        }
        if targets.contains(&CleanupTarget::Temporary) {
            for leftover in leftovers(&path)? {
                add(&mut plan, leftover, CleanupTarget::Temporary)?;
            }
        }
        let checkpoints = path.join(parse_files::CHECKPOINTS);
        let completed_parse =
            run.stages.get(&Stage::Parse).is_some_and(|s| s.completed && s.stage_id.as_ref() == Some(&stage_id));
        if targets.contains(&CleanupTarget::Checkpoints) && completed_parse && checkpoints.exists() {
            plan.checkpoints.push(stage_id);
            add(&mut plan, checkpoints, CleanupTarget::Checkpoints)?;
        }
    }
    if targets.contains(&CleanupTarget::Datasets) {
        for dataset in &datasets {
            add(&mut plan, data_dir.join("datasets").join(&dataset.dataset_id), CleanupTarget::Datasets)?;
        }
    }
    plan.items.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(plan)
}

/// Deletes what `plan` lists; returns what went (an item that is already gone is left out).
///
/// # Errors
/// The first deletion that failed, with what went before it.
pub fn apply(data_dir: &Path, plan: &CleanupPlan) -> Result<Vec<RemovedPath>, (Vec<RemovedPath>, std::io::Error)> {
    let mut removed = Vec::new();
    for item in &plan.items {
        let path = data_dir.join(&item.path);
        let result = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        match result {
            Ok(()) => removed.push(item.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err((removed, e)),
        }
    }
    Ok(removed)
}

/// The datasets exported from `run`.
fn run_datasets(data_dir: &Path, run: RunId) -> Vec<DatasetManifest> {
    crate::datasets::Datasets::new(data_dir.join("datasets"))
        .list()
        .into_iter()
        .filter(|d| d.run_id == run.to_string())
        .collect()
}

/// The entries of `dir` (none when it does not exist).
fn read_dir(dir: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// Half-written files and folders under an artifact folder.
fn leftovers(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in read_dir(dir)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(".tmp-") || name.ends_with(".tmp") || name.ends_with(".part") {
            found.push(path);
        } else if entry.file_type()?.is_dir() {
            found.extend(leftovers(&path)?);
        }
    }
    Ok(found)
}

/// The bytes of a file, or of every file under a folder.
fn size(path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    read_dir(path)?.iter().map(|e| size(&e.path())).sum()
}

/// How long ago `path` was last changed.
fn modified_age(path: &Path) -> Option<std::time::Duration> {
    std::fs::metadata(path).ok()?.modified().ok()?.elapsed().ok()
}

//! Discovery: scan a workspace folder, fingerprint every file (sha256, cached by path, size and
//! change time so unchanged files are not read again) and note which adapter reads it. The sorted
//! `(path, size, sha256)` list enters the stage ID, so any content change gives new IDs.
//!
//! Choices: dot-folders (`.git`, `.dat`, …) and the data dir are not scanned; symlinked files
//! are followed only when they stay inside the workspace (others are listed as skipped);
//! symlinked folders are not followed (no loops). Globs match the path relative to the root,
//! `*` also crossing `/`, so `*.csv` finds CSV files at any depth, and ignore case like the
//! extension lookup does (`*.csv` matches `F.CSV`).

use std::path::PathBuf;
use std::sync::Arc;

use dat_contracts::artifacts::{DiscoveredFile, DiscoveryArtifact, SkippedEntry};
use dat_contracts::{LockRequest, WorkspacePath};
use dat_store::{Fingerprint, FingerprintCache};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::stages::{size_and_sha256, to_content, StageContext, StageError, StageExecutor};
use crate::workspace::WorkspaceError;
use dat_readers::stamp::{change_stamp, settled};
use dat_readers::{AdapterRegistry, Compression};

/// The discovery executor.
pub struct Discover {
    pub adapters: AdapterRegistry,
    pub fingerprints: Arc<dyn FingerprintCache>,
}

/// What enters the stage ID besides the request: the files found.
#[derive(Debug, Serialize, Deserialize)]
struct Found {
    files: Vec<FoundFile>,
    skipped: Vec<SkippedEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FoundFile {
    path: WorkspacePath,
    size: u64,
    sha256: String,
}

struct Candidate {
    path: WorkspacePath,
    disk: PathBuf,
    size: u64,
    /// Its change stamp (see `stamp`).
    stamp: i128,
}

fn glob_set(patterns: &[String], field: &str) -> Result<Option<GlobSet>, StageError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| StageError::Invalid(format!("{field} pattern `{pattern}`: {e}")))?;
        builder.add(glob);
    }
    builder.build().map(Some).map_err(|e| StageError::Invalid(format!("{field} patterns: {e}")))
}

/// Walks `root`, returning files (with metadata) and skipped entries.
fn walk(
    ctx: &StageContext<'_>,
    root: &WorkspacePath,
    recursive: bool,
    include: Option<&GlobSet>,
    exclude: Option<&GlobSet>,
) -> Result<(Vec<Candidate>, Vec<SkippedEntry>), StageError> {
    let root_disk = ctx.workspace.resolve(root)?;
    if !root_disk.is_dir() {
        return Err(StageError::Invalid(format!("discovery root `{root}` is not a folder")));
    }
    let data_dir = ctx.artifacts.data_dir().canonicalize().ok();
    let io = |path: &WorkspacePath, source| StageError::Workspace(WorkspaceError::Io { path: path.clone(), source });
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    let mut folders = vec![(root.clone(), root_disk.clone())];
    while let Some((folder, disk)) = folders.pop() {
        let entries = std::fs::read_dir(&disk).map_err(|e| io(&folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(&folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(path) = folder.join(&name) else { continue };
            let file_type = entry.file_type().map_err(|e| io(&path, e))?;
            if file_type.is_dir() {
                let hidden = name.starts_with('.') || data_dir.as_deref() == Some(entry.path().as_path());
                if recursive && !hidden {
                    folders.push((path, entry.path()));
                }
                continue;
            }
            let disk_path = if file_type.is_symlink() {
                match ctx.workspace.resolve(&path) {
                    Ok(real) if real.is_file() => real,
                    Ok(_) => continue, // a symlinked folder: not followed
                    Err(e) => {
                        skipped.push(SkippedEntry { path, reason: e.to_string() });
                        continue;
                    }
                }
            } else {
                entry.path()
            };
            let relative = relative_to(&path, root);
            if include.is_some_and(|g| !g.is_match(&relative)) || exclude.is_some_and(|g| g.is_match(&relative)) {
                continue;
            }
            let meta = std::fs::metadata(&disk_path).map_err(|e| io(&path, e))?;
            files.push(Candidate { path, disk: disk_path, size: meta.len(), stamp: change_stamp(&meta) });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, skipped))
}

fn relative_to(path: &WorkspacePath, root: &WorkspacePath) -> String {
    if root.is_root() {
        return path.to_string();
    }
    path.as_str().strip_prefix(root.as_str()).map_or(path.as_str(), |r| r.trim_start_matches('/')).to_owned()
}

impl Discover {
    /// Fingerprints the candidates on as many threads as cores, using the cache. When there are
    /// fewer files than cores, a large file being hashed has its split prepared on a spare core
    /// meanwhile ([`dat_readers::Adapter::prepare_split`]): hashing is one sequential stream, and
    /// parse would otherwise make that pass itself, with the cores it reads on (W1: 0.08 s).
    fn fingerprint(&self, candidates: Vec<Candidate>) -> Result<Vec<FoundFile>, StageError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = cores.min(candidates.len().max(1));
        let chunk = candidates.len().div_ceil(threads).max(1);
        let warm: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.size >= dat_readers::split::MIN_SPLIT_BYTES && !self.is_cached(c))
            .take(cores.saturating_sub(candidates.len()))
            .collect();
        let results: Vec<Result<Vec<FoundFile>, StageError>> = std::thread::scope(|scope| {
            for c in warm {
                scope.spawn(move || self.prepare_split(c));
            }
            let handles: Vec<_> = candidates
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|c| self.fingerprint_one(c)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(StageError::Invalid("hashing a file failed".into()))))
                .collect()
        });
        let mut found = Vec::new();
        for part in results {
            found.extend(part?);
        }
        Ok(found)
    }

    /// Whether the cache holds the candidate's fingerprint (it is then not read at all).
    fn is_cached(&self, c: &Candidate) -> bool {
        matches!(self.fingerprints.lookup(c.path.as_str(), c.size, c.stamp), Ok(Some(_)))
    }

    /// Prepares how parse will cut the file (see [`Self::fingerprint`]). Only a head start: a
    /// failure, or a reader's panic, leaves parse to do the work itself.
    fn prepare_split(&self, c: &Candidate) {
        let Some((adapter, compression)) = self.adapters.for_name(c.path.as_str()) else { return };
        let file = dat_readers::SourceFile::new(&c.path, &c.disk, compression);
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            adapter.prepare_split(&file, &dat_readers::ReadOptions::default(), dat_readers::RANGES);
        }));
        if prepared.is_err() {
            tracing::warn!(path = %c.path, "preparing the split of a file failed; parse will do it");
        }
    }

    fn fingerprint_one(&self, c: &Candidate) -> Result<FoundFile, StageError> {
        let cached = self.fingerprints.lookup(c.path.as_str(), c.size, c.stamp).ok().flatten();
        let sha256 = match cached {
            Some(sha) => sha,
            None => {
                // Decided before reading: a write during the read must find the stamp unsettled.
                let remember = settled(c.stamp);
                let (_, sha) = size_and_sha256(&c.disk)
                    .map_err(|source| StageError::Workspace(WorkspaceError::Io { path: c.path.clone(), source }))?;
                let fingerprint = Fingerprint { size: c.size, stamp: c.stamp, sha256: sha.clone() };
                if remember {
                    if let Err(e) = self.fingerprints.remember(c.path.as_str(), &fingerprint) {
                        tracing::warn!(path = %c.path, error = %e, "cannot cache a fingerprint");
                    }
                }
                sha
            }
        };
        Ok(FoundFile { path: c.path.clone(), size: c.size, sha256 })
    }

    fn describe(&self, file: FoundFile) -> DiscoveredFile {
        let name = file.path.segments().last().unwrap_or_default().to_ascii_lowercase();
        let (stem, compression) = Compression::strip(&name);
        let ext = stem.rsplit_once('.').map_or("", |(_, e)| e);
        let extension = match compression {
            Some(c) => format!("{ext}.{}", c.suffix()),
            None => ext.to_owned(),
        };
        let adapter = self.adapters.for_name(&name).map(|(a, _)| a.id().to_owned());
        DiscoveredFile {
            path: file.path,
            size: file.size,
            extension,
            supported: adapter.is_some(),
            adapter,
            sha256: file.sha256,
        }
    }
}

impl StageExecutor for Discover {
    fn content_inputs(&self, ctx: &StageContext<'_>, request: &LockRequest) -> Result<Map<String, Value>, StageError> {
        let LockRequest::Discovery { root, recursive, include, exclude } = request else {
            return Err(StageError::Invalid("discovery needs a discovery request".into()));
        };
        let include = glob_set(include, "include")?;
        let exclude = glob_set(exclude, "exclude")?;
        let (candidates, skipped) = walk(ctx, root, *recursive, include.as_ref(), exclude.as_ref())?;
        let found = Found { files: self.fingerprint(candidates)?, skipped };
        match to_content(&found) {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        }
    }

    fn produce(
        &self,
        _: &StageContext<'_>,
        request: &LockRequest,
        inputs: &Map<String, Value>,
    ) -> Result<Value, StageError> {
        let LockRequest::Discovery { root, .. } = request else {
            return Err(StageError::Invalid("discovery needs a discovery request".into()));
        };
        let found: Found = serde_json::from_value(Value::Object(inputs.clone()))
            .map_err(|e| StageError::Invalid(format!("discovery inputs: {e}")))?;
        let files: Vec<DiscoveredFile> = found.files.into_iter().map(|f| self.describe(f)).collect();
        let supported = files.iter().filter(|f| f.supported).count();
        let artifact = DiscoveryArtifact {
            root: root.clone(),
            unsupported: files.len() - supported,
            supported,
            files,
            skipped: found.skipped,
        };
        Ok(to_content(&artifact))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dat_events::testing::test_run_id;
    use dat_events::RunState;
    use dat_store::{ArtifactStore, Durability, SledLog};
    use sha2::{Digest, Sha256};

    use crate::workspace::Workspace;

    struct Fixture {
        _tmp: tempfile::TempDir,
        workspace: Workspace,
        artifacts: ArtifactStore,
        log: Arc<SledLog>,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        std::fs::create_dir_all(ws.join("data/deep")).unwrap();
        std::fs::create_dir_all(ws.join("data/.hidden")).unwrap();
        std::fs::write(ws.join("data/a.csv"), "x\n1\n").unwrap();
        std::fs::write(ws.join("data/deep/b.json"), "[]").unwrap();
        std::fs::write(ws.join("data/.hidden/c.csv"), "x\n").unwrap();
        let log = Arc::new(SledLog::open(&tmp.path().join("log"), Durability::Buffered).unwrap());
        Fixture {
            workspace: Workspace::open(&ws).unwrap(),
            artifacts: ArtifactStore::new(tmp.path().join("data-dir")),
            log,
            _tmp: tmp,
        }
    }

    fn scan(f: &Fixture, body: serde_json::Value) -> Found {
        let discover = Discover { adapters: AdapterRegistry::default(), fingerprints: f.log.clone() };
        let run = RunState::new(test_run_id());
        let ctx = StageContext {
            run_id: run.run_id,
            run: &run,
            workspace: &f.workspace,
            artifacts: &f.artifacts,
            profile: None,
        };
        let request = LockRequest::parse(dat_contracts::Stage::Discovery, body).unwrap();
        serde_json::from_value(Value::Object(discover.content_inputs(&ctx, &request).unwrap())).unwrap()
    }

    fn paths(found: &Found) -> Vec<&str> {
        found.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn scans_recursively_skipping_dot_folders_and_honours_recursive_false() {
        let f = fixture();
        assert_eq!(paths(&scan(&f, serde_json::json!({"root": "data"}))), ["data/a.csv", "data/deep/b.json"]);
        assert_eq!(paths(&scan(&f, serde_json::json!({"root": "data", "recursive": false}))), ["data/a.csv"]);
        let only_json = scan(&f, serde_json::json!({"root": "data", "exclude": ["*.CSV"]}));
        assert_eq!(paths(&only_json), ["data/deep/b.json"]);
    }

    #[test]
    fn unchanged_files_are_not_read_again() {
        let f = fixture();
        let first = scan(&f, serde_json::json!({"root": "data"}));
        let expected: String = Sha256::digest(b"x\n1\n").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(first.files[0].sha256, expected);
        // Plant a different hash for the same path, size and change stamp: a re-scan that trusts the
        // cache reports it, which shows the file was not read again.
        let meta = std::fs::metadata(f.workspace.root().join("data/a.csv")).unwrap();
        let planted = Fingerprint { size: meta.len(), stamp: change_stamp(&meta), sha256: "cached".into() };
        f.log.remember("data/a.csv", &planted).unwrap();
        assert_eq!(scan(&f, serde_json::json!({"root": "data"})).files[0].sha256, "cached");
        // A changed file (other size) is read again.
        std::fs::write(f.workspace.root().join("data/a.csv"), "x\n1\n2\n").unwrap();
        assert_ne!(scan(&f, serde_json::json!({"root": "data"})).files[0].sha256, "cached");
    }

    #[test]
    fn bad_globs_and_missing_roots_are_request_errors() {
        let f = fixture();
        let discover = Discover { adapters: AdapterRegistry::default(), fingerprints: f.log.clone() };
        let run = RunState::new(test_run_id());
        let ctx = StageContext {
            run_id: run.run_id,
            run: &run,
            workspace: &f.workspace,
            artifacts: &f.artifacts,
            profile: None,
        };
        let bad_glob =
            LockRequest::parse(dat_contracts::Stage::Discovery, serde_json::json!({"root": "data", "include": ["[a"]}));
        assert!(
            matches!(discover.content_inputs(&ctx, &bad_glob.unwrap()), Err(StageError::Invalid(m)) if m.contains("[a"))
        );
        let missing = LockRequest::parse(dat_contracts::Stage::Discovery, serde_json::json!({"root": "nope"})).unwrap();
        assert!(matches!(
            discover.content_inputs(&ctx, &missing),
            Err(StageError::Workspace(WorkspaceError::NotFound(_)))
        ));
    }
}

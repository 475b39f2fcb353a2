//! What a stage does when it locks. The run actor asks the stage's [`StageExecutor`] for the
//! content part of the inputs (e.g. the files discovery found), computes the stage ID, and only
//! if no artifact exists for that ID asks it to produce one. Each stage's real work plugs in
//! here by registering its own executor in [`Stages`].

mod availability;
pub mod background;
mod context;
mod discovery;
pub(crate) mod export;
pub(crate) mod parse;
mod preview;
mod record;
mod selection;
mod table_selection;

use std::collections::BTreeMap;
use std::sync::Arc;

use dat_contracts::{LockRequest, RunId, Stage};
use dat_events::RunState;
use dat_store::{ArtifactStore, FingerprintCache};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

pub use background::{BackgroundWork, Job, JobEnd, Reporter, Stopped};
pub use record::RecordInputs;

use crate::workers::ProbePool;
use crate::workspace::{Workspace, WorkspaceError};
use dat_readers::{AdapterRegistry, ReadOptions};

/// Everything an executor may look at. `run` is a snapshot taken under the actor, so upstream
/// artifacts it names are stable while the executor works.
pub struct StageContext<'a> {
    /// The run being locked.
    pub run_id: RunId,
    /// Its state at the time of the lock.
    pub run: &'a RunState,
    /// The workspace the run reads files from.
    pub workspace: &'a Workspace,
    /// Where artifacts (this run's upstream ones included) live.
    pub artifacts: &'a ArtifactStore,
    /// The version of the profile the run was created with, if any.
    pub profile: Option<&'a dat_contracts::profile::Profile>,
}

impl StageContext<'_> {
    /// The inputs the run's profile adds to a stage it affects: its content hash, so that an
    /// updated profile gives new stage IDs.
    pub fn profile_inputs(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(profile) = self.profile {
            map.insert("profile_hash".into(), Value::String(profile.content_hash.clone()));
        }
        map
    }
}

/// Why a stage could not do its work. Nothing was appended.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A path in the request is unusable (outside, missing, unreadable). HTTP 400.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The request does not fit what upstream stages produced. HTTP 400 with the message.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing an artifact failed. HTTP 500 (or 409 for a collision).
    #[error(transparent)]
    Artifact(#[from] dat_store::ArtifactError),
    /// Reading or writing dat's own files failed (the data dir: disk full, permissions). HTTP
    /// 500, logged; retry once the disk is fixed. Never a user's mistake, so never a 400.
    #[error("{0}")]
    Io(String),
    /// The stage's own check of its result failed (rows not accounted for): a bug, nothing is
    /// published. HTTP 500, with the numbers.
    #[error("{0}")]
    Inconsistent(String),
}

impl StageContext<'_> {
    /// The artifact of `stage` as currently locked in this run, typed.
    ///
    /// # Errors
    /// [`StageError::Invalid`] when `stage` is not locked (or skipped), [`StageError::Artifact`]
    /// when its artifact cannot be read or has another shape.
    pub fn upstream<T: DeserializeOwned>(&self, stage: Stage) -> Result<T, StageError> {
        let not_locked = || StageError::Invalid(format!("{stage} is not locked with an artifact"));
        let stage_id = self.run.status(stage).stage_id.as_ref().ok_or_else(not_locked)?;
        let known = self.run.artifacts.get(stage_id).ok_or_else(not_locked)?;
        let value = self.artifacts.read(&known.artifact)?;
        serde_json::from_value(value).map_err(|e| {
            StageError::Artifact(dat_store::ArtifactError::Corrupt {
                artifact: known.artifact.0.clone(),
                reason: e.to_string(),
            })
        })
    }
}

/// Threads for file work: one per core.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Writes `bytes` to `path` and waits until they are on disk, so that a folder a stage publishes
/// (an export, a parse bundle) never holds a file a crash cut short.
///
/// # Errors
/// The file cannot be written.
pub(crate) fn write_synced(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The size and the lowercase hex sha256 of the file at `path`, read in 1 MiB pieces (what
/// discovery fingerprints and an export reports). A large file is read on a thread of its own
/// while the pieces already read are hashed, so copying the bytes out of the kernel does not
/// wait for the hash (a file is hashed on one core; W1: 0.35 s for 439 MB, the other core idle).
///
/// # Errors
/// The file cannot be read.
pub(crate) fn size_and_sha256(path: &std::path::Path) -> std::io::Result<(u64, String)> {
    use sha2::Digest;
    use std::io::Read;
    /// From this size on, reading and hashing overlap (below it, a thread costs more).
    const OVERLAP_FROM: u64 = 32 << 20;
    const PIECE: usize = 1 << 20;
    /// Overlapped, the hasher reads what the reading thread copied on the other core; pieces
    /// small enough to stay in the caches hash faster (W1's 439 MB: 0.27 s in pieces of 128 KiB,
    /// 0.30 s in pieces of 1 MiB, medians of 5; sha256 of bytes in the cache would take 0.22 s).
    const OVERLAPPED_PIECE: usize = 128 << 10;
    const OVERLAPPED: usize = 4;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    if file.metadata()?.len() < OVERLAP_FROM {
        let mut buf = vec![0u8; PIECE];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
            size += n as u64;
        }
        return Ok((size, dat_readers::typing::hex(&hasher.finalize())));
    }
    // Pieces go to the hasher full and come back empty: four in use at most.
    let (full, filled) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(OVERLAPPED - 1);
    let (empty, emptied) = std::sync::mpsc::sync_channel::<Vec<u8>>(OVERLAPPED);
    for _ in 0..OVERLAPPED {
        let _ = empty.send(vec![0u8; OVERLAPPED_PIECE]);
    }
    let read = std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> std::io::Result<()> {
            while let Ok(mut buf) = emptied.recv() {
                let n = file.read(&mut buf)?;
                if n == 0 || full.send((buf, n)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        for (buf, n) in filled {
            hasher.update(buf.get(..n).unwrap_or_default());
            size += n as u64;
            let _ = empty.send(buf);
        }
        reader.join().unwrap_or_else(|_| Err(std::io::Error::other("the reading thread failed")))
    });
    read.map(|()| (size, dat_readers::typing::hex(&hasher.finalize())))
}

/// Serializes an artifact's content (infallible for the plain data types of `dat_contracts`).
pub(crate) fn to_content(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One stage's work.
pub trait StageExecutor: Send + Sync {
    /// Inputs derived from content (e.g. the files discovery found) that must enter the stage
    /// ID besides the user's request and the upstream IDs. Called on every lock. Most stages
    /// have none: the upstream ID they chain already addresses the content they read.
    ///
    /// # Errors
    /// [`StageError`] when the request cannot be served.
    fn content_inputs(
        &self,
        _ctx: &StageContext<'_>,
        _request: &LockRequest,
    ) -> Result<Map<String, Value>, StageError> {
        Ok(Map::new())
    }

    /// Produces the artifact for `inputs` (the full inputs the ID was computed from). Called only
    /// when no artifact exists for this ID yet, so this is also where a request that does not
    /// fit the upstream artifacts is refused (an existing artifact was checked when it was made).
    ///
    /// # Errors
    /// [`StageError`] when the work fails.
    fn produce(
        &self,
        ctx: &StageContext<'_>,
        request: &LockRequest,
        inputs: &Map<String, Value>,
    ) -> Result<Value, StageError>;

    /// The work that runs after the lock is recorded, for stages that run in the background.
    /// `None` (the default) leaves such a stage running until the complete route is called.
    fn background(&self) -> Option<&dyn BackgroundWork> {
        None
    }
}

/// The executor of every stage.
#[derive(Clone)]
pub struct Stages {
    by_stage: BTreeMap<Stage, Arc<dyn StageExecutor>>,
}

impl Default for Stages {
    /// Every stage records its inputs as its artifact ([`RecordInputs`]) until its real work
    /// is registered.
    fn default() -> Self {
        let record: Arc<dyn StageExecutor> = Arc::new(RecordInputs);
        Stages { by_stage: Stage::ALL.into_iter().map(|s| (s, record.clone())).collect() }
    }
}

impl Stages {
    /// The executors that do each stage's real work; exported datasets go to `datasets_dir`;
    /// files are read within `options` (the probe pool was started with the same).
    pub fn standard(
        adapters: AdapterRegistry,
        fingerprints: Arc<dyn FingerprintCache>,
        pool: ProbePool,
        datasets_dir: std::path::PathBuf,
        options: ReadOptions,
    ) -> Self {
        let parse = parse::ParseDataset {
            adapters: adapters.clone(),
            workers: cores(),
            options: options.clone(),
            fingerprints: fingerprints.clone(),
        };
        Stages::default()
            .with(Stage::Discovery, Arc::new(discovery::Discover { adapters, fingerprints }))
            .with(Stage::Selection, Arc::new(selection::Select))
            .with(Stage::Context, Arc::new(context::ResolveContext { options: options.clone() }))
            .with(
                Stage::TableAvailability,
                Arc::new(availability::ProbeTables { pool: pool.clone(), options: options.clone() }),
            )
            .with(Stage::TableSelection, Arc::new(table_selection::SelectTables))
            .with(Stage::Preview, Arc::new(preview::PreviewTables { pool }))
            .with(Stage::Parse, Arc::new(parse))
            .with(Stage::Export, Arc::new(export::ExportDataset { datasets_dir }))
    }

    /// Replaces the executor of `stage`.
    pub fn with(mut self, stage: Stage, executor: Arc<dyn StageExecutor>) -> Self {
        self.by_stage.insert(stage, executor);
        self
    }

    /// The executor of `stage`.
    pub fn get(&self, stage: Stage) -> Arc<dyn StageExecutor> {
        self.by_stage.get(&stage).cloned().unwrap_or_else(|| Arc::new(RecordInputs))
    }
}

#[cfg(test)]
mod tests {
    use sha2::Digest;

    #[test]
    fn a_large_file_hashed_while_it_is_read_has_its_plain_sha256() {
        let dir = tempfile::tempdir().unwrap();
        // Past the size from which reading and hashing overlap, not a whole number of pieces.
        let bytes: Vec<u8> = (0..(33u32 << 20) + 12_345).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, &bytes).unwrap();
        let expected = dat_readers::typing::hex(&sha2::Sha256::digest(&bytes));
        assert_eq!(super::size_and_sha256(&path).unwrap(), (bytes.len() as u64, expected));
    }
}

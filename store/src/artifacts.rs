//! Stage artifacts on disk: `<data-dir>/runs/<run_id>/<stage_id>/` holding `inputs.json` (what
//! the stage ID was computed from) and `artifact.json` (what the stage produced), plus any files
//! a stage adds. A folder is written under a temporary name and renamed into place, so a reader
//! never sees half an artifact. Artifacts are never deleted by unlock; only cleanup removes them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use dat_contracts::{RunId, StageId};
use dat_events::ArtifactRef;
use serde_json::{Map, Value};

const INPUTS: &str = "inputs.json";
const ARTIFACT: &str = "artifact.json";

/// Why an artifact could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A folder with this stage ID holds other inputs; nothing was overwritten. HTTP 409.
    #[error("stage id {stage_id} already exists with different inputs")]
    Collision {
        /// The colliding ID.
        stage_id: StageId,
    },
    /// The artifact is not there (it was cleaned up). HTTP 404.
    #[error("artifact {0} not found")]
    NotFound(String),
    /// File system failure; logged with its cause. HTTP 500.
    #[error("artifact {artifact}: {source}")]
    Io {
        /// The artifact reference (relative to the data dir).
        artifact: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored JSON file cannot be parsed. HTTP 500.
    #[error("artifact {artifact} is damaged: {reason}")]
    Corrupt {
        /// The artifact reference.
        artifact: String,
        /// Why.
        reason: String,
    },
}

/// The artifact folders under a data dir.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    data_dir: PathBuf,
}

impl ArtifactStore {
    /// Artifacts under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ArtifactStore { data_dir: data_dir.into() }
    }

    /// The reference of a stage's artifact folder, relative to the data dir.
    pub fn reference(run: RunId, stage_id: &StageId) -> ArtifactRef {
        ArtifactRef(format!("runs/{run}/{stage_id}"))
    }

    /// The data dir (so scans can leave it out).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The absolute folder of an artifact (for the layers that read or write its files).
    pub fn dir(&self, artifact: &ArtifactRef) -> PathBuf {
        self.data_dir.join(&artifact.0)
    }

    /// The inputs stored with `stage_id`, if its artifact exists.
    ///
    /// # Errors
    /// [`ArtifactError::Io`] or [`ArtifactError::Corrupt`].
    pub fn stored_inputs(&self, run: RunId, stage_id: &StageId) -> Result<Option<Map<String, Value>>, ArtifactError> {
        let artifact = Self::reference(run, stage_id);
        match self.read_json(&artifact, INPUTS) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(ArtifactError::Corrupt { artifact: artifact.0, reason: "inputs are not an object".into() }),
            Err(ArtifactError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `content` as the artifact of `stage_id` made from `inputs`. When the folder already
    /// exists with identical inputs, it is kept as it is (same inputs, same artifact).
    ///
    /// # Errors
    /// [`ArtifactError::Collision`] when it exists with other inputs; [`ArtifactError::Io`].
    pub fn write(
        &self,
        run: RunId,
        stage_id: &StageId,
        inputs: &Map<String, Value>,
        content: &Value,
    ) -> Result<ArtifactRef, ArtifactError> {
        let artifact = Self::reference(run, stage_id);
        if let Some(stored) = self.stored_inputs(run, stage_id)? {
            return if &stored == inputs {
                Ok(artifact)
            } else {
                Err(ArtifactError::Collision { stage_id: stage_id.clone() })
            };
        }
        let io = |source| ArtifactError::Io { artifact: artifact.0.clone(), source };
        let final_dir = self.dir(&artifact);
        let parent = final_dir.parent().unwrap_or(&self.data_dir);
        fs::create_dir_all(parent).map_err(io)?;
        let tmp = tempfile::Builder::new().prefix(".tmp-").tempdir_in(parent).map_err(io)?;
        write_synced(&tmp.path().join(INPUTS), &Value::Object(inputs.clone())).map_err(io)?;
        write_synced(&tmp.path().join(ARTIFACT), content).map_err(io)?;
        let tmp_path = tmp.keep();
        if let Err(e) = fs::rename(&tmp_path, &final_dir) {
            let _ = fs::remove_dir_all(&tmp_path);
            // Lost a race with an identical writer: fine if the inputs match.
            return match self.stored_inputs(run, stage_id)? {
                Some(stored) if &stored == inputs => Ok(artifact),
                Some(_) => Err(ArtifactError::Collision { stage_id: stage_id.clone() }),
                None => Err(io(e)),
            };
        }
        Ok(artifact)
    }

    /// The content of an artifact (`artifact.json`).
    ///
    /// # Errors
    /// [`ArtifactError::NotFound`] when it was cleaned up; [`ArtifactError::Io`], [`ArtifactError::Corrupt`].
    pub fn read(&self, artifact: &ArtifactRef) -> Result<Value, ArtifactError> {
        self.read_json(artifact, ARTIFACT)
    }

    /// A JSON file a background stage leaves beside `artifact.json` when its work ends (parse's
    /// `result.json`); `None` while there is none.
    ///
    /// # Errors
    /// [`ArtifactError`] when it exists but cannot be read.
    pub fn read_beside(&self, artifact: &ArtifactRef, name: &str) -> Result<Option<Value>, ArtifactError> {
        match self.read_json(artifact, name) {
            Ok(value) => Ok(Some(value)),
            Err(ArtifactError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_json(&self, artifact: &ArtifactRef, name: &str) -> Result<Value, ArtifactError> {
        let path = self.dir(artifact).join(name);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArtifactError::NotFound(artifact.0.clone()))
            }
            Err(source) => return Err(ArtifactError::Io { artifact: artifact.0.clone(), source }),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| ArtifactError::Corrupt { artifact: artifact.0.clone(), reason: e.to_string() })
    }
}

/// Writes `value` as pretty JSON in one write (serialised in memory first: written straight to
/// the file, serde_json makes a system call per token) and syncs it.
fn write_synced(path: &Path, value: &Value) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    let mut file = fs::File::create(path)?;
    file.write_all(&bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dat_contracts::Stage;
    use dat_events::testing::{inputs, test_run_id};

    #[test]
    fn write_then_reuse_then_refuse_other_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path());
        let run = test_run_id();
        let id = StageId::compute(Stage::Discovery, &inputs(0));
        let content = serde_json::json!({"files": []});
        let r = store.write(run, &id, &inputs(0), &content).unwrap();
        assert_eq!(r.0, format!("runs/{run}/{id}"));
        assert_eq!(store.read(&r).unwrap(), content);
        assert_eq!(store.write(run, &id, &inputs(0), &serde_json::json!("other")).unwrap(), r);
        assert_eq!(store.read(&r).unwrap(), content, "same inputs: kept, not rewritten");
        let err = store.write(run, &id, &inputs(1), &content).unwrap_err();
        assert!(matches!(err, ArtifactError::Collision { .. }));
        assert_eq!(store.stored_inputs(run, &id).unwrap(), Some(inputs(0)));
        let leftovers = fs::read_dir(dir.path().join("runs").join(run.to_string())).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary folders left behind");
    }
}

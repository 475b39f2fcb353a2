//! The fingerprint cache in its own sled tree: discovery's sha256 by path, size and change stamp.

use super::{backend, SledLog};
use crate::event_log::LogReadError;
use crate::fingerprints::{Fingerprint, FingerprintCache};

impl FingerprintCache for SledLog {
    fn lookup(&self, path: &str, size: u64, stamp: i128) -> Result<Option<String>, LogReadError> {
        let Some(bytes) = self.shared.fingerprints.get(path).map_err(|e| LogReadError::Backend(backend(e)))? else {
            return Ok(None);
        };
        // A damaged entry is only a cache miss.
        let cached: Option<Fingerprint> = serde_json::from_slice(&bytes).ok();
        Ok(cached.filter(|f| f.size == size && f.stamp == stamp).map(|f| f.sha256))
    }

    fn remember(&self, path: &str, fingerprint: &Fingerprint) -> Result<(), LogReadError> {
        let bytes = serde_json::to_vec(fingerprint).map_err(|e| LogReadError::Backend(backend(e)))?;
        self.shared.fingerprints.insert(path, bytes).map_err(|e| LogReadError::Backend(backend(e)))?;
        Ok(())
    }

    fn paths(&self) -> Result<Vec<String>, LogReadError> {
        self.shared
            .fingerprints
            .iter()
            .keys()
            .map(|key| {
                let key = key.map_err(|e| LogReadError::Backend(backend(e)))?;
                Ok(String::from_utf8_lossy(&key).into_owned())
            })
            .collect()
    }

    fn forget(&self, paths: &[String]) -> Result<(), LogReadError> {
        for path in paths {
            self.shared.fingerprints.remove(path.as_str()).map_err(|e| LogReadError::Backend(backend(e)))?;
        }
        self.shared.fingerprints.flush().map_err(|e| LogReadError::Backend(backend(e)))?;
        Ok(())
    }
}

//! The content-fingerprint cache of discovery: sha256 by workspace-relative path, valid while
//! the file's size and change stamp are unchanged, so neither a re-scan nor parse's check that
//! a file is still what discovery saw reads an unchanged file again. A cache only: losing it
//! costs a re-hash, never correctness.

use serde::{Deserialize, Serialize};

use crate::event_log::LogReadError;

/// A file's content hash and the metadata it was taken under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Size in bytes when hashed.
    pub size: u64,
    /// Change stamp when hashed: ns since the epoch of the inode change time on Unix (which
    /// every write sets), of the modification time elsewhere. Stored under its first name,
    /// `mtime_ns`, so caches written before still read.
    #[serde(rename = "mtime_ns")]
    pub stamp: i128,
    /// Lower-case hex sha256 of the bytes.
    pub sha256: String,
}

/// Where fingerprints are kept.
pub trait FingerprintCache: Send + Sync {
    /// The cached fingerprint of `path`, if still valid for `size` and `stamp`.
    ///
    /// # Errors
    /// [`LogReadError`] when the cache cannot be read (callers may just re-hash).
    fn lookup(&self, path: &str, size: u64, stamp: i128) -> Result<Option<String>, LogReadError>;

    /// Remembers a fingerprint (not flushed: it is a cache).
    ///
    /// # Errors
    /// [`LogReadError::Backend`] when it cannot be written (callers may ignore it).
    fn remember(&self, path: &str, fingerprint: &Fingerprint) -> Result<(), LogReadError>;

    /// Every path with a cached fingerprint (for `dat gc`).
    ///
    /// # Errors
    /// [`LogReadError`] when the cache cannot be read.
    fn paths(&self) -> Result<Vec<String>, LogReadError>;

    /// Forgets the fingerprints of `paths` (files that no longer exist), durably: `dat gc` says
    /// it did.
    ///
    /// # Errors
    /// [`LogReadError::Backend`] when the cache cannot be written.
    fn forget(&self, paths: &[String]) -> Result<(), LogReadError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_is_stored_under_its_first_name_so_older_caches_still_read() {
        let json = r#"{"size":10,"mtime_ns":5,"sha256":"ab"}"#;
        let fingerprint: Fingerprint = serde_json::from_str(json).unwrap();
        assert_eq!(fingerprint, Fingerprint { size: 10, stamp: 5, sha256: "ab".into() });
        assert_eq!(serde_json::to_string(&fingerprint).unwrap(), json);
    }
}

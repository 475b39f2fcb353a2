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
    /// every write sets), of the modification time elsewhere. (Named for what it first held.)
    pub mtime_ns: i128,
    /// Lower-case hex sha256 of the bytes.
    pub sha256: String,
}

/// Where fingerprints are kept.
pub trait FingerprintCache: Send + Sync {
    /// The cached fingerprint of `path`, if still valid for `size` and `mtime_ns`.
    ///
    /// # Errors
    /// [`LogReadError`] when the cache cannot be read (callers may just re-hash).
    fn lookup(&self, path: &str, size: u64, mtime_ns: i128) -> Result<Option<String>, LogReadError>;

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

//! Which layout a sled log holds, and how a log of the first layout is taken over.
//!
//! Layout 1 (dat before 2026-12-06) kept one `g` key per event and each run's head in its `h`
//! key, with its write-ahead file at `events.wal`; layout 2 is the one [`crate::sled_keys`]
//! describes, its write-ahead file at [`WAL_FILE`], and its number under the `v` key. Opening a
//! layout-1 log applies its write-ahead file, repairs and converts it, and puts a *fence* where
//! that file was: a folder named `events.wal`. Earlier versions open that file first of all, so
//! they stop there with an error naming it, instead of reading layout 2 as theirs (which would
//! take every event past its run's head, now empty, for a torn append, and remove it). A log
//! of a later layout than this version reads is refused the same way ([`OpenError::NewerFormat`]).

use std::path::Path;

use crate::event_log::OpenError;
use crate::wal::Wal;

/// The layout this version writes and reads.
pub(crate) const FORMAT: u64 = 2;

/// The write-ahead file of layout 2, in sled's folder.
pub(crate) const WAL_FILE: &str = "groups.wal";

/// Where layout 1 kept its write-ahead file: the fence.
const FENCE: &str = "events.wal";

/// The key of the layout number in the log tree.
const FORMAT_KEY: &[u8] = b"v";

/// What the fence holds, for whoever looks.
const FENCE_NOTE: &str = "This event log has layout 2, written by dat from 2026-12-06 on. Earlier versions of dat \
                          cannot read it: they stop at this folder (their write-ahead file) instead of misreading \
                          the log.\n";

/// Checks that the log's layout is one this version reads; applies a layout-1 write-ahead
/// file's records to `log` (before the repair of [`crate::sled_keys::repair`], which converts
/// what is left of layout 1).
///
/// # Errors
/// [`OpenError::NewerFormat`] for a later layout; [`OpenError::Backend`] when sled or the file
/// fails.
pub(crate) fn take_over(dir: &Path, log: &sled::Tree) -> Result<(), OpenError> {
    let path = dir.display().to_string();
    let backend = |e: Box<dyn std::error::Error + Send + Sync>| OpenError::Backend { path: path.clone(), source: e };
    let found = log.get(FORMAT_KEY).map_err(|e| backend(e.into()))?;
    let found = found.and_then(|v| Some(u64::from_be_bytes(v.as_ref().try_into().ok()?))).unwrap_or(1);
    if found > FORMAT {
        return Err(OpenError::NewerFormat { path, found, supported: FORMAT });
    }
    let legacy = dir.join(FENCE);
    if legacy.is_file() {
        let (_, records) = Wal::open(&legacy).map_err(|e| backend(e.into()))?;
        for pairs in records {
            for (key, value) in pairs {
                log.insert(key, value).map_err(|e| backend(e.into()))?;
            }
        }
    }
    Ok(())
}

/// Records the layout and puts the fence up (replacing a layout-1 write-ahead file). Call once
/// sled has been flushed, so that what that file held is in sled's files.
///
/// # Errors
/// [`OpenError::Backend`] when sled or the file system fails.
pub(crate) fn settle(dir: &Path, db: &sled::Db, log: &sled::Tree) -> Result<(), OpenError> {
    let path = dir.display().to_string();
    let backend = |e: Box<dyn std::error::Error + Send + Sync>| OpenError::Backend { path: path.clone(), source: e };
    if log.get(FORMAT_KEY).map_err(|e| backend(e.into()))?.as_deref() != Some(FORMAT.to_be_bytes().as_slice()) {
        log.insert(FORMAT_KEY, &FORMAT.to_be_bytes()).map_err(|e| backend(e.into()))?;
        db.flush().map_err(|e| backend(e.into()))?;
    }
    let fence = dir.join(FENCE);
    if fence.is_file() {
        std::fs::remove_file(&fence).map_err(|e| backend(e.into()))?;
    }
    if !fence.is_dir() {
        std::fs::create_dir(&fence).map_err(|e| backend(e.into()))?;
        std::fs::write(fence.join("README"), FENCE_NOTE).map_err(|e| backend(e.into()))?;
    }
    Ok(())
}

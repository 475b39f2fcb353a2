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
use crate::sled_keys::{be_u64, event_key, head_key, pointers};
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

/// Checks that the log's layout is one this version reads, and converts a layout-1 log: its
/// write-ahead file's records applied, a torn append removed by layout 1's rule, its heads
/// emptied (what is left for [`crate::sled_keys::repair`] is then layout 2).
///
/// # Errors
/// [`OpenError::NewerFormat`] for a later layout; [`OpenError::Backend`] when sled or the file
/// fails.
pub(crate) fn take_over(dir: &Path, log: &sled::Tree) -> Result<(), OpenError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| backend(dir, e);
    let found = log.get(FORMAT_KEY).map_err(|e| failed(e.into()))?;
    let found = found.and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)).unwrap_or(1);
    if found > FORMAT {
        return Err(OpenError::NewerFormat { path: dir.display().to_string(), found, supported: FORMAT });
    }
    if found == FORMAT {
        return Ok(());
    }
    let legacy = dir.join(FENCE);
    if legacy.is_file() {
        let (_, records) = Wal::open(&legacy).map_err(|e| failed(e.into()))?;
        for pairs in records {
            for (key, value) in pairs {
                log.insert(key, value).map_err(|e| failed(e.into()))?;
            }
        }
    }
    repair_legacy_tail(log).map_err(|e| failed(e.into()))?;
    forget_legacy_heads(log).map_err(|e| failed(e.into()))
}

/// Records the layout and puts the fence up (replacing a layout-1 write-ahead file). Call once
/// sled has been flushed, so that what that file held is in sled's files.
///
/// # Errors
/// [`OpenError::Backend`] when sled or the file system fails.
pub(crate) fn settle(dir: &Path, db: &sled::Db, log: &sled::Tree) -> Result<(), OpenError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| backend(dir, e);
    if log.get(FORMAT_KEY).map_err(|e| failed(e.into()))?.as_deref() != Some(FORMAT.to_be_bytes().as_slice()) {
        log.insert(FORMAT_KEY, &FORMAT.to_be_bytes()).map_err(|e| failed(e.into()))?;
        db.flush().map_err(|e| failed(e.into()))?;
    }
    let fence = dir.join(FENCE);
    if fence.is_file() {
        std::fs::remove_file(&fence).map_err(|e| failed(e.into()))?;
    }
    if !fence.is_dir() {
        std::fs::create_dir(&fence).map_err(|e| failed(e.into()))?;
        std::fs::write(fence.join("README"), FENCE_NOTE).map_err(|e| failed(e.into()))?;
    }
    Ok(())
}

fn backend(dir: &Path, source: Box<dyn std::error::Error + Send + Sync>) -> OpenError {
    OpenError::Backend { path: dir.display().to_string(), source }
}

/// A torn append left by an earlier version (one `g` key per event, the run's head moved last):
/// its `g` and `e` keys past its run's head, at the end of the global order.
fn repair_legacy_tail(log: &sled::Tree) -> Result<(), sled::Error> {
    let mut torn = Vec::new();
    for item in log.scan_prefix(b"g").rev() {
        let (key, value) = item?;
        let (run, seq) = match pointers(&value).as_deref() {
            Some([one]) => *one,
            _ => break,
        };
        let Some(head) = log.get(head_key(run))?.and_then(|v| be_u64(&v)) else {
            break;
        };
        if seq.0 <= head {
            break;
        }
        torn.push((key, event_key(run, seq)));
    }
    for (global, event) in torn {
        log.remove(event)?;
        log.remove(global)?;
    }
    Ok(())
}

/// Empties the heads earlier versions kept in `h` values: they are no longer moved by appends.
fn forget_legacy_heads(log: &sled::Tree) -> Result<(), sled::Error> {
    let mut legacy = Vec::new();
    for item in log.scan_prefix(b"h") {
        let (key, value) = item?;
        if !value.is_empty() {
            legacy.push(key);
        }
    }
    for key in legacy {
        log.insert(key, &[])?;
    }
    Ok(())
}

//! Submitted storage of dat: the append-only event log behind the [`EventLog`] trait (sled by
//! default), the artifact folders stages write, and named cursors into the global event order.
//!
//! What it must never do: decide anything about runs (that is `dat-events`), or leak its backend
//! through its API: errors are classified here ([`AppendError`], [`LogReadError`]) so no caller
//! names sled.
//!
//! # Layout
//! - [`event_log`]: the [`EventLog`] trait, [`GlobalPos`] and the error types.
//! - [`sled_log`]: [`SledLog`], the sled implementation (durable appends, global order, cursors).
//! - [`memory_log`]: [`MemoryLog`], the same contract in memory only (to measure the log's cost).
//! - `sled_format`: the layout of a sled log, and how a log of the first layout is taken over.
//! - `sled_keys`: the keys of the sled log and the repair of a crash's leftovers.
//! - `wal`: the write-ahead file that makes appends durable with one shared `fdatasync`.
//! - [`group_commit`]: [`GroupCommit`], appends waiting for the disk sharing one flush.
//! - [`fingerprints`]: [`FingerprintCache`], discovery's sha256 cache by path, size and change stamp.
//! - [`artifacts`]: [`ArtifactStore`], per-run stage artifact folders written atomically.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod artifacts;
pub mod event_log;
pub mod fingerprints;
pub mod group_commit;
pub mod memory_log;
mod sled_format;
mod sled_keys;
pub mod sled_log;
mod wal;

pub use artifacts::{ArtifactError, ArtifactStore};
pub use event_log::{AppendError, EventLog, GlobalPos, LogReadError, OpenError, Submitted};
pub use fingerprints::{Fingerprint, FingerprintCache};
pub use group_commit::GroupCommit;
pub use memory_log::MemoryLog;
pub use sled_log::{Durability, SledLog};

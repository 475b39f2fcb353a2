//! Reading old events: every stored envelope carries `schema_version`, and events written by an
//! older dat are brought to the current shape here, at read time, one version step at a time.
//! The log itself is never rewritten.
//!
//! To change an event's shape: bump [`CURRENT_SCHEMA_VERSION`], add a step `vN → vN+1` to
//! [`step`] that rewrites the old `data` (e.g. fill a new field with the value old runs implied),
//! and check a golden log of the old version into `events/tests/golden/`.

use crate::envelope::RawEnvelope;

/// The schema version this build writes.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// A stored event this build cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpcastError {
    /// Written by a newer dat: upgrade dat to read this log (never guess at the newer shape).
    #[error(
        "event {event_id} has schema version {version}, newer than this dat ({CURRENT_SCHEMA_VERSION}): upgrade dat"
    )]
    FromTheFuture {
        /// The event.
        event_id: String,
        /// Its version.
        version: u32,
    },
    /// A version no dat ever wrote: the log is damaged.
    #[error("event {event_id} has unknown schema version {version}")]
    UnknownVersion {
        /// The event.
        event_id: String,
        /// Its version.
        version: u32,
    },
}

/// Brings `raw` to [`CURRENT_SCHEMA_VERSION`].
///
/// # Errors
/// [`UpcastError`] for versions newer than this build or never written.
pub fn upcast(mut raw: RawEnvelope) -> Result<RawEnvelope, UpcastError> {
    if raw.schema_version > CURRENT_SCHEMA_VERSION {
        return Err(UpcastError::FromTheFuture { event_id: raw.event_id, version: raw.schema_version });
    }
    while raw.schema_version < CURRENT_SCHEMA_VERSION {
        raw = step(raw)?;
    }
    Ok(raw)
}

/// One step `vN → vN+1`. Version 1 is the first schema, so there is nothing older to step from yet.
fn step(raw: RawEnvelope) -> Result<RawEnvelope, UpcastError> {
    Err(UpcastError::UnknownVersion { event_id: raw.event_id, version: raw.schema_version })
}

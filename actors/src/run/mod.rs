//! One actor per run: the run's only writer. Each handler decides with the pure rules of
//! `dat-events`, appends with the expected seq, applies the events and replies.

mod actor;
mod error;
mod job;
pub(crate) mod messages;

pub(crate) use actor::{RunActor, RunDeps};
pub use error::RunError;
pub use messages::{CleanupReport, StageArtifact};

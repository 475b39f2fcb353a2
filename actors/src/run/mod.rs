//! One actor per run: the run's only writer. Each handler decides with the pure rules of
//! `dat-events`, appends with the expected seq, applies the events and replies.
//!
//! `actor`: the actor and the stage handlers; `housekeeping`: interrupted work and cleanups;
//! `job`: background work; `messages`: what the actor is asked; `error`: what it answers.

mod actor;
mod error;
mod housekeeping;
mod job;
pub(crate) mod messages;

pub(crate) use actor::{RunActor, RunDeps};
pub use error::RunError;
pub use messages::{CleanupReport, StageArtifact};

//! The event vocabulary of a run, its envelope on disk and on the wire, schema upcasting, and the
//! pure decide/evolve pair that is the whole of the run logic.
//!
//! Pure: no I/O, no clock, no randomness. The actor that drives a run passes in everything that
//! needs the outside world (the time of an envelope, the artifact a stage produced), so every
//! rule here is testable as "given these events, when this command, then these events or this
//! rejection" (see [`testing`]).
//!
//! # Layout
//! - [`event`]: [`RunEvent`], the past-tense facts of a run, and [`ArtifactRef`].
//! - [`envelope`]: [`Envelope`] (typed) and [`RawEnvelope`] (as stored), [`Seq`], [`Timestamp`].
//! - [`upcast`]: bringing events of older schema versions to the current one at read time.
//! - [`run`]: [`RunState`] and its view, [`run::decide`], [`run::evolve`], [`run::replay`].
//! - [`testing`]: the given/when/then harness for the decision logic.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod envelope;
pub mod event;
pub mod run;
pub mod testing;
pub mod upcast;

pub use envelope::{Envelope, RawEnvelope, Seq, Timestamp};
pub use event::{ArtifactRef, RemovedPath, RunEvent};
pub use run::{
    decide, evolve, replay, upstream_inputs, Checkpoint, Rejection, RunCommand, RunState, RunView, StageOutcome,
    StageState, StageStatus,
};
pub use upcast::{UpcastError, CURRENT_SCHEMA_VERSION};

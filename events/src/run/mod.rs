//! The run aggregate: its state (only ever the fold of its events), the commands it accepts, the
//! pure decision that turns a command into events, and the total fold that applies them.

mod command;
mod decide;
mod evolve;
mod state;
mod view;

pub use command::{Rejection, RunCommand, StageOutcome};
pub use decide::{decide, upstream_inputs};
pub use evolve::{evolve, replay};
pub use state::{Checkpoint, LockedArtifact, RunState};
pub use view::{RunView, StageState, StageStatus};

#[cfg(test)]
mod tests;

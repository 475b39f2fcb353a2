//! Workers that do file work off the run actors' thread.

pub mod probe;

pub use probe::{PreviewTable, ProbeFile, ProbePool};

//! Helpers shared by the end-to-end tests.

pub mod daemon;
pub mod nats;

pub use daemon::{dat, Daemon, Dirs};

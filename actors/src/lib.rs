//! The running system of dat: one actor per run that decides, appends and applies; the stage
//! executors that do each stage's work; the workspace that keeps file access inside its root;
//! and the registry that creates, finds and rehydrates run actors.
//!
//! Nothing here knows HTTP or the CLI; the binary wires these together. NATS appears only in
//! [`bridge`].
//! Actors never panic across their boundary: every handler returns a [`RunError`].
//!
//! # Layout
//! - [`readers`]: the adapters that probe, preview and read files (the `dat-readers` crate).
//! - [`bridge`]: the NATS bridge (events to JetStream, progress to core NATS, `events tail`).
//! - [`cleanup`]: what a run's cleanup deletes, planned from its state and folders.
//! - [`datasets`]: [`datasets::Datasets`], the catalogue of exported datasets.
//! - [`metrics`]: [`metrics::Metrics`], what `/api/dat/metrics` exposes.
//! - [`registry`]: [`Registry`], the only place run actors are started or found.
//! - [`profiles`]: [`profiles::ProfileCatalog`], the extraction profiles and their versions.
//! - [`progress`]: [`ProgressHub`], live progress of background work.
//! - [`run`]: the run actor, its messages and [`RunError`].
//! - [`stages`]: [`StageExecutor`], what a stage does when it locks, per stage.
//! - [`workspace`]: [`Workspace`], resolving workspace paths on disk (symlinks included).
#![forbid(unsafe_code)]

pub mod bridge;
pub mod cleanup;
pub mod datasets;
pub mod metrics;
pub mod profiles;
pub mod progress;
pub mod registry;
pub mod run;
pub mod stages;
pub mod workers;
pub mod workspace;

/// The file readers (adapters), from the `dat-readers` crate.
pub use dat_readers as readers;
pub use progress::{Progress, ProgressHub};
pub use registry::{GcReport, Registry, RegistryConfig, RunFilter};
pub use run::{RunError, StageArtifact};
pub use stages::{StageError, StageExecutor, Stages};
pub use workspace::{Workspace, WorkspaceError};

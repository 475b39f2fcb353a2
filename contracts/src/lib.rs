//! Domain types and rules of dat: the eight stages, the stage graph that gates and cascades
//! them, content-addressed stage IDs, workspace-relative paths and the lock bodies users send.
//!
//! This crate does no I/O at all: no files, no clock, no randomness. Everything here is a value
//! with one checked constructor, or a pure rule over such values, so that the layers above can
//! trust what they hold.
//!
//! # Layout
//! - [`artifacts`]: the typed content each stage's artifact holds.
//! - [`bundle`]: the manifests and report parse and export write.
//! - [`stage`]: the [`Stage`] enum and its wire names.
//! - [`stage_graph`]: [`StageGraphConfig`], the gating and cascade rules as data, validated.
//! - [`canonical_json`]: the byte-exact JSON form that stage IDs hash.
//! - [`stage_id`]: [`StageId`], `"<stage>_" + sha256(canonical inputs)[0..8]`.
//! - [`workspace_path`]: [`WorkspacePath`], a normalized path that cannot leave the workspace.
//! - [`run_id`]: [`RunId`], the time-ordered identity of a run.
//! - [`stage_inputs`]: [`LockRequest`], the typed lock body of each stage.
//! - [`table`]: [`TableProbe`], [`TablePreview`] and the table statuses of SPEC §6.
//! - [`profile`]: extraction profiles: the format, identity, validation, filters, context.
//! - [`text_layout`]: number formats, date orders, read overrides, drifting header names.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod artifacts;
pub mod bundle;
pub mod canonical_json;
pub mod profile;
pub mod run_id;
pub mod stage;
pub mod stage_graph;
pub mod stage_id;
pub mod stage_inputs;
pub mod table;
pub mod text_layout;
pub mod workspace_path;

pub use run_id::RunId;
pub use stage::{Stage, UnknownStage};
pub use stage_graph::{GateRule, StageGraphConfig, StageGraphError};
pub use stage_id::StageId;
pub use stage_inputs::{ExportFormat, InputError, LockRequest};
pub use table::{table_id, ColumnInfo, ColumnType, Sniff, TablePreview, TableProbe, TableStatus};
pub use workspace_path::{PathOutsideWorkspace, WorkspacePath};

//! The command line: argument types and one module per group of commands. Commands print for
//! their user on stdout, errors on stderr, and exit 0 (ok), 1 (failure) or 2 (usage/config).

pub mod events;
pub mod inspect;
pub mod ops;
pub mod probe;
pub mod profiles;
pub mod run;
pub mod source;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ServeArgs;

/// dat: turns a folder of instrument data files into one clean, audited dataset.
#[derive(Debug, Parser)]
#[command(name = "dat", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (HTTP API).
    Serve(ServeArgs),
    /// Turn a folder into one dataset: every stage with defaults, then a summary.
    Run(run::RunArgs),
    /// List runs, newest first.
    Runs {
        #[command(flatten)]
        source: SourceArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a run and its stages.
    Show {
        /// Run id.
        run: String,
        #[command(flatten)]
        source: SourceArgs,
        /// Print the run resource as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a run's events (or, with --profiles, the profiles stream) with their times and types.
    Audit {
        /// Run id.
        #[arg(required_unless_present = "profiles")]
        run: Option<String>,
        /// The profiles stream instead of a run.
        #[arg(long, conflicts_with = "run")]
        profiles: bool,
        #[command(flatten)]
        source: SourceArgs,
        /// Print the envelopes as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Probe files: their tables, statuses, columns and sniff results.
    Probe {
        /// Files to probe.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per table instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Extraction profiles: list, show, create, validate, delete.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Follow the events the daemon publishes on NATS (`dat serve --nats`).
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Ask a running parse or export of a run to stop at its next table or chunk (daemon).
    Cancel {
        /// Run id.
        run: String,
        /// Why, recorded in the log.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// List (dry run) or delete the files of a run that a cleanup takes.
    Cleanup {
        /// Run id.
        run: String,
        /// What may go [default: unreferenced, temporary, checkpoints].
        #[arg(long = "target", value_enum)]
        targets: Vec<ops::TargetArg>,
        /// Delete what is listed (recorded as CleanupPerformed in the run's log).
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        source: SourceArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Housekeeping of the whole data dir: every run's default cleanup and the fingerprints of
    /// files that are gone; a dry run unless --apply.
    Gc {
        /// Delete what is listed.
        #[arg(long)]
        apply: bool,
        /// Only what was last changed longer ago than this (30d, 12h, 45m, 90s).
        #[arg(long, value_parser = ops::parse_age)]
        older_than: Option<std::time::Duration>,
        /// Workspace the fingerprinted paths are relative to (offline) [default: .].
        #[arg(long)]
        workspace: Option<PathBuf>,
        #[command(flatten)]
        source: SourceArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a run's state from its log, as of any seq.
    Replay {
        /// Run id.
        run: String,
        /// Stop after this seq (default: the whole log).
        #[arg(long)]
        until: Option<u64>,
        #[command(flatten)]
        source: SourceArgs,
        /// Print the rebuilt run resource as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Where inspection commands read runs from: the data dir directly, or a daemon.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Data dir to read offline [default: ./.dat].
    #[arg(long, env = "DAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Ask this daemon instead of reading the data dir (e.g. http://127.0.0.1:8400).
    #[arg(long, env = "DAT_SERVER")]
    pub server: Option<String>,
    /// Bearer token file for a daemon that requires one.
    #[arg(long, env = "DAT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

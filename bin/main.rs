//! The `dat` binary: parses arguments and calls the library crates. Nothing here decides
//! anything about runs; see `dat-events` for the rules and `dat-actors` for the system.
#![forbid(unsafe_code)]

mod cli;
mod config;
mod daemon;
mod http;
mod logging;
mod malloc;

use std::net::TcpListener;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::source::Source;
use crate::cli::{inspect, Cli, Command};
use crate::config::{ConfigError, Settings};

/// Exit codes of SPEC §11.
const FAILURE: u8 = 1;
const USAGE: u8 = 2;

fn main() -> ExitCode {
    malloc::tune();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Run(args) => cli::run::run(args),
        Command::Runs { source, json } => inspect_with(&source, |s| inspect::runs(s, json)),
        Command::Show { run, source, json } => inspect_with(&source, |s| inspect::show(s, &run, json)),
        Command::Audit { run, profiles, source, json } => inspect_with(&source, |s| match run {
            Some(run) if !profiles => inspect::audit(s, &run, json),
            _ => inspect::audit_profiles(s, json),
        }),
        Command::Profiles(command) => cli::profiles::run(command),
        Command::Probe { files, json } => cli::probe::probe(&files, json),
        Command::Events(command) => cli::events::run(command),
        Command::Cancel { run, reason, source } => cli::ops::cancel(&source, &run, reason),
        Command::Cleanup { run, targets, apply, source, json } => {
            cli::ops::cleanup(&source, &run, &targets, apply, json)
        }
        Command::Gc { apply, older_than, workspace, source, json } => {
            cli::ops::gc(&source, workspace, older_than, apply, json)
        }
        Command::Replay { run, until, source, json } => {
            inspect_with(&source, |s| inspect::replay_run(s, &run, until, json))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let usage = e.downcast_ref::<ConfigError>().is_some() || e.downcast_ref::<dat_store::OpenError>().is_some();
            ExitCode::from(if usage { USAGE } else { FAILURE })
        }
    }
}

fn inspect_with(args: &cli::SourceArgs, command: impl FnOnce(&Source) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let source = Source::open(args)?;
    command(&source)
}

fn serve(args: config::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(args)?;
    logging::init(settings.log_format);
    let listener = TcpListener::bind(settings.bind).map_err(|e| {
        ConfigError::new("bind", settings.bind, e, "pick a free address with --bind (port 0 picks any free port)")
    })?;
    actix_web::rt::System::new().block_on(daemon::run(listener, settings, daemon::shutdown_signal()))
}

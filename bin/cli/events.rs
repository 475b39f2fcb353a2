//! `dat events tail [--run RUN] [--from-start] [--json]`: prints the events the NATS bridge
//! publishes, as they arrive, from an ordered JetStream consumer. Runs until interrupted; exits
//! 1 when NATS cannot be reached.

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use dat_actors::bridge::{self, BridgeError, NatsUrl, TailOptions};
use dat_contracts::RunId;
use dat_events::RawEnvelope;
use futures_util::StreamExt;

/// Where `dat events tail` connects when neither `--nats` nor `DAT_NATS_URL` is given.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// `dat events` subcommands.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print events from the DAT_EVENTS stream as they arrive (one line each).
    Tail(TailArgs),
}

/// `dat events tail` arguments.
#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// NATS server [default: nats://127.0.0.1:4222].
    #[arg(long, env = "DAT_NATS_URL")]
    pub nats: Option<String>,
    /// Only this run's events.
    #[arg(long)]
    pub run: Option<String>,
    /// Start with every event in the stream, not only new ones.
    #[arg(long)]
    pub from_start: bool,
    /// Print each envelope as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `dat events` command.
///
/// # Errors
/// A usage error for a bad URL or run id; a failure when NATS cannot be reached.
pub fn run(command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Tail(args) = command;
    let url = args.nats.as_deref().unwrap_or(DEFAULT_NATS_URL);
    let url = NatsUrl::parse(url).map_err(|e| {
        crate::config::ConfigError::new("nats", url, e, "pass --nats nats://HOST:PORT or set DAT_NATS_URL")
    })?;
    let run =
        match &args.run {
            Some(run) => Some(run.parse::<RunId>().map_err(|e| {
                crate::config::ConfigError::new("--run", run, e, "pass a run id as printed by `dat runs`")
            })?),
            None => None,
        };
    let options = TailOptions { url, run, from_start: args.from_start };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(tail(options, args.json))
}

async fn tail(options: TailOptions, json: bool) -> anyhow::Result<()> {
    let mut events = bridge::tail(options).await?;
    while let Some(event) = events.next().await {
        match event {
            Ok(envelope) => println!("{}", line(&envelope, json)),
            // Someone else's message on dat.events.>: say so and keep going.
            Err(e @ BridgeError::BadPayload { .. }) => eprintln!("warning: {e}"),
            Err(e) => return Err(anyhow!(e).context("the event stream failed")),
        }
    }
    Ok(())
}

/// One output line: the envelope as JSON, or `at run seq type [stage]`.
fn line(envelope: &RawEnvelope, json: bool) -> String {
    if json {
        return serde_json::to_string(envelope).unwrap_or_default();
    }
    let stage = envelope.data.get("stage").and_then(|s| s.as_str()).unwrap_or("");
    format!("{} {} {:>4} {} {}", envelope.at, envelope.run_id, envelope.seq, envelope.event_type, stage)
        .trim_end()
        .to_owned()
}

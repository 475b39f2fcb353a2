//! `dat events tail`: an ordered JetStream consumer on `DAT_EVENTS` that yields envelopes as
//! they arrive, optionally for one run and from the start of the stream.

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use dat_contracts::RunId;
use dat_events::RawEnvelope;
use futures_util::{Stream, StreamExt};

use crate::bridge::connect::{connect, ensure_stream, Reconnect};
use crate::bridge::error::BridgeError;
use crate::bridge::subject::{run_events_filter, EVENTS_WILDCARD};
use crate::bridge::url::NatsUrl;

/// What to tail.
#[derive(Debug, Clone)]
pub struct TailOptions {
    /// The NATS server.
    pub url: NatsUrl,
    /// Only this run's events (`dat.events.<run>.>`).
    pub run: Option<RunId>,
    /// Every stored event first; otherwise only events published from now on.
    pub from_start: bool,
}

/// Connects, creates the stream when absent (so a tail may start before the daemon), and
/// returns the envelopes in stream order. The ordered consumer is ephemeral and recreated by
/// the client after a gap or a reconnection, so nothing is skipped or repeated.
///
/// # Errors
/// [`BridgeError::Unreachable`] when NATS cannot be reached; [`BridgeError::JetStream`] when
/// JetStream is off or refuses the consumer. Items fail with [`BridgeError::BadPayload`] for
/// messages that are not envelopes.
pub async fn tail(
    options: TailOptions,
) -> Result<impl Stream<Item = Result<RawEnvelope, BridgeError>> + Unpin, BridgeError> {
    let client = connect(&options.url, "dat events tail", Reconnect::Always).await?;
    let js = async_nats::jetstream::new(client);
    let stream = ensure_stream(&js).await?;
    let filter_subject = match options.run {
        Some(run) => run_events_filter(run),
        None => EVENTS_WILDCARD.to_owned(),
    };
    let deliver_policy = if options.from_start { DeliverPolicy::All } else { DeliverPolicy::New };
    let consumer = stream
        .create_consumer(pull::OrderedConfig { filter_subject, deliver_policy, ..Default::default() })
        .await
        .map_err(|e| BridgeError::jetstream("consumer creation", e))?;
    let messages = consumer.messages().await.map_err(|e| BridgeError::jetstream("consumer", e))?;
    Ok(messages.map(|message| {
        let message = message.map_err(|e| BridgeError::jetstream("consumer", e))?;
        serde_json::from_slice(&message.payload)
            .map_err(|e| BridgeError::BadPayload { subject: message.subject.to_string(), reason: e.to_string() })
    }))
}

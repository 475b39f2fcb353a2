//! The bridge task: connect, make sure the stream exists, pump until something fails, back off
//! (100 ms doubling to 5 s), reconnect, and go on from the acknowledged position. The daemon
//! never waits for any of this; at shutdown the task drains what it can and saves its cursor.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::Client;
use tokio::sync::{watch, Notify};

use crate::bridge::connect::{connect, ensure_stream, Reconnect};
use crate::bridge::error::BridgeError;
use crate::bridge::publisher::{stopping, Publisher};
use crate::bridge::url::NatsUrl;

/// First and longest pause between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Runs until shutdown is asked for. Never panics; every failure is logged and retried.
pub(crate) async fn supervise(
    mut publisher: Publisher,
    url: NatsUrl,
    mut stop: watch::Receiver<bool>,
    current: watch::Sender<Option<Client>>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut was_up = true; // log the first failure at warn, repeats at debug
    while !stopping(&stop) {
        let lost = Arc::new(Notify::new());
        let session = tokio::select! {
            session = open(&url, &publisher, lost.clone()) => session,
            _ = stop.changed() => break,
        };
        let result = match session {
            Ok((client, js)) => {
                tracing::info!(url = %url, acked = publisher.acked.0, "NATS bridge connected");
                publisher.status.set_connected(true);
                current.send_replace(Some(client));
                backoff = BACKOFF_MIN;
                was_up = true;
                let result = publisher.pump(&js, &lost, &mut stop).await;
                publisher.status.set_connected(false);
                current.send_replace(None);
                result
            }
            Err(e) => Err(e),
        };
        if result.is_err() {
            publisher.status.count_publish_error();
        }
        match result {
            Ok(()) => break,
            Err(e) if was_up => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "NATS bridge disconnected; retrying")
            }
            Err(e) => {
                tracing::debug!(error = %e, retry_in_ms = backoff.as_millis() as u64, "NATS bridge still disconnected")
            }
        }
        was_up = false;
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    if let Err(e) = publisher.save().await {
        tracing::error!(error = %e, "NATS bridge cursor not saved; events since the last save will be re-published");
    }
}

/// Connects and ensures the stream.
async fn open(
    url: &NatsUrl,
    publisher: &Publisher,
    lost: Arc<Notify>,
) -> Result<(Client, jetstream::Context), BridgeError> {
    let client = connect(url, "dat bridge", Reconnect::Never { lost }).await?;
    let window = publisher.settings.max_in_flight.max(1);
    let js = jetstream::ContextBuilder::new()
        .timeout(publisher.settings.ack_timeout)
        .max_ack_inflight(window)
        .backpressure_on_inflight(true)
        .build(client.clone());
    ensure_stream(&js).await?;
    Ok((client, js))
}

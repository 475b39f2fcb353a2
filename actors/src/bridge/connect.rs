//! One NATS session: a client that never reconnects by itself, its JetStream context, and the
//! `DAT_EVENTS` stream (created when absent).
//!
//! Why no automatic reconnection: the client would re-send the publishes queued during an
//! outage on the new connection while the ones lost in the dead socket are gone, so the stream
//! could store event 8 before event 7. With one connection per session, the server has always
//! received a prefix of what was sent; the bridge reconnects itself and re-publishes from the
//! acknowledged position, and the message ids drop what was already stored.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{Client, ConnectOptions, Event};
use tokio::sync::Notify;

use crate::bridge::error::BridgeError;
use crate::bridge::subject::{EVENTS_WILDCARD, STREAM};
use crate::bridge::url::NatsUrl;

/// How long JetStream remembers message ids. A re-publish after a crash or an outage is dropped
/// as a duplicate if the first copy is younger than this; the cursor is saved far more often
/// (every `nats_cursor_save_ms`), so only a daemon down for longer than this with published
/// but unsaved events could store an event twice. Two minutes is the server's default, set
/// explicitly so the guarantee does not depend on it.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a connection attempt may take before the bridge backs off.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The stream the bridge creates when it is absent: file storage, every `dat.events.>`
/// subject, limits retention (nothing expires unless an operator sets limits).
pub fn stream_config() -> stream::Config {
    stream::Config {
        name: STREAM.to_owned(),
        description: Some("dat event log: one message per event, Nats-Msg-Id = event_id".to_owned()),
        subjects: vec![EVENTS_WILDCARD.to_owned()],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// Whether a client reconnects by itself.
pub(crate) enum Reconnect {
    /// The bridge: never (see the module doc); `lost` is notified when the connection drops,
    /// so that an idle bridge notices at once.
    Never {
        /// Poked on disconnection.
        lost: Arc<Notify>,
    },
    /// `dat events tail`: always; its ordered consumer recovers by itself.
    Always,
}

/// Connects once.
///
/// # Errors
/// [`BridgeError::Unreachable`] when the server cannot be reached.
pub(crate) async fn connect(url: &NatsUrl, name: &str, reconnect: Reconnect) -> Result<Client, BridgeError> {
    let options = ConnectOptions::new().name(name).connection_timeout(CONNECT_TIMEOUT);
    let options = match reconnect {
        Reconnect::Always => options,
        // The first connect counts as attempt 1, so a limit of 1 means "never reconnect" (0
        // would mean "forever").
        Reconnect::Never { lost } => options.max_reconnects(1).event_callback(move |event| {
            let lost = lost.clone();
            async move {
                if matches!(event, Event::Disconnected | Event::Closed | Event::ClientError(_)) {
                    lost.notify_one();
                }
            }
        }),
    };
    options
        .connect(url.as_str())
        .await
        .map_err(|e| BridgeError::Unreachable { url: url.to_string(), source: Box::new(e) })
}

/// The `DAT_EVENTS` stream, created with [`stream_config`] when absent. An existing stream is
/// used as it is (an operator may have changed its limits).
///
/// # Errors
/// [`BridgeError::JetStream`] when JetStream is not enabled or refuses.
pub(crate) async fn ensure_stream(js: &jetstream::Context) -> Result<jetstream::stream::Stream, BridgeError> {
    js.get_or_create_stream(stream_config()).await.map_err(|e| BridgeError::jetstream("stream creation", e))
}

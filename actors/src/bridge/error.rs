//! What can go wrong between the log and JetStream, classified at this boundary so that callers
//! never name the NATS client's error types.

/// A NATS or store failure seen by the bridge or by `dat events tail`.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The server cannot be reached (down, wrong address, refused): the bridge backs off and
    /// retries; `dat events tail` exits 1 with this message.
    #[error("cannot reach NATS at {url}: {source}")]
    Unreachable {
        /// The URL tried (credentials are not printed by the client's error).
        url: String,
        /// The client's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The connection dropped while publishing: reconnect and re-publish from the acknowledged
    /// position (JetStream removes the duplicates).
    #[error("connection to NATS lost")]
    ConnectionLost,
    /// JetStream refused or did not answer (stream creation, publish, ack, consumer): reconnect
    /// and retry; logged with its cause.
    #[error("JetStream {action} failed: {source}")]
    JetStream {
        /// What was being done.
        action: &'static str,
        /// The client's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A message on `dat.events.>` is not an event envelope (someone else published there):
    /// `dat events tail` reports it and goes on.
    #[error("message {subject} is not a dat event: {reason}")]
    BadPayload {
        /// Its subject.
        subject: String,
        /// Why it could not be decoded.
        reason: String,
    },
    /// The event log could not be read or the cursor saved: retry after backoff; logged.
    #[error("event log: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BridgeError {
    pub(crate) fn jetstream(action: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        BridgeError::JetStream { action, source: Box::new(e) }
    }

    pub(crate) fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        BridgeError::Store(Box::new(e))
    }
}

//! Live progress on core NATS: every [`Progress`] update of the hub is published as JSON to
//! `dat.progress.<run_id>`. Best effort: no connection, a slow server or a lagging receiver
//! only drops updates; the work that reports progress never waits for this task.

use async_nats::Client;
use tokio::sync::{broadcast, watch};

use crate::bridge::subject::progress_subject;
use crate::progress::Progress;

/// Forwards updates until the hub closes; `client` is the bridge's current connection (`None`
/// while disconnected).
pub(crate) async fn forward(mut updates: broadcast::Receiver<Progress>, client: watch::Receiver<Option<Client>>) {
    loop {
        let progress = match updates.recv().await {
            Ok(progress) => progress,
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::debug!(skipped, "progress forwarding fell behind; skipped updates");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(client) = client.borrow().clone() else { continue };
        let Ok(payload) = serde_json::to_vec(&progress) else { continue };
        if let Err(e) = client.publish(progress_subject(progress.run_id), payload.into()).await {
            tracing::debug!(error = %e, "progress update not published");
        }
    }
}

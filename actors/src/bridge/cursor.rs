//! The bridge's saved position in the store. Saves are monotonic: a late save of an older
//! position (a save still running on the blocking pool when shutdown saves the final one) can
//! never move the cursor back.

use std::sync::{Arc, Mutex};

use dat_store::{AppendError, EventLog, GlobalPos, LogReadError};

/// The cursor's name in the store.
pub const CURSOR_NAME: &str = "nats_bridge";

/// The saved cursor and the last position written.
#[derive(Clone)]
pub(crate) struct Cursor {
    log: Arc<dyn EventLog>,
    /// The last saved position; the mutex also orders concurrent saves.
    saved: Arc<Mutex<GlobalPos>>,
}

impl Cursor {
    /// Loads the saved position (blocking: call from the blocking pool or at startup).
    pub(crate) fn load(log: Arc<dyn EventLog>) -> Result<(Self, GlobalPos), LogReadError> {
        let pos = log.load_cursor(CURSOR_NAME)?;
        Ok((Cursor { log, saved: Arc::new(Mutex::new(pos)) }, pos))
    }

    /// Saves `pos` durably unless a later position is already saved.
    pub(crate) async fn save(&self, pos: GlobalPos) -> Result<(), AppendError> {
        let this = self.clone();
        let saved = tokio::task::spawn_blocking(move || {
            // A poisoned mutex only means a save panicked; the position inside is still valid.
            let mut saved = this.saved.lock().unwrap_or_else(|p| p.into_inner());
            if pos <= *saved {
                return Ok(());
            }
            this.log.save_cursor(CURSOR_NAME, pos)?;
            *saved = pos;
            Ok(())
        })
        .await;
        saved.map_err(|e| AppendError::Backend(Box::new(e)))?
    }

    /// The last saved position.
    pub(crate) fn saved(&self) -> GlobalPos {
        *self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }
}

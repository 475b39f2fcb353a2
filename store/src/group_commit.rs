//! Group commit: appends that wait for the disk at the same time share one flush.
//!
//! Each append, once its batch is applied and its record buffered (in the order the log's
//! writer lock gives), holds a ticket and waits until a flush that began after its record was
//! buffered covers it. The first waiter finding no flush under way leads one: the flush writes
//! everything buffered with one `write`, syncs it with one `fdatasync` (without holding any
//! lock the appends need) and says up to which ticket that made durable; every ticket up to
//! there is acknowledged at once. Appends that arrive during a flush wait for the next one,
//! which the first of them leads. So under load one sync acknowledges many appends, a lone
//! append pays its sync with no thread hand-off, and none is acknowledged before a flush that
//! covers it has returned ("durable before acknowledged").

use std::sync::{Condvar, Mutex, MutexGuard};

/// What a flush failed with, for every append it was to cover.
pub type FlushError = String;

#[derive(Debug, Default)]
struct State {
    /// Highest ticket known durable.
    durable: u64,
    /// A flush is under way.
    flushing: bool,
    /// The tickets up to this one were covered by a flush that failed, and why.
    failed: Option<(u64, FlushError)>,
    /// Flushes run so far.
    flushes: u64,
}

/// Tickets and the flush they wait for.
#[derive(Debug, Default)]
pub struct GroupCommit {
    state: Mutex<State>,
    flushed: Condvar,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a flush leader panicked; the counters stay valid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `ticket` is durable, leading a flush with `flush` when none is under way.
    /// `flush` writes and syncs everything buffered and returns the highest ticket that made
    /// durable (or that ticket with the error).
    ///
    /// # Errors
    /// The error of the flush that was to cover `ticket`.
    pub fn wait(&self, ticket: u64, flush: impl Fn() -> Result<u64, (u64, FlushError)>) -> Result<(), FlushError> {
        let mut state = self.lock();
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if let Some((through, error)) = &state.failed {
                if *through >= ticket {
                    return Err(error.clone());
                }
            }
            if state.flushing {
                state = self.flushed.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead a flush covering every record buffered so far.
            state.flushing = true;
            drop(state);
            let result = flush();
            state = self.lock();
            state.flushing = false;
            state.flushes += 1;
            match result {
                Ok(covers) => state.durable = state.durable.max(covers),
                Err((covers, e)) => state.failed = Some((covers, e)),
            }
            self.flushed.notify_all();
        }
    }

    /// Flushes run so far (for benchmarks: fsyncs issued beside appends acknowledged).
    pub fn flushes(&self) -> u64 {
        self.lock().flushes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// A "disk" whose flush is slow: `order` is the last ticket handed out (records buffered),
    /// `durable` how far each finished flush reached.
    #[derive(Default)]
    struct SlowDisk {
        order: Mutex<u64>,
        durable: AtomicU64,
    }

    #[test]
    fn no_append_is_acknowledged_before_a_flush_that_covers_it_returns() {
        let commit = Arc::new(GroupCommit::default());
        let disk = Arc::new(SlowDisk::default());
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (commit, disk) = (commit.clone(), disk.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let ticket = {
                            let mut last = disk.order.lock().unwrap();
                            *last += 1;
                            *last
                        };
                        commit
                            .wait(ticket, || {
                                let reached = *disk.order.lock().unwrap();
                                std::thread::sleep(Duration::from_millis(2));
                                disk.durable.fetch_max(reached, Ordering::SeqCst);
                                Ok(reached)
                            })
                            .unwrap();
                        let durable = disk.durable.load(Ordering::SeqCst);
                        assert!(durable >= ticket, "ticket {ticket} acknowledged with only {durable} on disk");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let flushes = commit.flushes();
        assert!(flushes < 320 / 4, "16 writers share flushes: {flushes} flushes for 320 appends");
    }

    #[test]
    fn a_failed_flush_fails_every_append_it_covered_and_the_next_one_can_succeed() {
        let commit = GroupCommit::default();
        assert_eq!(commit.wait(1, || Err((1, "disk full".into()))), Err("disk full".to_owned()));
        assert_eq!(commit.wait(2, || Ok(2)), Ok(()));
        assert_eq!(commit.flushes(), 2);
    }
}

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
//!
//! A failed flush fails every ticket it covered and every later one: after a failed write or
//! `fdatasync` nobody can say what reached the disk (the kernel may have dropped the dirty
//! pages), so no later flush is trusted to cover what came before it, as databases do after an
//! fsync error. The log reports the first error until it is opened again (a restart), when its
//! write-ahead file is read back and what it holds is whole.

use std::sync::{Condvar, Mutex, MutexGuard};

/// What a flush failed with, for every append it was to cover.
pub type FlushError = String;

#[derive(Debug, Default)]
struct State {
    /// Highest ticket known durable.
    durable: u64,
    /// A flush is under way.
    flushing: bool,
    /// The first flush that failed: every ticket not yet durable fails with its error.
    failed: Option<FlushError>,
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
    /// durable.
    ///
    /// # Errors
    /// The error of the first flush that failed, if it was to cover `ticket` or an earlier one.
    pub fn wait(&self, ticket: u64, flush: impl Fn() -> Result<u64, FlushError>) -> Result<(), FlushError> {
        let mut state = self.lock();
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if let Some(error) = &state.failed {
                return Err(error.clone());
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
                Err(e) => state.failed = Some(e),
            }
            self.flushed.notify_all();
        }
    }

    /// The error of the flush that failed, if one did: later appends fail with it at once.
    pub fn failed(&self) -> Option<FlushError> {
        self.lock().failed.clone()
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
    fn a_failed_flush_fails_every_append_it_covered_and_every_later_one() {
        let commit = GroupCommit::default();
        assert_eq!(commit.wait(1, || Ok(1)), Ok(()));
        assert_eq!(commit.wait(3, || Err("disk full".into())), Err("disk full".to_owned()));
        // Ticket 2 was covered by the failed flush; 4 comes later and no flush is tried for it.
        assert_eq!(commit.wait(2, || Ok(4)), Err("disk full".to_owned()));
        assert_eq!(commit.wait(4, || Ok(4)), Err("disk full".to_owned()));
        assert_eq!(commit.wait(1, || Ok(4)), Ok(()), "what was durable before stays acknowledged");
        assert_eq!(commit.flushes(), 2);
    }
}

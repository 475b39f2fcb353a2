//! Group commit: appends that wait for the disk at the same time share one flush.
//!
//! Each append, once its batch is in the log's memory, takes a ticket (in the order batches
//! were applied) and waits until a flush that began after its batch covers it. The first waiter
//! finding no flush under way leads one: it notes the highest ticket issued so far, flushes
//! (without holding the lock), and then acknowledges every ticket up to that mark at once.
//! Appends that arrive during a flush wait for the next one, which the first of them leads. So
//! under load one fsync acknowledges many appends, and none is acknowledged before a flush that
//! started after its batch has returned ("durable before acknowledged").

use std::sync::{Condvar, Mutex, MutexGuard};

/// What a flush failed with, for every append it was to cover.
pub type FlushError = String;

#[derive(Debug, Default)]
struct State {
    /// Highest ticket issued (batches applied to memory).
    issued: u64,
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

    /// A ticket for a batch just applied to memory. Call it in the order batches are applied
    /// (under the lock that orders them).
    pub fn ticket(&self) -> u64 {
        let mut state = self.lock();
        state.issued += 1;
        state.issued
    }

    /// Waits until `ticket` is durable, leading a flush with `flush` when none is under way.
    ///
    /// # Errors
    /// The error of the flush that was to cover `ticket`.
    pub fn wait(&self, ticket: u64, flush: impl Fn() -> Result<(), FlushError>) -> Result<(), FlushError> {
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
            // Lead a flush covering every batch applied so far.
            state.flushing = true;
            let covers = state.issued;
            drop(state);
            let result = flush();
            state = self.lock();
            state.flushing = false;
            state.flushes += 1;
            match result {
                Ok(()) => state.durable = state.durable.max(covers),
                Err(e) => state.failed = Some((covers, e)),
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

    /// A "disk" whose flush is slow and records how far each finished flush reached.
    struct SlowDisk {
        applied: AtomicU64,
        durable: AtomicU64,
    }

    #[test]
    fn no_append_is_acknowledged_before_a_flush_that_covers_it_returns() {
        let commit = Arc::new(GroupCommit::default());
        let order = Arc::new(Mutex::new(()));
        let disk = Arc::new(SlowDisk { applied: AtomicU64::new(0), durable: AtomicU64::new(0) });
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (commit, order, disk) = (commit.clone(), order.clone(), disk.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let ticket = {
                            let _ordered = order.lock().unwrap();
                            disk.applied.fetch_add(1, Ordering::SeqCst);
                            commit.ticket()
                        };
                        commit
                            .wait(ticket, || {
                                let reached = disk.applied.load(Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(2));
                                disk.durable.fetch_max(reached, Ordering::SeqCst);
                                Ok(())
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
        let first = commit.ticket();
        assert_eq!(commit.wait(first, || Err("disk full".into())), Err("disk full".to_owned()));
        let second = commit.ticket();
        assert_eq!(commit.wait(second, || Ok(())), Ok(()));
        assert_eq!(commit.flushes(), 2);
    }
}

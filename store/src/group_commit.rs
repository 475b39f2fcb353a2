//! Group commit: appends that wait for the disk at the same time share one flush.
//!
//! Each append, once its events are in the log's pending group (in the order the log's writer
//! lock gives), holds a ticket and waits until a flush covers it. One flush runs at a time: it
//! takes the pending group, writes it with one `write`, syncs it with one `fdatasync` and says
//! up to which ticket that made durable; every ticket up to there is acknowledged at once. None
//! is acknowledged before a flush that covers it has returned ("durable before acknowledged").
//! Appends that come while a flush runs wait for the next one, which takes them all.
//!
//! Why one at a time: with a second flush taking the appends that came during the first one's
//! sync, 16 runs split into two halves taking turns, 8 appends per sync, and the disk still
//! waited for each hand-over between the flushes. With one, the runs a sync answered append
//! again together, in less time than a sync takes, and the next sync covers all of them
//! (16 runs, `benches/event_log.rs`: 7.5–7.9× the raw fsync rate with two flushes at once;
//! with one, 15–16 appends per sync and a median of 9.3× over 27 invocations; one run is
//! unchanged).
//!
//! An append waits in one of two ways:
//! - **on its thread** ([`GroupCommit::wait`]): the first waiter finding no flush under way
//!   leads one, so a lone append pays its sync with no thread hand-off;
//! - **with a receipt** ([`GroupCommit::receipt`]): nothing blocks; the log's flusher thread
//!   ([`GroupCommit::flusher_turn`]) leads the flushes and each receipt resolves once one covers
//!   its ticket. Run actors append this way: a thread per append in flight made 16 busy runs
//!   16 threads taking turns on 2 cores (4 context switches per append).
//!
//! Whoever leads a flush answers both kinds of waiter it covered. The flusher lets as many
//! receipts gather as the last flush answered, for at most [`GATHER`]: runs answered together
//! append again together, and one sync then covers them all.
//!
//! A failed flush fails every ticket it covered and every later one: after a failed write or
//! `fdatasync` nobody can say what reached the disk (the kernel may have dropped the dirty
//! pages), so no later flush is trusted to cover what came before it, as databases do after an
//! fsync error. The log reports the first error until it is opened again (a restart), when its
//! write-ahead file is read back and what it holds is whole.

use std::sync::{Condvar, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// What a flush failed with, for every append it was to cover.
pub type FlushError = String;

/// Resolves once a flush covered the append (or failed).
pub type Receipt = oneshot::Receiver<Result<(), FlushError>>;

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
    /// Appends waiting with a receipt, sorted by ticket.
    receipts: Vec<(u64, oneshot::Sender<Result<(), FlushError>>)>,
    /// The flusher is to stop once no receipt is left.
    closing: bool,
    /// Receipts the last flush answered: about as many appends come back soon (a run appends
    /// again once answered), so the flusher lets that many gather before it leads (see
    /// [`GATHER`]).
    expected: usize,
}

/// How long the flusher waits, at most, for as many receipts as the last flush answered before
/// it leads a flush for fewer. Without it, the first of 16 runs answered together had a sync of
/// its own and the other 15 the next one (100 µs measured a little better than 50). A lone run
/// is not delayed: one answered, one expected.
pub const GATHER: std::time::Duration = std::time::Duration::from_micros(100);

impl State {
    /// Whether a waiter for `ticket` should lead a flush: it is not durable, and no flush is
    /// under way (one that is may have taken it; if not, the next one will).
    fn leads(&self, ticket: u64) -> bool {
        ticket > self.durable && !self.flushing && self.failed.is_none()
    }

    /// Whether a receipt needs a flush that may start.
    fn receipt_leads(&self) -> bool {
        self.receipts.last().is_some_and(|(ticket, _)| self.leads(*ticket))
    }

    /// Whether the flusher should lead now: a receipt needs a flush that may start, and as many
    /// as the last flush answered have gathered (or the log is closing).
    fn gathered(&self) -> bool {
        self.receipt_leads() && (self.closing || self.receipts.len() >= self.expected)
    }

    /// Answers the receipts the flushes so far covered (all of them, after a failure); returns
    /// how many.
    fn answer(&mut self) -> usize {
        let durable = self.durable;
        let covered = match &self.failed {
            Some(_) => self.receipts.len(),
            None => self.receipts.partition_point(|(ticket, _)| *ticket <= durable),
        };
        for (_, sender) in self.receipts.drain(..covered) {
            // A receipt dropped by its append's caller needs no answer.
            let _ = sender.send(self.failed.clone().map_or(Ok(()), Err));
        }
        covered
    }
}

/// Tickets and the flushes they wait for.
#[derive(Debug, Default)]
pub struct GroupCommit {
    state: Mutex<State>,
    /// Told when a flush ends (threads waiting on their ticket).
    flushed: Condvar,
    /// Told when a receipt is handed out or the log closes (the flusher).
    work: Condvar,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a flush leader panicked; the counters stay valid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leads one flush with `state` locked; returns the state locked again once every waiter
    /// it covered has been told.
    fn lead<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        flush: impl Fn() -> Result<u64, FlushError>,
    ) -> MutexGuard<'a, State> {
        state.flushing = true;
        drop(state);
        let result = flush();
        let mut state = self.lock();
        state.flushing = false;
        state.flushes += 1;
        match result {
            Ok(covers) => state.durable = state.durable.max(covers),
            Err(e) => {
                state.failed.get_or_insert(e);
            }
        }
        let answered = state.answer();
        if answered > 0 {
            state.expected = answered;
        }
        self.flushed.notify_all();
        // Receipts that came during this flush wait for the next one (led by the flusher, once
        // this is not its own flush); a closing log's flusher is to stop. Otherwise the flusher
        // is not woken only to find nothing to do (two context switches per append when appends
        // come one at a time, as parse's checkpoints do).
        if state.closing || state.receipt_leads() {
            self.work.notify_one();
        }
        state
    }

    /// Waits until `ticket` is durable, leading a flush with `flush` when none is under way.
    /// `flush` takes everything buffered, writes and syncs it, and returns the highest ticket
    /// that made durable.
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
            state = if state.leads(ticket) {
                // Lead a flush covering every record buffered so far.
                self.lead(state, &flush)
            } else {
                self.flushed.wait(state).unwrap_or_else(|p| p.into_inner())
            };
        }
    }

    /// A receipt for `ticket`, resolved by the flush that covers it (led by the flusher, see
    /// [`Self::flusher_turn`], or by a thread waiting on its own ticket).
    pub fn receipt(&self, ticket: u64) -> Receipt {
        let (sender, receipt) = oneshot::channel();
        let mut state = self.lock();
        // Tickets are handed out under the log's writer lock but brought here after it, so two
        // may come out of order: kept sorted, almost always by a push at the end.
        let at = state.receipts.partition_point(|(t, _)| *t <= ticket);
        state.receipts.insert(at, (ticket, sender));
        state.answer();
        // The flusher is woken when it may lead a flush for this receipt and it is the first to
        // gather (the flusher then waits for the rest, up to `GATHER`) or the last expected;
        // otherwise the end of the flush under way wakes it (a wake-up is a system call).
        let waiting = state.receipts.len();
        if state.receipt_leads() && (waiting == 1 || waiting >= state.expected) {
            self.work.notify_one();
        }
        receipt
    }

    /// The flusher's loop body: waits until a receipt needs a flush that may start, then leads
    /// it with `flush`. Returns `false` once the log is closing and no receipt is left.
    pub fn flusher_turn(&self, flush: impl Fn() -> Result<u64, FlushError>) -> bool {
        let mut state = self.lock();
        let mut until = None;
        loop {
            if state.receipts.is_empty() && state.closing {
                return false;
            }
            if state.gathered() {
                break;
            }
            state = if state.receipt_leads() {
                // Fewer receipts than the last flush answered: wait a little for the rest.
                let now = std::time::Instant::now();
                let until = *until.get_or_insert(now + GATHER);
                if now >= until {
                    break;
                }
                self.work.wait_timeout(state, until - now).unwrap_or_else(|p| p.into_inner()).0
            } else {
                self.work.wait(state).unwrap_or_else(|p| p.into_inner())
            };
        }
        drop(self.lead(state, &flush));
        true
    }

    /// Tells the flusher to stop once the receipts handed out so far are answered.
    pub fn close(&self) {
        self.lock().closing = true;
        self.work.notify_all();
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

    impl SlowDisk {
        /// Buffers a record: its ticket.
        fn buffer(&self) -> u64 {
            let mut last = self.order.lock().unwrap();
            *last += 1;
            *last
        }

        /// A flush: takes what is buffered, syncs it slowly, returns how far it reached.
        fn flush(&self) -> Result<u64, FlushError> {
            let reached = *self.order.lock().unwrap();
            std::thread::sleep(Duration::from_millis(2));
            self.durable.fetch_max(reached, Ordering::SeqCst);
            Ok(reached)
        }
    }

    /// 16 writers of 20 appends each, each append `acknowledged` before the next, and none
    /// acknowledged before the disk holds it.
    fn sixteen_writers(
        commit: &Arc<GroupCommit>,
        disk: &Arc<SlowDisk>,
        acknowledged: impl Fn(&GroupCommit, &SlowDisk, u64) + Clone + Send + 'static,
    ) {
        let writers: Vec<_> = (0..16)
            .map(|_| {
                let (commit, disk, acknowledged) = (commit.clone(), disk.clone(), acknowledged.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let ticket = disk.buffer();
                        acknowledged(&commit, &disk, ticket);
                        let durable = disk.durable.load(Ordering::SeqCst);
                        assert!(durable >= ticket, "ticket {ticket} acknowledged with only {durable} on disk");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
    }

    #[test]
    fn no_append_is_acknowledged_before_a_flush_that_covers_it_returns() {
        let commit = Arc::new(GroupCommit::default());
        let disk = Arc::new(SlowDisk::default());
        sixteen_writers(&commit, &disk, |commit, disk, ticket| {
            commit.wait(ticket, || disk.flush()).unwrap();
        });
        let flushes = commit.flushes();
        assert!(flushes < 320 / 4, "16 writers share flushes: {flushes} flushes for 320 appends");
    }

    #[test]
    fn no_receipt_resolves_before_a_flush_that_covers_it_returns() {
        let commit = Arc::new(GroupCommit::default());
        let disk = Arc::new(SlowDisk::default());
        let flusher = {
            let (commit, disk) = (commit.clone(), disk.clone());
            std::thread::spawn(move || while commit.flusher_turn(|| disk.flush()) {})
        };
        sixteen_writers(&commit, &disk, |commit, _, ticket| {
            commit.receipt(ticket).blocking_recv().unwrap().unwrap();
        });
        commit.close();
        flusher.join().unwrap();
        let flushes = commit.flushes();
        assert!(flushes < 320 / 4, "receipts share flushes: {flushes} flushes for 320 appends");
    }

    #[test]
    fn a_flusher_leads_once_as_many_receipts_gathered_as_the_last_flush_answered() {
        let (first, _) = oneshot::channel();
        let mut state = State { expected: 3, durable: 4, ..State::default() };
        state.receipts.push((5, first));
        assert!(!state.gathered(), "1 of the 3 expected");
        for ticket in [6, 7] {
            state.receipts.push((ticket, oneshot::channel().0));
        }
        assert!(state.gathered(), "3 of 3");
        state.flushing = true;
        assert!(!state.gathered(), "a flush is under way");
        state.flushing = false;
        state.receipts.pop();
        state.closing = true;
        assert!(state.gathered(), "a closing log waits for nothing");
    }

    #[test]
    fn a_receipt_short_of_the_expected_count_is_flushed_once_the_gather_wait_ends() {
        let commit = Arc::new(GroupCommit::default());
        let disk = Arc::new(SlowDisk::default());
        let receipts: Vec<_> = (0..4).map(|_| commit.receipt(disk.buffer())).collect();
        let flusher = {
            let (commit, disk) = (commit.clone(), disk.clone());
            // A fast disk: what takes time is the wait.
            let flush = move || Ok(*disk.order.lock().unwrap());
            std::thread::spawn(move || while commit.flusher_turn(&flush) {})
        };
        for receipt in receipts {
            receipt.blocking_recv().unwrap().unwrap();
        }
        assert_eq!(commit.flushes(), 1, "the four shared a flush");
        // One comes back, not four: its flush waits for the others, but not for ever.
        let started = std::time::Instant::now();
        commit.receipt(disk.buffer()).blocking_recv().unwrap().unwrap();
        assert!(started.elapsed() >= GATHER, "led before the gather wait ended");
        assert_eq!(commit.flushes(), 2);
        commit.close();
        flusher.join().unwrap();
    }

    #[test]
    fn closing_while_a_thread_leads_the_flush_of_the_last_receipt_stops_the_flusher() {
        let commit = Arc::new(GroupCommit::default());
        let flusher = {
            let commit = commit.clone();
            std::thread::spawn(move || while commit.flusher_turn(|| Ok(0)) {})
        };
        // A thread leads a slow flush that covers ticket 1; its receipt comes meanwhile, so the
        // flusher may not lead, and the log closes before that flush ends.
        let (leading, when_leading) = std::sync::mpsc::channel();
        let leader = {
            let commit = commit.clone();
            std::thread::spawn(move || {
                commit.wait(1, || {
                    leading.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                    Ok(1)
                })
            })
        };
        when_leading.recv().unwrap();
        let mut receipt = commit.receipt(1);
        commit.close();
        assert_eq!(leader.join().unwrap(), Ok(()));
        assert_eq!(receipt.try_recv(), Ok(Ok(())), "the leader's flush answered the receipt");
        let (stopped, when_stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || stopped.send(flusher.join().is_ok()).unwrap());
        assert_eq!(when_stopped.recv_timeout(Duration::from_secs(5)), Ok(true), "the flusher did not stop");
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
        let receipt = commit.receipt(5).try_recv();
        assert_eq!(receipt, Ok(Err("disk full".to_owned())), "a receipt after the failure fails at once");
    }

    #[test]
    fn appends_waiting_while_a_flush_fails_fail_with_it_and_lead_no_flush() {
        // Flush 1 covers ticket 1 and fails after 50 ms; ticket 2 comes meanwhile, on a thread
        // and with a receipt. Neither is acknowledged, and no flush is tried for it.
        let commit = Arc::new(GroupCommit::default());
        let (leading, when_leading) = std::sync::mpsc::channel();
        let first = {
            let commit = commit.clone();
            std::thread::spawn(move || {
                commit.wait(1, || {
                    let _ = leading.send(());
                    std::thread::sleep(Duration::from_millis(50));
                    Err("sync failed".into())
                })
            })
        };
        when_leading.recv().unwrap();
        let receipt = commit.receipt(2);
        let second = commit.wait(2, || panic!("a flush after the failure"));
        assert_eq!(first.join().unwrap(), Err("sync failed".to_owned()));
        assert_eq!(second, Err("sync failed".to_owned()));
        assert_eq!(receipt.blocking_recv(), Ok(Err("sync failed".to_owned())));
        assert_eq!(commit.flushes(), 1);
    }
}

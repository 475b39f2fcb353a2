//! Group commit: appends that wait for the disk at the same time share one flush.
//!
//! Each append, once its batch is applied and its record buffered (in the order the log's
//! writer lock gives), holds a ticket and waits until a flush that began after its record was
//! buffered covers it. A flush writes everything buffered with one `write`, syncs it with one
//! `fdatasync` (without holding any lock the appends need) and says up to which ticket that made
//! durable; every ticket up to there is acknowledged at once. None is acknowledged before a
//! flush that covers it has returned ("durable before acknowledged").
//!
//! An append waits in one of two ways:
//! - **on its thread** ([`GroupCommit::wait`]): the first waiter finding no flush under way
//!   leads one, so a lone append pays its sync with no thread hand-off;
//! - **with a receipt** ([`GroupCommit::receipt`]): nothing blocks; the log's flusher threads
//!   ([`GroupCommit::flusher_turn`]) lead the flushes and each receipt resolves once one covers
//!   its ticket. Run actors append this way: a thread per append in flight made 16 busy runs
//!   16 threads taking turns on 2 cores (4 context switches per append).
//!
//! Up to [`FLUSHES`] flushes are under way at once; a waiter whose record a flush under way has
//! taken waits for that one.
//!
//! Whoever leads a flush answers both kinds of waiter it covered. A flusher lets as many
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
    /// Flushes under way (at most [`FLUSHES`]).
    flushing: usize,
    /// Highest ticket a flush has taken (whose record is written or being written).
    taken: u64,
    /// The first flush that failed: every ticket not yet durable fails with its error.
    failed: Option<FlushError>,
    /// Flushes run so far.
    flushes: u64,
    /// Appends waiting with a receipt, sorted by ticket.
    receipts: Vec<(u64, oneshot::Sender<Result<(), FlushError>>)>,
    /// The flushers are to stop once no receipt is left.
    closing: bool,
    /// Receipts the last flush answered: about as many appends come back soon (a run appends
    /// again once answered), so a flusher lets that many gather before it leads (see
    /// [`GATHER`]).
    expected: usize,
}

/// Flushes under way at once: while one syncs, the next takes the appends that came meanwhile
/// and writes them (one `write`), so the disk is never idle for that work. Its
/// sync covers the first one's record too; at most two, as a third would only wait (measured:
/// three or four gave 16 runs the same rate).
pub const FLUSHES: usize = 2;

/// How long a flusher waits, at most, for as many receipts as the last flush answered before
/// it leads a flush for fewer. Without it, the first of 16 runs answered together had a sync of
/// its own and the other 15 the next one: 8 appends per sync, not 13 (100 µs measured a little
/// better than 50). A lone run is not delayed: one answered, one expected.
pub const GATHER: std::time::Duration = std::time::Duration::from_micros(100);

impl State {
    /// Whether a waiter for `ticket` should lead a flush: its record is not taken by one under
    /// way, and another may start.
    fn leads(&self, ticket: u64) -> bool {
        ticket > self.taken && self.flushing < FLUSHES && self.failed.is_none()
    }

    /// Whether a receipt needs a flush that may start (the last one's record is not taken).
    fn receipt_leads(&self) -> bool {
        self.receipts.last().is_some_and(|(ticket, _)| self.leads(*ticket))
    }

    /// Receipts whose append no flush has taken yet.
    fn untaken(&self) -> usize {
        self.receipts.len() - self.receipts.partition_point(|(ticket, _)| *ticket <= self.taken)
    }

    /// Whether a flusher should lead now: a receipt needs a flush that may start, and as many
    /// as the last flush answered have gathered (or the log is closing).
    fn gathered(&self) -> bool {
        self.receipt_leads() && (self.closing || self.untaken() >= self.expected)
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
    /// Told when a receipt is handed out or the log closes (the flushers).
    work: Condvar,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a flush leader panicked; the counters stay valid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leads one flush with `state` locked; returns the state locked again once every waiter
    /// it covered has been told. `flush` calls its argument with the last ticket it takes, as
    /// soon as it took them.
    fn lead<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        flush: impl Fn(&dyn Fn(u64)) -> Result<u64, FlushError>,
    ) -> MutexGuard<'a, State> {
        state.flushing += 1;
        drop(state);
        let result = flush(&|taken| self.took(taken));
        let mut state = self.lock();
        state.flushing -= 1;
        state.flushes += 1;
        match result {
            Ok(covers) if state.failed.is_none() => state.durable = state.durable.max(covers),
            // After a failure nothing more is acknowledged, not even by a flush that was under
            // way and ended well: it is not trusted to cover what came before it.
            Ok(_) => {}
            Err(e) => {
                state.failed.get_or_insert(e);
            }
        }
        let answered = state.answer();
        if answered > 0 {
            state.expected = answered;
        }
        self.flushed.notify_all();
        // Receipts that came during this flush wait for the next one; a closing log's flushers
        // are to stop. Otherwise no flusher is woken only to find nothing to do (two context
        // switches per append when appends come one at a time, as parse's checkpoints do).
        if state.closing || state.receipt_leads() {
            self.work.notify_one();
        }
        state
    }

    /// A flush took every ticket up to `taken`: the ones after it may start the next flush.
    fn took(&self, taken: u64) {
        let mut state = self.lock();
        state.taken = state.taken.max(taken);
        if state.receipt_leads() {
            self.work.notify_one();
        }
    }

    /// Waits until `ticket` is durable, leading a flush with `flush` when no flush under way
    /// has taken it and another may start. `flush` takes everything buffered (and calls its
    /// argument with the last ticket it took), writes and syncs it, and returns the highest
    /// ticket that made durable.
    ///
    /// # Errors
    /// The error of the first flush that failed, if it was to cover `ticket` or an earlier one.
    pub fn wait(&self, ticket: u64, flush: impl Fn(&dyn Fn(u64)) -> Result<u64, FlushError>) -> Result<(), FlushError> {
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

    /// A receipt for `ticket`, resolved by the flush that covers it (led by a flusher, see
    /// [`Self::flusher_turn`], or by a thread waiting on its own ticket).
    pub fn receipt(&self, ticket: u64) -> Receipt {
        let (sender, receipt) = oneshot::channel();
        let mut state = self.lock();
        // Tickets are handed out under the log's writer lock but brought here after it, so two
        // may come out of order: kept sorted, almost always by a push at the end.
        let at = state.receipts.partition_point(|(t, _)| *t <= ticket);
        state.receipts.insert(at, (ticket, sender));
        state.answer();
        // A flusher is woken when it may lead a flush for this receipt and it is the first to
        // gather (the flusher then waits for the rest, up to `GATHER`) or the last expected;
        // otherwise the end of a flush under way wakes one (a wake-up is a system call).
        if state.receipt_leads() && (state.untaken() == 1 || state.untaken() >= state.expected) {
            self.work.notify_one();
        }
        receipt
    }

    /// A flusher's loop body (the log runs [`FLUSHES`] of them): waits until a receipt needs a
    /// flush that may start, then leads it with `flush`. Returns `false` once the log is closing
    /// and no receipt is left.
    pub fn flusher_turn(&self, flush: impl Fn(&dyn Fn(u64)) -> Result<u64, FlushError>) -> bool {
        let mut state = self.lock();
        let mut until = None;
        loop {
            if state.receipts.is_empty() && state.closing {
                // A flush's end wakes one flusher: it wakes the others to stop too.
                self.work.notify_all();
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
        let mut before = state.durable;
        state = self.lead(state, &flush);
        // Still on the CPU: a record another flush took and has not made durable yet (it waits
        // for the sync turn, or is being written) is synced by this flusher now, rather than
        // once that flush's thread wakes up, so the disk is not left idle meanwhile; appends
        // that came since go in too. Ends once every taken ticket is durable, or once a flush
        // made nothing more durable: what is left waits for the flush under way that took it
        // (the log shows a group once it is in sled as well; leading again would only spin).
        while state.durable > before
            && state.taken > state.durable
            && state.flushing < FLUSHES
            && state.failed.is_none()
        {
            before = state.durable;
            state = self.lead(state, &flush);
        }
        true
    }

    /// Tells the flushers to stop once the receipts handed out so far are answered.
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

    #[test]
    fn a_flusher_does_not_lead_again_when_a_flush_made_nothing_more_durable() {
        // The flush takes ticket 1 but shows nothing yet (its group is still going into sled,
        // and the flush that took it answers it): the flusher stops rather than spin.
        let commit = GroupCommit::default();
        let _receipt = commit.receipt(1);
        let calls = AtomicU64::new(0);
        let more = commit.flusher_turn(|took| {
            took(1);
            // A spinning flusher is let out after 100 flushes, to fail rather than hang.
            Ok(u64::from(calls.fetch_add(1, Ordering::SeqCst) >= 100))
        });
        assert!(more);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "led once");
    }

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
        fn flush(&self, took: &dyn Fn(u64)) -> Result<u64, FlushError> {
            let reached = *self.order.lock().unwrap();
            took(reached);
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
            commit.wait(ticket, |took| disk.flush(took)).unwrap();
        });
        let flushes = commit.flushes();
        assert!(flushes < 320 / 4, "16 writers share flushes: {flushes} flushes for 320 appends");
    }

    #[test]
    fn no_receipt_resolves_before_a_flush_that_covers_it_returns() {
        let commit = Arc::new(GroupCommit::default());
        let disk = Arc::new(SlowDisk::default());
        let flushers: Vec<_> = (0..FLUSHES)
            .map(|_| {
                let (commit, disk) = (commit.clone(), disk.clone());
                std::thread::spawn(move || while commit.flusher_turn(|took| disk.flush(took)) {})
            })
            .collect();
        sixteen_writers(&commit, &disk, |commit, _, ticket| {
            commit.receipt(ticket).blocking_recv().unwrap().unwrap();
        });
        commit.close();
        for flusher in flushers {
            flusher.join().unwrap();
        }
        let flushes = commit.flushes();
        assert!(flushes < 320 / 4, "receipts share flushes: {flushes} flushes for 320 appends");
    }

    #[test]
    fn a_flusher_leads_once_as_many_receipts_gathered_as_the_last_flush_answered() {
        let (first, _) = oneshot::channel();
        let mut state = State { expected: 3, taken: 4, durable: 4, ..State::default() };
        state.receipts.push((5, first));
        assert!(!state.gathered(), "1 of the 3 expected");
        for ticket in [6, 7] {
            state.receipts.push((ticket, oneshot::channel().0));
        }
        assert!(state.gathered(), "3 of 3");
        state.taken = 5;
        assert!(!state.gathered(), "2 not yet taken");
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
            let flush = move |took: &dyn Fn(u64)| {
                let reached = *disk.order.lock().unwrap();
                took(reached);
                Ok(reached)
            };
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
    fn closing_while_another_flush_holds_the_last_receipt_stops_every_flusher() {
        let commit = Arc::new(GroupCommit::default());
        let flushers: Vec<_> = (0..FLUSHES)
            .map(|_| {
                let commit = commit.clone();
                std::thread::spawn(move || while commit.flusher_turn(|_| Ok(0)) {})
            })
            .collect();
        // A thread leads a slow flush that takes ticket 1; its receipt comes meanwhile, so no
        // flusher may lead, and the log closes before that flush ends.
        let (taken, when_taken) = std::sync::mpsc::channel();
        let leader = {
            let commit = commit.clone();
            std::thread::spawn(move || {
                commit.wait(1, |took| {
                    took(1);
                    taken.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                    Ok(1)
                })
            })
        };
        when_taken.recv().unwrap();
        let mut receipt = commit.receipt(1);
        commit.close();
        assert_eq!(leader.join().unwrap(), Ok(()));
        assert_eq!(receipt.try_recv(), Ok(Ok(())), "the leader's flush answered the receipt");
        let (stopped, when_stopped) = std::sync::mpsc::channel();
        for flusher in flushers {
            let stopped = stopped.clone();
            std::thread::spawn(move || stopped.send(flusher.join().is_ok()).unwrap());
        }
        for _ in 0..FLUSHES {
            assert_eq!(when_stopped.recv_timeout(Duration::from_secs(5)), Ok(true), "a flusher did not stop");
        }
    }

    #[test]
    fn a_failed_flush_fails_every_append_it_covered_and_every_later_one() {
        let commit = GroupCommit::default();
        assert_eq!(commit.wait(1, |_| Ok(1)), Ok(()));
        assert_eq!(commit.wait(3, |_| Err("disk full".into())), Err("disk full".to_owned()));
        // Ticket 2 was covered by the failed flush; 4 comes later and no flush is tried for it.
        assert_eq!(commit.wait(2, |_| Ok(4)), Err("disk full".to_owned()));
        assert_eq!(commit.wait(4, |_| Ok(4)), Err("disk full".to_owned()));
        assert_eq!(commit.wait(1, |_| Ok(4)), Ok(()), "what was durable before stays acknowledged");
        assert_eq!(commit.flushes(), 2);
        let receipt = commit.receipt(5).try_recv();
        assert_eq!(receipt, Ok(Err("disk full".to_owned())), "a receipt after the failure fails at once");
    }

    #[test]
    fn a_flush_under_way_that_ends_well_after_another_failed_acknowledges_nothing() {
        // Flush 1 takes ticket 1, flush 2 then takes ticket 2 while 1 is under way; 1 fails,
        // then 2 returns well. Neither append, nor a receipt for 2, is acknowledged.
        let commit = Arc::new(GroupCommit::default());
        let (took_1, first_took) = std::sync::mpsc::channel();
        let first = {
            let commit = commit.clone();
            std::thread::spawn(move || {
                commit.wait(1, |took| {
                    took(1);
                    let _ = took_1.send(());
                    std::thread::sleep(Duration::from_millis(50));
                    Err("sync failed".into())
                })
            })
        };
        first_took.recv().unwrap();
        let receipt = commit.receipt(2);
        let second = commit.wait(2, |took| {
            took(2);
            while commit.failed().is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(2)
        });
        assert_eq!(first.join().unwrap(), Err("sync failed".to_owned()));
        assert_eq!(second, Err("sync failed".to_owned()), "the second flush ended well, after the failure");
        assert_eq!(receipt.blocking_recv(), Ok(Err("sync failed".to_owned())));
        assert_eq!(commit.flushes(), 2, "both flushes ran at once");
    }
}

//! The thread that inserts flushed groups into sled: a flush writes its group's record, queues
//! the group here and syncs the record at once, so the disk writes while sled takes the inserts,
//! and the appends are acknowledged without waiting for them (16 runs: sled takes about 8 µs
//! per event, 130 µs for a group of 16, a sync about 150). Groups are inserted one after another
//! from this one thread, in the order their records were written, so sled still holds a prefix
//! of them after a crash (see `sled_keys`).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::wal::Pairs;

/// Groups queued at most: memory stays bounded when sled inserts more slowly than the disk
/// syncs (a group is a few kB for a busy daemon's runs).
const QUEUED: usize = 64;

/// What the queue holds and how far it got.
#[derive(Default)]
struct State {
    queue: VecDeque<Pairs>,
    /// Groups queued so far: a group's number is the count once it is queued.
    queued: u64,
    /// Groups inserted so far, in queue order.
    inserted: u64,
    /// The first insert that failed: nothing more is inserted, and every wait fails with it.
    failed: Option<String>,
    /// The thread is to stop once the queue is empty.
    closing: bool,
}

/// The queue of groups to insert, and the waits for them.
#[derive(Default)]
pub(super) struct Inserter {
    state: Mutex<State>,
    /// Told when a group is queued or the log closes (the inserting thread).
    work: Condvar,
    /// Told when a group is inserted or an insert fails (flushes waiting for theirs).
    done: Condvar,
}

impl Inserter {
    /// The state (a poisoned lock only means a waiter panicked; the queue and counters stay
    /// valid).
    fn lock(&self) -> MutexGuard<'_, State> {
        super::lock(&self.state)
    }

    /// Queues `pairs`, once fewer than [`QUEUED`] groups wait (so a flush waits for sled
    /// when sled falls behind the disk).
    ///
    /// Returns the group's number, to [`Self::wait`] for.
    ///
    /// # Errors
    /// The error of the first insert that failed (nothing is queued).
    pub(super) fn queue(&self, pairs: Pairs) -> Result<u64, String> {
        let mut state = self.lock();
        loop {
            if let Some(error) = &state.failed {
                return Err(error.clone());
            }
            if state.queue.len() < QUEUED {
                break;
            }
            state = self.done.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.queue.push_back(pairs);
        state.queued += 1;
        self.work.notify_one();
        Ok(state.queued)
    }

    /// Whether every group queued so far is inserted (read under one lock).
    pub(super) fn idle(&self) -> bool {
        let state = self.lock();
        state.inserted == state.queued
    }

    /// Waits until every group queued so far is in sled.
    ///
    /// # Errors
    /// As [`Self::wait`].
    pub(super) fn wait_all(&self) -> Result<(), String> {
        let queued = self.lock().queued;
        self.wait(queued)
    }

    /// Groups inserted so far.
    #[cfg(test)]
    pub(super) fn inserted(&self) -> u64 {
        self.lock().inserted
    }

    /// Waits until group `number` (and every one before it) is in sled.
    ///
    /// # Errors
    /// The error of the first insert that failed, if it came before `number` was inserted.
    pub(super) fn wait(&self, number: u64) -> Result<(), String> {
        let mut state = self.lock();
        loop {
            if state.inserted >= number {
                return Ok(());
            }
            if let Some(error) = &state.failed {
                return Err(error.clone());
            }
            state = self.done.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The inserting thread's loop: inserts each group queued with `insert`, in order, until
    /// [`Self::close`] and the queue is empty. After a failed insert it inserts nothing more
    /// (what reached sled is then unknown, as after a failed write); `failed` is told the error.
    pub(super) fn run(&self, insert: impl Fn(&Pairs) -> Result<(), String>, failed: impl Fn(String)) {
        let mut state = self.lock();
        loop {
            if state.failed.is_none() {
                if let Some(pairs) = state.queue.pop_front() {
                    drop(state);
                    // A panic fails the log like an error, so that no flush waits for ever.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| insert(&pairs)))
                        .unwrap_or_else(|_| Err("the event log's inserter failed".to_owned()));
                    state = self.lock();
                    match result {
                        Ok(()) => state.inserted += 1,
                        Err(error) => {
                            failed(error.clone());
                            state.failed = Some(error);
                        }
                    }
                    self.done.notify_all();
                    continue;
                }
            }
            if state.closing {
                return;
            }
            state = self.work.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Lets the thread stop once it has inserted what is queued.
    pub(super) fn close(&self) {
        self.lock().closing = true;
        self.work.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn groups_are_inserted_in_queue_order_and_waits_end_when_theirs_is_in() {
        let inserter = Arc::new(Inserter::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (inserter, seen) = (inserter.clone(), seen.clone());
            std::thread::spawn(move || {
                inserter.run(
                    |pairs| {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        seen.lock().unwrap().push(pairs[0].0.clone());
                        Ok(())
                    },
                    |_| {},
                )
            })
        };
        let numbers: Vec<u64> = (0..4u8).map(|i| inserter.queue(vec![(vec![i], vec![])]).unwrap()).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        inserter.wait(2).unwrap();
        assert!(seen.lock().unwrap().len() >= 2, "group 2 and the one before it are in");
        inserter.wait(4).unwrap();
        assert_eq!(*seen.lock().unwrap(), [vec![0], vec![1], vec![2], vec![3]]);
        inserter.close();
        thread.join().unwrap();
    }

    #[test]
    fn a_group_is_queued_only_once_fewer_than_the_bound_wait() {
        let inserter = Arc::new(Inserter::default());
        for i in 0..QUEUED {
            inserter.queue(vec![(i.to_be_bytes().to_vec(), vec![])]).unwrap();
        }
        // No thread inserts yet: one more waits until one is inserted.
        let (queued, when_queued) = std::sync::mpsc::channel();
        let late = {
            let inserter = inserter.clone();
            std::thread::spawn(move || queued.send(inserter.queue(vec![(vec![], vec![])])).unwrap())
        };
        let waited = std::time::Duration::from_millis(100);
        assert!(when_queued.recv_timeout(waited).is_err(), "queued past the bound");
        let thread = {
            let inserter = inserter.clone();
            std::thread::spawn(move || inserter.run(|_| Ok(()), |_| {}))
        };
        assert_eq!(when_queued.recv_timeout(std::time::Duration::from_secs(5)), Ok(Ok(QUEUED as u64 + 1)));
        late.join().unwrap();
        inserter.wait_all().unwrap();
        assert_eq!(inserter.inserted(), QUEUED as u64 + 1);
        inserter.close();
        thread.join().unwrap();
    }

    #[test]
    fn after_a_failed_insert_nothing_more_is_inserted_and_later_waits_fail() {
        let inserter = Arc::new(Inserter::default());
        let thread = {
            let inserter = inserter.clone();
            std::thread::spawn(move || {
                inserter.run(|pairs| if pairs[0].0 == [1] { Err("disk full".into()) } else { Ok(()) }, |_| {})
            })
        };
        let first = inserter.queue(vec![(vec![0], vec![])]).unwrap();
        let second = inserter.queue(vec![(vec![1], vec![])]).unwrap();
        let third = inserter.queue(vec![(vec![2], vec![])]).unwrap();
        assert_eq!(inserter.wait(first), Ok(()));
        assert_eq!(inserter.wait(second), Err("disk full".to_owned()));
        assert_eq!(inserter.wait(third), Err("disk full".to_owned()));
        assert_eq!(inserter.inserted(), 1);
        inserter.close();
        thread.join().unwrap();
    }

    #[test]
    fn an_insert_that_panics_fails_the_waits_instead_of_leaving_them_blocked() {
        let inserter = Arc::new(Inserter::default());
        let told = Arc::new(Mutex::new(None));
        let thread = {
            let (inserter, told) = (inserter.clone(), told.clone());
            std::thread::spawn(move || {
                inserter.run(|_| panic!("sled broke"), |error| *told.lock().unwrap() = Some(error));
            })
        };
        let first = inserter.queue(vec![(vec![0], vec![])]).unwrap();
        assert!(inserter.wait(first).is_err());
        assert!(told.lock().unwrap().is_some(), "the log is told it failed");
        inserter.close();
        thread.join().unwrap();
    }
}

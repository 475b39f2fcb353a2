//! An event log held in memory only: the same contract as [`crate::SledLog`] (conflict check,
//! global order, cursors, a fingerprint cache) with nothing written anywhere. It exists to
//! measure what the durable log costs a parse (`dat run --memory-log`, the benchmark's event-log
//! share); everything in it is gone when the process ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use dat_contracts::RunId;
use dat_events::{Envelope, RawEnvelope, Seq};

use crate::event_log::{check_order, AppendError, EventLog, GlobalPos, LogReadError};
use crate::fingerprints::{Fingerprint, FingerprintCache};

/// The event log in this process's memory.
#[derive(Default)]
pub struct MemoryLog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Each run's events, in seq order (seq `i + 1` at index `i`).
    runs: HashMap<RunId, Vec<RawEnvelope>>,
    /// Run and seq of each global position (position `i + 1` at index `i`).
    global: Vec<(RunId, Seq)>,
    cursors: HashMap<String, GlobalPos>,
    fingerprints: BTreeMap<String, Fingerprint>,
}

impl MemoryLog {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means an append panicked; what it holds is whole appends.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventLog for MemoryLog {
    fn append(&self, run: RunId, expected: Seq, events: &[Envelope]) -> Result<(), AppendError> {
        check_order(run, expected, events)?;
        let raws: Vec<RawEnvelope> = events.iter().map(Envelope::to_raw).collect();
        let mut state = self.state();
        let stored = state.runs.entry(run).or_default();
        let actual = Seq(stored.len() as u64);
        if actual != expected {
            return Err(AppendError::Conflict { run, expected, actual });
        }
        stored.extend(raws);
        state.global.extend(events.iter().map(|e| (run, e.seq)));
        Ok(())
    }

    fn read_raw(&self, run: RunId, after: Seq) -> Result<Vec<RawEnvelope>, LogReadError> {
        let state = self.state();
        let stored = state.runs.get(&run).map_or(&[][..], Vec::as_slice);
        Ok(stored.get(usize::try_from(after.0).unwrap_or(usize::MAX)..).unwrap_or_default().to_vec())
    }

    fn last_seq(&self, run: RunId) -> Result<Seq, LogReadError> {
        Ok(Seq(self.state().runs.get(&run).map_or(0, |events| events.len() as u64)))
    }

    fn list_runs(&self) -> Result<Vec<RunId>, LogReadError> {
        let mut runs: Vec<RunId> = self.state().runs.keys().copied().filter(|run| !run.is_profiles()).collect();
        runs.sort_unstable_by(|a, b| b.cmp(a));
        Ok(runs)
    }

    fn read_global(&self, after: GlobalPos, limit: usize) -> Result<Vec<(GlobalPos, RawEnvelope)>, LogReadError> {
        let state = self.state();
        let from = usize::try_from(after.0).unwrap_or(usize::MAX);
        let positions = state.global.get(from..).unwrap_or_default().iter().take(limit);
        positions
            .zip(after.0 + 1..)
            .map(|(&(run, seq), pos)| {
                let event = usize::try_from(seq.0).ok().and_then(|s| state.runs.get(&run)?.get(s.checked_sub(1)?));
                let corrupt = || LogReadError::Corrupt { key: format!("global {pos}"), reason: "no such event".into() };
                Ok((GlobalPos(pos), event.ok_or_else(corrupt)?.clone()))
            })
            .collect()
    }

    fn load_cursor(&self, name: &str) -> Result<GlobalPos, LogReadError> {
        Ok(self.state().cursors.get(name).copied().unwrap_or(GlobalPos(0)))
    }

    fn save_cursor(&self, name: &str, pos: GlobalPos) -> Result<(), AppendError> {
        self.state().cursors.insert(name.to_owned(), pos);
        Ok(())
    }

    fn flush(&self) -> Result<(), AppendError> {
        Ok(())
    }
}

impl FingerprintCache for MemoryLog {
    fn lookup(&self, path: &str, size: u64, stamp: i128) -> Result<Option<String>, LogReadError> {
        let state = self.state();
        let cached = state.fingerprints.get(path).filter(|f| f.size == size && f.stamp == stamp);
        Ok(cached.map(|f| f.sha256.clone()))
    }

    fn remember(&self, path: &str, fingerprint: &Fingerprint) -> Result<(), LogReadError> {
        self.state().fingerprints.insert(path.to_owned(), fingerprint.clone());
        Ok(())
    }

    fn paths(&self) -> Result<Vec<String>, LogReadError> {
        Ok(self.state().fingerprints.keys().cloned().collect())
    }

    fn forget(&self, paths: &[String]) -> Result<(), LogReadError> {
        let mut state = self.state();
        for path in paths {
            state.fingerprints.remove(path);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use dat_contracts::Stage;
    use dat_events::testing::{created, locked, test_run_id};
    use dat_events::Timestamp;

    use super::*;

    #[test]
    fn appends_read_back_in_run_and_global_order_and_a_stale_writer_conflicts() {
        let log = MemoryLog::default();
        let (a, b) = (test_run_id(), RunId::from_uuid(uuid::Uuid::now_v7()).unwrap());
        let at = Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH);
        let envelope = |run, seq, event| Envelope::new(run, Seq(seq), at, event);
        log.append(a, Seq(0), &[envelope(a, 1, created()), envelope(a, 2, locked(Stage::Discovery))]).unwrap();
        log.append(b, Seq(0), &[envelope(b, 1, created())]).unwrap();
        assert!(matches!(
            log.append(a, Seq(1), &[envelope(a, 2, locked(Stage::Discovery))]),
            Err(AppendError::Conflict { actual: Seq(2), .. })
        ));
        assert!(matches!(
            log.append(a, Seq(2), &[envelope(a, 4, locked(Stage::Discovery))]),
            Err(AppendError::OutOfSequence { .. })
        ));
        assert_eq!(log.last_seq(a).unwrap(), Seq(2));
        assert_eq!(log.read_raw(a, Seq(1)).unwrap().len(), 1);
        let global: Vec<(u64, String)> =
            log.read_global(GlobalPos(1), 10).unwrap().into_iter().map(|(p, e)| (p.0, e.event_id)).collect();
        assert_eq!(global.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(log.read_global(GlobalPos(1), 10).unwrap()[1].1, log.read_raw(b, Seq(0)).unwrap()[0]);
        assert_eq!(log.list_runs().unwrap(), [b, a]);
    }
}

//! The keys of the sled event log (one tree) and the repair of what a crash can leave in it:
//! - `e` + run (16 bytes) + seq (8, big-endian) → the envelope JSON. A run's head is its last
//!   `e` key.
//! - `g` + position (8, big-endian) → run (16) + seq (8) for each event of a *group*: the events
//!   one flush made durable, at consecutive global positions from the key's on. One `g` key per
//!   flush instead of one per event is what lets sixteen busy runs append at several times the
//!   disk's sync rate (sled's inserts are the log's main cost). Logs written before hold one
//!   event per `g` key: groups of one, read the same way.
//! - `h` + run → nothing: the run exists (for listing), written with its first events. Logs
//!   written before kept the run's head there (8 bytes, moved by every append);
//!   [`crate::sled_format`] uses those values once and then empties them.
//! - `v` → the layout number ([`crate::sled_format`]).
//!
//! A group is inserted `g` first, then its `e` keys, then the `h` keys of runs it starts, one
//! group after another (by the log's inserter thread, or by a flush when none is queued). sled
//! recovers a prefix of the inserts, so a crash can leave only the last group torn, and one
//! whose `g` key is there but an `e` key is not: [`repair`] removes it (it was never
//! acknowledged: it is acknowledged once its write-ahead record is synced and its inserts are
//! done, and such a record is applied whole before `repair`).

use dat_contracts::RunId;
use dat_events::Seq;

/// Bytes of one event's pointer in a `g` value: run and seq.
const POINTER: usize = 24;

pub(crate) fn event_key(run: RunId, seq: Seq) -> Vec<u8> {
    let mut key = Vec::with_capacity(25);
    key.extend_from_slice(&event_prefix(run));
    key.extend_from_slice(&seq.0.to_be_bytes());
    key
}

fn event_prefix(run: RunId) -> [u8; 17] {
    let mut key = [b'e'; 17];
    key[1..].copy_from_slice(run.as_bytes());
    key
}

pub(crate) fn head_key(run: RunId) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(b'h');
    key.extend_from_slice(run.as_bytes());
    key
}

pub(crate) fn global_key(pos: u64) -> [u8; 9] {
    let mut key = [b'g'; 9];
    key[1..].copy_from_slice(&pos.to_be_bytes());
    key
}

pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Appends the pointer to `run`'s event `seq` to a group's `g` value.
pub(crate) fn push_pointer(value: &mut Vec<u8>, run: RunId, seq: Seq) {
    value.extend_from_slice(run.as_bytes());
    value.extend_from_slice(&seq.0.to_be_bytes());
}

/// The events a `g` value points to, in global order; `None` when it is damaged.
pub(crate) fn pointers(value: &[u8]) -> Option<Vec<(RunId, Seq)>> {
    if value.is_empty() || !value.len().is_multiple_of(POINTER) {
        return None;
    }
    value
        .chunks_exact(POINTER)
        .map(|pointer| {
            let run = RunId::from_bytes(pointer[..16].try_into().ok()?).ok()?;
            Some((run, Seq(be_u64(&pointer[16..])?)))
        })
        .collect()
}

/// `run`'s last seq in sled (0 when it has no events).
pub(crate) fn last_event_seq(log: &sled::Tree, run: RunId) -> Result<u64, sled::Error> {
    let last = log.scan_prefix(event_prefix(run)).keys().next_back().transpose()?;
    Ok(last.and_then(|key| be_u64(&key[17..])).unwrap_or(0))
}

/// The last global position in use (0 when the log is empty).
pub(crate) fn last_global(log: &sled::Tree) -> Result<u64, sled::Error> {
    let Some((key, value)) = log.scan_prefix(b"g").next_back().transpose()? else {
        return Ok(0);
    };
    let first = be_u64(&key[1..]).unwrap_or(0);
    Ok(first + (value.len() / POINTER).max(1) as u64 - 1)
}

/// Makes the tree whole after a crash (see the module's doc), once the write-ahead records have
/// been applied again: the last group is removed when an event it points to is missing;
/// otherwise each of its runs gets its `h` key (the last inserts of a group, maybe lost).
///
/// # Errors
/// sled failed.
pub(crate) fn repair(log: &sled::Tree) -> Result<(), sled::Error> {
    let Some((key, value)) = log.scan_prefix(b"g").next_back().transpose()? else {
        return Ok(());
    };
    // A damaged value is left for readers to report; nothing here can tell what it held.
    let Some(group) = pointers(&value) else {
        return Ok(());
    };
    let mut runs: Vec<RunId> = group.iter().map(|(run, _)| *run).collect();
    runs.sort_unstable();
    runs.dedup();
    let mut whole = true;
    for (run, seq) in &group {
        whole &= log.contains_key(event_key(*run, *seq))?;
    }
    if whole {
        for run in runs {
            if !log.contains_key(head_key(run))? {
                log.insert(head_key(run), &[])?;
            }
        }
        return Ok(());
    }
    for (run, seq) in &group {
        log.remove(event_key(*run, *seq))?;
    }
    log.remove(key)?;
    for run in runs {
        if last_event_seq(log, run)? == 0 {
            log.remove(head_key(run))?;
        }
    }
    Ok(())
}

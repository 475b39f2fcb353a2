//! A file's change stamp, and when it vouches for a hash taken earlier: discovery remembers a
//! file's sha256 under its size and stamp, and a later look (a re-scan, or parse checking that
//! the file is still what discovery saw) that finds both unchanged need not read the file again.

/// How old a stamp must be, when its file is hashed, for the hash to be remembered under it.
/// File systems stamp from a coarse clock, so a write in the same tick as the one that set the
/// stamp leaves it unchanged; a stamp older than this when the hashing starts cannot be
/// repeated by a later write, so it vouches for the bytes hashed (git calls such entries
/// "racy" and re-reads them too). Files still being written are therefore always hashed.
const SETTLED_NS: i128 = 2_000_000_000;

/// The stamp a fingerprint is valid for. On Unix it is the inode change time (ctime), which
/// every write sets and which, unlike the mtime, no `touch -r` can restore, so an edit that
/// keeps a file's size and mtime still changes it; elsewhere the mtime.
pub fn change_stamp(meta: &std::fs::Metadata) -> i128 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec())
    }
    #[cfg(not(unix))]
    {
        meta.modified().ok().map_or(0, nanos_since_epoch)
    }
}

fn nanos_since_epoch(t: std::time::SystemTime) -> i128 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// Whether a hash whose reading starts now may be remembered under `stamp`: the stamp is at
/// least [`SETTLED_NS`] old (see there).
pub fn settled(stamp: i128) -> bool {
    stamp + SETTLED_NS <= nanos_since_epoch(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_settles_two_seconds_after_the_write_that_set_it() {
        let now = nanos_since_epoch(std::time::SystemTime::now());
        assert!(!settled(now), "a file written just now");
        assert!(!settled(now - SETTLED_NS / 2));
        assert!(settled(now - SETTLED_NS - 1_000_000));
    }
}

//! glibc's malloc, tuned for how dat allocates. The settings can only take effect before the
//! first allocation, so `dat` re-executes itself once with them in its environment when the user
//! has not set `MALLOC_ARENA_MAX` (same process id, same arguments, same descriptors; a user who
//! sets it tunes malloc themselves). A failed re-exec changes nothing but speed and memory.
//!
//! - **Arenas: 4.** glibc gives every thread that allocates concurrently its own arena, up to 8
//!   per core, and returns little of what an arena once held; parse's readers, writers and
//!   polars' pool reach a dozen such threads, so fragmentation alone took peak RSS of `dat run`
//!   on 500 files from 95 MiB (4 arenas) to 158 MiB (the default).
//! - **Blocks under 16 MiB come from the arenas, and an arena keeps up to 32 MiB free.** Parse
//!   allocates and frees buffers of a few MiB per chunk and per row group (cells, typed values,
//!   Arrow arrays, pages). By default such a block is mapped afresh (or the heap given back and
//!   taken again), so the kernel faults in and zeroes every page again: W1 of the benchmark took
//!   150,000–260,000 page faults and 0.55–0.9 s of system time. With these two settings it takes
//!   40,000–70,000 and 0.45 s, and its wall time fell 8% (medians of 5 and 6 alternating runs);
//!   W2's did not move (its system time is opening and writing files). Peak RSS rose: W1 121 →
//!   130–180 MiB, W5 (10 GiB) 139 → 157 MiB, `tests/stress.rs`'s inputs at most 128 MiB, all
//!   within the 200 MiB bound. Two arenas held RSS but slowed W2 by 7%.

/// The settings, each set unless the user has set it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TUNABLES: [(&str, &str); 3] =
    [("MALLOC_ARENA_MAX", "4"), ("MALLOC_MMAP_THRESHOLD_", "16777216"), ("MALLOC_TRIM_THRESHOLD_", "33554432")];

/// Re-executes the process with [`TUNABLES`] set, unless `MALLOC_ARENA_MAX` is set already;
/// returns only when it is, or when re-executing is impossible.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let mut command = std::process::Command::new(exe);
        command.args(std::env::args_os().skip(1));
        for (name, value) in TUNABLES {
            if std::env::var_os(name).is_none() {
                command.env(name, value);
            }
        }
        let error = command.exec();
        tracing::debug!(%error, "cannot re-execute with malloc's settings; going on with glibc's defaults");
    }
}

//! Bounded malloc arenas. glibc gives every thread that allocates concurrently its own arena,
//! up to 8 per core, and returns little of what an arena once held; parse's readers, writers
//! and polars' pool together reach a dozen such threads, so fragmentation alone took peak RSS
//! of `dat run` on 500 files from 95 MiB (4 arenas) to 158 MiB (the default). The arena limit
//! can only be set before the first allocation, so `dat` re-executes itself once with
//! `MALLOC_ARENA_MAX` set when the user has not set it (same process id, same arguments, same
//! descriptors). A failed re-exec changes nothing but the memory figure.

/// Arenas for dat's allocating threads: measured best for peak memory, and no slower.
const ARENAS: &str = "4";

/// Re-executes the process with `MALLOC_ARENA_MAX` set, unless it is set already; returns only
/// when it is, or when re-executing is impossible.
pub fn bound() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let error =
            std::process::Command::new(exe).args(std::env::args_os().skip(1)).env("MALLOC_ARENA_MAX", ARENAS).exec();
        tracing::debug!(%error, "cannot re-execute with MALLOC_ARENA_MAX; going on with glibc's default arenas");
    }
}

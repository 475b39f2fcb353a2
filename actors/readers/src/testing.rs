//! Test helpers: a sink that keeps what a read hands it, and a read of bytes written to a temp
//! file through an adapter's `read`, as parse calls it.

use dat_contracts::{ColumnType, WorkspacePath};

use crate::{Adapter, Chunk, Compression, ReadEnd, ReadError, ReadOptions, Reject, Sink, SourceFile, Stop, Values};

/// A deterministic stream of pseudo-random numbers from `seed` (xorshift64): the same cases on
/// every run, no dependency.
pub(crate) fn random(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// A file or folder of the shared fixtures (`../shared/fixtures` beside the repository).
/// Panics when it is missing: a test must never pass by not finding its input.
pub(crate) fn shared_fixture(relative: &str) -> std::path::PathBuf {
    // The checkout the test runs in (cargo sets it at run time): a cached build may have been
    // compiled in another one.
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../../shared/fixtures")
    .join(relative);
    assert!(
        path.exists(),
        "shared fixture {relative} is missing (expected at ../shared/fixtures beside the repository)"
    );
    path
}

/// What a read handed over.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) rejects: Vec<Reject>,
    /// Stop when asked for chunk number `stop_at` (from 0).
    pub(crate) stop_at: Option<usize>,
}

impl Sink for Collected {
    fn chunk(&mut self, chunk: Chunk) -> Result<(), Stop> {
        if self.stop_at == Some(self.chunks.len()) {
            return Err(Stop);
        }
        self.chunks.push(chunk);
        Ok(())
    }

    fn reject(&mut self, reject: Reject) -> Result<(), Stop> {
        self.rejects.push(reject);
        Ok(())
    }
}

impl Collected {
    /// Rows over all chunks.
    pub(crate) fn rows(&self) -> usize {
        self.chunks.iter().map(Chunk::rows).sum()
    }

    /// Each chunk's height.
    pub(crate) fn heights(&self) -> Vec<usize> {
        self.chunks.iter().map(Chunk::rows).collect()
    }

    /// A column's cells over all chunks as text (`None` for null), and its types per chunk.
    pub(crate) fn column(&self, name: &str) -> (Vec<Option<String>>, Vec<ColumnType>) {
        let mut cells = Vec::new();
        let mut types = Vec::new();
        for chunk in &self.chunks {
            let Some(i) = chunk.names.iter().position(|n| n == name) else {
                cells.extend(std::iter::repeat_n(None, chunk.rows()));
                continue;
            };
            types.push(chunk.columns[i].column_type());
            match &chunk.columns[i] {
                Values::Text(text) => cells.extend(text.iter().map(|c| c.map(str::to_owned))),
                other => cells.extend(native_text(other)),
            }
        }
        (cells, types)
    }

    /// Every row's source position.
    pub(crate) fn source_rows(&self) -> Vec<u64> {
        self.chunks.iter().flat_map(|c| c.source_rows.iter().copied()).collect()
    }
}

fn native_text(values: &Values) -> Vec<Option<String>> {
    match values {
        Values::Int(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
        Values::Float(v) => v.iter().map(|x| x.map(crate::typing::float_text)).collect(),
        Values::Bool(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
        Values::Date(v) => v.iter().map(|x| x.and_then(crate::typing::date_text)).collect(),
        Values::Datetime(v) => v.iter().map(|x| x.and_then(crate::typing::datetime_text)).collect(),
        Values::Decimal { values, scale, .. } => {
            values.iter().map(|x| x.map(|x| crate::typing::decimal_text(x, *scale))).collect()
        }
        Values::Binary(v) => v.iter().map(|x| x.as_deref().map(crate::typing::hex)).collect(),
        Values::Text(_) => vec![],
    }
}

/// Writes `bytes` as `name` in a temp dir and reads it with `adapter` into a [`Collected`].
pub(crate) fn read_bytes(
    adapter: &dyn Adapter,
    name: &str,
    bytes: &[u8],
    table: Option<&str>,
    options: &ReadOptions,
    stop_at: Option<usize>,
) -> (Result<ReadEnd, ReadError>, Collected) {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = dir.path().join(name);
    std::fs::write(&disk, bytes).expect("write");
    read_path(adapter, name, &disk, table, options, stop_at)
}

/// Reads the file at `disk` (shown as `name`) with `adapter` into a [`Collected`].
pub(crate) fn read_path(
    adapter: &dyn Adapter,
    name: &str,
    disk: &std::path::Path,
    table: Option<&str>,
    options: &ReadOptions,
    stop_at: Option<usize>,
) -> (Result<ReadEnd, ReadError>, Collected) {
    let path = WorkspacePath::parse(name).expect("path");
    let (_, compression) = Compression::strip(name);
    let file = SourceFile::new(&path, disk, compression);
    let mut sink = Collected { stop_at, ..Collected::default() };
    let result = adapter.read(&file, table, options, &mut sink);
    (result, sink)
}

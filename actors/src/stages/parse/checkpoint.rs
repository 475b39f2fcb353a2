//! One table read into its checkpoint: a folder of parts (one per chunk, raw or encoded), the
//! table's rejects in parts of their own, and `table.json` describing the whole table. The folder is
//! written under a temporary name and renamed only when the table was read to its end and its
//! file still has the content discovery fingerprinted, so a checkpoint that exists is whole and
//! true; only then is its `Checkpointed` event recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use dat_contracts::artifacts::SelectedTable;
use dat_contracts::bundle::{FailureCode, RowAccount, TableFailure};
use dat_contracts::ColumnType;
use dat_readers::typing::{hex, CellRules};
use dat_readers::{
    read_table, split_table, Adapter, AdapterRegistry, Compression, Fingerprint, ReadError, ReadOptions, Reject,
    SourceFile, TextHints,
};
use dat_store::FingerprintCache;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::assemble::source_table;
use super::encoded::{Source, ENCODE_FROM_ROWS};
use super::ranges::read_ranges;
use super::sink::PartSink;
use crate::workspace::Workspace;
use dat_readers::stamp::{change_stamp, settled};

const TABLE_FILE: &str = "table.json";

/// How many rejects a checkpoint keeps in `table.json` (all of them are in its reject parts).
pub(crate) const REJECT_SAMPLES: usize = 10;

/// What a checkpoint holds, as `table.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TableCheckpoint {
    /// The table.
    pub(crate) table_id: String,
    /// Columns in order of first appearance, each with the type every chunk's values fit.
    pub(crate) columns: Vec<(String, ColumnType)>,
    /// Rows in all parts.
    pub(crate) rows: u64,
    /// Rows of each part file (`part-00000.datpart`, …), in order.
    pub(crate) parts: Vec<u64>,
    /// Nulls per column.
    pub(crate) nulls: BTreeMap<String, u64>,
    /// Rejected records (exact).
    pub(crate) rejects: u64,
    /// Reject part files (`rejects-00000.parquet`, …).
    pub(crate) reject_parts: usize,
    /// The first rejects.
    pub(crate) reject_samples: Vec<Reject>,
    /// Counted warnings from the read (values not kept exactly, short rows…).
    pub(crate) warnings: Vec<String>,
    /// The sha256 of the file as read, equal to discovery's.
    pub(crate) sha256: String,
    /// The rules each text column was typed by, where not the plain ones (a decimal comma, a
    /// date order): assembly reads the cells by the same rules.
    #[serde(default)]
    pub(crate) rules: BTreeMap<String, CellRules>,
    /// Per column, the first cell of each type it took: what forced its type.
    #[serde(default)]
    pub(crate) firsts: BTreeMap<String, Vec<FirstCell>>,
    /// Where every line (element, row) of the source went, as the reader counted.
    #[serde(default)]
    pub(crate) accounting: Option<RowAccount>,
    /// Lines after the data that are not rows.
    #[serde(default)]
    pub(crate) footer: Vec<String>,
    /// Columns some part holds as the values its text cells were typed as (not their text):
    /// where the dataset keeps such a column as text, assembly reads the table again for it.
    #[serde(default)]
    pub(crate) from_text: BTreeSet<String>,
    /// Per column, int cells a float column holds only rounded (beyond ±2^53).
    #[serde(default)]
    pub(crate) rounded: BTreeMap<String, u64>,
    /// The size of each part file and each reject file, in order: the files are not synced
    /// (that would cost the disk's time for every byte parsed), so a checkpoint a crash cut
    /// short is found by its sizes and read again ([`load`]). Empty in checkpoints of earlier
    /// versions, which are taken as they are.
    #[serde(default)]
    pub(crate) part_bytes: Vec<u64>,
    /// The size of each reject file (see [`Self::part_bytes`]).
    #[serde(default)]
    pub(crate) reject_bytes: Vec<u64>,
}

/// The first cell of one type a column took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FirstCell {
    pub(crate) dtype: ColumnType,
    /// Its source row (line, element, sheet row).
    pub(crate) line: u64,
    /// Its text (the first 100 characters).
    pub(crate) value: String,
}

/// The folder name of a table's checkpoint: a hash, since table ids hold `/` and `#`.
pub(crate) fn folder_name(table_id: &str) -> String {
    hex(Sha256::digest(table_id.as_bytes()).get(..8).unwrap_or_default())
}

/// The file of part `index`. Its own layout ([`super::part`]), not Parquet: the name says so,
/// so that no one takes it for a file a Parquet reader opens.
pub(crate) fn part_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("part-{index:05}.datpart"))
}

/// The file of part `index` when it is encoded ([`super::encoded`]): Parquet.
pub(crate) fn encoded_part_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("part-{index:05}.parquet"))
}

/// The file part `index` was written to: [`part_file`], or [`encoded_part_file`] (also the name
/// versions before 2026-12 gave the raw layout: a part is told by its first bytes, so a run
/// checkpointed before an upgrade resumes).
pub(crate) fn written_part_file(dir: &Path, index: usize) -> PathBuf {
    let path = part_file(dir, index);
    let encoded = encoded_part_file(dir, index);
    if !path.exists() && encoded.exists() {
        encoded
    } else {
        path
    }
}

/// The file of reject part `index`.
pub(crate) fn reject_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("rejects-{index:05}.parquet"))
}

/// Loads a complete checkpoint, or `None` when it is absent or unreadable (an older layout
/// included: the table is then read again).
pub(crate) fn load(dir: &Path) -> Option<TableCheckpoint> {
    let checkpoint: TableCheckpoint = serde_json::from_slice(&fs::read(dir.join(TABLE_FILE)).ok()?).ok()?;
    checkpoint.files_whole(dir).then_some(checkpoint)
}

/// The size of the file at `path` (0 when it cannot be read).
fn size(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// What reading any table needs: where files are, how to read them, and whom to tell.
pub(crate) struct Reading<'a> {
    pub(crate) adapters: &'a AdapterRegistry,
    pub(crate) workspace: &'a Workspace,
    /// Chunk sizes and limits.
    pub(crate) options: ReadOptions,
    /// Told the rows of each chunk written.
    pub(crate) on_chunk: &'a (dyn Fn(u64) + Sync),
    /// Asked between chunks.
    pub(crate) should_stop: &'a (dyn Fn() -> bool + Sync),
    /// Ranges a large file is cut into (1: never split): several per reader, so that a reader
    /// that finishes early takes the next range instead of waiting on the slowest share.
    pub(crate) ranges: usize,
    /// Ranges read at once (one per core).
    pub(crate) readers: usize,
    /// Discovery's fingerprints: a file whose size and change stamp are those its hash was
    /// remembered under is not hashed again (see [`vouched`]).
    pub(crate) fingerprints: Option<&'a dyn FingerprintCache>,
}

/// A table's file on disk, the adapter that reads it and its compression.
pub(crate) struct Opened {
    pub(crate) disk: PathBuf,
    pub(crate) adapter: std::sync::Arc<dyn Adapter>,
    compression: Option<Compression>,
    decompressed_limit: Option<u64>,
}

impl Opened {
    /// The file as the adapter reads it, feeding `fingerprint` when given.
    pub(crate) fn source<'a>(
        &'a self,
        table: &'a SelectedTable,
        fingerprint: Option<&'a Fingerprint>,
    ) -> SourceFile<'a> {
        SourceFile {
            path: &table.file,
            disk: &self.disk,
            compression: self.compression,
            fingerprint,
            decompressed_limit: self.decompressed_limit,
        }
    }
}

impl Reading<'_> {
    /// Where `table`'s file is on disk, the adapter that reads it and its compression.
    ///
    /// # Errors
    /// [`NotRead::Failed`] when the path cannot be resolved or no adapter has its id.
    pub(crate) fn open(&self, table: &SelectedTable) -> Result<Opened, NotRead> {
        let path = table.file.as_str();
        let disk = self.workspace.resolve(&table.file).map_err(|e| failure(FailureCode::Io, e.to_string()))?;
        let adapter = self.adapters.by_id(&table.adapter).ok_or_else(|| {
            failure(FailureCode::Unreadable, format!("{path}: no reader for adapter `{}`", table.adapter))
        })?;
        let name = table.file.segments().last().unwrap_or_default().to_owned();
        let compression = self.adapters.for_name(&name).and_then(|(_, c)| c);
        Ok(Opened { disk, adapter, compression, decompressed_limit: self.options.decompressed_limit })
    }
}

/// How reading a table into its checkpoint ended without a checkpoint.
#[derive(Debug)]
pub(crate) enum NotRead {
    /// Asked to stop: nothing is wrong with the table.
    Stopped,
    /// The table failed; the others go on.
    Failed(TableFailure),
    /// The reader panicked (caught): a failure that is also counted.
    Panicked(TableFailure),
    /// The rows written, the rejects and the lines skipped do not add up to the lines read: the
    /// stage fails with the numbers (a bug; nothing is published).
    Unaccounted(String),
}

pub(super) fn failure(code: FailureCode, message: impl Into<String>) -> NotRead {
    NotRead::Failed(TableFailure { code, message: message.into(), details: Default::default() })
}

/// How a read that did not end well ends the table; `written` is why writing its parts failed,
/// when it did (a writer that fails stops the read).
pub(super) fn not_read(e: ReadError, written: Option<String>, reading: &Reading<'_>) -> NotRead {
    match e {
        ReadError::Stopped if (reading.should_stop)() => NotRead::Stopped,
        ReadError::Stopped => written.map_or(NotRead::Stopped, |e| failure(FailureCode::Io, e)),
        e @ ReadError::Panicked { .. } => NotRead::Panicked(TableFailure {
            code: FailureCode::ReaderFailed,
            message: e.to_string(),
            details: Default::default(),
        }),
        e @ ReadError::Io { .. } => failure(FailureCode::Io, e.to_string()),
        e => failure(FailureCode::Unreadable, e.to_string()),
    }
}

impl TableCheckpoint {
    /// Notes the size of its part and reject files in `dir` (see [`Self::part_bytes`]).
    fn measure(&mut self, dir: &Path) {
        self.part_bytes = (0..self.parts.len()).map(|i| size(&written_part_file(dir, i))).collect();
        self.reject_bytes = (0..self.reject_parts).map(|i| size(&reject_file(dir, i))).collect();
    }

    /// Whether its files in `dir` have the sizes it noted (a checkpoint of an earlier version,
    /// which noted none, is taken as it is).
    fn files_whole(&self, dir: &Path) -> bool {
        if self.part_bytes.is_empty() && self.reject_bytes.is_empty() {
            return true;
        }
        let parts = (0..self.parts.len()).map(|i| written_part_file(dir, i));
        let rejects = (0..self.reject_parts).map(|i| reject_file(dir, i));
        let noted = self.part_bytes.iter().chain(&self.reject_bytes);
        self.part_bytes.len() == self.parts.len()
            && self.reject_bytes.len() == self.reject_parts
            && parts.chain(rejects).zip(noted).all(|(path, &bytes)| size(&path) == bytes)
    }
}

/// The table as its parts' source columns name it.
fn source_of(table: &SelectedTable) -> Source<'_> {
    Source { file: table.file.as_str(), table: source_table(table), from_rows: ENCODE_FROM_ROWS }
}

/// A file's size, change stamp and inode (a file put in its place under its name has another).
fn file_state(disk: &Path) -> Option<(u64, i128, u64)> {
    let meta = fs::metadata(disk).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), change_stamp(&meta), inode))
}

/// The failure of a table whose file is not what discovery saw: `what` happened to it.
fn changed(path: &str, expected_sha256: &str, what: &str) -> TableFailure {
    TableFailure {
        code: FailureCode::SourceChanged,
        message: format!("{path} {what}: its rows are not in the dataset; re-lock discovery to read the new content"),
        details: [("file", json!(path)), ("expected_sha256", json!(expected_sha256))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}

/// Whether discovery's fingerprint cache vouches that `disk` still holds the bytes it hashed to
/// `expected`: its size and change stamp now are those the hash was remembered under, and a
/// hash is only remembered under a settled stamp, which any later write would have changed
/// (see `stamp`). Then the file need not be hashed again to prove it is what discovery saw.
fn vouched(reading: &Reading<'_>, table: &SelectedTable, disk: &Path, expected: &str) -> bool {
    let (Some(cache), Ok(meta)) = (reading.fingerprints, fs::metadata(disk)) else { return false };
    let cached = cache.lookup(table.file.as_str(), meta.len(), change_stamp(&meta));
    cached.ok().flatten().is_some_and(|sha256| sha256 == expected)
}

/// Reads `table` into the checkpoint folder `dir` (replacing any partial attempt), checking
/// that the file still has the content `expected_sha256` names.
///
/// # Errors
/// [`NotRead`]: stopped, or the table failed (nothing is left behind).
pub(crate) fn write(
    reading: &Reading<'_>,
    table: &SelectedTable,
    text: TextHints,
    expected_sha256: &str,
    dir: &Path,
) -> Result<TableCheckpoint, NotRead> {
    let options = ReadOptions { text, ..reading.options.clone() };
    let path = table.file.as_str();
    let parent = dir.parent().ok_or_else(|| failure(FailureCode::Io, "bad checkpoint folder"))?;
    let io = |what: &str, e: std::io::Error| failure(FailureCode::Io, format!("{path}: cannot {what}: {e}"));
    fs::create_dir_all(parent).map_err(|e| io("create the checkpoint folder", e))?;
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempdir_in(parent).map_err(|e| io("create a checkpoint", e))?;
    let opened = reading.open(table)?;
    let (disk, adapter) = (&opened.disk, &opened.adapter);
    // A file discovery's cache vouches for is not hashed while it is read; it is checked again
    // once read (a write meanwhile changes its stamp, and it is then hashed after all).
    let vouched_before = vouched(reading, table, disk, expected_sha256);
    // Ranges read the file by its path while it is hashed on its own: both see the same bytes
    // only when nothing writes it meanwhile, which its state after the read shows once its
    // change stamp is settled (a write within the stamp's tick may leave it as it was). A
    // file written just now is read once, hashing the bytes it parses.
    let before = file_state(disk);
    let settled_before = before.is_some_and(|(_, stamp, _)| settled(stamp));
    let fingerprint = Fingerprint::default();
    let source = opened.source(table, (!vouched_before).then_some(&fingerprint));
    let unhashed = SourceFile { fingerprint: None, ..source };
    let planned = split_table(adapter.as_ref(), &unhashed, table.sheet.as_deref(), &options, reading.ranges)
        .map_err(|e| not_read(e, None, reading))?;
    let hash = || fingerprint.finish(disk).map_err(|e| io("read the file again to fingerprint it", e));
    let (end, mut checkpoint, hashed) = match planned {
        Some(ranges) if ranges.len() > 1 && vouched_before => {
            let (end, checkpoint) =
                read_ranges(reading, adapter.as_ref(), (&unhashed, source_of(table)), &ranges, &options, tmp.path())?;
            (end, checkpoint, None)
        }
        Some(ranges) if ranges.len() > 1 && settled_before => {
            // The ranges read without the fingerprint: the file is hashed beside them.
            let (end, checkpoint, found) = std::thread::scope(|scope| {
                let hashed = scope.spawn(hash);
                let read = read_ranges(
                    reading,
                    adapter.as_ref(),
                    (&unhashed, source_of(table)),
                    &ranges,
                    &options,
                    tmp.path(),
                );
                let found = hashed.join().unwrap_or_else(|_| Err(failure(FailureCode::Io, "the hashing failed")));
                read.and_then(|(end, checkpoint)| Ok((end, checkpoint, found?)))
            })?;
            if file_state(disk) != before {
                return Err(NotRead::Failed(changed(path, expected_sha256, "changed while it was read")));
            }
            (end, checkpoint, Some(found))
        }
        _ => {
            let (read, written) = PartSink::run(tmp.path(), reading, source_of(table), |sink| {
                read_table(adapter.as_ref(), &source, table.sheet.as_deref(), &options, sink)
            });
            let end = read.map_err(|e| not_read(e, written.as_ref().err().cloned(), reading))?;
            let checkpoint = written.map_err(|e| failure(FailureCode::Io, e))?;
            (end, checkpoint, (!vouched_before).then(hash).transpose()?)
        }
    };
    let found = match hashed {
        Some(found) => found,
        None if vouched(reading, table, disk, expected_sha256) => expected_sha256.to_owned(),
        None => hash()?,
    };
    if found != expected_sha256 {
        let what = format!("changed after discovery (its sha256 is now {found}, discovery saw {expected_sha256})");
        let mut failure = changed(path, expected_sha256, &what);
        failure.details.insert("found_sha256".to_owned(), json!(found));
        return Err(NotRead::Failed(failure));
    }
    if let Some(account) = &end.accounting {
        account.check(&table.table_id, checkpoint.rows, checkpoint.rejects).map_err(NotRead::Unaccounted)?;
    }
    checkpoint.table_id = table.table_id.clone();
    checkpoint.sha256 = found;
    checkpoint.warnings.extend(end.warnings);
    checkpoint.accounting = end.accounting;
    checkpoint.footer = end.footer;
    checkpoint.measure(tmp.path());
    let bytes = serde_json::to_vec(&checkpoint).map_err(|e| failure(FailureCode::Io, e.to_string()))?;
    fs::write(tmp.path().join(TABLE_FILE), bytes).map_err(|e| io("write the checkpoint", e))?;
    if dir.exists() {
        let _ = fs::remove_dir_all(dir);
    }
    let kept = tmp.keep();
    fs::rename(&kept, dir).map_err(|e| {
        let _ = fs::remove_dir_all(&kept);
        io("complete the checkpoint", e)
    })?;
    Ok(checkpoint)
}

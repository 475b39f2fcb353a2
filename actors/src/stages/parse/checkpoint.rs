//! One table read into its checkpoint: a folder of Parquet parts (one per chunk, each with the
//! types its own rows needed) and `table.json` describing the whole table. The folder is
//! written under a temporary name and renamed when complete, so a checkpoint that exists is
//! whole; only then is its `Checkpointed` event recorded.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use dat_contracts::artifacts::SelectedTable;
use dat_contracts::ColumnType;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::read::{read_table, ReadError, Reject};
use crate::adapters::cells::widen;
use crate::adapters::{AdapterRegistry, SourceFile};
use crate::workspace::Workspace;

/// Files above this size are read in chunks of `chunk_rows` rows; smaller ones in one (SPEC §7).
pub(crate) const STREAM_ABOVE_BYTES: u64 = 10 * 1024 * 1024;
const TABLE_FILE: &str = "table.json";

/// What a checkpoint holds, as `table.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TableCheckpoint {
    /// The table.
    pub(crate) table_id: String,
    /// Columns in order of first appearance, with the widest type any part needed.
    pub(crate) columns: Vec<(String, ColumnType)>,
    /// Rows in all parts.
    pub(crate) rows: u64,
    /// Rows of each part file (`part-00000.parquet`, …), in order.
    pub(crate) parts: Vec<u64>,
    /// Nulls per column.
    pub(crate) nulls: BTreeMap<String, u64>,
    /// Rows that could not be read.
    pub(crate) rejects: Vec<Reject>,
}

/// The folder name of a table's checkpoint: a hash, since table ids hold `/` and `#`.
pub(crate) fn folder_name(table_id: &str) -> String {
    let digest = Sha256::digest(table_id.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The file of part `index`.
pub(crate) fn part_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("part-{index:05}.parquet"))
}

/// Loads a complete checkpoint, or `None` when it is absent or unreadable.
pub(crate) fn load(dir: &Path) -> Option<TableCheckpoint> {
    serde_json::from_slice(&fs::read(dir.join(TABLE_FILE)).ok()?).ok()
}

/// What reading any table needs: where files are, how to read them, and whom to tell.
pub(crate) struct Reading<'a> {
    pub(crate) adapters: &'a AdapterRegistry,
    pub(crate) workspace: &'a Workspace,
    /// Rows per chunk for files above [`STREAM_ABOVE_BYTES`].
    pub(crate) chunk_rows: usize,
    /// Told the rows of each chunk written.
    pub(crate) on_chunk: &'a (dyn Fn(u64) + Sync),
    /// Asked between chunks.
    pub(crate) should_stop: &'a (dyn Fn() -> bool + Sync),
}

/// Reads `table` into the checkpoint folder `dir` (replacing any partial attempt).
///
/// # Errors
/// [`ReadError::Failed`] when the table cannot be read (nothing is left behind),
/// [`ReadError::Stopped`] when asked to stop.
pub(crate) fn write(reading: &Reading<'_>, table: &SelectedTable, dir: &Path) -> Result<TableCheckpoint, ReadError> {
    let parent = dir.parent().ok_or_else(|| ReadError::Failed("bad checkpoint folder".into()))?;
    fs::create_dir_all(parent).map_err(|e| ReadError::Failed(format!("cannot create checkpoints: {e}")))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(parent)
        .map_err(|e| ReadError::Failed(format!("cannot create a checkpoint: {e}")))?;
    let checkpoint = fill(reading, table, tmp.path())?;
    let bytes = serde_json::to_vec(&checkpoint).map_err(|e| ReadError::Failed(e.to_string()))?;
    fs::write(tmp.path().join(TABLE_FILE), bytes).map_err(|e| ReadError::Failed(format!("cannot write: {e}")))?;
    if dir.exists() {
        let _ = fs::remove_dir_all(dir);
    }
    let kept = tmp.keep();
    fs::rename(&kept, dir).map_err(|e| {
        let _ = fs::remove_dir_all(&kept);
        ReadError::Failed(format!("cannot complete the checkpoint: {e}"))
    })?;
    Ok(checkpoint)
}

fn fill(reading: &Reading<'_>, table: &SelectedTable, dir: &Path) -> Result<TableCheckpoint, ReadError> {
    let disk = reading.workspace.resolve(&table.file).map_err(|e| ReadError::Failed(e.to_string()))?;
    let size = fs::metadata(&disk).map(|m| m.len()).map_err(|e| ReadError::Failed(format!("cannot read: {e}")))?;
    let name = table.file.segments().last().unwrap_or_default().to_owned();
    let compression = reading.adapters.for_name(&name).and_then(|(_, c)| c);
    let source = SourceFile { path: &table.file, disk: &disk, compression };
    let chunk_rows = if size > STREAM_ABOVE_BYTES { reading.chunk_rows.max(1) } else { usize::MAX };
    let mut checkpoint = TableCheckpoint {
        table_id: table.table_id.clone(),
        columns: vec![],
        rows: 0,
        parts: vec![],
        nulls: BTreeMap::new(),
        rejects: vec![],
    };
    let mut emit = |mut frame: DataFrame, types: Vec<ColumnType>| -> Result<(), ReadError> {
        if (reading.should_stop)() {
            return Err(ReadError::Stopped);
        }
        for (column, dtype) in frame.columns().iter().zip(types) {
            let name = column.name().to_string();
            *checkpoint.nulls.entry(name.clone()).or_default() += column.null_count() as u64;
            match checkpoint.columns.iter_mut().find(|(n, _)| *n == name) {
                Some((_, known)) => *known = widen(*known, dtype),
                None => checkpoint.columns.push((name, dtype)),
            }
        }
        let path = part_file(dir, checkpoint.parts.len());
        let file = fs::File::create(&path).map_err(|e| ReadError::Failed(format!("cannot write a part: {e}")))?;
        // Parts are read once more, by assembly only: fast LZ4 rather than the dataset's zstd,
        // and no statistics (nothing filters on them).
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Lz4Raw)
            .with_statistics(StatisticsOptions::empty())
            .finish(&mut frame)?;
        let rows = frame.height() as u64;
        checkpoint.rows += rows;
        checkpoint.parts.push(rows);
        (reading.on_chunk)(rows);
        Ok(())
    };
    let rejects = read_table(&source, &table.adapter, table.sheet.as_deref(), chunk_rows, &mut emit)?;
    checkpoint.rejects = rejects;
    Ok(checkpoint)
}

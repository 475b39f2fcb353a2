//! Writing the parse dataset in one format, in bounded memory: the Parquet file is read in
//! slices of `batch_rows` rows and each slice is written before the next is read (parquet is a
//! plain byte copy). The output appears under its name only when complete; a stop or a failure
//! removes the partial file.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use dat_contracts::{ExportFormat, RunId, Stage};
use polars::prelude::*;

use super::text::TextSink;
use super::xlsx::{XlsxExportError, XlsxSink, EXCEL_SHEET_ROWS};
use crate::progress::{Progress, Timing};
use crate::stages::{Reporter, StageError};

/// Rows read and written at once (SPEC §7's chunk size).
pub(crate) const BATCH_ROWS: usize = 50_000;
/// Bytes copied at once for parquet.
const COPY_BYTES: usize = 8 << 20;

/// How big the pieces are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Rows per slice read from the dataset.
    pub(crate) batch_rows: usize,
    /// Data rows per xlsx sheet (Excel's limit; smaller in tests).
    pub(crate) sheet_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { batch_rows: BATCH_ROWS, sheet_rows: EXCEL_SHEET_ROWS }
    }
}

/// What a finished export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportStats {
    /// Data rows.
    pub(crate) rows: u64,
    /// Sheets (xlsx only; 0 for the other formats).
    pub(crate) sheets: usize,
}

/// How an export that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exported {
    /// The file is in place.
    Completed(ExportStats),
    /// A stop was asked; nothing was left behind.
    Cancelled,
}

/// The file extension (and format name) of `format`.
pub(crate) fn extension(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Parquet => "parquet",
        ExportFormat::Csv => "csv",
        ExportFormat::Tsv => "tsv",
        ExportFormat::Json => "json",
        ExportFormat::Jsonl => "jsonl",
        ExportFormat::Xlsx => "xlsx",
    }
}

/// Publishes progress of the export of one run, by rows (bytes for the parquet copy).
struct Tracker<'a> {
    run_id: RunId,
    report: &'a dyn Reporter,
    started: std::time::Instant,
}

impl Tracker<'_> {
    fn publish(&self, rows: u64, bytes: u64, done: u64, total: u64) {
        let fraction = if total == 0 { 1.0 } else { (done as f64 / total as f64).min(1.0) };
        self.report.progress(Progress {
            run_id: self.run_id,
            stage: Stage::Export,
            tables_done: u64::from(done >= total),
            tables_total: 1,
            rows,
            bytes,
            percent: fraction * 100.0,
            timing: Timing::of(self.started.elapsed(), fraction, bytes),
        });
    }
}

/// Writes the Parquet file `dataset` as `format` to `out` (through `<out>.part`, renamed when
/// complete), publishing progress per batch and stopping between batches when asked.
///
/// # Errors
/// [`StageError::Io`] naming the file (by name only) that could not be read or written.
pub(crate) fn export_file(
    dataset: &Path,
    format: ExportFormat,
    out: &Path,
    limits: Limits,
    run_id: RunId,
    report: &dyn Reporter,
) -> Result<Exported, StageError> {
    let part = part_path(out);
    let tracker = Tracker { run_id, report, started: std::time::Instant::now() };
    let result = match format {
        ExportFormat::Parquet => copy(dataset, &part, &tracker),
        _ => write_batches(dataset, format, &part, limits, &tracker),
    };
    match result {
        Ok(Exported::Completed(stats)) => {
            let written = File::open(&part).and_then(|f| f.sync_all()).and_then(|_| fs::rename(&part, out));
            if let Err(e) = written {
                let _ = fs::remove_file(&part);
                return Err(write_error(out, e));
            }
            Ok(Exported::Completed(stats))
        }
        other => {
            let _ = fs::remove_file(&part);
            other
        }
    }
}

/// `<out>.part`.
fn part_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    out.with_file_name(name)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read_error(dataset: &Path, e: impl std::fmt::Display) -> StageError {
    StageError::Io(format!("cannot read the parse dataset {}: {e}", file_name(dataset)))
}

fn write_error(out: &Path, e: impl std::fmt::Display) -> StageError {
    StageError::Io(format!("cannot write {}: {e}", file_name(out).trim_end_matches(".part")))
}

/// The dataset's row count (from the footer: this also checks the file is Parquet).
fn row_count(dataset: &Path) -> Result<(u64, FileMetadataRef), StageError> {
    let file = File::open(dataset).map_err(|e| read_error(dataset, e))?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader.get_metadata().map_err(|e| read_error(dataset, e))?.clone();
    Ok((metadata.num_rows as u64, metadata))
}

/// Parquet: the dataset is already the Parquet file wanted, so it is linked (both are files
/// dat never changes), or its bytes copied where a link cannot be made (another file system):
/// the export is byte-identical to the parse dataset.
fn copy(dataset: &Path, part: &Path, tracker: &Tracker<'_>) -> Result<Exported, StageError> {
    let (rows, _) = row_count(dataset)?;
    if tracker.report.should_stop() {
        return Ok(Exported::Cancelled);
    }
    let _ = std::fs::remove_file(part);
    if std::fs::hard_link(dataset, part).is_ok() {
        let size = std::fs::metadata(part).map_or(0, |m| m.len());
        tracker.publish(rows, size, size, size);
        return Ok(Exported::Completed(ExportStats { rows, sheets: 0 }));
    }
    let mut input = File::open(dataset).map_err(|e| read_error(dataset, e))?;
    let total = input.metadata().map_err(|e| read_error(dataset, e))?.len();
    let mut output = File::create(part).map_err(|e| write_error(part, e))?;
    let mut buf = vec![0u8; COPY_BYTES];
    let mut copied = 0u64;
    loop {
        if tracker.report.should_stop() {
            return Ok(Exported::Cancelled);
        }
        let n = input.read(&mut buf).map_err(|e| read_error(dataset, e))?;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).map_err(|e| write_error(part, e))?;
        copied += n as u64;
        tracker.publish(rows * copied / total.max(1), copied, copied, total);
    }
    output.flush().map_err(|e| write_error(part, e))?;
    Ok(Exported::Completed(ExportStats { rows, sheets: 0 }))
}

/// The writer of a non-parquet format, created from the first batch (which gives the columns).
enum Sink {
    Text(TextSink),
    /// Boxed: a workbook is much larger than a text writer.
    Xlsx(Box<XlsxSink>),
}

impl Sink {
    fn create(format: ExportFormat, part: &Path, first: &DataFrame, limits: Limits) -> Result<Sink, StageError> {
        let fail = |e: &dyn std::fmt::Display| write_error(part, e);
        Ok(match format {
            ExportFormat::Csv => Sink::Text(TextSink::delimited(part, b',', first.schema()).map_err(|e| fail(&e))?),
            ExportFormat::Tsv => Sink::Text(TextSink::delimited(part, b'\t', first.schema()).map_err(|e| fail(&e))?),
            ExportFormat::Jsonl => Sink::Text(TextSink::json_lines(part).map_err(|e| fail(&e))?),
            ExportFormat::Json => Sink::Text(TextSink::json_array(part).map_err(|e| fail(&e))?),
            ExportFormat::Xlsx | ExportFormat::Parquet => {
                let columns = first.get_column_names().into_iter().map(|n| n.to_string()).collect();
                let temp_dir = part.parent().unwrap_or(Path::new("."));
                Sink::Xlsx(Box::new(XlsxSink::new(columns, limits.sheet_rows, temp_dir).map_err(|e| fail(&e))?))
            }
        })
    }

    fn write(&mut self, batch: DataFrame, part: &Path) -> Result<(), StageError> {
        match self {
            Sink::Text(sink) => sink.write(batch).map_err(|e| write_error(part, e)),
            Sink::Xlsx(sink) => sink.write(&batch).map_err(|e| xlsx_error(part, e)),
        }
    }

    /// Finishes the file; returns the number of sheets (xlsx) or 0.
    fn finish(self, part: &Path) -> Result<usize, StageError> {
        match self {
            Sink::Text(sink) => sink.finish().map(|_| 0).map_err(|e| write_error(part, e)),
            Sink::Xlsx(sink) => sink.finish(part).map_err(|e| xlsx_error(part, e)),
        }
    }
}

fn xlsx_error(part: &Path, e: XlsxExportError) -> StageError {
    match e {
        limit @ XlsxExportError::Limit(_) => StageError::Invalid(format!("cannot export as xlsx: {limit}")),
        other => write_error(part, other),
    }
}

/// Every other format: slices of the dataset, each written before the next is read.
fn write_batches(
    dataset: &Path,
    format: ExportFormat,
    part: &Path,
    limits: Limits,
    tracker: &Tracker<'_>,
) -> Result<Exported, StageError> {
    let (total, metadata) = row_count(dataset)?;
    let batch_rows = limits.batch_rows.max(1) as u64;
    let mut sink: Option<Sink> = None;
    let mut offset = 0u64;
    // At least one slice, even of an empty dataset: it carries the columns (the csv header).
    loop {
        if tracker.report.should_stop() {
            return Ok(Exported::Cancelled);
        }
        let len = batch_rows.min(total - offset);
        let file = File::open(dataset).map_err(|e| read_error(dataset, e))?;
        let mut reader = ParquetReader::new(file).with_slice(Some((offset as usize, len as usize)));
        reader.set_metadata(metadata.clone());
        let batch = reader.finish().map_err(|e| read_error(dataset, e))?;
        let sink = match &mut sink {
            Some(sink) => sink,
            None => sink.insert(Sink::create(format, part, &batch, limits)?),
        };
        sink.write(batch, part)?;
        offset += len;
        tracker.publish(offset, 0, offset, total);
        if offset >= total {
            break;
        }
    }
    let sheets = match sink {
        Some(sink) => sink.finish(part)?,
        None => 0,
    };
    Ok(Exported::Completed(ExportStats { rows: total, sheets }))
}

//! Parquet files: one table each. The probe reads the footer alone (schema and row count), so
//! even a file of many gigabytes costs it one small read at its end; it calls a file
//! `available` only when every column has a reading rule, so parse can read what the probe
//! admits. Reading goes through Arrow (the reference decoder: every physical and logical type,
//! int96, v1 and v2 data pages, dictionary, byte-stream-split and delta encodings, nested
//! groups) in batches sized so a batch stays within the chunk limits. The footer's schema is
//! measured before the crate builds it, which it does recursively (see [`footer`]).

mod batch;
mod convert;
mod footer;
mod int96;
mod json;
mod pages;
mod schema;
mod thrift;

use std::collections::HashSet;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use ::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use ::parquet::basic::LogicalType;
use ::parquet::file::metadata::{ParquetMetaDataOptions, ParquetMetaDataReader};
use arrow_schema::TimeUnit;
use dat_contracts::{TableProbe, TableStatus};

use self::convert::Losses;
use crate::chunk::Chunk;
use crate::sink::{ReadEnd, ReadError, Sink};
use crate::{Adapter, ReadOptions, SourceFile};

/// Parquet (`.parquet`, `.pq`).
pub struct ParquetAdapter;

impl Adapter for ParquetAdapter {
    fn id(&self) -> &'static str {
        "parquet"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["parquet", "pq"]
    }
    fn compressible(&self) -> bool {
        false
    }
    fn description(&self) -> &'static str {
        "Apache Parquet: columns and row count from the footer; every column type read; nested values as JSON text"
    }

    fn probe(&self, file: &SourceFile<'_>, _: &ReadOptions) -> Vec<TableProbe> {
        let path = file.path.as_str();
        let failed = |reason: String| vec![TableProbe::failed(path, "parquet", TableStatus::Error, reason)];
        let opened = match open(file, None) {
            Ok(opened) => opened,
            Err(reason) => return failed(reason),
        };
        let Ok(rows) = u64::try_from(opened.builder.metadata().file_metadata().num_rows()) else {
            return failed("corrupt footer: negative row count".to_owned());
        };
        let columns: Result<Vec<_>, String> = opened
            .builder
            .schema()
            .fields()
            .iter()
            .map(|f| schema::column(f, opened.uuids.contains(f.name())))
            .collect();
        let columns = match columns {
            Ok(columns) => columns,
            Err(reason) => return failed(reason),
        };
        let status = if rows == 0 { TableStatus::Empty } else { TableStatus::Available };
        vec![TableProbe {
            columns,
            row_estimate: Some(rows),
            row_count_exact: true,
            error: None,
            ..TableProbe::failed(path, self.id(), status, "")
        }]
    }

    fn read(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        let path = file.path.as_str();
        if let Some(table) = table {
            return Err(ReadError::NoSuchTable { path: path.to_owned(), table: table.to_owned() });
        }
        let Opened { builder, uuids, int96_cut, batch_rows, warnings } =
            open(file, Some(options)).map_err(|e| ReadError::format(path, e))?;
        // The rows the footer says the file has: every one must come out as a row.
        let declared = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let names: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        let reader = builder
            .with_batch_size(batch_rows)
            .build()
            .map_err(|e| ReadError::format(path, format!("not a readable Parquet file: {e}")))?;
        let mut losses = Losses::default();
        for (name, cut) in &int96_cut {
            losses.add(name, convert::PAST_THE_MICROSECOND, *cut);
        }
        let mut row = 0u64;
        let mut batches = reader.into_iter();
        // The Parquet decoder (arrow-rs) still has panics on some corrupt pages (e.g. a
        // dictionary-encoded page without its dictionary, apache/arrow-rs#9434 and kin). They are
        // contained here, where it is called, and reported as this table's counted reader
        // failure: the read never takes anything else down.
        while let Some(batch) =
            catch_unwind(AssertUnwindSafe(|| batches.next())).map_err(|panic| ReadError::Panicked {
                path: path.to_owned(),
                message: format!(
                    "the Parquet decoder failed on corrupt data after row {row}: {}",
                    crate::panic_message(panic.as_ref())
                ),
            })?
        {
            let batch = batch.map_err(|e| ReadError::format(path, format!("rows after {row} cannot be read: {e}")))?;
            let mut columns = Vec::with_capacity(names.len());
            for (name, array) in names.iter().zip(batch.columns()) {
                let values = convert::values(name, array.as_ref(), uuids.contains(name), &mut losses)
                    .map_err(|e| ReadError::format(path, e))?;
                columns.push(values);
            }
            let rows = batch.num_rows() as u64;
            let source_rows = (row + 1..=row + rows).collect();
            row += rows;
            sink.chunk(Chunk { names: names.clone(), columns, source_rows })?;
        }
        Ok(ReadEnd {
            warnings: warnings.into_iter().chain(losses.warnings()).collect(),
            accounting: Some(dat_contracts::bundle::RowAccount::new("rows", declared)),
            ..ReadEnd::default()
        })
    }
}

/// A file with its footer read.
struct Opened {
    builder: ParquetRecordBatchReaderBuilder<File>,
    /// Top-level columns annotated as UUIDs (read as their text).
    uuids: HashSet<String>,
    /// INT96 values cut to the microsecond, by top-level column, when the file is read in
    /// microseconds (see [`int96`]): counted as losses.
    int96_cut: Vec<(String, u64)>,
    /// Rows per record batch (see [`batch`]); 0 for the probe, which reads no rows.
    batch_rows: usize,
    /// What the read should say besides its values (an embedded Arrow schema set aside).
    warnings: Vec<String>,
}

/// Opens the file and reads its footer; for a read (`read` holds its options; the probe reads
/// the footer alone) also scans its INT96 columns, reading them in microseconds when
/// nanoseconds would wrap and in nanoseconds otherwise, whatever the file's embedded Arrow
/// schema hints (see [`int96`]), and sizes its batches (see [`batch`]).
///
/// # Errors
/// Why the footer cannot be read (bad magic, truncated, corrupt metadata, encrypted, a schema
/// nested deeper than [`footer::MAX_DEPTH`] or one Arrow cannot decode), or an INT96 value no
/// unit holds, naming no path.
fn open(file: &SourceFile<'_>, read: Option<&ReadOptions>) -> Result<Opened, String> {
    let unreadable =
        |e: ::parquet::errors::ParquetError| format!("not a readable Parquet file (corrupt or truncated): {e}");
    let disk = File::open(file.disk).map_err(|e| format!("cannot open the file: {e}"))?;
    // The schema is measured and built before the rest of the footer (see [`footer`]): the
    // crate's own build of a deeply nested one overflows the stack.
    let options = footer::checked_schema(&disk)?.map(|schema| ParquetMetaDataOptions::new().with_schema(schema));
    let metadata = ParquetMetaDataReader::new().with_metadata_options(options).parse_and_finish(&disk);
    let metadata = Arc::new(metadata.map_err(unreadable)?);
    // The embedded Arrow schema (`ARROW:schema`) only hints at types the Parquet schema already
    // gives: one that cannot be decoded (past the flatbuffer verifier's depth, say) is set aside
    // with a warning, and the data is read by the Parquet schema alone.
    let reader_options = |skip_hint| ArrowReaderOptions::new().with_skip_arrow_metadata(skip_hint);
    let mut hint = None;
    let mut arrow = match ArrowReaderMetadata::try_new(Arc::clone(&metadata), reader_options(false)) {
        Err(e) if has_arrow_schema(&metadata) => {
            hint = Some(format!(
                "the file's embedded Arrow schema (ARROW:schema) cannot be decoded ({e}); its columns are read by \
                 their Parquet types alone"
            ));
            ArrowReaderMetadata::try_new(Arc::clone(&metadata), reader_options(true)).map_err(unreadable)?
        }
        other => other.map_err(unreadable)?,
    };
    let (mut int96_cut, mut batch_rows) = (Vec::new(), 0);
    if let Some(options) = read {
        batch_rows = batch::batch_rows(&disk, &metadata, options)?;
        // The page decoder may panic on corrupt pages (see `read`): contained here as well.
        let scan = catch_unwind(AssertUnwindSafe(|| int96::scan(&disk, &metadata))).map_err(|panic| {
            format!("the Parquet decoder failed on corrupt INT96 data: {}", crate::panic_message(panic.as_ref()))
        })??;
        // Whenever the file has INT96 columns their unit is given, so that an `ARROW:schema`
        // hint in the file cannot choose a coarser one (see [`int96`]).
        if let Some(scan) = scan {
            let unit = if scan.needs_micros { TimeUnit::Microsecond } else { TimeUnit::Nanosecond };
            let schema = int96::int96_schema(arrow.schema(), metadata.file_metadata().schema_descr(), unit)?;
            let options = reader_options(hint.is_some()).with_schema(Arc::new(schema));
            arrow = ArrowReaderMetadata::try_new(Arc::clone(&metadata), options).map_err(unreadable)?;
            if scan.needs_micros {
                int96_cut = scan.cut;
            }
        }
    }
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(disk, arrow);
    let root = builder.metadata().file_metadata().schema_descr().root_schema();
    let uuids = root
        .get_fields()
        .iter()
        .filter(|f| f.is_primitive() && matches!(f.get_basic_info().logical_type_ref(), Some(LogicalType::Uuid)))
        .map(|f| f.name().to_owned())
        .collect();
    Ok(Opened { builder, uuids, int96_cut, batch_rows, warnings: hint.into_iter().collect() })
}

/// Whether the file's key-value metadata holds an embedded Arrow schema.
fn has_arrow_schema(metadata: &::parquet::file::metadata::ParquetMetaData) -> bool {
    let pairs = metadata.file_metadata().key_value_metadata();
    pairs.is_some_and(|pairs| pairs.iter().any(|kv| kv.key == ::parquet::arrow::ARROW_SCHEMA_META_KEY))
}

#[cfg(test)]
mod tests;

//! A Parquet file written from Arrow record batches, gathered into row groups of a useful size
//! (500 small files must not give 500 tiny row groups), each row group's columns encoded and
//! compressed on every core at once. Strings are dictionary-encoded (ids, lots, tools and the
//! source columns repeat), numbers written plain; pages are zstd-compressed at a fast level.
//! The file carries the dataset's lineage in its key-value metadata. Nothing in it depends on
//! timing or thread order, so identical input gives identical bytes.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

/// A row group holds this many rows at most (unless its bytes come first).
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// A row group is written once the batches gathered for it hold this many bytes in memory.
const ROW_GROUP_BYTES: usize = 32 << 20;

/// The file being written.
pub(crate) struct DatasetFile {
    writer: SerializedFileWriter<BufWriter<File>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Batches gathered for the next row group, their rows and bytes.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    row_groups: usize,
    rows: u64,
    /// Threads a row group is encoded on.
    threads: usize,
}

impl DatasetFile {
    /// Creates the file at `path` for batches of `schema`, with `metadata` (key, value) pairs.
    ///
    /// # Errors
    /// The file cannot be created, or the schema has no Parquet equivalent.
    pub(crate) fn create(path: &Path, schema: SchemaRef, metadata: Vec<(String, String)>) -> Result<Self> {
        let mut properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_dictionary_enabled(false)
            .set_key_value_metadata(Some(metadata.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect()));
        for field in schema.fields().iter().filter(|f| f.data_type() == &DataType::Utf8) {
            properties = properties.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), true);
        }
        let properties = Arc::new(properties.build());
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema)?;
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let writer = SerializedFileWriter::new(file, parquet_schema.root_schema_ptr(), properties)?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(DatasetFile {
            writer,
            factory,
            schema,
            pending: vec![],
            pending_rows: 0,
            pending_bytes: 0,
            row_groups: 0,
            rows: 0,
            threads,
        })
    }

    /// Adds a batch; a row group is written once enough are gathered.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub(crate) fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.pending_rows += batch.num_rows();
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
        if self.pending_rows >= ROW_GROUP_ROWS || self.pending_bytes >= ROW_GROUP_BYTES {
            self.write_row_group()?;
        }
        Ok(())
    }

    /// Writes what is gathered and the footer; returns the rows written.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub(crate) fn finish(mut self) -> Result<u64> {
        self.write_row_group()?;
        self.writer.close()?;
        Ok(self.rows)
    }

    /// Encodes the gathered batches as one row group, its columns on every core at once, and
    /// appends it in column order.
    fn write_row_group(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.pending);
        let writers: Vec<Mutex<Option<ArrowColumnWriter>>> =
            self.factory.create_column_writers(self.row_groups)?.into_iter().map(|w| Mutex::new(Some(w))).collect();
        let chunks: Vec<Mutex<Option<Result<ArrowColumnChunk>>>> = writers.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let schema = &self.schema;
        std::thread::scope(|scope| {
            for _ in 0..self.threads.min(writers.len()) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = writers.get(index) else { break };
                    let Some(writer) = slot.lock().ok().and_then(|mut w| w.take()) else { break };
                    let chunk = encode(writer, schema, index, &batches);
                    if let Some(mut out) = chunks.get(index).and_then(|c| c.lock().ok()) {
                        *out = Some(chunk);
                    }
                });
            }
        });
        let mut row_group = self.writer.next_row_group()?;
        for chunk in chunks {
            let chunk = chunk.into_inner().ok().flatten();
            chunk
                .ok_or_else(|| ParquetError::General("a column encoder stopped".into()))??
                .append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.rows += self.pending_rows as u64;
        self.row_groups += 1;
        self.pending_rows = 0;
        self.pending_bytes = 0;
        Ok(())
    }
}

/// Column `index` of every batch through `writer`.
fn encode(
    mut writer: ArrowColumnWriter,
    schema: &SchemaRef,
    index: usize,
    batches: &[RecordBatch],
) -> Result<ArrowColumnChunk> {
    let field = schema.field(index);
    for batch in batches {
        for leaf in compute_leaves(field, batch.column(index))? {
            writer.write(&leaf)?;
        }
    }
    writer.close()
}

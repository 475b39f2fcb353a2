//! A checkpoint part encoded as the dataset is: Parquet, one row group, the table's source
//! columns included. A large chunk whose columns already hold their final kind of values is
//! encoded once, at parse, on the cores that read it; assembly then splices its column chunks
//! into the dataset byte for byte ([`Encoded::splice`]) where every column has the dataset's type
//! there. Where one does not (another part or table widened it, the dataset keeps typed text as
//! text, a context value replaces it), the part is decoded back into a chunk ([`Encoded::decode`])
//! and conformed like a raw part ([`super::part`]), so a value comes out the same either way.
//! W1 of the benchmark: the raw parts (about 540 MB) were written, read back and encoded after
//! the last range was read; now no part is read back and the dataset is written at disk speed.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use dat_readers::typing::CellRules;
use dat_readers::{Chunk, TextValues, Values};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory;
use parquet::arrow::ArrowSchemaConverter;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescPtr, ColumnDescriptor, SchemaDescriptor};

use super::assemble::{source_arrays, source_fields, SOURCE_COLUMNS};
use super::conform::{conform, Losses};
use super::dataset_file::encode_column;
use super::encoding::properties;
use super::frame::arrow_type;

/// A chunk of this many rows or more is encoded at parse: a row group of its own is then of a
/// useful size (smaller chunks, of small files mostly, are gathered with their neighbours into
/// row groups at assembly, as raw parts).
pub(crate) const ENCODE_FROM_ROWS: usize = 16_384;

/// The same for a file read in ranges, whose every range ends with a smaller chunk: encoded too
/// (a row group of a few thousand rows), since gathering it at assembly stopped the splicing for
/// an encoding of its own between two encoded parts (W1: 32 times, 0.15 s of the end of the run).
pub(crate) const ENCODE_RANGE_FROM_ROWS: usize = 1_024;

/// Rows a part may hold: far more than a chunk does. A footer claiming more (a damaged file)
/// must not size the batch a decode allocates.
const MAX_ROWS: usize = 1 << 24;

/// Parquet's magic, at the start of an encoded part (a raw part starts with `DATPART`).
const MAGIC: &[u8; 4] = b"PAR1";

/// The table a part is from, as its source columns name it, and the rows from which its chunks
/// are encoded ([`ENCODE_FROM_ROWS`], or [`ENCODE_RANGE_FROM_ROWS`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    /// `_source_file`.
    pub(crate) file: &'a str,
    /// `_source_table`.
    pub(crate) table: &'a str,
    pub(crate) from_rows: usize,
}

/// Whether `chunk` is encoded at parse: it has `from_rows` rows, and each column holds
/// what the dataset would write for its type (native values, text typed as it was read, or
/// text whose type is text). A text column still to be typed keeps its text for assembly, so
/// such a chunk stays raw; so does one with a column named like a source column.
pub(crate) fn encodable(chunk: &Chunk, from_rows: usize) -> bool {
    chunk.rows() >= from_rows
        && chunk.names.iter().all(|name| !SOURCE_COLUMNS.contains(&name.as_str()))
        && chunk.columns.iter().all(|values| match values {
            Values::Text(text) => text.is_typed() || arrow_type(text.column_type()) == DataType::Utf8,
            _ => true,
        })
}

/// Encodes `chunk` (see [`encodable`]) with `source`'s columns as the part at `path`.
///
/// # Errors
/// The file cannot be written, or a column has no Arrow form (a bug: the stage fails).
pub(crate) fn write(path: &Path, chunk: Chunk, source: Source<'_>) -> std::result::Result<(), String> {
    let mut fields = Vec::with_capacity(chunk.names.len() + SOURCE_COLUMNS.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(fields.capacity());
    let mut losses = Losses::new();
    for (name, values) in chunk.names.into_iter().zip(chunk.columns) {
        let dtype = values.column_type();
        let array = conform(&name, values, dtype, &CellRules::default(), &mut losses).map_err(|e| e.to_string())?;
        fields.push(Field::new(name, arrow_type(dtype), true));
        arrays.push(array);
    }
    arrays.extend(source_arrays(source.file, source.table, &chunk.source_rows).map_err(|e| e.to_string())?);
    fields.extend(source_fields());
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
    let written = (|| -> Result<()> {
        // Written column by column as the dataset's row groups are, so that the source columns
        // get the statistics dat computes (see `source_stats`), which a splice then copies.
        let props = Arc::new(properties(&schema, vec![], std::slice::from_ref(&batch))?);
        // Unbuffered: the writer buffers small writes itself, and a page goes to the file as it
        // is (a buffer of ours copied every byte of every part once more).
        let file = File::create(path)?;
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema)?;
        let mut writer = SerializedFileWriter::new(file, parquet_schema.root_schema_ptr(), props)?;
        let columns = ArrowRowGroupWriterFactory::new(&writer, schema.clone()).create_column_writers(0)?;
        let mut group = writer.next_row_group()?;
        for (index, column) in columns.into_iter().enumerate() {
            encode_column(column, &schema, index, std::slice::from_ref(&batch))?.append_to_row_group(&mut group)?;
        }
        group.close()?;
        writer.close().map(|_| ())
    })();
    written.map_err(|e| format!("cannot write a checkpoint part: {e}"))
}

/// A part as stored: raw, or encoded.
pub(crate) enum Stored {
    Raw(Chunk),
    Encoded(Encoded),
}

/// Reads the part at `path`, of either kind (told by its first bytes).
///
/// # Errors
/// It cannot be read, or does not hold together.
pub(crate) fn open(path: &Path) -> Result<Stored> {
    let mut magic = [0u8; 4];
    let encoded = File::open(path)?.read_exact(&mut magic).is_ok() && &magic == MAGIC;
    if !encoded {
        return Ok(Stored::Raw(super::part::read(path)?));
    }
    let bytes = Bytes::from(std::fs::read(path)?);
    let metadata = ParquetMetaDataReader::new().parse_and_finish(&bytes)?;
    let rows = metadata.file_metadata().num_rows();
    // One row group of as many rows as the file says, and no more than a part holds: what the
    // splice copies and what the dataset's footer will count are then the same rows.
    let whole = metadata.num_row_groups() == 1 && metadata.row_group(0).num_rows() == rows;
    if !whole || usize::try_from(rows).map_or(true, |rows| rows > MAX_ROWS) {
        return Err(ParquetError::General(format!("{}: not one row group of up to {MAX_ROWS} rows", path.display())));
    }
    Ok(Stored::Encoded(Encoded { bytes, metadata: Box::new(metadata) }))
}

/// An encoded part, read whole (a chunk compressed: a few MB at most).
pub(crate) struct Encoded {
    bytes: Bytes,
    /// Boxed: the part is handed on by value, and the footer is most of it.
    metadata: Box<ParquetMetaData>,
}

/// An encoded part planned into the dataset: per dataset column, the part's column chunk that
/// goes there as it is, or `None` for nulls.
pub(crate) struct Splice {
    part: Encoded,
    pub(crate) columns: Vec<Option<usize>>,
}

impl Encoded {
    /// Its rows (checked by [`open`]: at most [`MAX_ROWS`]).
    pub(crate) fn rows(&self) -> usize {
        usize::try_from(self.metadata.file_metadata().num_rows()).unwrap_or(0)
    }

    /// The plan to splice it into a dataset whose columns are `dataset`: `own` names the part's
    /// column for each dataset column (`None`: the table lacks it). `None` unless every column
    /// the part gives has the dataset's type, so that its bytes are what encoding it there gives.
    pub(crate) fn splice(self, dataset: &SchemaDescriptor, own: &[Option<&str>]) -> std::result::Result<Splice, Self> {
        if own.len() != dataset.num_columns() {
            return Err(self);
        }
        let part = self.metadata.file_metadata().schema_descr();
        let find = |name: &str| (0..part.num_columns()).find(|&j| part.column(j).name() == name);
        let mut columns = Vec::with_capacity(own.len());
        for (i, name) in own.iter().enumerate() {
            let column = match name.map(|name| find(name).filter(|&j| same_kind(&dataset.column(i), &part.column(j)))) {
                None => None,
                Some(Some(j)) => Some(j),
                Some(None) => return Err(self),
            };
            columns.push(column);
        }
        Ok(Splice { part: self, columns })
    }

    /// The part as the chunk it was encoded from (its text columns as text, untyped).
    ///
    /// # Errors
    /// It does not decode, or holds a column dat does not write.
    pub(crate) fn decode(self) -> Result<Chunk> {
        let rows = self.rows();
        let reader = ParquetRecordBatchReaderBuilder::try_new(self.bytes)?.with_batch_size(rows.max(1)).build()?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        let [batch] = batches.as_slice() else {
            return Err(ParquetError::General(format!("an encoded part read as {} batches", batches.len())));
        };
        let mut chunk = Chunk { names: vec![], columns: vec![], source_rows: vec![] };
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            if field.name() == SOURCE_COLUMNS[2] {
                let rows = array.as_any().downcast_ref::<Int64Array>().ok_or_else(|| kind_error(field))?;
                let rows: std::result::Result<Vec<u64>, _> = rows.values().iter().map(|&r| u64::try_from(r)).collect();
                chunk.source_rows = rows.map_err(|_| kind_error(field))?;
            } else if !SOURCE_COLUMNS.contains(&field.name().as_str()) {
                chunk.names.push(field.name().clone());
                chunk.columns.push(values_of(array.as_ref()).ok_or_else(|| kind_error(field))?);
            }
        }
        Ok(chunk)
    }
}

impl Splice {
    /// Its rows.
    pub(crate) fn rows(&self) -> usize {
        self.part.rows()
    }

    /// The bytes the column chunks are read from.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.part.bytes
    }

    /// Part column `j` as a closed column of the dataset's column `descr` (same kind, another
    /// name maybe), its offsets those within the part (the row group writer moves them).
    ///
    /// # Errors
    /// `j` is not a column of the part.
    pub(crate) fn column(&self, j: usize, descr: ColumnDescPtr) -> Result<ColumnCloseResult> {
        let row_group = self.part.metadata.row_group(0);
        let chunk = row_group.columns().get(j).ok_or_else(|| ParquetError::General("no such column".into()))?;
        Ok(ColumnCloseResult {
            bytes_written: u64::try_from(chunk.compressed_size()).unwrap_or(0),
            rows_written: u64::try_from(row_group.num_rows()).unwrap_or(0),
            metadata: renamed(chunk, descr)?,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        })
    }
}

/// `chunk`'s metadata under the dataset's column `descr`: what the row group writer keeps of it.
fn renamed(chunk: &ColumnChunkMetaData, descr: ColumnDescPtr) -> Result<ColumnChunkMetaData> {
    let mut builder = ColumnChunkMetaData::builder(descr)
        .set_compression_codec(chunk.compression_codec())
        .set_encodings_mask(*chunk.encodings_mask())
        .set_total_compressed_size(chunk.compressed_size())
        .set_total_uncompressed_size(chunk.uncompressed_size())
        .set_num_values(chunk.num_values())
        .set_data_page_offset(chunk.data_page_offset())
        .set_dictionary_page_offset(chunk.dictionary_page_offset())
        .set_unencoded_byte_array_data_bytes(chunk.unencoded_byte_array_data_bytes())
        .set_repetition_level_histogram(chunk.repetition_level_histogram().cloned())
        .set_definition_level_histogram(chunk.definition_level_histogram().cloned());
    if let Some(statistics) = chunk.statistics() {
        builder = builder.set_statistics(statistics.clone());
    }
    if let Some(stats) = chunk.page_encoding_stats() {
        builder = builder.set_page_encoding_stats(stats.clone());
    }
    builder.build()
}

/// Whether a column chunk written as `b` can stand where the dataset writes `a`.
fn same_kind(a: &ColumnDescriptor, b: &ColumnDescriptor) -> bool {
    a.physical_type() == b.physical_type()
        && a.logical_type_ref() == b.logical_type_ref()
        && a.converted_type() == b.converted_type()
        && a.type_length() == b.type_length()
        && a.type_precision() == b.type_precision()
        && a.type_scale() == b.type_scale()
        && a.max_def_level() == b.max_def_level()
        && a.max_rep_level() == b.max_rep_level()
}

fn kind_error(field: &Field) -> ParquetError {
    ParquetError::General(format!("column `{}` of type {} in an encoded part", field.name(), field.data_type()))
}

/// An Arrow column of an encoded part as the values it was made from.
fn values_of(array: &dyn Array) -> Option<Values> {
    let any = array.as_any();
    Some(match array.data_type() {
        DataType::Int64 => Values::Int(any.downcast_ref::<Int64Array>()?.iter().collect()),
        DataType::Float64 => Values::Float(any.downcast_ref::<Float64Array>()?.iter().collect()),
        DataType::Boolean => Values::Bool(any.downcast_ref::<BooleanArray>()?.iter().collect()),
        DataType::Date32 => Values::Date(any.downcast_ref::<Date32Array>()?.iter().collect()),
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            Values::Datetime(any.downcast_ref::<TimestampMicrosecondArray>()?.iter().collect())
        }
        DataType::Decimal128(precision, scale) => Values::Decimal {
            values: any.downcast_ref::<Decimal128Array>()?.iter().collect(),
            precision: *precision,
            scale: u8::try_from(*scale).ok()?,
        },
        DataType::Binary => {
            Values::Binary(any.downcast_ref::<BinaryArray>()?.iter().map(|v| v.map(<[u8]>::to_vec)).collect())
        }
        DataType::Utf8 => {
            let cells = any.downcast_ref::<StringArray>()?;
            let mut text = String::new();
            let (mut ends, mut valid) = (Vec::with_capacity(cells.len()), Vec::with_capacity(cells.len()));
            for cell in cells.iter() {
                text.push_str(cell.unwrap_or_default());
                ends.push(text.len());
                valid.push(cell.is_some());
            }
            Values::Text(TextValues::from_raw(text, ends, valid).ok()?)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dat_contracts::ColumnType;
    use dat_readers::Cell;

    fn chunk(rows: usize) -> Chunk {
        let text: Vec<String> = (0..rows).map(|i| format!("LOT{:03}", i % 7)).collect();
        Chunk {
            names: vec!["n".into(), "x".into(), "lot".into(), "d".into()],
            columns: vec![
                Values::Int((0..rows).map(|i| (i % 5 != 0).then_some(i as i64)).collect()),
                Values::Float((0..rows).map(|i| Some(i as f64 / 3.0)).collect()),
                Values::Text(TextValues::from_cells(text.iter().map(|t| Cell::Typed(ColumnType::String, t.as_str())))),
                Values::Decimal { values: (0..rows).map(|i| Some(i as i128 * 7)).collect(), precision: 12, scale: 2 },
            ],
            source_rows: (2..rows as u64 + 2).collect(),
        }
    }

    #[test]
    fn an_encoded_part_decodes_to_the_values_it_was_written_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-00000.parquet");
        let original = chunk(ENCODE_FROM_ROWS + 3);
        assert!(encodable(&original, ENCODE_FROM_ROWS));
        write(&path, original.clone(), Source { file: "a.csv", table: "a.csv", from_rows: ENCODE_FROM_ROWS }).unwrap();
        let Stored::Encoded(part) = open(&path).unwrap() else { panic!("not read as encoded") };
        assert_eq!(part.rows(), ENCODE_FROM_ROWS + 3);
        let decoded = part.decode().unwrap();
        assert_eq!(decoded.names, original.names);
        assert_eq!(decoded.source_rows, original.source_rows);
        for (got, want) in decoded.columns.iter().zip(&original.columns) {
            match (got, want) {
                (Values::Text(got), Values::Text(want)) => assert!(got.iter().eq(want.iter())),
                (got, want) => assert_eq!(got, want),
            }
        }
    }

    #[test]
    fn a_part_is_spliced_only_where_each_of_its_columns_has_the_datasets_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-00000.parquet");
        write(&path, chunk(ENCODE_FROM_ROWS), Source { file: "a.csv", table: "a.csv", from_rows: ENCODE_FROM_ROWS })
            .unwrap();
        let open_part = || match open(&path).unwrap() {
            Stored::Encoded(part) => part,
            Stored::Raw(_) => panic!("not read as encoded"),
        };
        let dataset = |x: ColumnType| {
            let columns =
                [("N", ColumnType::Int), ("extra", ColumnType::Bool), ("x", x)].map(|(n, t)| (n.to_owned(), t));
            parquet::arrow::ArrowSchemaConverter::new().convert(&super::super::assemble::schema(&columns)).unwrap()
        };
        let own =
            [Some("n"), None, Some("x"), Some(SOURCE_COLUMNS[0]), Some(SOURCE_COLUMNS[1]), Some(SOURCE_COLUMNS[2])];
        let Ok(planned) = open_part().splice(&dataset(ColumnType::Float), &own) else { panic!("same types: spliced") };
        assert_eq!(planned.columns, [Some(0), None, Some(1), Some(4), Some(5), Some(6)]);
        let widened = ColumnType::Decimal { precision: 20, scale: 4 };
        assert!(open_part().splice(&dataset(widened), &own).is_err(), "a column of another type: decoded");
    }

    #[test]
    fn a_part_that_is_not_one_row_group_is_an_error_not_a_splice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-00000.parquet");
        let column: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10));
        let batch = RecordBatch::try_from_iter([("n", column)]).unwrap();
        let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(4)).build();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let error = open(&path).err().expect("three row groups refused");
        assert!(error.to_string().contains("not one row group"), "{error}");
    }

    #[test]
    fn small_chunks_and_text_still_to_be_typed_stay_raw() {
        assert!(!encodable(&chunk(ENCODE_FROM_ROWS - 1), ENCODE_FROM_ROWS));
        let mut typed_text = chunk(ENCODE_FROM_ROWS);
        typed_text.columns[2] =
            Values::Text(TextValues::from_cells((0..ENCODE_FROM_ROWS).map(|_| Cell::Infer("1.50"))));
        assert!(encodable(&typed_text, 1), "a float column typed as it was read goes in as its values");
        let mut untyped_text = chunk(ENCODE_FROM_ROWS);
        untyped_text.columns[2] =
            Values::Text(TextValues::from_cells((0..ENCODE_FROM_ROWS).map(|_| Cell::Typed(ColumnType::Float, "1,50"))));
        assert!(!encodable(&untyped_text, 1), "a float column whose values were not read keeps its text for assembly");
        let mut named = chunk(ENCODE_FROM_ROWS);
        named.names[0] = SOURCE_COLUMNS[2].to_owned();
        assert!(!encodable(&named, 1));
    }
}

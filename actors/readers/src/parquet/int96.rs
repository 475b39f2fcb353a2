//! INT96 timestamps (Impala, Hive, older Spark). Arrow reads them as nanoseconds with wrapping
//! arithmetic, so a date outside 1677–2262 (Spark's `9999-12-31` sentinel) would come out as
//! another, valid-looking date. Before the read, the INT96 columns are scanned once: the read
//! then asks Arrow for microseconds where nanoseconds would wrap, and for nanoseconds
//! otherwise. The unit is always given, since Arrow otherwise follows the file's embedded
//! `ARROW:schema`, which may choose seconds or milliseconds and cut digits uncounted.

use std::fs::File;
use std::sync::Arc;

use ::parquet::basic::Type as PhysicalType;
use ::parquet::column::reader::ColumnReaderImpl;
use ::parquet::data_type::Int96;
use ::parquet::file::metadata::ParquetMetaData;
use ::parquet::file::serialized_reader::SerializedPageReader;
use ::parquet::schema::types::SchemaDescriptor;
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};

/// Julian day of 1970-01-01, as INT96 counts days.
const JULIAN_DAY_OF_EPOCH: i128 = 2_440_588;
/// Values scanned at a time: bounds the scan's buffers whatever the column's size.
const SCAN_RECORDS: usize = 8_192;

/// What the scan found in a file's INT96 columns.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Some value does not fit nanoseconds in an i64: the file must be read in microseconds.
    pub(super) needs_micros: bool,
    /// Values with digits past the microsecond, by top-level column (counted as losses when
    /// the file is read in microseconds, where they are cut).
    pub(super) cut: Vec<(String, u64)>,
}

/// Scans every INT96 column of the file; `Ok(None)` when it has none (the common case: the scan
/// costs nothing then).
///
/// # Errors
/// A value beyond microseconds in an i64 (about ±292,000 years, only a hostile or corrupt file
/// has one: Arrow would wrap it silently), or a page that cannot be decoded.
pub(super) fn scan(file: &File, metadata: &ParquetMetaData) -> Result<Option<Scan>, String> {
    let descr = metadata.file_metadata().schema_descr();
    let int96: Vec<usize> =
        (0..descr.num_columns()).filter(|&c| descr.column(c).physical_type() == PhysicalType::INT96).collect();
    if int96.is_empty() {
        return Ok(None);
    }
    let disk = Arc::new(file.try_clone().map_err(|e| format!("cannot open the file: {e}"))?);
    let mut scan = Scan::default();
    let root = descr.root_schema().get_fields();
    for &c in &int96 {
        let name = root.get(descr.get_column_root_idx(c)).map_or_else(String::new, |f| f.name().to_owned());
        let mut cut = 0u64;
        for group in metadata.row_groups() {
            let chunk = group.column(c);
            let rows = usize::try_from(group.num_rows()).unwrap_or(0);
            let pages = SerializedPageReader::new(Arc::clone(&disk), chunk, rows, None)
                .map_err(|e| format!("INT96 column `{name}` cannot be read: {e}"))?;
            let mut reader: ColumnReaderImpl<::parquet::data_type::Int96Type> =
                ColumnReaderImpl::new(descr.column(c), Box::new(pages));
            let (mut def, mut rep, mut values) = (Vec::new(), Vec::new(), Vec::new());
            loop {
                def.clear();
                rep.clear();
                values.clear();
                let (records, ..) = reader
                    .read_records(SCAN_RECORDS, Some(&mut def), Some(&mut rep), &mut values)
                    .map_err(|e| format!("INT96 column `{name}` cannot be read: {e}"))?;
                for value in &values {
                    let (micros, nanos, sub_micro) = units(value);
                    if micros.is_none() {
                        return Err(format!(
                            "INT96 column `{name}` holds a timestamp beyond ±292,000 years, which cannot be read exactly"
                        ));
                    }
                    scan.needs_micros |= nanos.is_none();
                    cut += u64::from(sub_micro);
                }
                if records == 0 {
                    break;
                }
            }
        }
        scan.cut.push((name, cut));
    }
    Ok(Some(scan))
}

/// The value in microseconds and in nanoseconds since the epoch, as Arrow computes them, each
/// `None` where Arrow's i64 would wrap; and whether it has digits past the microsecond.
fn units(value: &Int96) -> (Option<i64>, Option<i64>, bool) {
    let days = i128::from(value.data().get(2).copied().unwrap_or(0) as i32) - JULIAN_DAY_OF_EPOCH;
    let [low, high] = [0, 1].map(|i| value.data().get(i).copied().unwrap_or(0));
    // As Arrow reads it: the two low words as one i64 (a hostile file may make it negative).
    let nanos = i128::from(((u64::from(high) << 32) | u64::from(low)) as i64);
    let micros = days * 86_400_000_000 + nanos / 1_000;
    let sub_micro = nanos % 1_000 != 0;
    let nanos = days * 86_400_000_000_000 + nanos;
    (i64::try_from(micros).ok(), i64::try_from(nanos).ok(), sub_micro)
}

/// The file's Arrow schema with every INT96 timestamp in `unit` (and the time zone Arrow gave
/// it), for `ArrowReaderOptions::with_schema`; whatever unit the file's embedded Arrow schema
/// hints is replaced. Arrow converts each Parquet leaf column to one Arrow leaf, in order, so
/// the leaves of each top-level field are matched to its Parquet columns in turn.
///
/// # Errors
/// When the two do not match (not expected from Arrow's own conversion).
pub(super) fn int96_schema(schema: &Schema, descr: &SchemaDescriptor, unit: TimeUnit) -> Result<Schema, String> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let mut leaves = (0..descr.num_columns())
            .filter(|&c| descr.get_column_root_idx(c) == i)
            .map(|c| descr.column(c).physical_type() == PhysicalType::INT96);
        let dtype = retype(field.data_type(), unit, &mut leaves);
        match dtype {
            Some(dtype) if leaves.next().is_none() => fields.push(field.as_ref().clone().with_data_type(dtype)),
            _ => return Err(format!("column `{}`: its INT96 timestamps cannot be located", field.name())),
        }
    }
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `dtype` with its INT96 leaves (`int96.next()` is true) as timestamps in `unit`; `None` when
/// `int96` has fewer leaves than `dtype`. An INT96 leaf is a timestamp, or a dictionary of
/// timestamps when the embedded Arrow schema hints one: either way it becomes a plain
/// timestamp, its time zone kept.
fn retype(dtype: &DataType, unit: TimeUnit, int96: &mut dyn Iterator<Item = bool>) -> Option<DataType> {
    let mut field = |f: &Field| -> Option<Arc<Field>> {
        Some(Arc::new(f.clone().with_data_type(retype(f.data_type(), unit, int96)?)))
    };
    Some(match dtype {
        DataType::List(f) => DataType::List(field(f)?),
        DataType::LargeList(f) => DataType::LargeList(field(f)?),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f)?, *n),
        DataType::Map(f, sorted) => DataType::Map(field(f)?, *sorted),
        DataType::Struct(fs) => DataType::Struct(fs.iter().map(|f| field(f)).collect::<Option<Fields>>()?),
        leaf if !int96.next()? => leaf.clone(),
        DataType::Dictionary(_, value) => match value.as_ref() {
            DataType::Timestamp(_, zone) => DataType::Timestamp(unit, zone.clone()),
            _ => DataType::Timestamp(unit, None),
        },
        DataType::Timestamp(_, zone) => DataType::Timestamp(unit, zone.clone()),
        _ => DataType::Timestamp(unit, None),
    })
}

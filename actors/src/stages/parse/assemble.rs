//! Assembling the dataset from the tables' checkpoints: the dataset's columns as `unite` made
//! them, every value brought to its column's type without loss (`conform`), nulls where a table
//! lacks a column, and `_source_file`, `_source_table`, `_source_row` on every row. Parts are
//! read and written one at a time, so memory stays bounded by a few chunks; an encoded part whose
//! columns have the dataset's types is spliced in as it is. The file carries its lineage in the
//! Parquet key-value metadata (`dat.lineage`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use dat_contracts::artifacts::SelectedTable;
pub(crate) use dat_contracts::text_layout::SOURCE_COLUMNS;
use dat_contracts::ColumnType;
use dat_readers::{Chunk, TextValues, Values};
use parquet::arrow::ArrowSchemaConverter;

use super::checkpoint::{written_part_file, TableCheckpoint};
use super::conform::{conform, Losses, ROUNDED};
use super::dataset_file::{DatasetFile, Written};
use super::encoded::{self, Splice, Stored};
use super::frame::arrow_type;
use super::recall::{Recall, Reread};
pub(crate) use super::unite::{unite, United};
use super::Watch;

/// The Parquet key-value metadata key holding a dataset's lineage.
pub(crate) const LINEAGE_KEY: &str = "dat.lineage";

/// A table ready to go in: where its checkpoint is and what it holds.
pub(crate) struct Parsed<'a> {
    pub(crate) table: &'a SelectedTable,
    pub(crate) dir: std::path::PathBuf,
    pub(crate) checkpoint: TableCheckpoint,
}

/// The dataset's schema, source columns last.
pub(crate) fn schema(columns: &[(String, ColumnType)]) -> SchemaRef {
    let mut fields: Vec<Field> =
        columns.iter().map(|(name, dtype)| Field::new(name, arrow_type(*dtype), true)).collect();
    fields.extend(source_fields());
    Arc::new(Schema::new(fields))
}

/// The source columns' fields: `_source_file`, `_source_table` (text), `_source_row` (int).
pub(crate) fn source_fields() -> [Field; 3] {
    [
        Field::new(SOURCE_COLUMNS[0], DataType::Utf8, false),
        Field::new(SOURCE_COLUMNS[1], DataType::Utf8, false),
        Field::new(SOURCE_COLUMNS[2], DataType::Int64, false),
    ]
}

/// The source columns of rows `source_rows` of `file`'s table `table` (see [`source_fields`]).
///
/// # Errors
/// A source row past 2^63, or text past what a string array holds (see [`repeated`]).
pub(crate) fn source_arrays(file: &str, table: &str, source_rows: &[u64]) -> Result<[ArrayRef; 3], AssembleError> {
    let height = source_rows.len();
    let rows: Result<Vec<i64>, _> = source_rows.iter().map(|&r| i64::try_from(r)).collect();
    let rows = rows.map_err(|_| arrow_schema::ArrowError::InvalidArgumentError("a source row past 2^63".into()))?;
    Ok([repeated(Some(file), height)?, repeated(Some(table), height)?, Arc::new(Int64Array::from(rows))])
}

/// Text columns with one value for all the rows of a table (a file's context values).
pub(crate) type Constants<'f> = &'f (dyn Fn(&Parsed<'_>) -> Vec<(String, Option<String>)> + Sync);

/// One part of a table, brought to the dataset's columns and types (from the table's own
/// columns as `sources` maps them), with its source columns; a column `constants` names holds
/// its value on every row.
fn conform_part(
    part: Chunk,
    (schema, columns): (&SchemaRef, &[(String, ColumnType)]),
    parsed: &Parsed<'_>,
    sources: &BTreeMap<String, String>,
    constants: Constants<'_>,
    mut recalled: BTreeMap<String, TextValues>,
    losses: &mut Losses,
) -> Result<RecordBatch, AssembleError> {
    let table = parsed.table;
    let height = part.rows();
    let constants = constants(parsed);
    let mut out: Vec<ArrayRef> = Vec::with_capacity(columns.len() + 3);
    // Each part column is handed to `conform` (and freed once its array is made); one that two
    // dataset columns take is cloned for all but the last.
    let wanted: Vec<Option<(&String, usize)>> = columns
        .iter()
        .map(|(name, _)| sources.get(name).and_then(|own| Some((own, part.names.iter().position(|n| n == own)?))))
        .collect();
    let mut uses = vec![0usize; part.columns.len()];
    for &(_, at) in wanted.iter().flatten() {
        if let Some(left) = uses.get_mut(at) {
            *left += 1;
        }
    }
    let mut values: Vec<Option<Values>> = part.columns.into_iter().map(Some).collect();
    for ((name, dtype), wanted) in columns.iter().zip(wanted) {
        let own = wanted.and_then(|(own, at)| {
            let left = uses.get_mut(at)?;
            *left = left.saturating_sub(1);
            let last = *left == 0;
            let slot = values.get_mut(at)?;
            Some((own, if last { slot.take()? } else { slot.clone()? }))
        });
        let column = match (constants.iter().find(|(n, _)| n == name), own) {
            (Some((_, value)), _) => repeated(value.as_deref(), height)?,
            (None, Some((own, values))) => {
                let rules = parsed.checkpoint.rules.get(own).copied().unwrap_or_default();
                match recalled.remove(own) {
                    Some(text) => conform(own, Values::Text(text), *dtype, &rules, losses)?,
                    None => conform(own, values, *dtype, &rules, losses)?,
                }
            }
            (None, None) => new_null_array(&arrow_type(*dtype), height),
        };
        out.push(column);
    }
    out.extend(source_arrays(table.file.as_str(), source_table(table), &part.source_rows)?);
    Ok(RecordBatch::try_new(schema.clone(), out)?)
}

/// What `_source_table` holds for `table`: its sheet, or its id.
pub(crate) fn source_table(table: &SelectedTable) -> &str {
    table.sheet.as_deref().unwrap_or(&table.table_id)
}

/// What goes into the dataset file next: a part conformed to its columns, or an encoded part
/// whose column chunks go in as they are.
enum Piece {
    Batch(RecordBatch),
    Splice(Splice),
}

impl Piece {
    fn rows(&self) -> usize {
        match self {
            Piece::Batch(batch) => batch.num_rows(),
            Piece::Splice(splice) => splice.rows(),
        }
    }
}

/// One text value (or null) on every row: the text copied by doubling and the offsets computed,
/// instead of one append per row (every row of every table has two of these).
///
/// # Errors
/// The copies would pass the 2 GiB a string array can address (a long value on a part of many
/// short rows).
fn repeated(value: Option<&str>, rows: usize) -> Result<ArrayRef, AssembleError> {
    Ok(match value {
        Some(v) if rows.checked_mul(v.len()).is_some_and(|n| i32::try_from(n).is_ok()) => {
            Arc::new(StringArray::new_repeated(v, rows))
        }
        Some(v) => {
            let reason = format!("{rows} copies of a {}-byte value pass 2 GiB in one part", v.len());
            return Err(AssembleError::Arrow(arrow_schema::ArrowError::InvalidArgumentError(reason)));
        }
        None => new_null_array(&DataType::Utf8, rows),
    })
}

/// Why a dataset could not be written: the stage fails, nothing half-written is left under the
/// final name.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AssembleError {
    #[error("cannot write the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("{0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("{0}")]
    Conform(#[from] super::conform::ConformError),
    /// A table's text could not be read again (see [`Recall`]).
    #[error("{table}: cannot read the text of its columns again: {reason}")]
    Recall { table: String, reason: String },
}

/// A table [`without_unrecallable`] left out: its index among the selected tables, the table,
/// and why.
pub(crate) type LeftOut<'a> = (usize, Parsed<'a>, String);

/// Runs `write` (uniting and writing the dataset) over `tables`, leaving out each table whose
/// text cannot be read again ([`AssembleError::Recall`]: its file changed or went away after it
/// was parsed) and running it again without it, so that one table's failure never fails the
/// others. Returns what `write` returned and the tables left out, each with why.
///
/// # Errors
/// Any other [`AssembleError`] of `write`.
pub(crate) fn without_unrecallable<'a, T>(
    tables: &mut Vec<(usize, Parsed<'a>)>,
    mut write: impl FnMut(&[&Parsed<'a>]) -> Result<T, AssembleError>,
) -> Result<(T, Vec<LeftOut<'a>>), AssembleError> {
    let mut dropped = Vec::new();
    loop {
        let all: Vec<&Parsed<'a>> = tables.iter().map(|(_, p)| p).collect();
        match write(&all) {
            Err(AssembleError::Recall { table, reason }) => {
                let Some(at) = tables.iter().position(|(_, p)| p.table.table_id == table) else {
                    return Err(AssembleError::Recall { table, reason });
                };
                let (index, parsed) = tables.remove(at);
                dropped.push((index, parsed, reason));
            }
            written => return written.map(|w| (w, dropped)),
        }
    }
}

/// Writes the tables as one Parquet file (to a temporary name, renamed when complete); returns
/// its rows and sha256 and what each table (by index in `tables`) could not keep exactly. A
/// second thread reads and conforms the next part while the file encodes the last, one part
/// ahead at most.
///
/// # Errors
/// [`AssembleError`]: the stage fails, nothing half-written is left under the final name.
pub(crate) fn write_dataset(
    tables: &[&Parsed<'_>],
    united: &United,
    path: &Path,
    watch: &Watch<'_>,
    constants: Constants<'_>,
    reread: &Reread<'_>,
    lineage: &str,
) -> Result<Option<(Written, Vec<Losses>)>, AssembleError> {
    let should_stop = watch.should_stop;
    let columns = united.columns.as_slice();
    let schema = schema(columns);
    let tmp = path.with_extension("parquet.tmp");
    let written = std::thread::scope(|scope| {
        let (parts, received) = std::sync::mpsc::sync_channel::<Result<Piece, AssembleError>>(1);
        let schema = &schema;
        let reader = scope.spawn(move || {
            let mut losses: Vec<Losses> = tables.iter().map(|_| Losses::new()).collect();
            let dataset = match ArrowSchemaConverter::new().convert(schema) {
                Ok(dataset) => dataset,
                Err(e) => {
                    let _ = parts.send(Err(e.into()));
                    return losses;
                }
            };
            for ((parsed, lost), sources) in tables.iter().zip(losses.iter_mut()).zip(&united.sources) {
                add_rounded(parsed, columns, sources, lost);
                let recalled = recalled_columns(parsed, columns, sources);
                // Encoded parts go in as they are unless a column's values are replaced.
                let splicing = recalled.is_empty() && constants(parsed).is_empty();
                let own: Vec<Option<&str>> = columns
                    .iter()
                    .map(|(name, _)| sources.get(name).map(String::as_str))
                    .chain(SOURCE_COLUMNS.iter().map(|name| Some(*name)))
                    .collect();
                let sent = std::thread::scope(|scope| {
                    let mut recall = (!recalled.is_empty()).then(|| Recall::start(scope, parsed, recalled, reread));
                    for index in 0..parsed.checkpoint.parts.len() {
                        let piece = encoded::open(&written_part_file(&parsed.dir, index))
                            .map_err(AssembleError::from)
                            .and_then(|stored| {
                                let part = match stored {
                                    Stored::Encoded(part) if splicing => match part.splice(&dataset, &own) {
                                        Ok(splice) => return Ok(Piece::Splice(splice)),
                                        Err(part) => part.decode()?,
                                    },
                                    Stored::Encoded(part) => part.decode()?,
                                    Stored::Raw(part) => part,
                                };
                                let text = match &mut recall {
                                    Some((recall, _)) => {
                                        recall.take(&part.source_rows).map_err(|e| recall_error(parsed, e))?
                                    }
                                    None => BTreeMap::new(),
                                };
                                conform_part(part, (schema, columns), parsed, sources, constants, text, lost)
                                    .map(Piece::Batch)
                            });
                        let failed = piece.is_err();
                        let rows = piece.as_ref().map_or(0, |p| p.rows() as u64);
                        if parts.send(piece).is_err() || failed || should_stop() {
                            return false;
                        }
                        (watch.on_rows)(rows);
                    }
                    let Some((recall, handle)) = recall else { return true };
                    let ended = recall.finish().and_then(|()| {
                        let read = handle.join().map_err(|_| "the second read failed".to_owned())?;
                        read.map(|_| ()).map_err(|e| e.to_string())
                    });
                    ended.map_err(|e| parts.send(Err(recall_error(parsed, e)))).is_ok()
                });
                if !sent {
                    return losses;
                }
            }
            losses
        });
        let rows = write_parts(&tmp, schema, received, should_stop, lineage);
        let losses = reader.join().unwrap_or_default();
        rows.map(|written| written.map(|written| (written, losses)))
    });
    match written {
        Ok(Some(done)) => {
            fs::rename(&tmp, path)?;
            Ok(Some(done))
        }
        other => {
            let _ = fs::remove_file(&tmp);
            other
        }
    }
}

/// The table's own columns that its parts hold typed from text but the dataset keeps as text:
/// their text is read again ([`Recall`]).
fn recalled_columns(
    parsed: &Parsed<'_>,
    columns: &[(String, ColumnType)],
    sources: &BTreeMap<String, String>,
) -> Vec<String> {
    columns
        .iter()
        .filter(|(_, dtype)| *dtype == ColumnType::String)
        .filter_map(|(name, _)| sources.get(name))
        .filter(|own| parsed.checkpoint.from_text.contains(*own))
        .cloned()
        .collect()
}

/// Counts the ints beyond ±2^53 the table's float columns hold rounded (where the dataset keeps
/// them as floats).
fn add_rounded(
    parsed: &Parsed<'_>,
    columns: &[(String, ColumnType)],
    sources: &BTreeMap<String, String>,
    lost: &mut Losses,
) {
    for (name, _) in columns.iter().filter(|(_, dtype)| *dtype == ColumnType::Float) {
        let Some(own) = sources.get(name) else { continue };
        if let Some(n) = parsed.checkpoint.rounded.get(own).filter(|n| **n > 0) {
            *lost.entry((own.clone(), ROUNDED)).or_default() += n;
        }
    }
}

fn recall_error(parsed: &Parsed<'_>, reason: String) -> AssembleError {
    AssembleError::Recall { table: parsed.table.table_id.clone(), reason }
}

/// Writes the conformed parts as they arrive; `None` when asked to stop.
fn write_parts(
    tmp: &Path,
    schema: &SchemaRef,
    parts: std::sync::mpsc::Receiver<Result<Piece, AssembleError>>,
    should_stop: &dyn Fn() -> bool,
    lineage: &str,
) -> Result<Option<Written>, AssembleError> {
    let mut file = DatasetFile::create(tmp, schema.clone(), vec![(LINEAGE_KEY.to_owned(), lineage.to_owned())])?;
    for part in parts {
        if should_stop() {
            return Ok(None);
        }
        match part? {
            Piece::Batch(batch) => file.write(batch)?,
            Piece::Splice(splice) => file.splice(&splice)?,
        }
    }
    if should_stop() {
        return Ok(None);
    }
    Ok(Some(file.finish()?))
}

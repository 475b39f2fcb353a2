//! Reading one whole table, format by format, into typed frames of at most `chunk_rows` rows.
//! Rows that cannot be read become rejects (line and reason) instead of failing the table;
//! a table fails only when the file itself cannot be read.
//!
//! Choices: a delimited row with more fields than the header is rejected (its cells cannot be
//! placed); a shorter row is kept with nulls. JSON readers live in `read_json`.

use dat_contracts::ColumnType;
use polars::prelude::*;
use serde_json::Value;

use super::chunk::{Cell, ChunkBuilder};
use super::read_json;
use super::text_chunk::TextChunk;
use crate::adapters::excel::{cell as excel_cell, read_sheet};
use crate::adapters::text::records::{open_records, TextRecords};
use crate::adapters::SourceFile;

/// A row that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reject {
    /// Line in the file (element number for JSON arrays, row for sheets).
    pub(crate) line: u64,
    /// Why.
    pub(crate) reason: String,
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The table cannot be read; it is `failed` in the report.
    #[error("{0}")]
    Failed(String),
    /// The consumer asked to stop (cancel, or its own failure).
    #[error("stopped")]
    Stopped,
}

impl From<PolarsError> for ReadError {
    fn from(e: PolarsError) -> Self {
        ReadError::Failed(format!("cannot build columns: {e}"))
    }
}

/// Receives each chunk: its frame and column types. Returning `Err` stops the read.
pub(crate) type Emit<'a> = dyn FnMut(DataFrame, Vec<ColumnType>) -> Result<(), ReadError> + 'a;

/// Reads the whole table, calling `emit` per chunk, and returns the rejected rows.
///
/// # Errors
/// [`ReadError::Failed`] when the file cannot be read, [`ReadError::Stopped`] from `emit`.
pub(crate) fn read_table(
    file: &SourceFile<'_>,
    adapter: &str,
    sheet: Option<&str>,
    chunk_rows: usize,
    emit: &mut Emit<'_>,
) -> Result<Vec<Reject>, ReadError> {
    match adapter {
        "csv" => read_delimited(file, chunk_rows, emit),
        "jsonl" => read_json::read_json_lines(file, chunk_rows, emit),
        "json" => read_json::read_json(file, chunk_rows, emit),
        "excel" => read_excel(file, sheet, chunk_rows, emit),
        "parquet" => read_parquet(file, chunk_rows, emit),
        other => Err(ReadError::Failed(format!("no reader for adapter `{other}`"))),
    }
}

/// Emits the builder's rows when it holds `chunk_rows` of them (or `force`, at the end).
pub(super) fn flush(
    builder: &mut ChunkBuilder,
    chunk_rows: usize,
    force: bool,
    emit: &mut Emit<'_>,
) -> Result<(), ReadError> {
    if builder.rows() >= chunk_rows || (force && builder.rows() > 0) {
        let (frame, types) = builder.take_frame()?;
        emit(frame, types)?;
    }
    Ok(())
}

/// Delimited text is read on two threads: a scanner splits records into chunks while this
/// thread types the previous chunk and hands it on, so one large file keeps two cores busy.
/// At most one finished chunk waits between them, which bounds memory.
fn read_delimited(file: &SourceFile<'_>, chunk_rows: usize, emit: &mut Emit<'_>) -> Result<Vec<Reject>, ReadError> {
    let prefer_tab = file.path.as_str().to_ascii_lowercase().contains(".tsv");
    let Some(table) = open_records(file, prefer_tab).map_err(|e| ReadError::Failed(e.to_string()))? else {
        return Ok(vec![]);
    };
    let (chunks, received) = std::sync::mpsc::sync_channel::<TextChunk>(1);
    std::thread::scope(|scope| {
        let scanner = scope.spawn(move || scan_records(table, chunk_rows, chunks));
        let mut written = Ok(());
        for chunk in received.iter() {
            written = chunk.into_frame().map_err(ReadError::from).and_then(|(frame, types)| emit(frame, types));
            if written.is_err() {
                break;
            }
        }
        drop(received); // a scanner still sending learns that nobody listens, and stops
        let scanned = scanner.join().unwrap_or_else(|_| Err(ReadError::Failed("the text reader failed".into())));
        written.and(scanned)
    })
}

/// Reads every record of `table` into chunks of `chunk_rows` rows sent to `chunks`; returns
/// the rejected records, or [`ReadError::Stopped`] when the receiver went away.
fn scan_records(
    mut table: TextRecords,
    chunk_rows: usize,
    chunks: std::sync::mpsc::SyncSender<TextChunk>,
) -> Result<Vec<Reject>, ReadError> {
    let width = table.names.len();
    let names = table.names.clone();
    let mut chunk = TextChunk::new(names.clone());
    let mut rejects = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match table.reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) if record.len() > width => {
                let line = record.position().map_or(0, |p| p.line());
                rejects.push(Reject { line, reason: format!("{} fields, the header has {width}", record.len()) });
            }
            Ok(true) => {
                chunk.push_record(&record);
                if chunk.rows() >= chunk_rows {
                    let full = std::mem::replace(&mut chunk, TextChunk::new(names.clone()));
                    chunks.send(full).map_err(|_| ReadError::Stopped)?;
                }
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => {
                    return Err(ReadError::Failed(format!("the file cannot be read to its end: {e}")))
                }
                _ => {
                    let line = e.position().map_or(0, |p| p.line());
                    rejects.push(Reject { line, reason: e.to_string() });
                }
            },
        }
    }
    if chunk.rows() > 0 {
        chunks.send(chunk).map_err(|_| ReadError::Stopped)?;
    }
    Ok(rejects)
}

fn read_excel(
    file: &SourceFile<'_>,
    sheet: Option<&str>,
    chunk_rows: usize,
    emit: &mut Emit<'_>,
) -> Result<Vec<Reject>, ReadError> {
    let cells = read_sheet(file, sheet).map_err(|e| ReadError::Failed(e.to_string()))?;
    let Some(layout) = cells.layout else { return Ok(vec![]) };
    let width = layout.names.len();
    let mut builder = ChunkBuilder::new(layout.names);
    for row in cells.range.rows().skip(layout.first_data) {
        if row.iter().all(|c| excel_cell::kind(c) == ColumnType::Null) {
            continue; // a blank row is no data
        }
        builder.push_row((0..width).map(|i| row.get(i).map_or(Cell::Null, excel_to_cell)));
        flush(&mut builder, chunk_rows, false, emit)?;
    }
    flush(&mut builder, chunk_rows, true, emit)?;
    Ok(vec![])
}

fn excel_to_cell(data: &calamine::Data) -> Cell {
    match (excel_cell::kind(data), excel_cell::to_json(data)) {
        (ColumnType::Null, _) | (_, Value::Null) => Cell::Null,
        (ColumnType::Int, Value::Number(n)) => n.as_i64().map_or(Cell::Null, Cell::Int),
        (ColumnType::Float, Value::Number(n)) => n.as_f64().map_or(Cell::Null, Cell::Float),
        (ColumnType::Bool, Value::Bool(b)) => Cell::Bool(b),
        // Dates come as ISO text; inference gives them back their type.
        (ColumnType::Date | ColumnType::Datetime, Value::String(s)) => Cell::Text(s),
        (_, Value::String(s)) => Cell::Str(s),
        (_, other) => Cell::Str(other.to_string()),
    }
}

/// Parquet keeps its own types: integers widen to i64, floats to f64, date-times to µs;
/// anything else (nested, binary, time) is kept as text when it can be, else noted and nulled.
fn read_parquet(file: &SourceFile<'_>, chunk_rows: usize, emit: &mut Emit<'_>) -> Result<Vec<Reject>, ReadError> {
    let open = || std::fs::File::open(file.disk).map_err(|e| ReadError::Failed(format!("cannot open: {e}")));
    let rows = ParquetReader::new(open()?)
        .num_rows()
        .map_err(|e| ReadError::Failed(format!("not a readable Parquet file: {e}")))?;
    let mut offset = 0;
    while offset < rows {
        let len = chunk_rows.min(rows - offset);
        let frame = ParquetReader::new(open()?)
            .with_slice(Some((offset, len)))
            .finish()
            .map_err(|e| ReadError::Failed(format!("rows {offset}..{}: {e}", offset + len)))?;
        let (frame, types) = normalize(frame)?;
        emit(frame, types)?;
        offset += len;
    }
    Ok(vec![])
}

/// Brings a frame read from Parquet to dat's column types.
fn normalize(frame: DataFrame) -> Result<(DataFrame, Vec<ColumnType>), ReadError> {
    let height = frame.height();
    let mut columns = Vec::with_capacity(frame.width());
    let mut types = Vec::with_capacity(frame.width());
    for column in frame.columns() {
        let dtype = match column.dtype() {
            d if d.is_integer() => ColumnType::Int,
            d if d.is_float() || d.is_decimal() => ColumnType::Float,
            DataType::Boolean => ColumnType::Bool,
            DataType::Date => ColumnType::Date,
            DataType::Datetime(..) => ColumnType::Datetime,
            _ => ColumnType::String,
        };
        let cast = column
            .cast(&super::chunk::polars_type(dtype))
            .map_err(|e| ReadError::Failed(format!("column `{}` cannot be read as {dtype:?}: {e}", column.name())))?;
        columns.push(cast);
        types.push(dtype);
    }
    Ok((DataFrame::new(height, columns)?, types))
}

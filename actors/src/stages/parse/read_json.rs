//! Reading JSON tables: JSONL line by line, and a `.json` document element by element, so
//! that neither is ever held in memory whole. Nested values are kept as JSON text; an element
//! or line that is not an object is rejected with its number as its line.

use std::fmt;
use std::io::{BufRead, BufReader};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::chunk::{Cell, ChunkBuilder};
use super::read::{flush, Emit, ReadError, Reject};
use crate::adapters::SourceFile;

/// A JSON value as a cell: nested values as their JSON text.
fn json_cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => n.as_f64().map_or(Cell::Null, Cell::Float),
        },
        Value::String(s) => Cell::Str(s),
        nested => Cell::Str(nested.to_string()),
    }
}

fn push_object(builder: &mut ChunkBuilder, object: Map<String, Value>) {
    let cells = object.into_iter().map(|(k, v)| (builder.column_index(&k), json_cell(v))).collect();
    builder.push_sparse(cells);
}

/// Reads a JSONL table.
///
/// # Errors
/// [`ReadError::Failed`] when the file cannot be read, [`ReadError::Stopped`] from `emit`.
pub(super) fn read_json_lines(
    file: &SourceFile<'_>,
    chunk_rows: usize,
    emit: &mut Emit<'_>,
) -> Result<Vec<Reject>, ReadError> {
    let reader = BufReader::new(file.open().map_err(|e| ReadError::Failed(format!("cannot open: {e}")))?);
    let mut builder = ChunkBuilder::new(vec![]);
    let mut rejects = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line_no = index as u64 + 1;
        let line = line.map_err(|e| ReadError::Failed(format!("line {line_no} cannot be read: {e}")))?;
        let text = line.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => {
                push_object(&mut builder, object);
                flush(&mut builder, chunk_rows, false, emit)?;
            }
            Ok(_) => rejects.push(Reject { line: line_no, reason: "not a JSON object".into() }),
            Err(e) => rejects.push(Reject { line: line_no, reason: e.to_string() }),
        }
    }
    flush(&mut builder, chunk_rows, true, emit)?;
    Ok(rejects)
}

/// Reads a `.json` table: one object is one row; an array's elements are rows, read one at a
/// time. Invalid JSON anywhere fails the table (its end cannot be found).
///
/// # Errors
/// [`ReadError::Failed`] when the file cannot be read or is not an object or an array,
/// [`ReadError::Stopped`] from `emit`.
pub(super) fn read_json(
    file: &SourceFile<'_>,
    chunk_rows: usize,
    emit: &mut Emit<'_>,
) -> Result<Vec<Reject>, ReadError> {
    let mut reader = BufReader::new(file.open().map_err(|e| ReadError::Failed(format!("cannot open: {e}")))?);
    if reader.fill_buf().is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF")) {
        reader.consume(3);
    }
    let mut rows = Rows { builder: ChunkBuilder::new(vec![]), rejects: vec![], chunk_rows, emit, stopped: None };
    let mut document = serde_json::Deserializer::from_reader(reader);
    let read = (&mut rows).deserialize(&mut document).and_then(|()| document.end());
    if let Some(stopped) = rows.stopped.take() {
        return Err(stopped);
    }
    read.map_err(|e| ReadError::Failed(format!("invalid JSON: {e}")))?;
    flush(&mut rows.builder, chunk_rows, true, rows.emit)?;
    Ok(rows.rejects)
}

/// The rows of a `.json` document as they are deserialized.
struct Rows<'e, 'f> {
    builder: ChunkBuilder,
    rejects: Vec<Reject>,
    chunk_rows: usize,
    emit: &'e mut Emit<'f>,
    /// Why `emit` stopped the read (the deserializer only carries its own error type).
    stopped: Option<ReadError>,
}

impl<'de> DeserializeSeed<'de> for &mut Rows<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Rows<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let object = Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
        push_object(&mut self.builder, object);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        while let Some(item) = items.next_element::<Value>()? {
            index += 1;
            let Value::Object(object) = item else {
                self.rejects.push(Reject { line: index, reason: "array element is not an object".into() });
                continue;
            };
            push_object(&mut self.builder, object);
            if let Err(e) = flush(&mut self.builder, self.chunk_rows, false, self.emit) {
                self.stopped = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

//! The first rows of a table, read by the adapter's own `read` through a sink that stops once
//! it has enough: what a preview shows is what parse reads. Cells are shown as JSON typed by
//! the column's type over the previewed rows (numbers as numbers, dates as their text, nested
//! values as the JSON they hold).

use dat_contracts::{ColumnType, TablePreview};
use serde_json::Value;

use crate::chunk::{Chunk, Values};
use crate::options::ReadOptions;
use crate::sink::{ReadError, Reject, Sink, Stop};
use crate::source::SourceFile;
use crate::typing::{
    as_f64, date_text, datetime_text, epoch_days, epoch_micros, parse_bool, parse_int, trim, CellRules, LocalDate,
};
use crate::Adapter;

/// Reads up to `rows` rows of `table` and the probe's row estimate for it.
///
/// # Errors
/// [`ReadError`] from the read (a stop after enough rows is not one).
pub(crate) fn by_reading<A: Adapter + ?Sized>(
    adapter: &A,
    file: &SourceFile<'_>,
    table: Option<&str>,
    rows: usize,
    options: &ReadOptions,
) -> Result<TablePreview, ReadError> {
    let table_id = dat_contracts::table_id(file.path.as_str(), table);
    let mut first = FirstRows { wanted: rows, names: vec![], rows: vec![] };
    if rows > 0 {
        let chunk_rows = rows.min(options.chunk_rows);
        match adapter.read(file, table, &options.clone().with_chunk_rows(chunk_rows), &mut first) {
            Ok(_) | Err(ReadError::Stopped) => {}
            Err(e) => return Err(e),
        }
    }
    let total_estimate =
        adapter.probe(file, options).into_iter().find(|t| t.table_id == table_id).and_then(|t| t.row_estimate);
    let width = first.names.len();
    for row in &mut first.rows {
        row.resize(width, Value::Null);
    }
    Ok(TablePreview { table_id, columns: first.names, rows: first.rows, total_estimate })
}

/// Keeps the first `wanted` rows as JSON, then stops the read.
struct FirstRows {
    wanted: usize,
    names: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Sink for FirstRows {
    fn chunk(&mut self, chunk: Chunk) -> Result<(), Stop> {
        let take = (self.wanted - self.rows.len()).min(chunk.rows());
        let start = self.rows.len();
        self.rows.extend((0..take).map(|_| Vec::with_capacity(chunk.names.len())));
        self.names = chunk.names;
        for values in &chunk.columns {
            for (row, cell) in self.rows[start..].iter_mut().zip(json_values(values)) {
                row.push(cell);
            }
        }
        if self.rows.len() >= self.wanted {
            return Err(Stop);
        }
        Ok(())
    }

    fn reject(&mut self, _: Reject) -> Result<(), Stop> {
        Ok(())
    }
}

/// A column's values as JSON: typed by the column's type, text as written.
fn json_values(values: &Values) -> Box<dyn Iterator<Item = Value> + '_> {
    fn all<T: Copy>(v: &[Option<T>], f: impl Fn(T) -> Value + 'static) -> Box<dyn Iterator<Item = Value> + '_> {
        Box::new(v.iter().map(move |x| x.map_or(Value::Null, &f)))
    }
    match values {
        Values::Text(text) => {
            let (dtype, rules) = (text.column_type(), text.rules());
            Box::new(text.iter().map(move |cell| cell.map_or(Value::Null, |c| text_value(c, dtype, &rules))))
        }
        Values::Int(v) => all(v, Value::from),
        Values::Float(v) => all(v, float),
        Values::Bool(v) => all(v, Value::Bool),
        Values::Date(v) => all(v, |d| crate::typing::date_text(d).map_or(Value::Null, Value::from)),
        Values::Datetime(v) => all(v, |t| crate::typing::datetime_text(t).map_or(Value::Null, Value::from)),
        Values::Decimal { values, scale, .. } => {
            let scale = *scale;
            Box::new(
                values.iter().map(move |v| v.map_or(Value::Null, |v| crate::typing::decimal_text(v, scale).into())),
            )
        }
        Values::Binary(v) => {
            Box::new(v.iter().map(|b| b.as_deref().map_or(Value::Null, |b| crate::typing::hex(b).into())))
        }
    }
}

/// One text cell of a column of type `dtype` as JSON, read by the column's `rules` as parse
/// reads it (a decimal comma as a number, a day-first date as its ISO text).
fn text_value(cell: &str, dtype: ColumnType, rules: &CellRules) -> Value {
    let typed = match dtype {
        ColumnType::Int => rules.with_number(cell, parse_int).map(Value::from),
        ColumnType::Float => rules.with_number(cell, as_f64).and_then(serde_json::Number::from_f64).map(Value::Number),
        ColumnType::Bool => parse_bool(trim(cell)).map(Value::Bool),
        // A `d/m/yyyy` date as the ISO date it is read as; ISO text as written.
        ColumnType::Date if LocalDate::parse(trim(cell)).is_some() => {
            rules.date(cell).and_then(|d| date_text(epoch_days(d))).map(Value::from)
        }
        ColumnType::Datetime if LocalDate::parse(trim(cell)).is_some() => {
            rules.datetime(cell).and_then(|t| datetime_text(epoch_micros(t))).map(Value::from)
        }
        ColumnType::Struct | ColumnType::List => serde_json::from_str(cell).ok(),
        _ => None,
    };
    typed.unwrap_or_else(|| Value::String(cell.to_owned()))
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

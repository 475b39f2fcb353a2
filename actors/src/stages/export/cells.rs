//! A batch of the dataset read back row by row, each value one of the few kinds a dat dataset
//! holds. The xlsx writer and the dataset preview walk rows this way; the text formats let polars
//! write whole columns instead.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use serde_json::Value;

/// How datetimes are written as text everywhere (csv, json, previews): ISO 8601 with a `T`, and
/// fractional seconds only when there are any (3, 6 or 9 digits).
pub(crate) const ISO_DATETIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// One value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    /// No value.
    Null,
    /// Whole number.
    Int(i64),
    /// Number with a fraction (NaN and infinities included).
    Float(f64),
    /// true/false.
    Bool(bool),
    /// Text.
    Text(&'a str),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00 (naive; a zoned datetime is read as UTC).
    Datetime(i64),
}

impl Cell<'_> {
    /// The value as JSON; dates and datetimes as ISO text, NaN and infinities as `null` (as the
    /// json export writes them).
    pub(crate) fn to_json(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(v) => Value::from(v),
            Cell::Float(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
            Cell::Bool(v) => Value::Bool(v),
            Cell::Text(v) => Value::from(v),
            Cell::Date(days) => date_from_days(days).map_or(Value::Null, |d| Value::from(d.to_string())),
            Cell::Datetime(us) => datetime_from_micros(us).map_or(Value::Null, |d| Value::from(iso_datetime(d))),
        }
    }
}

/// The date `days` after 1970-01-01 (`None` outside chrono's range).
pub(crate) fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(i64::from(days)))
}

/// The naive datetime `us` microseconds after the epoch (`None` outside chrono's range).
pub(crate) fn datetime_from_micros(us: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(us).map(|d| d.naive_utc())
}

/// A datetime as [`ISO_DATETIME`] text.
pub(crate) fn iso_datetime(value: NaiveDateTime) -> String {
    value.format(ISO_DATETIME).to_string()
}

/// One column's values in order, typed.
enum Values<'a> {
    Int(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    Float(Box<dyn Iterator<Item = Option<f64>> + 'a>),
    Bool(Box<dyn Iterator<Item = Option<bool>> + 'a>),
    Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
    Date(Box<dyn Iterator<Item = Option<i32>> + 'a>),
    Datetime(Box<dyn Iterator<Item = Option<i64>> + 'a>),
}

impl<'a> Values<'a> {
    fn next(&mut self) -> Cell<'a> {
        let cell = match self {
            Values::Int(it) => it.next().flatten().map(Cell::Int),
            Values::Float(it) => it.next().flatten().map(Cell::Float),
            Values::Bool(it) => it.next().flatten().map(Cell::Bool),
            Values::Text(it) => it.next().flatten().map(Cell::Text),
            Values::Date(it) => it.next().flatten().map(Cell::Date),
            Values::Datetime(it) => it.next().flatten().map(Cell::Datetime),
        };
        cell.unwrap_or(Cell::Null)
    }
}

/// Brings every column of `df` to one of the kinds of [`Cell`]: integers to `Int64` (an unsigned
/// 64-bit column, which may not fit, to text), floats to `Float64`, datetimes to naive
/// microseconds, anything else (text, nested values) to `String`.
///
/// # Errors
/// A column polars cannot cast to text.
pub(crate) fn normalize(df: &DataFrame) -> PolarsResult<Vec<Column>> {
    df.columns()
        .iter()
        .map(|column| {
            let dtype = column.dtype();
            let target = match dtype {
                DataType::Int64 | DataType::Float64 | DataType::Boolean | DataType::Date | DataType::String => {
                    return Ok(column.clone());
                }
                DataType::Datetime(TimeUnit::Microseconds, None) => return Ok(column.clone()),
                DataType::UInt64 => DataType::String,
                d if d.is_integer() => DataType::Int64,
                d if d.is_float() => DataType::Float64,
                DataType::Datetime(_, _) => DataType::Datetime(TimeUnit::Microseconds, None),
                _ => DataType::String,
            };
            column.strict_cast(&target)
        })
        .collect()
}

/// Rows of normalized columns (see [`normalize`]).
pub(crate) struct Rows<'a> {
    columns: Vec<Values<'a>>,
    remaining: usize,
}

impl<'a> Rows<'a> {
    /// Walks `columns`, which must come from [`normalize`].
    ///
    /// # Errors
    /// A column of another type.
    pub(crate) fn new(columns: &'a [Column]) -> PolarsResult<Self> {
        let remaining = columns.first().map_or(0, Column::len);
        let columns = columns
            .iter()
            .map(|c| {
                Ok(match c.dtype() {
                    DataType::Int64 => Values::Int(Box::new(c.i64()?.iter())),
                    DataType::Float64 => Values::Float(Box::new(c.f64()?.iter())),
                    DataType::Boolean => Values::Bool(Box::new(c.bool()?.iter())),
                    DataType::Date => Values::Date(Box::new(c.date()?.physical().iter())),
                    DataType::Datetime(_, _) => Values::Datetime(Box::new(c.datetime()?.physical().iter())),
                    _ => Values::Text(Box::new(c.str()?.iter())),
                })
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        Ok(Rows { columns, remaining })
    }

    /// The next row's values into `row` (cleared first); `false` when there are no more rows.
    pub(crate) fn next_into(&mut self, row: &mut Vec<Cell<'a>>) -> bool {
        row.clear();
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        row.extend(self.columns.iter_mut().map(Values::next));
        true
    }
}

/// Datetime columns of `df` as [`ISO_DATETIME`] text, the other columns as they are: how csv and
/// json carry datetimes (polars writes dates as ISO `YYYY-MM-DD` itself).
///
/// # Errors
/// A datetime polars cannot format.
pub(crate) fn iso_datetimes(df: DataFrame) -> PolarsResult<DataFrame> {
    if !df.columns().iter().any(|c| matches!(c.dtype(), DataType::Datetime(_, _))) {
        return Ok(df);
    }
    let height = df.height();
    let columns = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::Datetime(_, _) => Ok(c.datetime()?.to_string(ISO_DATETIME)?.into_column()),
            _ => Ok(c.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, columns)
}

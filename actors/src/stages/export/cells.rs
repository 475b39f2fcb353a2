//! A batch of the dataset read back row by row, each value one of the few kinds a dat dataset
//! holds. The xlsx writer and the dataset preview walk rows this way; the text formats let polars
//! write whole columns instead.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use serde_json::Value;

/// How datetimes are written as text everywhere (csv, json, previews): ISO 8601 with a `T`, and
/// fractional seconds only when there are any (3, 6 or 9 digits).
pub(crate) use dat_readers::typing::ISO_DATETIME;

/// One value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Datum<'a> {
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

impl Datum<'_> {
    /// The value as JSON; dates and datetimes as ISO text, NaN and infinities as `null` (as the
    /// json export writes them).
    pub(crate) fn to_json(self) -> Value {
        match self {
            Datum::Null => Value::Null,
            Datum::Int(v) => Value::from(v),
            Datum::Float(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
            Datum::Bool(v) => Value::Bool(v),
            Datum::Text(v) => Value::from(v),
            Datum::Date(days) => date_from_days(days).map_or(Value::Null, |d| Value::from(d.to_string())),
            Datum::Datetime(us) => datetime_from_micros(us).map_or(Value::Null, |d| Value::from(iso_datetime(d))),
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
enum ColumnCursor<'a> {
    Int(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    Float(Box<dyn Iterator<Item = Option<f64>> + 'a>),
    Bool(Box<dyn Iterator<Item = Option<bool>> + 'a>),
    Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
    Date(Box<dyn Iterator<Item = Option<i32>> + 'a>),
    Datetime(Box<dyn Iterator<Item = Option<i64>> + 'a>),
}

impl<'a> ColumnCursor<'a> {
    fn next(&mut self) -> Datum<'a> {
        let cell = match self {
            ColumnCursor::Int(it) => it.next().flatten().map(Datum::Int),
            ColumnCursor::Float(it) => it.next().flatten().map(Datum::Float),
            ColumnCursor::Bool(it) => it.next().flatten().map(Datum::Bool),
            ColumnCursor::Text(it) => it.next().flatten().map(Datum::Text),
            ColumnCursor::Date(it) => it.next().flatten().map(Datum::Date),
            ColumnCursor::Datetime(it) => it.next().flatten().map(Datum::Datetime),
        };
        cell.unwrap_or(Datum::Null)
    }
}

/// Brings every column of `df` to one of the kinds of [`Datum`]: integers to `Int64` (an unsigned
/// 64-bit column, which may not fit, to text), floats to `Float64`, datetimes to naive
/// microseconds, decimals and bytes to their exact text (see [`exact_text`]), anything else
/// (text, nested values as JSON text) to `String`.
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
                DataType::Decimal(..) | DataType::Binary => return exact_text(column),
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
pub(crate) struct DatasetRows<'a> {
    columns: Vec<ColumnCursor<'a>>,
    remaining: usize,
}

impl<'a> DatasetRows<'a> {
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
                    DataType::Int64 => ColumnCursor::Int(Box::new(c.i64()?.iter())),
                    DataType::Float64 => ColumnCursor::Float(Box::new(c.f64()?.iter())),
                    DataType::Boolean => ColumnCursor::Bool(Box::new(c.bool()?.iter())),
                    DataType::Date => ColumnCursor::Date(Box::new(c.date()?.physical().iter())),
                    DataType::Datetime(_, _) => ColumnCursor::Datetime(Box::new(c.datetime()?.physical().iter())),
                    _ => ColumnCursor::Text(Box::new(c.str()?.iter())),
                })
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        Ok(DatasetRows { columns, remaining })
    }

    /// The next row's values into `row` (cleared first); `false` when there are no more rows.
    pub(crate) fn next_into(&mut self, row: &mut Vec<Datum<'a>>) -> bool {
        row.clear();
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        row.extend(self.columns.iter_mut().map(ColumnCursor::next));
        true
    }
}

/// Decimals as their exact text (`12.30` keeps its scale; no float rounding) and bytes as
/// lowercase hex: how every export but Parquet carries them.
///
/// # Errors
/// A column that is neither.
pub(crate) fn exact_text(column: &Column) -> PolarsResult<Column> {
    let out: StringChunked = match column.dtype() {
        DataType::Decimal(_, scale) => {
            let scale = u8::try_from(*scale).unwrap_or(0);
            column
                .decimal()?
                .physical()
                .iter()
                .map(|v| v.map(|v| dat_readers::typing::decimal_text(v, scale)))
                .collect()
        }
        DataType::Binary => column.binary()?.iter().map(|v| v.map(dat_readers::typing::hex)).collect(),
        other => polars_bail!(ComputeError: "{other} is not written as exact text"),
    };
    Ok(out.with_name(column.name().clone()).into_column())
}

/// Datetime columns of `df` as [`ISO_DATETIME`] text, decimals and bytes as [`exact_text`], the
/// other columns as they are: how csv and json carry them (polars writes dates as ISO
/// `YYYY-MM-DD` itself).
///
/// # Errors
/// A datetime polars cannot format.
pub(crate) fn iso_datetimes(df: DataFrame) -> PolarsResult<DataFrame> {
    if !df
        .columns()
        .iter()
        .any(|c| matches!(c.dtype(), DataType::Datetime(_, _) | DataType::Decimal(..) | DataType::Binary))
    {
        return Ok(df);
    }
    let height = df.height();
    let columns = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::Datetime(_, _) => Ok(c.datetime()?.to_string(ISO_DATETIME)?.into_column()),
            DataType::Decimal(..) | DataType::Binary => exact_text(c),
            _ => Ok(c.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, columns)
}

//! A chunk as the polars frame of a checkpoint part: text-origin cells stay text (their column's
//! type is decided only when every table is read, see `conform`), native values keep their
//! type, and `_source_row` travels with every row.

use dat_contracts::ColumnType;
use dat_readers::{Chunk, Values};
use polars::prelude::*;

/// The column holding each row's position in its source.
pub(crate) const SOURCE_ROW: &str = "_source_row";

/// The polars type dat stores a final column type as.
pub(crate) fn polars_type(dtype: ColumnType) -> DataType {
    match dtype {
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Decimal { precision, scale } => DataType::Decimal(precision.into(), scale.into()),
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date => DataType::Date,
        ColumnType::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        ColumnType::Binary => DataType::Binary,
        ColumnType::String | ColumnType::Struct | ColumnType::List | ColumnType::Null => DataType::String,
    }
}

/// The chunk as a frame: its columns, then [`SOURCE_ROW`].
///
/// # Errors
/// A polars error (a bug: every column has the chunk's length and a valid type).
pub(crate) fn part(chunk: &Chunk) -> PolarsResult<DataFrame> {
    let height = chunk.rows();
    let mut columns: Vec<Column> = Vec::with_capacity(chunk.columns.len() + 1);
    for (name, values) in chunk.names.iter().zip(&chunk.columns) {
        columns.push(series(name, values)?.into());
    }
    columns
        .push(Series::new(SOURCE_ROW.into(), chunk.source_rows.iter().map(|&r| r as i64).collect::<Vec<_>>()).into());
    DataFrame::new(height, columns)
}

fn series(name: &str, values: &Values) -> PolarsResult<Series> {
    let name: PlSmallStr = name.into();
    Ok(match values {
        Values::Text(text) => {
            let column: StringChunked = text.iter().collect();
            column.with_name(name).into_series()
        }
        Values::Int(v) => Series::new(name, v),
        Values::Float(v) => Series::new(name, v),
        Values::Bool(v) => Series::new(name, v),
        Values::Date(v) => Series::new(name, v).cast(&DataType::Date)?,
        Values::Datetime(v) => Series::new(name, v).cast(&polars_type(ColumnType::Datetime))?,
        Values::Decimal { values, precision, scale } => {
            let column: Int128Chunked = values.iter().copied().collect();
            column.with_name(name).into_decimal(usize::from(*precision), usize::from(*scale))?.into_series()
        }
        Values::Binary(v) => {
            let column: BinaryChunked = v.iter().map(|b| b.as_deref()).collect();
            column.with_name(name).into_series()
        }
    })
}

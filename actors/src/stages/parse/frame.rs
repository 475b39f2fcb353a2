//! How dat's column types are stored in polars (and so in Parquet), and the column that carries
//! each row's place in its source.

use dat_contracts::ColumnType;
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

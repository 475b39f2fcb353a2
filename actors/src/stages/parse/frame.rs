//! How dat's column types are stored in Arrow (and so in Parquet).

use arrow_schema::{DataType, TimeUnit};
use dat_contracts::ColumnType;

/// The Arrow type dat stores a final column type as. Decimals are at most 38 digits
/// ([`ColumnType::MAX_DECIMAL_PRECISION`]), which `Decimal128` holds; their scale never exceeds
/// their precision.
pub(crate) fn arrow_type(dtype: ColumnType) -> DataType {
    match dtype {
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Decimal { precision, scale } => {
            DataType::Decimal128(precision, i8::try_from(scale).unwrap_or(i8::MAX))
        }
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::Binary => DataType::Binary,
        ColumnType::String | ColumnType::Struct | ColumnType::List | ColumnType::Null => DataType::Utf8,
    }
}

//! Arrow types (as the Parquet reader decodes a file's schema) mapped to dat's column types.
//! The probe and the read use this one mapping, so a table the probe calls `available` is one
//! the read can convert, column by column.
//!
//! Mapping: signed ints and unsigned ints up to 32 bits `int`; uint64 `int` when every value
//! fits an i64, else its digits as `string`; float16/32/64 `float`; decimals of at most 38
//! digits with a scale ≥ 0 `decimal(p,s)`, other decimals their exact text as `string`; dates
//! `date`; timestamps (int96 included) and date64 `datetime` (microseconds; zoned values as the
//! UTC instant); strings `string`; UUIDs their 8-4-4-4-12 text as `string`; other binary
//! `binary`; times of day, durations and intervals their ISO text as `string`; lists `list`
//! and structs/maps `struct`, as JSON text; dictionaries their values' type.

use arrow_schema::{DataType, Field};
use dat_contracts::{ColumnInfo, ColumnType};

/// The column type of `field`, or why dat cannot read it.
///
/// # Errors
/// The reason, naming the Arrow type, for a type no reader rule covers.
pub(super) fn column_type(field: &Field, uuid: bool) -> Result<ColumnType, String> {
    data_type(field.data_type(), uuid)
        .ok_or_else(|| format!("column `{}` has type {}, which dat cannot read", field.name(), field.data_type()))
}

fn data_type(dtype: &DataType, uuid: bool) -> Option<ColumnType> {
    use DataType as D;
    Some(match dtype {
        D::Null => ColumnType::Null,
        D::Boolean => ColumnType::Bool,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 => ColumnType::Int,
        // The values decide: see the module doc.
        D::UInt64 => ColumnType::Int,
        D::Float16 | D::Float32 | D::Float64 => ColumnType::Float,
        D::Decimal32(p, s) | D::Decimal64(p, s) | D::Decimal128(p, s) | D::Decimal256(p, s) => decimal(*p, *s),
        D::Date32 => ColumnType::Date,
        D::Date64 | D::Timestamp(..) => ColumnType::Datetime,
        D::Time32(_) | D::Time64(_) | D::Duration(_) | D::Interval(_) => ColumnType::String,
        D::Utf8 | D::LargeUtf8 | D::Utf8View => ColumnType::String,
        D::FixedSizeBinary(16) if uuid => ColumnType::String,
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => ColumnType::Binary,
        D::List(_) | D::LargeList(_) | D::FixedSizeList(..) | D::ListView(_) | D::LargeListView(_) => ColumnType::List,
        D::Struct(_) | D::Map(..) => ColumnType::Struct,
        D::Dictionary(_, values) => data_type(values, uuid)?,
        D::Union(..) | D::RunEndEncoded(..) => return None,
    })
}

/// A decimal's column type: exact as a decimal up to 38 digits with a scale ≥ 0, else its text.
pub(super) fn decimal(precision: u8, scale: i8) -> ColumnType {
    match u8::try_from(scale) {
        Ok(scale) if (1..=ColumnType::MAX_DECIMAL_PRECISION).contains(&precision) && scale <= precision => {
            ColumnType::Decimal { precision, scale }
        }
        _ => ColumnType::String,
    }
}

/// The probe's column for `field`.
pub(super) fn column(field: &Field, uuid: bool) -> Result<ColumnInfo, String> {
    Ok(ColumnInfo::new(field.name().clone(), column_type(field, uuid)?, field.is_nullable()))
}

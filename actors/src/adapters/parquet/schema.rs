//! Parquet schema fields as table columns: the footer's types mapped to [`ColumnType`] without
//! reading any data page.

use ::parquet::basic::{ConvertedType, LogicalType, Repetition, Type as Physical};
use ::parquet::schema::types::Type;
use dat_contracts::{ColumnInfo, ColumnType};

/// One top-level schema field as a column; nullable unless the field is `REQUIRED`.
pub(super) fn column(field: &Type) -> ColumnInfo {
    let info = field.get_basic_info();
    let repetition = info.has_repetition().then(|| info.repetition());
    ColumnInfo {
        name: field.name().to_owned(),
        dtype: column_type(field),
        nullable: repetition != Some(Repetition::REQUIRED),
    }
}

/// Mapping: repeated fields and LIST groups are `list`; other groups (MAP included) `struct`;
/// integers `int`; float, double, decimal and float16 `float`; DATE `date`; TIMESTAMP and
/// INT96 `datetime`; byte arrays annotated as text (STRING, ENUM, JSON, UUID) `string`; times
/// of day and intervals `string`; other byte arrays `binary`.
fn column_type(field: &Type) -> ColumnType {
    let info = field.get_basic_info();
    let logical = info.logical_type_ref();
    let converted = info.converted_type();
    if info.has_repetition() && info.repetition() == Repetition::REPEATED {
        return ColumnType::List;
    }
    if field.is_group() {
        return match (logical, converted) {
            (Some(LogicalType::List), _) | (_, ConvertedType::LIST) => ColumnType::List,
            _ => ColumnType::Struct,
        };
    }
    match logical {
        Some(LogicalType::String | LogicalType::Enum | LogicalType::Json | LogicalType::Uuid) => {
            return ColumnType::String
        }
        Some(LogicalType::Decimal { .. } | LogicalType::Float16) => return ColumnType::Float,
        Some(LogicalType::Date) => return ColumnType::Date,
        Some(LogicalType::Timestamp { .. }) => return ColumnType::Datetime,
        Some(LogicalType::Time { .. }) => return ColumnType::String,
        Some(LogicalType::Integer { .. }) => return ColumnType::Int,
        _ => {}
    }
    match converted {
        ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON => return ColumnType::String,
        ConvertedType::DECIMAL => return ColumnType::Float,
        ConvertedType::DATE => return ColumnType::Date,
        ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS => return ColumnType::Datetime,
        ConvertedType::TIME_MILLIS | ConvertedType::TIME_MICROS | ConvertedType::INTERVAL => return ColumnType::String,
        _ => {}
    }
    match field.get_physical_type() {
        Physical::BOOLEAN => ColumnType::Bool,
        Physical::INT32 | Physical::INT64 => ColumnType::Int,
        Physical::INT96 => ColumnType::Datetime,
        Physical::FLOAT | Physical::DOUBLE => ColumnType::Float,
        _ => ColumnType::Binary,
    }
}

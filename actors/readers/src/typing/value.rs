//! A cell read once: its type and, for the typed kinds, its value, from one pass over its text.
//! Readers type each cell as they gather it (see [`crate::chunk`]), so no later step parses the
//! same text again.

use dat_contracts::ColumnType;

use super::number_kind;

/// One cell's type with its value (the value as the column's final type reads it: days since
/// 1970-01-01 for dates, microseconds for date-times).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellValue {
    /// Empty, blank or a null token.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// A finite 64-bit float.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00.
    Datetime(i64),
    /// Anything else: the cell is text.
    Text,
}

impl CellValue {
    /// The type this cell gives its column.
    pub fn column_type(self) -> ColumnType {
        match self {
            CellValue::Null => ColumnType::Null,
            CellValue::Int(_) => ColumnType::Int,
            CellValue::Float(_) => ColumnType::Float,
            CellValue::Bool(_) => ColumnType::Bool,
            CellValue::Date(_) => ColumnType::Date,
            CellValue::Datetime(_) => ColumnType::Datetime,
            CellValue::Text => ColumnType::String,
        }
    }
}

/// A plain number cell (already trimmed) with its value, by the rules of
/// [`super::parse_int`] and [`super::parse_float`]; `None` when it is no number.
pub fn number_value(cell: &str) -> Option<CellValue> {
    match number_kind(cell)? {
        ColumnType::Int => int_value(cell).map(CellValue::Int),
        _ => cell.parse::<f64>().ok().filter(|f| f.is_finite()).map(CellValue::Float),
    }
}

/// The value of a cell [`number_kind`] found to be an int: up to 18 digits are summed as they
/// come (they always fit an `i64`), longer ones parsed.
fn int_value(cell: &str) -> Option<i64> {
    let b = cell.as_bytes();
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.len() > 18 {
        return cell.parse().ok();
    }
    let magnitude = digits.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_the_standard_parsers_read_them() {
        for cell in ["0", "-0", "+5", "42", "-17", "123456789012345678", "9223372036854775807", "-9223372036854775808"]
        {
            assert_eq!(number_value(cell), Some(CellValue::Int(cell.parse().unwrap())), "{cell}");
        }
        for cell in ["1.5", "-0.25", "5.", ".5", "1e5", "2.5E-3", "+1.0e+2", "0.0", "-150.0000"] {
            assert_eq!(number_value(cell), Some(CellValue::Float(cell.parse().unwrap())), "{cell}");
        }
        for cell in ["007", "9223372036854775808", "1e999", "1,5", "inf", "-", "."] {
            assert_eq!(number_value(cell), None, "{cell}");
        }
    }
}

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
/// [`super::parse_int`] and [`super::parse_float`]; `None` when it is no number. One pass over
/// the bytes: an int of up to 18 digits is summed as it is scanned, and a float of up to 15
/// significant digits without an exponent is one exact division (Clinger's fast path: both
/// operands are exact doubles, so the quotient is the correctly rounded value the standard
/// parser gives); anything else goes to the standard parsers.
// Inlined into its callers: returned through memory, its value was read back as one 16-byte
// load from two smaller stores, a stall that cost more than the parse (W1: 5% of the CPU).
#[inline(always)]
pub fn number_value(cell: &str) -> Option<CellValue> {
    let b = cell.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let negative = b.first() == Some(&b'-');
    let (mut at, mut mantissa) = (start, 0u64);
    while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        at += 1;
    }
    let whole = at - start;
    if at == b.len() && (1..=18).contains(&whole) && !(whole > 1 && b[start] == b'0') {
        // `007` is a code (no leading zero), found by number_kind below.
        let value = mantissa as i64; // at most 18 digits: below 10^18 < i64::MAX
        return Some(CellValue::Int(if negative { -value } else { value }));
    }
    if b.get(at) == Some(&b'.') && whole <= 15 && !(whole > 1 && b[start] == b'0') {
        let point = at;
        at += 1;
        while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            at += 1;
        }
        let fraction = at - point - 1;
        let digits = whole + fraction;
        if at == b.len() && digits <= 15 && digits > 0 && fraction <= 22 {
            let value = mantissa as f64 / POWERS_OF_TEN[fraction];
            return Some(CellValue::Float(if negative { -value } else { value }));
        }
    }
    match number_kind(cell)? {
        ColumnType::Int => cell.parse().ok().map(CellValue::Int),
        _ => cell.parse::<f64>().ok().filter(|f| f.is_finite()).map(CellValue::Float),
    }
}

/// 10^0 to 10^22, every one exact in a double.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

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
        for cell in ["007", "00.5", "9223372036854775808", "1e999", "1,5", "inf", "-", ".", "1.2.3", "1.5x"] {
            assert_eq!(number_value(cell), None, "{cell}");
        }
    }

    /// The fast path gives the standard parser's float, bit for bit, on every shape it takes.
    #[test]
    fn floats_read_fast_are_the_standard_parsers_floats() {
        let mut next = crate::testing::random(0x2545_f491_4f6c_dd1d);
        for _ in 0..200_000 {
            let digits = (next() % 15 + 1) as usize;
            let text: String = (0..digits).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            let point = (next() as usize) % (digits + 1);
            let (whole, fraction) = text.split_at(point);
            let whole = whole.trim_start_matches('0');
            let sign = if next().is_multiple_of(2) { "-" } else { "" };
            let cell = format!("{sign}{}.{fraction}", if whole.is_empty() { "0" } else { whole });
            let expected: f64 = cell.parse().unwrap();
            assert_eq!(number_value(&cell), Some(CellValue::Float(expected)), "{cell}");
            if let Some(CellValue::Float(f)) = number_value(&cell) {
                assert_eq!(f.to_bits(), expected.to_bits(), "{cell}: the sign of zero too");
            }
        }
    }
}

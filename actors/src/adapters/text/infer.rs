//! Column types of delimited text, inferred from the cells of the sample, and the typed JSON
//! value of a cell once its column's type is known (the preview uses the same rules).
//!
//! Choices SPEC leaves open: cells are trimmed before they are typed; besides empty cells, the
//! tokens in [`NULL_TOKENS`] are nulls; numbers with a leading zero (`007`) or beyond `i64`
//! stay text (codes and ids keep their digits); `1,5` and `1,000` are text, not numbers.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use dat_contracts::ColumnType;
use serde_json::{Number, Value};

/// Cell values read as null, besides empty and blank cells. `NA` and `None` are not among them:
/// they are real values too often (a country code, a category).
pub(super) const NULL_TOKENS: &[&str] = &["null", "NULL", "Null", "NaN", "nan", "N/A", "n/a", "#N/A"];

/// Whether a cell is null: empty, blank or one of [`NULL_TOKENS`].
pub(crate) fn is_null(cell: &str) -> bool {
    let cell = cell.trim();
    cell.is_empty() || NULL_TOKENS.contains(&cell)
}

/// The type of one cell on its own: `Null` for empty, blank and null-token cells, `String`
/// for anything that is not a number, bool, date or date-time. Columns combine these with
/// [`TypeTally`](crate::adapters::cells::TypeTally), the rules every adapter shares.
pub(crate) fn cell_type(cell: &str) -> ColumnType {
    let cell = cell.trim();
    if is_null(cell) {
        ColumnType::Null
    } else if parse_int(cell).is_some() {
        ColumnType::Int
    } else if parse_float(cell).is_some() {
        ColumnType::Float
    } else if parse_bool(cell).is_some() {
        ColumnType::Bool
    } else if is_date(cell) {
        ColumnType::Date
    } else if is_datetime(cell) {
        ColumnType::Datetime
    } else {
        ColumnType::String
    }
}

/// The JSON value of a cell in a column of type `dtype`: numbers and bools typed, dates and
/// text as strings, nulls as `null`. A cell that does not fit its column's type (seen past the
/// sample the type came from) is kept as a string rather than lost.
pub(super) fn typed_value(cell: Option<&str>, dtype: ColumnType) -> Value {
    let Some(cell) = cell.filter(|c| !is_null(c)) else {
        return Value::Null;
    };
    let trimmed = cell.trim();
    let typed = match dtype {
        ColumnType::Int => parse_int(trimmed).map(Value::from),
        ColumnType::Float => parse_float(trimmed)
            // Whole numbers in a float column are floats (`2` → `2.0`); i64 → f64 may round.
            .or_else(|| parse_int(trimmed).map(|i| i as f64))
            .and_then(Number::from_f64)
            .map(Value::Number),
        ColumnType::Bool => parse_bool(trimmed).map(Value::Bool),
        ColumnType::Date | ColumnType::Datetime => Some(Value::String(trimmed.to_owned())),
        _ => None,
    };
    typed.unwrap_or_else(|| Value::String(cell.to_owned()))
}

/// Digits with an optional sign, no leading zero (`0` itself is fine), within `i64`.
pub(crate) fn parse_int(cell: &str) -> Option<i64> {
    let digits = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || has_leading_zero(digits) {
        return None;
    }
    cell.parse().ok()
}

/// `[sign] digits [. digits] [e [sign] digits]` with a `.` or an exponent, finite; no
/// `inf`/`nan` spellings and no leading zero in the whole part.
pub(crate) fn parse_float(cell: &str) -> Option<f64> {
    let body = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (body.get(..at)?, Some(body.get(at + 1..)?)),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    let mantissa_ok = all_digits(whole)
        && fraction.is_none_or(all_digits)
        && whole.len() + fraction.map_or(0, str::len) > 0
        && !has_leading_zero(whole);
    if !(exponent_ok && mantissa_ok && (fraction.is_some() || exponent.is_some())) {
        return None;
    }
    cell.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `007`: a code, not a number.
fn has_leading_zero(digits: &str) -> bool {
    digits.len() > 1 && digits.starts_with('0')
}

pub(crate) fn parse_bool(cell: &str) -> Option<bool> {
    if cell.eq_ignore_ascii_case("true") {
        Some(true)
    } else if cell.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Exactly `YYYY-MM-DD`, a real calendar day.
fn is_date(cell: &str) -> bool {
    parse_date(cell).is_some()
}

/// The day of an exact `YYYY-MM-DD` cell.
pub(crate) fn parse_date(cell: &str) -> Option<NaiveDate> {
    if !(has_date_shape(cell) && cell.len() == 10) {
        return None;
    }
    NaiveDate::parse_from_str(cell, "%Y-%m-%d").ok()
}

/// Naive layouts accepted besides RFC 3339 (which needs an offset or `Z`).
const NAIVE_DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
];

/// ISO 8601 date-time: `2026-11-20T08:00:00Z`, `2026-11-20 08:00:00`, with optional fraction
/// and offset.
fn is_datetime(cell: &str) -> bool {
    parse_datetime(cell).is_some()
}

/// The instant of an ISO 8601 date-time cell, in UTC when it carries an offset (naive
/// date-times are taken as they are: dat does not guess time zones).
pub(crate) fn parse_datetime(cell: &str) -> Option<NaiveDateTime> {
    if !has_date_shape(cell) || !matches!(cell.as_bytes().get(10), Some(b'T' | b' ')) {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(cell) {
        return Some(at.naive_utc());
    }
    NAIVE_DATETIME_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(cell, f).ok()).or_else(|| {
        NAIVE_DATETIME_FORMATS.iter().find_map(|f| DateTime::parse_from_str(cell, f).ok().map(|d| d.naive_utc()))
    })
}

/// Starts with `dddd-dd-dd`.
fn has_date_shape(cell: &str) -> bool {
    let b = cell.as_bytes();
    b.len() >= 10
        && b.iter().take(10).enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

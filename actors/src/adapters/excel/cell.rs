//! One workbook cell as the probe types it and the preview shows it. Dates become ISO 8601
//! strings here, so no caller has to know Excel's serial day numbers.

use calamine::{Data, ExcelDateTime};
use dat_contracts::ColumnType;
use serde_json::Value;

/// The type of one cell; `Null` for empty cells, blank strings and error cells (`#DIV/0!`…).
///
/// Excel stores every number as a float, so a whole number reads as `Int`; a date with no time
/// of day reads as `Date`, one with a time as `Datetime`; times of day and durations are text.
pub(crate) fn kind(cell: &Data) -> ColumnType {
    match cell {
        Data::Int(_) => ColumnType::Int,
        Data::Float(f) if is_whole(*f) => ColumnType::Int,
        Data::Float(_) => ColumnType::Float,
        Data::Bool(_) => ColumnType::Bool,
        Data::String(s) if s.trim().is_empty() => ColumnType::Null,
        Data::String(_) | Data::DurationIso(_) => ColumnType::String,
        Data::DateTime(dt) => match Serial::of(dt) {
            Serial::Date(_) => ColumnType::Date,
            Serial::Datetime(_) => ColumnType::Datetime,
            Serial::Text(_) => ColumnType::String,
        },
        Data::DateTimeIso(s) => iso_kind(s),
        Data::Error(_) | Data::Empty => ColumnType::Null,
    }
}

/// The cell as a preview value: numbers and booleans as JSON ones, dates as ISO 8601 strings,
/// empty and error cells as `null`.
pub(crate) fn to_json(cell: &Data) -> Value {
    match cell {
        Data::Int(i) => Value::from(*i),
        // A whole float within ±2^53 is exactly an i64, so the cast loses nothing.
        Data::Float(f) if is_whole(*f) => Value::from(*f as i64),
        Data::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Data::Bool(b) => Value::Bool(*b),
        Data::String(s) if s.trim().is_empty() => Value::Null,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Value::String(s.clone()),
        Data::DateTime(dt) => Value::String(Serial::of(dt).into_text()),
        Data::Error(_) | Data::Empty => Value::Null,
    }
}

/// The cell as a column name (header row).
pub(super) fn header_text(cell: &Data) -> String {
    match to_json(cell) {
        Value::String(s) => s,
        Value::Null => match cell {
            Data::Error(e) => e.to_string(),
            _ => String::new(),
        },
        other => other.to_string(),
    }
}

/// Whether the cell holds an Excel error value (`#DIV/0!`, `#N/A`…).
pub(super) fn is_error(cell: &Data) -> bool {
    matches!(cell, Data::Error(_))
}

/// Whole and small enough (|f| < 2^53) to be an exact integer.
fn is_whole(f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0
}

/// Type of an ISO 8601 text date (ODS): `2024-01-31` is a date, with a `T` a datetime, anything
/// else (a time, a duration) text.
fn iso_kind(s: &str) -> ColumnType {
    let date_part = s.split('T').next().unwrap_or(s);
    let looks_like_date = date_part.len() == 10 && date_part.as_bytes().get(4) == Some(&b'-');
    match (looks_like_date, s.contains('T')) {
        (true, false) => ColumnType::Date,
        (true, true) => ColumnType::Datetime,
        _ => ColumnType::String,
    }
}

/// An Excel serial date rendered as ISO 8601, and what kind of value it is.
enum Serial {
    Date(String),
    Datetime(String),
    /// A time of day (`12:30:00`) or a duration (`PT5400S`): no calendar date.
    Text(String),
}

impl Serial {
    fn of(dt: &ExcelDateTime) -> Serial {
        let value = dt.as_f64();
        if dt.is_duration() {
            return Serial::Text(format!("PT{}S", seconds_text(value * 86_400.0)));
        }
        let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
        let time = if ms > 0 { format!("{h:02}:{mi:02}:{s:02}.{ms:03}") } else { format!("{h:02}:{mi:02}:{s:02}") };
        if (0.0..1.0).contains(&value) {
            Serial::Text(time)
        } else if (h, mi, s, ms) == (0, 0, 0, 0) {
            Serial::Date(format!("{y:04}-{mo:02}-{d:02}"))
        } else {
            Serial::Datetime(format!("{y:04}-{mo:02}-{d:02}T{time}"))
        }
    }

    fn into_text(self) -> String {
        match self {
            Serial::Date(s) | Serial::Datetime(s) | Serial::Text(s) => s,
        }
    }
}

/// Seconds with at most millisecond precision and no trailing zeros.
fn seconds_text(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType;

    use super::*;

    fn date(serial: f64) -> Data {
        Data::DateTime(ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, false))
    }

    #[test]
    fn whole_floats_are_ints_and_dates_are_iso_8601() {
        assert_eq!(kind(&Data::Float(3.0)), ColumnType::Int);
        assert_eq!(to_json(&Data::Float(3.0)), Value::from(3));
        assert_eq!(kind(&Data::Float(3.5)), ColumnType::Float);
        assert_eq!((kind(&date(45306.0)), to_json(&date(45306.0))), (ColumnType::Date, Value::from("2024-01-15")));
        assert_eq!(to_json(&date(45306.5)), Value::from("2024-01-15T12:00:00"));
        assert_eq!(kind(&date(45306.5)), ColumnType::Datetime);
        assert_eq!(to_json(&date(0.25)), Value::from("06:00:00"));
    }

    #[test]
    fn iso_text_dates_and_durations() {
        assert_eq!(kind(&Data::DateTimeIso("2024-01-15".into())), ColumnType::Date);
        assert_eq!(kind(&Data::DateTimeIso("2024-01-15T10:00:00".into())), ColumnType::Datetime);
        assert_eq!(kind(&Data::DateTimeIso("10:00:00".into())), ColumnType::String);
        let duration = Data::DateTime(ExcelDateTime::new(1.0625, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(to_json(&duration), Value::from("PT91800S"));
    }
}

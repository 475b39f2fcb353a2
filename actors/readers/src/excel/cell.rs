//! One workbook cell as a typed text cell: the type the shared typing rules give it and its
//! text. Dates become ISO 8601 text here, so no caller has to know Excel's serial day numbers.
//!
//! Excel stores every number as a float, so a whole number reads as `int` (its digits); another
//! number as `float` (the shortest text that reads back as the same float); a date with no time
//! of day as `date`, one with a time as `datetime`; times of day and durations as text; blank
//! strings and error cells (`#DIV/0!`…) as null (error cells are counted by the reader); a
//! date-formatted number outside Excel's dates as its number (counted by the reader too).

use calamine::{Data, DataRef, ExcelDateTime, ExcelDateTimeType};
use dat_contracts::ColumnType;

use crate::typing::push_float_text;

/// A cell's type, its text appended to `out`; `Null` appends nothing.
pub(super) fn typed_text(cell: &DataRef<'_>, out: &mut String) -> ColumnType {
    use std::fmt::Write;
    match cell {
        DataRef::Int(i) => {
            let _ = write!(out, "{i}");
            ColumnType::Int
        }
        DataRef::Float(f) if is_whole(*f) => {
            // A whole float within ±2^53 is exactly an i64, so the cast loses nothing.
            let _ = write!(out, "{}", *f as i64);
            ColumnType::Int
        }
        DataRef::Float(f) => {
            push_float_text(*f, out);
            if f.is_finite() {
                ColumnType::Float
            } else {
                ColumnType::String
            }
        }
        DataRef::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            ColumnType::Bool
        }
        DataRef::String(s) if s.trim().is_empty() => ColumnType::Null,
        DataRef::SharedString(s) if s.trim().is_empty() => ColumnType::Null,
        DataRef::String(s) | DataRef::DurationIso(s) => {
            out.push_str(s);
            ColumnType::String
        }
        DataRef::SharedString(s) => {
            out.push_str(s);
            ColumnType::String
        }
        DataRef::DateTime(dt) if is_out_of_date_range(cell) => typed_text(&DataRef::Float(dt.as_f64()), out),
        DataRef::DateTime(dt) => serial(dt, out),
        DataRef::DateTimeIso(s) => {
            out.push_str(s);
            iso_kind(s)
        }
        DataRef::Error(_) | DataRef::Empty => ColumnType::Null,
    }
}

/// Whether the cell holds an Excel error value (`#DIV/0!`, `#N/A`…).
pub(super) fn is_error(cell: &DataRef<'_>) -> bool {
    matches!(cell, DataRef::Error(_))
}

/// Whether the cell holds nothing: empty, or a string of blanks (which reads as null).
pub(super) fn is_blank(cell: &DataRef<'_>) -> bool {
    match cell {
        DataRef::Empty => true,
        DataRef::String(s) => s.trim().is_empty(),
        DataRef::SharedString(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Whether the cell is a date-formatted number that is no date Excel can show: before its
/// epoch (negative), from 10000-01-01 on, or not finite. calamine would clamp it to 1899-12-31
/// or 9999-12-31, changing the value; [`typed_text`] keeps it as its number instead, and the
/// reader counts it in a warning, as it counts error cells. Durations have no such range.
pub(super) fn is_out_of_date_range(cell: &DataRef<'_>) -> bool {
    let DataRef::DateTime(dt) = cell else { return false };
    if dt.is_duration() {
        return false;
    }
    let value = dt.as_f64();
    // calamine does not expose the epoch; a date equal to the same serial on the 1904 epoch is on it.
    let is_1904 = *dt == ExcelDateTime::new(value, ExcelDateTimeType::DateTime, true);
    // One past the serial of 9999-12-31 on each epoch.
    let end = if is_1904 { 2_957_004.0 } else { 2_958_466.0 };
    !(0.0..end).contains(&value)
}

/// The cell as a column name (header row): its text, or an error's own spelling.
pub(super) fn header_text(cell: &DataRef<'_>) -> String {
    if let DataRef::Error(e) = cell {
        return e.to_string();
    }
    let mut out = String::new();
    typed_text(cell, &mut out);
    out
}

/// A cell of a sheet read whole, as the streamed readers give cells.
pub(super) fn as_ref(cell: &Data) -> DataRef<'_> {
    match cell {
        Data::Int(i) => DataRef::Int(*i),
        Data::Float(f) => DataRef::Float(*f),
        Data::String(s) => DataRef::SharedString(s),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(dt) => DataRef::DateTime(*dt),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
        Data::Empty => DataRef::Empty,
    }
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

/// An Excel serial date as ISO 8601 text appended to `out`, and its type: a calendar day is a
/// `date`, a day with a time a `datetime`, a time of day (`12:30:00`) or a duration
/// (`PT5400S`) text.
fn serial(dt: &ExcelDateTime, out: &mut String) -> ColumnType {
    use std::fmt::Write;
    let value = dt.as_f64();
    if dt.is_duration() {
        let _ = write!(out, "PT{}S", seconds_text(value * 86_400.0));
        return ColumnType::String;
    }
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let time_of_day = (0.0..1.0).contains(&value);
    let midnight = (h, mi, s, ms) == (0, 0, 0, 0);
    if !time_of_day {
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
        if midnight {
            return ColumnType::Date;
        }
        out.push('T');
    }
    let _ = write!(out, "{h:02}:{mi:02}:{s:02}");
    if ms > 0 {
        let _ = write!(out, ".{ms:03}");
    }
    if time_of_day {
        ColumnType::String
    } else {
        ColumnType::Datetime
    }
}

/// Seconds with at most millisecond precision and no trailing zeros.
fn seconds_text(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(cell: DataRef<'_>) -> (ColumnType, String) {
        let mut out = String::new();
        (typed_text(&cell, &mut out), out)
    }

    fn date(serial: f64) -> DataRef<'static> {
        DataRef::DateTime(ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, false))
    }

    #[test]
    fn whole_floats_are_ints_and_dates_are_iso_8601() {
        assert_eq!(typed(DataRef::Float(3.0)), (ColumnType::Int, "3".into()));
        assert_eq!(typed(DataRef::Float(3.5)), (ColumnType::Float, "3.5".into()));
        assert_eq!(typed(date(45306.0)), (ColumnType::Date, "2024-01-15".into()));
        assert_eq!(typed(date(45306.5)), (ColumnType::Datetime, "2024-01-15T12:00:00".into()));
        assert_eq!(typed(date(0.25)), (ColumnType::String, "06:00:00".into()));
        assert_eq!(typed(DataRef::SharedString("  ")), (ColumnType::Null, String::new()));
    }

    #[test]
    fn date_formatted_numbers_outside_excels_dates_stay_numbers() {
        assert_eq!(typed(date(2_958_465.5)), (ColumnType::Datetime, "9999-12-31T12:00:00".into()));
        assert_eq!(typed(date(2_958_466.0)), (ColumnType::Int, "2958466".into()));
        assert_eq!(typed(date(-5.25)), (ColumnType::Float, "-5.25".into()));
        let on_1904 = |serial| DataRef::DateTime(ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, true));
        assert_eq!(typed(on_1904(2_957_003.0)), (ColumnType::Date, "9999-12-31".into()));
        assert_eq!(typed(on_1904(2_957_004.0)), (ColumnType::Int, "2957004".into()));
        assert!(is_out_of_date_range(&on_1904(2_957_004.0)) && !is_out_of_date_range(&date(2_957_004.0)));
    }

    #[test]
    fn iso_text_dates_and_durations() {
        assert_eq!(typed(DataRef::DateTimeIso("2024-01-15".into())).0, ColumnType::Date);
        assert_eq!(typed(DataRef::DateTimeIso("2024-01-15T10:00:00".into())).0, ColumnType::Datetime);
        assert_eq!(typed(DataRef::DateTimeIso("10:00:00".into())).0, ColumnType::String);
        let duration = DataRef::DateTime(ExcelDateTime::new(1.0625, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(typed(duration).1, "PT91800S");
    }
}

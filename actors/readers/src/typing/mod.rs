//! The one set of cell rules every adapter, the probe and parse share: which text is null, what
//! is a number, a bool, a date or a date-time; how a column's type widens cell by cell and file
//! by file; and how column names are made unique. Probe and parse call these same functions, so
//! they agree on every column's type.
//!
//! Choices SPEC leaves open: cells are trimmed before they are typed; besides empty cells, the
//! tokens in [`NULL_TOKENS`] are nulls; numbers with a leading zero (`007`) or beyond `i64`
//! stay text (codes and ids keep their digits), and so do floats past f64's range (infinite, or
//! a non-zero number that would read as 0) and floats with digits no f64 keeps (see
//! [`float_is_exact`]); `1,5` and `1,000` are text, not numbers, unless the file is sniffed (or said) to write numbers that way.
//! Widening ([`widen`]): int + float → float, date + datetime → datetime, decimals widen to hold
//! both (int counts as `decimal(19,0)`) up to 38 digits, anything else → string. A column that
//! ends as string keeps every cell's text as it was read ([`text`] writes native values).
//!
//! Files written in a local convention (decimal comma, thousands separators, `d/m/yyyy`
//! dates) are read by [`CellRules`] decided per file and per folder column; the functions here
//! are the plain rules.
//!
//! # Layout
//! - this module: the plain cell rules; `exact`: whether an f64 holds a float cell exactly;
//!   `rules`: a column's rules in a local convention;
//!   `tally`: a column's type cell by cell, widening, names; `text`: how native values are
//!   written as text; `value`: a cell's type and value read in one pass.

mod exact;
mod rules;
mod tally;
mod text;
mod value;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use dat_contracts::ColumnType;

pub use exact::float_is_exact;
pub use rules::{plain_number, CellRules, DatePolicy, LocalDate};
pub use tally::{unique_names, widen, TypeTally};
pub use text::{date_text, datetime_text, decimal_text, float_text, hex, push_float_text, ISO_DATETIME};
pub use value::{number_value, CellValue};

/// Cell values read as null, besides empty and blank cells. `NA` and `None` are not among them:
/// they are real values too often (a country code, a category).
pub const NULL_TOKENS: &[&str] = &["null", "NULL", "Null", "NaN", "nan", "N/A", "n/a", "#N/A"];

/// `cell` without surrounding whitespace. Most cells have none: they are returned at once,
/// without the scan `str::trim` makes (this runs for every cell parse reads).
pub fn trim(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => cell,
        _ => cell.trim(),
    }
}

/// Whether a cell is null: empty, blank or one of [`NULL_TOKENS`].
pub fn is_null(cell: &str) -> bool {
    let cell = trim(cell);
    // Every token is 3 or 4 bytes and starts with `n`, `N` or `#`: most cells are ruled out
    // before any comparison.
    cell.is_empty()
        || (cell.len() <= 4 && matches!(cell.as_bytes()[0], b'n' | b'N' | b'#') && NULL_TOKENS.contains(&cell))
}

/// The type of one cell on its own: `Null` for empty, blank and null-token cells, `String`
/// for anything that is not a number, bool, date or date-time. Columns combine these with
/// [`TypeTally`], the rules every adapter shares.
pub fn cell_type(cell: &str) -> ColumnType {
    let cell = trim(cell);
    if is_null(cell) {
        ColumnType::Null
    } else if let Some(number) = number_kind(cell) {
        number
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

/// Digits with an optional sign, no leading zero (`0` itself is fine), within `i64`.
pub fn parse_int(cell: &str) -> Option<i64> {
    (number_kind(cell)? == ColumnType::Int).then(|| cell.parse().ok()).flatten()
}

/// `[sign] digits [. digits] [e [sign] digits]` with a `.` or an exponent, finite; no
/// `inf`/`nan` spellings and no leading zero in the whole part.
pub fn parse_float(cell: &str) -> Option<f64> {
    (number_kind(cell)? == ColumnType::Float).then(|| cell.parse::<f64>().ok()).flatten().filter(|f| f.is_finite())
}

/// Whether `cell` is an int (`Int`), a float (`Float`) or no number (`None`), by the rules of
/// [`parse_int`] and [`parse_float`], in one pass over its bytes: it runs for every cell parse
/// reads, so it parses a number only when the shape alone cannot tell (an int of 19 digits or
/// more may not fit `i64`; a float with an exponent or 300 digits may not be finite).
pub fn number_kind(cell: &str) -> Option<ColumnType> {
    let b = cell.as_bytes();
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut at = digits_from(start);
    let whole = at - start;
    if whole > 1 && b[start] == b'0' {
        return None; // `007`: a code, not a number
    }
    if at == b.len() {
        return match whole {
            0 => None,
            1..=18 => Some(ColumnType::Int),
            _ => cell.parse::<i64>().is_ok().then_some(ColumnType::Int),
        };
    }
    let mut fraction = None;
    if b[at] == b'.' {
        let end = digits_from(at + 1);
        fraction = Some(end - at - 1);
        at = end;
    }
    if whole + fraction.unwrap_or(0) == 0 {
        return None;
    }
    let mut exponent = false;
    if matches!(b.get(at), Some(b'e' | b'E')) {
        let digits = at + 1 + usize::from(matches!(b.get(at + 1), Some(b'+' | b'-')));
        at = digits_from(digits);
        if at == digits {
            return None;
        }
        exponent = true;
    }
    if at != b.len() || (fraction.is_none() && !exponent) {
        return None;
    }
    // Only an exponent or hundreds of digits can leave f64's range: past its top (infinite) or
    // below its least subnormal, where a non-zero number reads as 0. Either is no float: the
    // cell keeps its text rather than being stored as infinity or zero.
    let digits = whole + fraction.unwrap_or(0);
    if exponent || digits >= 300 {
        let zero = !b.iter().take_while(|c| !matches!(c, b'e' | b'E')).any(|c| matches!(c, b'1'..=b'9'));
        let finite = cell.parse::<f64>().ok().filter(|f| f.is_finite() && (*f != 0.0 || zero));
        return finite.filter(|_| float_is_exact(cell)).map(|_| ColumnType::Float);
    }
    // More digits than an f64 always keeps (15): a float only when its f64 is exactly the number
    // written (`0.30000000000000004` is, `0.12345678901234567` is not); otherwise the cell keeps
    // its text, as a JSON number does, rather than being rounded silently.
    if digits > 15 && !float_is_exact(cell) {
        return None;
    }
    Some(ColumnType::Float)
}

pub fn parse_bool(cell: &str) -> Option<bool> {
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
pub fn parse_date(cell: &str) -> Option<NaiveDate> {
    let (year, month, day) = exact_date_fields(cell)?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The value of a run of ASCII digits (the caller checked them; at most 9).
fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0, |v, d| v * 10 + u32::from(d.wrapping_sub(b'0')))
}

/// (year, month, day) of a cell that starts `dddd-dd-dd`, `None` when it does not. The eight
/// digits are tested together (each byte less `'0'` is at most 9), which lets the compiler
/// check them side by side instead of one branch per byte as a per-byte loop did (W1: the
/// dates of two columns read cost 4% of the CPU).
fn date_fields(cell: &str) -> Option<(i32, u32, u32)> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, ..] = cell.as_bytes() else { return None };
    let d = [y0, y1, y2, y3, m0, m1, d0, d1].map(|c| c.wrapping_sub(b'0'));
    if d.iter().fold(0, |any, v| any | u8::from(*v > 9)) != 0 {
        return None;
    }
    let [y0, y1, y2, y3, m0, m1, d0, d1] = d.map(u32::from);
    Some(((y0 * 1000 + y1 * 100 + y2 * 10 + y3) as i32, m0 * 10 + m1, d0 * 10 + d1))
}

/// [`date_fields`] of a cell that is exactly `dddd-dd-dd`, nothing after it.
fn exact_date_fields(cell: &str) -> Option<(i32, u32, u32)> {
    date_fields(cell).filter(|_| cell.len() == 10)
}

/// Days since 1970-01-01 of an exact `YYYY-MM-DD` cell: the value [`parse_date`] and
/// [`epoch_days`] give, computed from the fields.
pub fn iso_days(cell: &str) -> Option<i32> {
    let (year, month, day) = exact_date_fields(cell)?;
    civil_days(year, month, day)
}

/// Microseconds since 1970-01-01T00:00:00 of an ISO 8601 date-time cell: the value
/// [`parse_datetime`] and [`epoch_micros`] give (the common naive spellings computed from the
/// fields, the others through [`parse_datetime`]).
pub fn iso_micros(cell: &str) -> Option<i64> {
    let (year, month, day) = date_fields(cell)?;
    if !matches!(cell.as_bytes().get(10), Some(b'T' | b' ')) {
        return None;
    }
    match cell.as_bytes().get(11..).and_then(time_fields) {
        Some((hour, minute, second, nano)) => {
            let day = civil_days(year, month, day)?;
            let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
            Some(i64::from(day) * 86_400_000_000 + seconds * 1_000_000 + i64::from(nano / 1000))
        }
        None => parse_datetime(cell).map(epoch_micros),
    }
}

/// The day count of a calendar day (proleptic Gregorian), `None` when the day does not exist.
fn civil_days(year: i32, month: u32, day: u32) -> Option<i32> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    // Days from civil (H. Hinnant): years counted from March, in 400-year eras.
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * i64::from((month + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i32::try_from(era * 146_097 + day_of_era - 719_468).ok()
}

/// `HH:MM` or `HH:MM:SS` with an optional `.` and 1 to 9 digits, the whole of `b`, as (hour,
/// minute, second, nanosecond): the naive date-times nearly every file writes, read without
/// chrono's format parser (which gives the same value, and still reads every other spelling).
/// Seconds of 60 (leap seconds) are left to chrono.
fn time_fields(b: &[u8]) -> Option<(u32, u32, u32, u32)> {
    let two = |at: usize| -> Option<u32> {
        let pair = b.get(at..at + 2)?;
        pair.iter().all(u8::is_ascii_digit).then(|| digits(pair))
    };
    if b.get(2) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (two(0)?, two(3)?);
    let (second, nano) = if b.len() == 5 {
        (0, 0)
    } else {
        if b.get(5) != Some(&b':') {
            return None;
        }
        let nano = match b.get(8..) {
            Some([]) => 0,
            Some([b'.', fraction @ ..])
                if (1..=9).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit) =>
            {
                digits(fraction) * 10u32.pow(9 - fraction.len() as u32)
            }
            _ => return None,
        };
        (two(6)?, nano)
    };
    (hour < 24 && minute < 60 && second < 60).then_some((hour, minute, second, nano))
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
pub fn parse_datetime(cell: &str) -> Option<NaiveDateTime> {
    if date_fields(cell).is_none() || !matches!(cell.as_bytes().get(10), Some(b'T' | b' ')) {
        return None;
    }
    if let Some((hour, minute, second, nano)) = cell.as_bytes().get(11..).and_then(time_fields) {
        // A calendar day that does not exist is no date-time in any spelling.
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
        return cell.get(..10).and_then(parse_date).map(|day| day.and_time(time));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(cell) {
        return Some(at.naive_utc());
    }
    NAIVE_DATETIME_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(cell, f).ok()).or_else(|| {
        NAIVE_DATETIME_FORMATS.iter().find_map(|f| DateTime::parse_from_str(cell, f).ok().map(|d| d.naive_utc()))
    })
}

/// A cell of an int or float column as a float (`2` → `2.0`).
pub fn as_f64(cell: &str) -> Option<f64> {
    let t = trim(cell);
    // `-0` is -0.0: a JSON `-0` is read as a float and keeps its sign (see `json::object`).
    parse_float(t).or_else(|| parse_int(t).map(|i| if i == 0 && t.starts_with('-') { -0.0 } else { i as f64 }))
}

/// A cell of a date or datetime column as a date-time (a date is its midnight).
pub fn as_datetime(cell: &str) -> Option<NaiveDateTime> {
    let t = trim(cell);
    parse_datetime(t).or_else(|| parse_date(t).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// Days since 1970-01-01, as Parquet and Arrow store dates.
pub fn epoch_days(date: NaiveDate) -> i32 {
    // Every NaiveDate is within ±262,143 years: its day count fits an i32.
    i32::try_from((date - NaiveDate::default()).num_days()).unwrap_or(i32::MAX)
}

/// Microseconds since 1970-01-01T00:00:00, as dat stores date-times.
pub fn epoch_micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_documented_rules() {
        let ints = ["0", "-0", "+5", "42", "-17", "9223372036854775807", "-9223372036854775808"];
        for cell in ints {
            assert_eq!(cell_type(cell), ColumnType::Int, "{cell}");
            assert_eq!(parse_int(cell), cell.parse().ok(), "{cell}");
        }
        let floats = ["1.5", "-0.25", "5.", ".5", "1e5", "2.5E-3", "+1.0e+2", "0.0", "0.30000000000000004", "1e-310"];
        for cell in floats {
            assert_eq!(cell_type(cell), ColumnType::Float, "{cell}");
            assert_eq!(parse_float(cell), cell.parse().ok(), "{cell}");
        }
        // Codes, out-of-range numbers, other spellings and half numbers stay text.
        let text = [
            "007",
            "00.5",
            "9223372036854775808",
            "1e999",
            "1e-400",
            // More digits than any f64 keeps: rounded, they would be another number.
            "0.12345678901234567",
            "123456789012345678901.5",
            "3.14159265358979323846",
            "-2.5e-999",
            "1,5",
            "1,000",
            "inf",
            "NaN1",
            "-",
            ".",
            "1e",
            "e5",
        ];
        for cell in text {
            assert_eq!(cell_type(cell), ColumnType::String, "{cell}");
            assert_eq!((parse_int(cell), parse_float(cell)), (None, None), "{cell}");
        }
        let underflow = format!("0.{}1", "0".repeat(400));
        assert_eq!(cell_type(&underflow), ColumnType::String, "a non-zero number that reads as 0 stays text");
        for zero in ["0e-400", "-0.0e-999", &format!("0.{}", "0".repeat(400))] {
            assert_eq!(cell_type(zero), ColumnType::Float, "{zero}: zero is zero");
        }
        assert_eq!(parse_float("1e5"), Some(100_000.0));
        assert_eq!(parse_int("5"), Some(5));
        assert_eq!(as_f64("-0").map(f64::is_sign_negative), Some(true), "the sign of zero is kept");
        assert_eq!(parse_float("5"), None, "a whole number is an int, not a float");
    }

    #[test]
    fn cells_are_trimmed_and_null_tokens_are_null() {
        assert_eq!(cell_type(" 42 "), ColumnType::Int);
        assert_eq!(cell_type("\u{a0}1.5\u{a0}"), ColumnType::Float, "any whitespace is trimmed");
        for cell in ["", "   ", "null", "NULL", " NaN ", "N/A", "#N/A"] {
            assert!(is_null(cell), "{cell:?}");
        }
        for cell in ["NA", "None", "nullable", "n"] {
            assert!(!is_null(cell), "{cell:?}");
        }
    }
    /// `date_fields` takes exactly the cells that start with four digits, a dash, two digits, a
    /// dash and two digits, and reads those digits.
    #[test]
    fn date_fields_take_exactly_the_iso_shape() {
        let alphabet = [b'0', b'1', b'9', b'-', b'/', b':', b'.', b' ', b'a', 0xC3, 0xA9];
        let mut next = crate::testing::random(0x51_7cc1_b727_220a);
        for _ in 0..200_000 {
            let len = (next() % 13) as usize;
            let mut bytes: Vec<u8> = b"2025-03-17T0".iter().copied().take(len).collect();
            for _ in 0..(next() % 3) {
                if len > 0 {
                    let at = (next() as usize) % len;
                    bytes[at] = alphabet[(next() as usize) % alphabet.len()];
                }
            }
            let Ok(cell) = std::str::from_utf8(&bytes) else { continue };
            let b = cell.as_bytes();
            let shaped = b.len() >= 10
                && b.iter()
                    .take(10)
                    .enumerate()
                    .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
            let read = shaped.then(|| (digits(&b[0..4]) as i32, digits(&b[5..7]), digits(&b[8..10])));
            assert_eq!(date_fields(cell), read, "{cell:?}");
        }
    }

    /// The fast paths give exactly what chrono's format parser gives, for every spelling.
    #[test]
    fn dates_and_date_times_read_as_chrono_reads_them() {
        let chrono_date = |c: &str| exact_date_fields(c).and_then(|_| NaiveDate::parse_from_str(c, "%Y-%m-%d").ok());
        let chrono_datetime = |c: &str| {
            DateTime::parse_from_rfc3339(c).map(|d| d.naive_utc()).ok().or_else(|| {
                NAIVE_DATETIME_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(c, f).ok()).or_else(|| {
                    NAIVE_DATETIME_FORMATS
                        .iter()
                        .find_map(|f| DateTime::parse_from_str(c, f).ok().map(|d| d.naive_utc()))
                })
            })
        };
        let days = ["2024-02-29", "2023-02-29", "2025-12-31", "2025-13-01", "2025-00-10", "0000-01-01", "9999-12-31"];
        let times = [
            "",
            "T08:00:00",
            " 23:59:59",
            "T24:00:00",
            "T08:60:00",
            "T08:00:60",
            "T08:00",
            " 8:00:00",
            "T08:00:00.5",
            "T08:00:00.123456789",
            "T08:00:00.1234567891",
            "T08:00:00.",
            "T08:00:00Z",
            "T08:00:00+02:00",
            " 08:00:00.25-01:30",
            "T08:00:00 ",
            "T08:0",
            "T08:00:0a",
        ];
        let more_days =
            ["1969-12-31", "1970-01-01", "1600-02-29", "1700-02-29", "2000-02-29", "0004-02-29", "0001-03-01"];
        for day in days.into_iter().chain(more_days) {
            assert_eq!(parse_date(day), chrono_date(day), "{day}");
            assert_eq!(iso_days(day), chrono_date(day).map(epoch_days), "{day}");
            for time in times {
                let cell = format!("{day}{time}");
                assert_eq!(parse_datetime(&cell), chrono_datetime(&cell), "{cell}");
                assert_eq!(iso_micros(&cell), chrono_datetime(&cell).map(epoch_micros), "{cell}");
            }
        }
    }
}

//! Native values (dates, date-times, floats, decimals, bytes) as their exact text: how a column
//! that ends as text, a preview and the exports write them.

use chrono::{DateTime, NaiveDate};

/// How date-times are written as text everywhere (a widened column, previews, exports): ISO
/// 8601 with a `T`, and fractional seconds only when there are any.
pub const ISO_DATETIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// A date stored as days since 1970-01-01, as `YYYY-MM-DD` (`None` outside chrono's range).
pub fn date_text(days: i32) -> Option<String> {
    NaiveDate::default().checked_add_signed(chrono::Duration::days(i64::from(days))).map(|d| d.to_string())
}

/// A date-time stored as microseconds since the epoch, as [`ISO_DATETIME`] text.
pub fn datetime_text(micros: i64) -> Option<String> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc().format(ISO_DATETIME).to_string())
}

/// A float as the shortest text that reads back as the same float (`1.0`, `0.1`, `1e21`).
pub fn float_text(f: f64) -> String {
    let mut out = String::new();
    push_float_text(f, &mut out);
    out
}

/// [`float_text`] appended to `out` (no allocation of its own: readers write a cell's text into
/// their row buffer).
pub fn push_float_text(f: f64, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{f:?}");
}

/// An unscaled decimal as its exact text: `1230` at scale 2 is `12.30`.
pub fn decimal_text(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// Bytes as lowercase hex, how binary values are written as text.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_exact_text() {
        assert_eq!(decimal_text(1230, 2), "12.30");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(date_text(0).as_deref(), Some("1970-01-01"));
        assert_eq!(datetime_text(1_500_000).as_deref(), Some("1970-01-01T00:00:01.500"));
        assert_eq!(hex(&[0, 255]), "00ff");
    }
}

//! The cell rules of one column of one file: its file's number format (decimal comma,
//! thousands separators) and its folder's day/month order for `d/m/yyyy`-style dates. The plain
//! rules (`.` decimals, ISO dates) are [`CellRules::default`]; every other rule only ever reads
//! a cell as a value where the file's own convention says so, and the text is kept as written
//! whatever the type (see [`crate::chunk`]).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use dat_contracts::text_layout::{DateOrder, NumberFormat};
use dat_contracts::ColumnType;
use serde::{Deserialize, Serialize};

use super::{
    epoch_days, epoch_micros, is_null, iso_days, iso_micros, number_value, parse_bool, parse_date, parse_datetime,
    trim, CellValue,
};

/// How `d/m/yyyy`, `d.m.yyyy` and `d-m-yyyy` dates are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatePolicy {
    /// Only ISO dates are dates; others are text (no order was decided for the column).
    #[default]
    IsoOnly,
    /// The probe's sample: a date either order can read counts as a date while the evidence
    /// for the folder's decision is gathered.
    Sample,
    /// The order decided for the folder: a value it cannot read is text.
    Order(DateOrder),
}

/// The rules one column's text cells are typed and read by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellRules {
    /// The file's number format.
    pub number: NumberFormat,
    /// The column's date order.
    pub dates: DatePolicy,
}

/// Longest number (in bytes) read in a local format; a longer cell is text.
const MAX_NUMBER: usize = 96;

impl CellRules {
    /// Whether these are the plain rules.
    pub fn is_plain(&self) -> bool {
        *self == CellRules::default()
    }

    /// The type of one cell under these rules (see [`super::cell_type`] for the plain ones).
    pub fn cell_type(&self, cell: &str) -> ColumnType {
        self.read(cell).column_type()
    }

    /// One cell read under these rules: its type and value in one pass (what [`Self::cell_type`]
    /// says, with the value [`Self::with_number`], [`Self::date`] and [`Self::datetime`] give).
    pub fn read(&self, cell: &str) -> CellValue {
        let cell = trim(cell);
        if is_null(cell) {
            return CellValue::Null;
        }
        let number = if self.number.is_plain() {
            number_value(cell)
        } else {
            let mut buf = [0u8; MAX_NUMBER];
            plain_number(cell, self.number, &mut buf).and_then(number_value)
        };
        if let Some(value) = number {
            return value;
        }
        if let Some(b) = parse_bool(cell) {
            CellValue::Bool(b)
        } else if let Some(day) = iso_days(cell) {
            CellValue::Date(day)
        } else if let Some(at) = iso_micros(cell) {
            CellValue::Datetime(at)
        } else {
            match self.local_date(cell) {
                Some((day, None)) => CellValue::Date(epoch_days(day)),
                Some((day, Some(time))) => CellValue::Datetime(epoch_micros(day.and_time(time))),
                None => CellValue::Text,
            }
        }
    }

    /// [`Self::read`] for a cell of a column whose cells so far are `kind`: a date or
    /// date-time is tried as one first (the same value, without trying it as a number first).
    pub fn read_like(&self, cell: &str, kind: ColumnType) -> CellValue {
        let found = match kind {
            ColumnType::Date => iso_days(trim(cell)).map(CellValue::Date),
            ColumnType::Datetime => iso_micros(trim(cell)).map(CellValue::Datetime),
            _ => None,
        };
        found.unwrap_or_else(|| self.read(cell))
    }

    /// A cell whose type its format says, read as that type under these rules; `None` when its
    /// text does not read as one (the column then keeps the text).
    pub fn read_as(&self, dtype: ColumnType, cell: &str) -> Option<CellValue> {
        Some(match dtype {
            ColumnType::Int => CellValue::Int(self.with_number(cell, super::parse_int)?),
            ColumnType::Float => CellValue::Float(self.with_number(cell, super::as_f64)?),
            ColumnType::Bool => CellValue::Bool(parse_bool(trim(cell))?),
            ColumnType::Date => CellValue::Date(epoch_days(self.date(cell)?)),
            ColumnType::Datetime => CellValue::Datetime(epoch_micros(self.datetime(cell)?)),
            ColumnType::Null => CellValue::Null,
            _ => CellValue::Text,
        })
    }

    /// A number cell as the plain text Rust parses (`1.234,5` → `1234.5`), `None` when it is no
    /// number in this format. Calls `read` with it (no allocation).
    pub fn with_number<T>(&self, cell: &str, read: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let cell = trim(cell);
        if self.number.is_plain() {
            return read(cell);
        }
        let mut buf = [0u8; MAX_NUMBER];
        plain_number(cell, self.number, &mut buf).and_then(read)
    }

    /// A date cell: ISO, or `d/m/yyyy` in the decided order.
    pub fn date(&self, cell: &str) -> Option<NaiveDate> {
        let cell = trim(cell);
        parse_date(cell).or_else(|| self.local_date(cell).filter(|(_, t)| t.is_none()).map(|(d, _)| d))
    }

    /// A date or date-time cell as a date-time (a date is its midnight).
    pub fn datetime(&self, cell: &str) -> Option<NaiveDateTime> {
        let cell = trim(cell);
        parse_datetime(cell)
            .or_else(|| parse_date(cell).and_then(|d| d.and_hms_opt(0, 0, 0)))
            .or_else(|| self.local_date(cell).map(|(d, t)| d.and_time(t.unwrap_or_default())))
    }

    /// A `d/m/yyyy`-style cell read by the policy.
    fn local_date(&self, cell: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
        let order = match self.dates {
            DatePolicy::IsoOnly => return None,
            DatePolicy::Order(order) => Some(order),
            DatePolicy::Sample => None,
        };
        let parts = LocalDate::parse(cell)?;
        let day_first = parts.read(DateOrder::DayFirst);
        let month_first = parts.read(DateOrder::MonthFirst);
        let date = match order {
            Some(DateOrder::DayFirst) => day_first,
            Some(DateOrder::MonthFirst) => month_first,
            None => day_first.or(month_first),
        }?;
        Some((date, parts.time))
    }
}

/// `cell` in format `format` rewritten as plain number text in `buf`: thousands separators
/// dropped where they group the whole part by threes, the decimal separator made `.`. `None`
/// when the cell is not written that way (a separator out of place, a second decimal mark).
pub fn plain_number<'b>(cell: &str, format: NumberFormat, buf: &'b mut [u8; MAX_NUMBER]) -> Option<&'b str> {
    if cell.len() > MAX_NUMBER {
        return None;
    }
    let mut len = 0;
    let mut push = |b: u8| {
        let slot = buf.get_mut(len)?;
        *slot = b;
        len += 1;
        Some(())
    };
    let mut chars = cell.chars().peekable();
    if let Some(sign) = chars.next_if(|c| *c == '+' || *c == '-') {
        push(sign as u8)?;
    }
    // The whole part: digits, maybe grouped.
    let (mut group, mut groups, mut digits) = (0usize, 0usize, 0usize);
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            push(c as u8)?;
            group += 1;
            digits += 1;
        } else if Some(c) == format.thousands && c != format.decimal {
            // The first group has 1 to 3 digits, every later one exactly 3.
            if group == 0 || group > 3 || (groups > 0 && group != 3) {
                return None;
            }
            groups += 1;
            group = 0;
        } else {
            break;
        }
        chars.next();
    }
    if groups > 0 && group != 3 {
        return None;
    }
    if digits == 0 && chars.peek() != Some(&format.decimal) {
        return None;
    }
    if chars.next_if(|c| *c == format.decimal).is_some() {
        push(b'.')?;
    }
    // The rest: fraction digits and an exponent, written as in the plain format.
    for c in chars {
        if !(c.is_ascii_digit() || matches!(c, 'e' | 'E' | '+' | '-')) {
            return None;
        }
        push(c as u8)?;
    }
    std::str::from_utf8(buf.get(..len)?).ok()
}

/// The parts of a `d/m/yyyy`, `d.m.yyyy` or `d-m-yyyy` date (one or two digits each for the
/// first two, four for the year), with an optional ` HH:MM[:SS[.fff]]` time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDate {
    first: u32,
    second: u32,
    year: i32,
    /// Written with dots (day-first by convention).
    pub dotted: bool,
    time: Option<NaiveTime>,
}

impl LocalDate {
    /// The parts of `cell`, `None` when it is not written that way.
    pub fn parse(cell: &str) -> Option<LocalDate> {
        let (date, time) = match cell.split_once([' ', 'T']) {
            Some((date, time)) => (date, Some(time.trim())),
            None => (cell, None),
        };
        let sep = date.bytes().find(|b| matches!(b, b'/' | b'.' | b'-'))?;
        let mut parts = date.split(char::from(sep));
        let (first, second, year) = (parts.next()?, parts.next()?, parts.next()?);
        let small = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        if parts.next().is_some() || !small(first) || !small(second) {
            return None;
        }
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let time = match time {
            None => None,
            Some(t) => Some(["%H:%M:%S%.f", "%H:%M"].iter().find_map(|f| NaiveTime::parse_from_str(t, f).ok())?),
        };
        Some(LocalDate {
            first: first.parse().ok()?,
            second: second.parse().ok()?,
            year: year.parse().ok()?,
            dotted: sep == b'.',
            time,
        })
    }

    /// The day in `order`, `None` when that order gives no calendar day.
    pub fn read(&self, order: DateOrder) -> Option<NaiveDate> {
        let (day, month) = match order {
            DateOrder::DayFirst => (self.first, self.second),
            DateOrder::MonthFirst => (self.second, self.first),
        };
        NaiveDate::from_ymd_opt(self.year, month, day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(decimal: char, thousands: Option<char>) -> CellRules {
        CellRules { number: NumberFormat { decimal, thousands }, dates: DatePolicy::IsoOnly }
    }

    fn plain(cell: &str, rules: CellRules) -> Option<String> {
        rules.with_number(cell, |s| Some(s.to_owned()))
    }

    #[test]
    fn local_numbers_read_by_their_file_format() {
        let eu = format(',', Some('.'));
        assert_eq!(plain("1.234,5", eu).as_deref(), Some("1234.5"));
        assert_eq!(plain("-3,25", eu).as_deref(), Some("-3.25"));
        assert_eq!(plain("12.345.678", eu).as_deref(), Some("12345678"));
        assert_eq!(eu.cell_type("1.234"), ColumnType::Int, "a grouped int");
        assert_eq!(eu.cell_type("21,50"), ColumnType::Float);
        for text in ["1.23", "1,2,3", "12.34,5", "1.5.", ",", "1.234,5,6", "0870A", "1,5e"] {
            assert_eq!(eu.cell_type(text), ColumnType::String, "{text}");
        }
        let us = format('.', Some(','));
        assert_eq!(plain("1,234.5", us).as_deref(), Some("1234.5"));
        assert_eq!(us.cell_type("1,234"), ColumnType::Int);
        let spaced = format(',', Some(' '));
        assert_eq!(plain("1 234,5", spaced).as_deref(), Some("1234.5"));
        assert_eq!(plain("1\u{a0}234,5", format(',', Some('\u{a0}'))).as_deref(), Some("1234.5"));
        assert_eq!(format(',', None).cell_type("1.5"), ColumnType::String, "a point is no decimal mark here");
        assert_eq!(format(',', None).cell_type("007"), ColumnType::String, "codes keep their zeros");
    }

    #[test]
    fn local_dates_follow_the_policy() {
        let rules = |dates| CellRules { number: NumberFormat::default(), dates };
        assert_eq!(rules(DatePolicy::IsoOnly).cell_type("13/04/2025"), ColumnType::String);
        assert_eq!(rules(DatePolicy::Sample).cell_type("13/04/2025"), ColumnType::Date);
        assert_eq!(rules(DatePolicy::Sample).cell_type("04/13/2025 08:30"), ColumnType::Datetime);
        let day_first = rules(DatePolicy::Order(DateOrder::DayFirst));
        assert_eq!(day_first.date("03/04/2025"), NaiveDate::from_ymd_opt(2025, 4, 3));
        assert_eq!(day_first.cell_type("04/13/2025"), ColumnType::String, "a contradiction is text");
        let month_first = rules(DatePolicy::Order(DateOrder::MonthFirst));
        assert_eq!(month_first.date("03/04/2025"), NaiveDate::from_ymd_opt(2025, 3, 4));
        assert_eq!(
            day_first.datetime("13.04.2025 08:30:15"),
            NaiveDate::from_ymd_opt(2025, 4, 13).and_then(|d| d.and_hms_opt(8, 30, 15))
        );
        for text in ["1/2/25", "2025/04/13", "13/04/2025x", "1/2/3/2025", "32/01/2025"] {
            assert_eq!(rules(DatePolicy::Sample).cell_type(text), ColumnType::String, "{text}");
        }
        assert!(LocalDate::parse("03.04.2025").is_some_and(|d| d.dotted));
    }
}

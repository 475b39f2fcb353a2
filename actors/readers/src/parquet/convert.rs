//! Arrow columns (a record batch as the Parquet reader decodes it) as chunk [`Values`], by the
//! mapping of `schema`. Nothing is changed silently: a timestamp's nanoseconds past the
//! microsecond and a value outside dat's date-time range are counted in [`Losses`].

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};
use chrono::NaiveTime;
use dat_contracts::ColumnType;

use super::json;
use crate::chunk::{Cell, TextValues, Values};
use crate::typing::hex;

/// Values that could not be kept exactly, by column and reason.
#[derive(Debug, Default)]
pub(super) struct Losses {
    counts: BTreeMap<(String, &'static str), u64>,
}

/// The loss of a timestamp's nanoseconds past the microsecond.
pub(super) const PAST_THE_MICROSECOND: &str =
    "had digits past the microsecond, which dat does not store; kept to the microsecond";

impl Losses {
    pub(super) fn add(&mut self, column: &str, reason: &'static str, count: u64) {
        if count > 0 {
            *self.counts.entry((column.to_owned(), reason)).or_default() += count;
        }
    }

    /// One warning per column and reason.
    pub(super) fn warnings(self) -> Vec<String> {
        self.counts
            .into_iter()
            .map(|((column, reason), n)| format!("column `{column}`: {n} value(s) {reason}"))
            .collect()
    }
}

/// A column of a batch as chunk values.
///
/// # Errors
/// The Arrow type, for a type without a rule (the probe refuses such files first).
pub(super) fn values(name: &str, array: &dyn Array, uuid: bool, losses: &mut Losses) -> Result<Values, String> {
    use DataType as D;
    let unexpected = || format!("column `{name}`: unexpected {} array", array.data_type());
    Ok(match array.data_type() {
        D::Null => Values::Text(TextValues::from_cells((0..array.len()).map(|_| Cell::Null))),
        D::Boolean => Values::Bool(array.as_boolean().iter().collect()),
        D::Int8 => ints::<Int8Type>(array),
        D::Int16 => ints::<Int16Type>(array),
        D::Int32 => ints::<Int32Type>(array),
        D::Int64 => ints::<Int64Type>(array),
        D::UInt8 => ints::<UInt8Type>(array),
        D::UInt16 => ints::<UInt16Type>(array),
        D::UInt32 => ints::<UInt32Type>(array),
        D::UInt64 => {
            let values = array.as_primitive::<UInt64Type>();
            if values.iter().flatten().all(|v| i64::try_from(v).is_ok()) {
                Values::Int(values.iter().map(|v| v.and_then(|v| i64::try_from(v).ok())).collect())
            } else {
                // Beyond i64: the digits stay text (the column becomes a string column).
                let texts: Vec<Option<(ColumnType, String)>> = values
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let kind = if i64::try_from(v).is_ok() { ColumnType::Int } else { ColumnType::String };
                            (kind, v.to_string())
                        })
                    })
                    .collect();
                text(&texts)
            }
        }
        D::Float16 => {
            Values::Float(array.as_primitive::<Float16Type>().iter().map(|v| v.map(|v| v.to_f64())).collect())
        }
        D::Float32 => Values::Float(array.as_primitive::<Float32Type>().iter().map(|v| v.map(f64::from)).collect()),
        D::Float64 => Values::Float(array.as_primitive::<Float64Type>().iter().collect()),
        D::Decimal32(p, s) => decimal(array.as_primitive::<Decimal32Type>().iter().map(|v| v.map(i128::from)), *p, *s),
        D::Decimal64(p, s) => decimal(array.as_primitive::<Decimal64Type>().iter().map(|v| v.map(i128::from)), *p, *s),
        D::Decimal128(p, s) => decimal(array.as_primitive::<Decimal128Type>().iter(), *p, *s),
        D::Decimal256(_, s) => {
            let texts: Vec<_> = array
                .as_primitive::<Decimal256Type>()
                .iter()
                .map(|v| v.map(|v| (ColumnType::String, json::scaled_text(&v.to_string(), *s))))
                .collect();
            text(&texts)
        }
        D::Date32 => Values::Date(array.as_primitive::<Date32Type>().iter().collect()),
        D::Date64 => {
            let ms = array.as_primitive::<Date64Type>();
            let (values, overflow) = micros(ms.iter(), TimeUnit::Millisecond);
            losses.add(name, "are outside the date-time range dat stores and read as null", overflow);
            Values::Datetime(values)
        }
        D::Timestamp(unit, _) => {
            let raw: Vec<Option<i64>> = (0..array.len())
                .map(|i| {
                    if array.is_null(i) {
                        Ok(None)
                    } else {
                        json::timestamp(array, *unit, i).map(Some).ok_or_else(unexpected)
                    }
                })
                .collect::<Result<_, _>>()?;
            if *unit == TimeUnit::Nanosecond {
                let cut = raw.iter().flatten().filter(|v| v.rem_euclid(1_000) != 0).count() as u64;
                losses.add(name, PAST_THE_MICROSECOND, cut);
            }
            let (values, overflow) = micros(raw.into_iter(), *unit);
            losses.add(name, "are outside the date-time range dat stores and read as null", overflow);
            Values::Datetime(values)
        }
        D::Time32(_) | D::Time64(_) | D::Duration(_) | D::Interval(_) => {
            let mut outside = 0;
            let mut texts = Vec::with_capacity(array.len());
            for i in 0..array.len() {
                if array.is_null(i) {
                    texts.push(None);
                    continue;
                }
                let (t, in_day) = temporal_text(array, i).ok_or_else(unexpected)?;
                outside += u64::from(!in_day);
                texts.push(Some((ColumnType::String, t)));
            }
            losses.add(
                name,
                "are outside a day, so are no time of day; kept as their number in the file's unit",
                outside,
            );
            text(&texts)
        }
        D::Utf8 => strings(array.as_string::<i32>().iter()),
        D::LargeUtf8 => strings(array.as_string::<i64>().iter()),
        D::Utf8View => strings(array.as_string_view().iter()),
        D::FixedSizeBinary(16) if uuid => {
            let texts: Vec<_> =
                array.as_fixed_size_binary().iter().map(|v| v.map(|b| (ColumnType::String, uuid_text(b)))).collect();
            text(&texts)
        }
        D::Binary => Values::Binary(array.as_binary::<i32>().iter().map(|v| v.map(<[u8]>::to_vec)).collect()),
        D::LargeBinary => Values::Binary(array.as_binary::<i64>().iter().map(|v| v.map(<[u8]>::to_vec)).collect()),
        D::BinaryView => Values::Binary(array.as_binary_view().iter().map(|v| v.map(<[u8]>::to_vec)).collect()),
        D::FixedSizeBinary(_) => {
            Values::Binary(array.as_fixed_size_binary().iter().map(|v| v.map(<[u8]>::to_vec)).collect())
        }
        D::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            let values = self::values(name, dictionary.values().as_ref(), uuid, losses)?;
            let keys: Vec<Option<usize>> = (0..array.len())
                .map(|i| if dictionary.keys().is_null(i) { None } else { json::dictionary_key(dictionary.keys(), i) })
                .collect();
            values.gather(&keys)
        }
        D::List(_) | D::LargeList(_) | D::FixedSizeList(..) | D::ListView(_) | D::LargeListView(_) => {
            nested(array, ColumnType::List)?
        }
        D::Struct(_) | D::Map(..) => nested(array, ColumnType::Struct)?,
        D::Union(..) | D::RunEndEncoded(..) => return Err(unexpected()),
    })
}

fn ints<T: ArrowPrimitiveType>(array: &dyn Array) -> Values
where
    T::Native: Into<i64>,
{
    Values::Int(array.as_primitive::<T>().iter().map(|v| v.map(Into::into)).collect())
}

fn decimal(values: impl Iterator<Item = Option<i128>>, precision: u8, scale: i8) -> Values {
    match super::schema::decimal(precision, scale) {
        ColumnType::Decimal { precision, scale } => Values::Decimal { values: values.collect(), precision, scale },
        _ => {
            let texts: Vec<_> =
                values.map(|v| v.map(|v| (ColumnType::String, json::scaled_text(&v.to_string(), scale)))).collect();
            text(&texts)
        }
    }
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Values {
    Values::Text(TextValues::from_cells(values.map(|v| v.map_or(Cell::Null, |s| Cell::Typed(ColumnType::String, s)))))
}

fn text(texts: &[Option<(ColumnType, String)>]) -> Values {
    Values::Text(TextValues::from_cells(
        texts.iter().map(|t| t.as_ref().map_or(Cell::Null, |(kind, text)| Cell::Typed(*kind, text))),
    ))
}

/// Nested values as their JSON text.
fn nested(array: &dyn Array, kind: ColumnType) -> Result<Values, String> {
    let mut texts = Vec::with_capacity(array.len());
    for i in 0..array.len() {
        if array.is_null(i) {
            texts.push(None);
            continue;
        }
        let mut out = String::new();
        json::write(array, i, &mut out)?;
        texts.push(Some((kind, out)));
    }
    Ok(text(&texts))
}

/// Values in `unit` as microseconds, and how many overflowed (read as null).
fn micros(values: impl Iterator<Item = Option<i64>>, unit: TimeUnit) -> (Vec<Option<i64>>, u64) {
    let mut overflow = 0;
    let out = values
        .map(|v| {
            let us = v.and_then(|v| json::micros(v, unit));
            overflow += u64::from(v.is_some() && us.is_none());
            us
        })
        .collect();
    (out, overflow)
}

/// A UUID's canonical 8-4-4-4-12 text.
fn uuid_text(bytes: &[u8]) -> String {
    let h = hex(bytes);
    match (h.get(..8), h.get(8..12), h.get(12..16), h.get(16..20), h.get(20..)) {
        (Some(a), Some(b), Some(c), Some(d), Some(e)) if h.len() == 32 => format!("{a}-{b}-{c}-{d}-{e}"),
        _ => h,
    }
}

/// Value `i` of a time-of-day, duration or interval array as ISO 8601 text, and `false` for a
/// time of day outside a day (negative, or 24 h and more: no time of day), which is kept as the
/// number in the file's unit instead, exactly; `None` for any other array.
pub(super) fn temporal_text(array: &dyn Array, i: usize) -> Option<(String, bool)> {
    Some(match array.data_type() {
        DataType::Time32(TimeUnit::Second) => {
            time(i64::from(array.as_primitive_opt::<Time32SecondType>()?.value(i)), 1)
        }
        DataType::Time32(_) => time(i64::from(array.as_primitive_opt::<Time32MillisecondType>()?.value(i)), 1_000),
        DataType::Time64(TimeUnit::Microsecond) => {
            time(array.as_primitive_opt::<Time64MicrosecondType>()?.value(i), 1_000_000)
        }
        DataType::Time64(_) => time(array.as_primitive_opt::<Time64NanosecondType>()?.value(i), 1_000_000_000),
        DataType::Duration(unit) => {
            let (value, per_second) = match unit {
                TimeUnit::Second => (array.as_primitive_opt::<DurationSecondType>()?.value(i), 1),
                TimeUnit::Millisecond => (array.as_primitive_opt::<DurationMillisecondType>()?.value(i), 1_000),
                TimeUnit::Microsecond => (array.as_primitive_opt::<DurationMicrosecondType>()?.value(i), 1_000_000),
                TimeUnit::Nanosecond => (array.as_primitive_opt::<DurationNanosecondType>()?.value(i), 1_000_000_000),
            };
            (format!("PT{}S", seconds(i128::from(value), per_second)), true)
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            (format!("P{}M", array.as_primitive_opt::<IntervalYearMonthType>()?.value(i)), true)
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = array.as_primitive_opt::<IntervalDayTimeType>()?.value(i);
            (format!("P{}DT{}S", v.days, seconds(i128::from(v.milliseconds), 1_000)), true)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = array.as_primitive_opt::<IntervalMonthDayNanoType>()?.value(i);
            (format!("P{}M{}DT{}S", v.months, v.days, seconds(i128::from(v.nanoseconds), 1_000_000_000)), true)
        }
        _ => return None,
    })
}

/// `value / per_second` seconds since midnight as `HH:MM:SS[.fffffffff]` and `true`; outside a
/// day, `value` itself and `false` (scaling it to nanoseconds first would print it in the wrong
/// unit, or saturate).
fn time(value: i64, per_second: i64) -> (String, bool) {
    let (secs, frac) = (value.div_euclid(per_second), value.rem_euclid(per_second));
    u32::try_from(secs)
        .ok()
        .zip(u32::try_from(frac * (1_000_000_000 / per_second)).ok())
        .and_then(|(s, f)| NaiveTime::from_num_seconds_from_midnight_opt(s, f))
        .map_or_else(|| (value.to_string(), false), |t| (t.to_string(), true))
}

/// `value / per_second` seconds as exact decimal text.
fn seconds(value: i128, per_second: i128) -> String {
    let scale = per_second.to_string().len() as u8 - 1;
    let text = crate::typing::decimal_text(value, scale);
    if scale == 0 {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

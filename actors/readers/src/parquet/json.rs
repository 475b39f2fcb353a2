//! One nested Arrow value (a list, struct or map cell) as JSON text, the one representation
//! of nested values (see `crate::json::object`): compact, fields in schema order, numbers as
//! their exact text, dates and times as ISO text, bytes as hex, non-finite floats as the strings
//! `"NaN"`, `"inf"`, `"-inf"` (JSON has no such numbers, and dropping them would lose them).
//!
//! Arrays are downcast by their own data type, which Arrow guarantees matches their concrete
//! type, so the `as_*` casts below cannot fail on any file.

use std::fmt::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};

use crate::typing::{date_text, datetime_text, decimal_text, float_text, hex, ISO_DATETIME};

/// Appends value `i` of `array` to `out` as JSON.
///
/// # Errors
/// The Arrow type, for a type without a rule (the probe refuses such files first).
pub(super) fn write(array: &dyn Array, i: usize, out: &mut String) -> Result<(), String> {
    if array.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    let unexpected = || format!("unexpected {} array", array.data_type());
    match array.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(if array.as_boolean().value(i) { "true" } else { "false" }),
        DataType::Int8 => number::<Int8Type>(array, i, out),
        DataType::Int16 => number::<Int16Type>(array, i, out),
        DataType::Int32 => number::<Int32Type>(array, i, out),
        DataType::Int64 => number::<Int64Type>(array, i, out),
        DataType::UInt8 => number::<UInt8Type>(array, i, out),
        DataType::UInt16 => number::<UInt16Type>(array, i, out),
        DataType::UInt32 => number::<UInt32Type>(array, i, out),
        DataType::UInt64 => number::<UInt64Type>(array, i, out),
        DataType::Float16 => float(array.as_primitive::<Float16Type>().value(i).to_f64(), out),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(i)), out),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(i), out),
        DataType::Decimal32(_, s) => decimal(i128::from(array.as_primitive::<Decimal32Type>().value(i)), *s, out),
        DataType::Decimal64(_, s) => decimal(i128::from(array.as_primitive::<Decimal64Type>().value(i)), *s, out),
        DataType::Decimal128(_, s) => decimal(array.as_primitive::<Decimal128Type>().value(i), *s, out),
        DataType::Decimal256(_, s) => {
            let digits = array.as_primitive::<Decimal256Type>().value(i).to_string();
            out.push_str(&scaled_text(&digits, *s));
        }
        DataType::Utf8 => string(array.as_string::<i32>().value(i), out),
        DataType::LargeUtf8 => string(array.as_string::<i64>().value(i), out),
        DataType::Utf8View => string(array.as_string_view().value(i), out),
        DataType::Binary => string(&hex(array.as_binary::<i32>().value(i)), out),
        DataType::LargeBinary => string(&hex(array.as_binary::<i64>().value(i)), out),
        DataType::BinaryView => string(&hex(array.as_binary_view().value(i)), out),
        DataType::FixedSizeBinary(_) => string(&hex(array.as_fixed_size_binary().value(i)), out),
        DataType::Date32 => {
            // Past chrono's dates (±262,000 years): the day number itself, as Date64 and
            // timestamps do, never an empty string.
            let days = array.as_primitive::<Date32Type>().value(i);
            string(&date_text(days).unwrap_or_else(|| days.to_string()), out)
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(i);
            string(&ms.checked_mul(1000).and_then(datetime_text).unwrap_or_else(|| ms.to_string()), out)
        }
        DataType::Timestamp(unit, _) => {
            let value = timestamp(array, *unit, i).ok_or_else(unexpected)?;
            string(&exact_datetime(value, *unit).unwrap_or_else(|| value.to_string()), out)
        }
        DataType::Time32(_) | DataType::Time64(_) | DataType::Duration(_) | DataType::Interval(_) => {
            string(&super::convert::temporal_text(array, i).ok_or_else(unexpected)?.0, out)
        }
        DataType::List(_) => {
            let values = array.as_list::<i32>().value(i);
            list(values.len(), &values, out)?
        }
        DataType::LargeList(_) => {
            let values = array.as_list::<i64>().value(i);
            list(values.len(), &values, out)?
        }
        DataType::FixedSizeList(..) => {
            let values = array.as_fixed_size_list().value(i);
            list(values.len(), &values, out)?
        }
        DataType::Struct(fields) => {
            let columns = array.as_struct().columns();
            out.push('{');
            for (n, (field, column)) in fields.iter().zip(columns).enumerate() {
                if n > 0 {
                    out.push(',');
                }
                string(field.name(), out);
                out.push(':');
                write(column.as_ref(), i, out)?;
            }
            out.push('}');
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for n in 0..entries.len() {
                if n > 0 {
                    out.push(',');
                }
                let mut key = String::new();
                write(keys.as_ref(), n, &mut key)?;
                match serde_json::from_str::<String>(&key) {
                    Ok(text) => string(&text, out),
                    Err(_) => string(&key, out),
                }
                out.push(':');
                write(values.as_ref(), n, out)?;
            }
            out.push('}');
        }
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            let key = dictionary_key(dictionary.keys(), i).ok_or_else(unexpected)?;
            write(dictionary.values().as_ref(), key, out)?;
        }
        _ => return Err(unexpected()),
    }
    Ok(())
}

/// Key `i` of a dictionary's keys, as an index into its values.
pub(super) fn dictionary_key(keys: &dyn Array, i: usize) -> Option<usize> {
    let key = match keys.data_type() {
        DataType::Int8 => i64::from(keys.as_primitive_opt::<Int8Type>()?.value(i)),
        DataType::Int16 => i64::from(keys.as_primitive_opt::<Int16Type>()?.value(i)),
        DataType::Int32 => i64::from(keys.as_primitive_opt::<Int32Type>()?.value(i)),
        DataType::Int64 => keys.as_primitive_opt::<Int64Type>()?.value(i),
        DataType::UInt8 => i64::from(keys.as_primitive_opt::<UInt8Type>()?.value(i)),
        DataType::UInt16 => i64::from(keys.as_primitive_opt::<UInt16Type>()?.value(i)),
        DataType::UInt32 => i64::from(keys.as_primitive_opt::<UInt32Type>()?.value(i)),
        DataType::UInt64 => i64::try_from(keys.as_primitive_opt::<UInt64Type>()?.value(i)).ok()?,
        _ => return None,
    };
    usize::try_from(key).ok()
}

fn list(len: usize, values: &dyn Array, out: &mut String) -> Result<(), String> {
    out.push('[');
    for n in 0..len {
        if n > 0 {
            out.push(',');
        }
        write(values, n, out)?;
    }
    out.push(']');
    Ok(())
}

fn number<T: ArrowPrimitiveType>(array: &dyn Array, i: usize, out: &mut String)
where
    T::Native: std::fmt::Display,
{
    let _ = write!(out, "{}", array.as_primitive::<T>().value(i));
}

fn float(f: f64, out: &mut String) {
    if f.is_finite() {
        out.push_str(&float_text(f));
    } else {
        string(&float_text(f), out);
    }
}

fn decimal(unscaled: i128, scale: i8, out: &mut String) {
    match u8::try_from(scale) {
        Ok(scale) => out.push_str(&decimal_text(unscaled, scale)),
        Err(_) => out.push_str(&scaled_text(&unscaled.to_string(), scale)),
    }
}

/// A decimal's digits with its scale applied, exactly (a negative scale appends zeros).
pub(super) fn scaled_text(digits: &str, scale: i8) -> String {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |d| ("-", d));
    match usize::try_from(scale) {
        Ok(0) => format!("{sign}{digits}"),
        Ok(scale) => {
            let padded = format!("{digits:0>width$}", width = scale + 1);
            let (whole, fraction) = padded.split_at(padded.len() - scale);
            format!("{sign}{whole}.{fraction}")
        }
        Err(_) => format!("{sign}{digits}{}", "0".repeat(usize::from(scale.unsigned_abs()))),
    }
}

fn string(text: &str, out: &mut String) {
    // Serializing a str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// Value `i` of a timestamp array, in its unit.
pub(super) fn timestamp(array: &dyn Array, unit: TimeUnit, i: usize) -> Option<i64> {
    Some(match unit {
        TimeUnit::Second => array.as_primitive_opt::<TimestampSecondType>()?.value(i),
        TimeUnit::Millisecond => array.as_primitive_opt::<TimestampMillisecondType>()?.value(i),
        TimeUnit::Microsecond => array.as_primitive_opt::<TimestampMicrosecondType>()?.value(i),
        TimeUnit::Nanosecond => array.as_primitive_opt::<TimestampNanosecondType>()?.value(i),
    })
}

/// A timestamp in `unit` as ISO text with all its digits: a nested value is JSON text, not a
/// column dat stores in microseconds, so its nanoseconds are kept rather than cut uncounted.
/// `None` past chrono's range (then the number itself is written).
fn exact_datetime(value: i64, unit: TimeUnit) -> Option<String> {
    let per_second: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let nanos = u32::try_from(value.rem_euclid(per_second) * (1_000_000_000 / per_second)).ok()?;
    let at = chrono::DateTime::from_timestamp(value.div_euclid(per_second), nanos)?;
    Some(at.naive_utc().format(ISO_DATETIME).to_string())
}

/// A value in `unit` as microseconds, truncating nanoseconds; `None` when it overflows.
pub(super) fn micros(value: i64, unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Second => value.checked_mul(1_000_000),
        TimeUnit::Millisecond => value.checked_mul(1_000),
        TimeUnit::Microsecond => Some(value),
        TimeUnit::Nanosecond => Some(value.div_euclid(1_000)),
    }
}

//! Parquet record fields as preview values. Written here rather than with the crate's
//! `to_json_value` (behind its `json` feature), which panics on out-of-range dates and prints
//! timestamps in a non-ISO form.

use ::parquet::data_type::Decimal;
use ::parquet::record::Field;
use chrono::{DateTime, NaiveTime};
use serde_json::{Map, Number, Value};

/// The field as JSON: numbers as numbers (non-finite floats as `null`), dates and timestamps as
/// ISO 8601 strings (UTC), times of day as `HH:MM:SS.fff`, decimals as numbers (`f64`), bytes as
/// text when they are valid UTF-8 and hex otherwise, groups as objects, lists as arrays, maps as
/// objects keyed by the key's text.
pub(super) fn to_json(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(n) => Value::from(*n),
        Field::Short(n) => Value::from(*n),
        Field::Int(n) => Value::from(*n),
        Field::Long(n) => Value::from(*n),
        Field::UByte(n) => Value::from(*n),
        Field::UShort(n) => Value::from(*n),
        Field::UInt(n) => Value::from(*n),
        Field::ULong(n) => Value::from(*n),
        Field::Float16(n) => float(f64::from(*n)),
        Field::Float(n) => float(f64::from(*n)),
        Field::Double(n) => float(*n),
        Field::Decimal(d) => decimal(d),
        Field::Str(s) => Value::String(s.clone()),
        Field::Bytes(b) => bytes(b.data()),
        Field::Date(days) => DateTime::from_timestamp(i64::from(*days) * 86_400, 0)
            .map_or(Value::Null, |d| d.format("%Y-%m-%d").to_string().into()),
        Field::TimeMillis(ms) => time(i64::from(*ms) * 1_000),
        Field::TimeMicros(us) => time(*us),
        Field::TimestampMillis(ms) => {
            DateTime::from_timestamp_millis(*ms).map_or(Value::Null, |t| t.to_rfc3339().into())
        }
        Field::TimestampMicros(us) => {
            DateTime::from_timestamp_micros(*us).map_or(Value::Null, |t| t.to_rfc3339().into())
        }
        Field::Group(row) => {
            Value::Object(row.get_column_iter().map(|(name, field)| (name.clone(), to_json(field))).collect())
        }
        Field::ListInternal(list) => Value::Array(list.elements().iter().map(to_json).collect()),
        Field::MapInternal(map) => {
            let mut object = Map::new();
            for (key, value) in map.entries() {
                let key = match to_json(key) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, to_json(value));
            }
            Value::Object(object)
        }
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Microseconds since midnight as `HH:MM:SS.ffffff`; `null` when out of a day's range.
fn time(micros: i64) -> Value {
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (Ok(secs), Ok(nanos)) = (u32::try_from(secs), u32::try_from(frac * 1_000)) else { return Value::Null };
    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).map_or(Value::Null, |t| t.to_string().into())
}

/// The unscaled big-endian two's-complement value over 10^scale, as a float; `null` past 16 bytes.
fn decimal(d: &Decimal) -> Value {
    let data = d.data();
    if data.is_empty() || data.len() > 16 {
        return Value::Null;
    }
    let negative = data.first().is_some_and(|b| b & 0x80 != 0);
    let mut bytes = if negative { [0xFF; 16] } else { [0; 16] };
    bytes[16 - data.len()..].copy_from_slice(data);
    let unscaled = i128::from_be_bytes(bytes) as f64;
    float(unscaled / 10f64.powi(d.scale()))
}

/// Text when the bytes are UTF-8, else lowercase hex.
fn bytes(data: &[u8]) -> Value {
    match std::str::from_utf8(data) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::String(data.iter().map(|b| format!("{b:02x}")).collect()),
    }
}

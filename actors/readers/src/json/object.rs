//! One JSON record as a row: an object's keys in file order, each value as a typed cell whose
//! text is the value as written. The one rule for nested values, the same in probe, preview,
//! parse and the README: an object value is a `struct` cell and an array value a `list` cell,
//! each holding its JSON text (compact, keys in file order, numbers as written).

use std::borrow::Cow;
use std::fmt;

use dat_contracts::ColumnType;
use std::collections::HashSet;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::typing::number_kind;

/// One field of an object: its key, its type and its text.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field<'a> {
    pub(super) key: Cow<'a, str>,
    pub(super) dtype: ColumnType,
    /// `None` for a JSON `null`.
    pub(super) text: Option<Cow<'a, str>>,
}

/// What a record turned out to be.
#[derive(Debug)]
pub(super) enum Parsed<'a> {
    /// An object: a row.
    Object(Vec<Field<'a>>),
    /// Another value (named in messages: "a number", "an array"…).
    Other(&'static str),
    /// An object of more fields than a table may have columns (a reject whatever its keys):
    /// how many. Its fields were only counted, not kept, so a line of millions of fields costs
    /// no more memory than one of `max_fields`.
    TooWide(u64),
    /// An object that gives this key more than once (`{"a":1,"a":2}`): a reject, since a row
    /// holds one value per column and keeping either would drop the other silently.
    Repeated(String),
}

/// Parses a record's bytes; an object of more than `max_fields` fields is [`Parsed::TooWide`].
///
/// # Errors
/// The serde_json error of invalid JSON (with its line and column inside the record).
pub(super) fn parse(bytes: &[u8], max_fields: usize) -> Result<Parsed<'_>, serde_json::Error> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let entries = serde::Deserializer::deserialize_map(&mut de, EntriesVisitor { max: max_fields })?;
            de.end()?;
            let raw = match entries {
                Entries::Kept(raw) => raw,
                Entries::Counted(fields) => return Ok(Parsed::TooWide(fields)),
            };
            if let Some(key) = repeated(raw.iter().map(|(key, _)| key.as_ref())) {
                return Ok(Parsed::Repeated(key.chars().take(100).collect()));
            }
            Ok(Parsed::Object(raw.into_iter().map(|(key, value)| field(key, value)).collect()))
        }
        _ => {
            let value: &RawValue = serde_json::from_slice(bytes)?;
            Ok(Parsed::Other(describe(value.get())))
        }
    }
}

/// How a non-object value is named in messages.
pub(super) fn describe(text: &str) -> &'static str {
    match text.trim_start().as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

fn field<'a>(key: Cow<'a, str>, value: &'a RawValue) -> Field<'a> {
    let (dtype, text) = cell_of(value.get());
    Field { key, dtype, text }
}

/// A JSON value's type and text as a cell, by the one rule for JSON values: strings their
/// content, numbers and bools as written, nested values compact JSON text, `null` no text.
pub(crate) fn cell_of(raw: &str) -> (ColumnType, Option<Cow<'_, str>>) {
    match raw.as_bytes().first() {
        Some(b'n') => (ColumnType::Null, None),
        Some(b't' | b'f') => (ColumnType::Bool, Some(Cow::Borrowed(raw))),
        // A string's content: borrowed unless it holds escapes. The raw text is valid JSON,
        // so this cannot fail; were it to, the raw text is kept rather than lost.
        Some(b'"') => {
            (ColumnType::String, Some(serde_json::from_str::<Cow<'_, str>>(raw).unwrap_or(Cow::Borrowed(raw))))
        }
        Some(b'{') => (ColumnType::Struct, Some(Cow::Owned(compact(raw)))),
        Some(b'[') => (ColumnType::List, Some(Cow::Owned(compact(raw)))),
        _ => (number_type(raw), Some(Cow::Borrowed(raw))),
    }
}

/// A JSON number's type. It keeps its digits as written, and is an int or a float only when
/// that type holds its value exactly: one beyond i64, past f64's range (`1e999`, and `1e-400`,
/// which would read as 0) or with more significant digits than an f64 reads back
/// (`123456789012345678901.5`) is a string keeping its text, never a rounded value. `-0` is a
/// float (-0.0, as serde_json reads it): as an int it would be 0 and lose its sign.
fn number_type(raw: &str) -> ColumnType {
    match number_kind(raw) {
        Some(ColumnType::Int) if raw == "-0" => ColumnType::Float,
        Some(kind) => kind,
        None => ColumnType::String,
    }
}

/// JSON text without the whitespace between tokens (strings untouched).
pub(crate) fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The first key given more than once, if any (keys compared as decoded: `"a"` and `"\u0061"`
/// are one key).
pub(crate) fn repeated<'k>(keys: impl ExactSizeIterator<Item = &'k str>) -> Option<&'k str> {
    // Most records have a few fields: comparing each pair costs less than hashing them.
    if keys.len() <= 16 {
        let all: Vec<&str> = keys.collect();
        return all.iter().enumerate().find(|(i, key)| all.iter().take(*i).any(|k| k == *key)).map(|(_, k)| *k);
    }
    let mut seen = HashSet::new();
    keys.into_iter().find(|key| !seen.insert(*key))
}

/// An object's entries in file order (a `serde_json::Map` would sort them, and keep one value
/// of a repeated key), or only their count past the limit.
enum Entries<'a> {
    Kept(Vec<(Cow<'a, str>, &'a RawValue)>),
    /// More fields than the limit: how many.
    Counted(u64),
}

/// Reads an object's entries, keeping at most `max`.
struct EntriesVisitor {
    max: usize,
}

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if entries.len() == self.max {
                // One past the limit: the record is a reject; the rest is only counted (still
                // parsed, so that invalid JSON after it is reported as such).
                drop(entries);
                map.next_value::<IgnoredAny>()?;
                let mut fields = self.max as u64 + 1;
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value::<IgnoredAny>()?;
                    fields += 1;
                }
                return Ok(Entries::Counted(fields));
            }
            entries.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(Entries::Kept(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(String, ColumnType, Option<String>)> {
        let Parsed::Object(fields) = parse(text.as_bytes(), 100).unwrap() else { panic!("not an object") };
        fields.into_iter().map(|f| (f.key.into_owned(), f.dtype, f.text.map(Cow::into_owned))).collect()
    }

    #[test]
    fn values_keep_their_text_and_keys_their_order() {
        let got = fields(
            r#"{"z": 1.50, "a": "x\"y", "n": null, "b": true, "big": 123456789012345678901, "o": { "k": [1, 2] }}"#,
        );
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            got,
            [
                ("z".into(), ColumnType::Float, s("1.50")),
                ("a".into(), ColumnType::String, s("x\"y")),
                ("n".into(), ColumnType::Null, None),
                ("b".into(), ColumnType::Bool, s("true")),
                ("big".into(), ColumnType::String, s("123456789012345678901")),
                ("o".into(), ColumnType::Struct, s(r#"{"k":[1,2]}"#)),
            ]
        );
    }

    #[test]
    fn other_values_are_named_and_bad_json_is_an_error() {
        assert!(matches!(parse(b" 42 ", 100), Ok(Parsed::Other("a number"))));
        assert!(matches!(parse(b"[1]", 100), Ok(Parsed::Other("an array"))));
        assert!(parse(b"{\"a\": }", 100).is_err());
    }

    #[test]
    fn fields_past_the_limit_are_only_counted_and_repeated_keys_named() {
        assert!(matches!(parse(br#"{"a": 1, "b": 2, "c": 3}"#, 2), Ok(Parsed::TooWide(3))));
        assert!(matches!(parse(br#"{"a": 1, "b": 2}"#, 2), Ok(Parsed::Object(f)) if f.len() == 2));
        assert!(parse(br#"{"a": 1, "b": 2, "c": }"#, 2).is_err(), "invalid past the limit is still invalid");
        assert!(matches!(parse(br#"{"a": 1, "b": 2, "\u0061": 3}"#, 5), Ok(Parsed::Repeated(k)) if k == "a"));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\": {i}", i % 39)).collect();
        let text = format!("{{{}}}", many.join(","));
        assert!(matches!(parse(text.as_bytes(), 100), Ok(Parsed::Repeated(k)) if k == "k0"));
    }
}

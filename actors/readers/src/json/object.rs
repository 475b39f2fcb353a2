//! One JSON record as a row: an object's keys in file order, each value as a typed cell whose
//! text is the value as written. The one rule for nested values, the same in probe, preview,
//! parse and the README: an object value is a `struct` cell and an array value a `list` cell,
//! each holding its JSON text (compact, keys in file order, numbers as written).

use std::borrow::Cow;
use std::fmt;

use dat_contracts::ColumnType;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
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
}

/// Parses a record's bytes.
///
/// # Errors
/// The serde_json error of invalid JSON (with its line and column inside the record).
pub(super) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, serde_json::Error> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {
            let Entries(raw) = serde_json::from_slice(bytes)?;
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
        // A number keeps its digits as written; one that no int or float holds (beyond i64,
        // or an exponent past f64) keeps its text as a string rather than being rounded.
        _ => (number_kind(raw).unwrap_or(ColumnType::String), Some(Cow::Borrowed(raw))),
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

/// An object's entries in file order (a `serde_json::Map` would sort them).
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            entries.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(Entries(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(String, ColumnType, Option<String>)> {
        let Parsed::Object(fields) = parse(text.as_bytes()).unwrap() else { panic!("not an object") };
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
        assert!(matches!(parse(b" 42 "), Ok(Parsed::Other("a number"))));
        assert!(matches!(parse(b"[1]"), Ok(Parsed::Other("an array"))));
        assert!(parse(b"{\"a\": }").is_err());
    }
}

//! What the probe keeps of a JSON value: its type, not its bytes, so a large element costs the
//! probe time but not memory; and the union of keys that becomes a table's columns.

use std::collections::HashMap;
use std::fmt;

use dat_contracts::{ColumnInfo, ColumnType};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::adapters::cells::TypeTally;

/// The column type of one JSON value, read without keeping it.
///
/// Nested values are not flattened: an object is `struct` and an array is `list` (the preview
/// keeps them as JSON). Whole numbers that fit an i64 are `int`; other numbers `float`; strings
/// stay `string` even when they look like dates (the parse stage casts them).
pub(super) struct Kind(pub ColumnType);

impl Kind {
    /// The type of a value already read (preview rows).
    fn of(value: &Value) -> ColumnType {
        match value {
            Value::Null => ColumnType::Null,
            Value::Bool(_) => ColumnType::Bool,
            Value::Number(n) if n.is_i64() => ColumnType::Int,
            Value::Number(_) => ColumnType::Float,
            Value::String(_) => ColumnType::String,
            Value::Array(_) => ColumnType::List,
            Value::Object(_) => ColumnType::Struct,
        }
    }
}

/// How a non-object value is named in messages: "a number", "an array"…
pub(super) fn describe(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Null => "null",
        ColumnType::Bool => "a boolean",
        ColumnType::Int | ColumnType::Float => "a number",
        ColumnType::List => "an array",
        ColumnType::Struct => "an object",
        _ => "a string",
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

/// Maps each JSON token to its column type; arrays and objects are skipped with `IgnoredAny`.
struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind(ColumnType::Bool))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind(ColumnType::Int))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind(if i64::try_from(v).is_ok() { ColumnType::Int } else { ColumnType::Float }))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind(ColumnType::Float))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Kind, E> {
        Ok(Kind(ColumnType::String))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind(ColumnType::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind(ColumnType::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Kind(ColumnType::List))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Kind(ColumnType::Struct))
    }
}

/// One record (array element or line), as the probe keeps it.
pub(super) enum Element {
    /// An object: its keys with their value types, in file order, and, when the caller keeps
    /// them, its values in the same order.
    Object(Vec<(String, ColumnType)>, Option<Vec<Value>>),
    /// Anything else: a record that is not a row.
    Other(ColumnType),
}

impl Element {
    fn other(kind: Kind) -> Element {
        Element::Other(kind.0)
    }
}

/// Reads one record; `keep` keeps an object's values (a preview row), in file order (a
/// `serde_json::Map` would sort the keys).
#[derive(Clone, Copy)]
pub(super) struct ElementSeed {
    pub keep: bool,
}

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Element;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Element, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// An object's keys and types (and values when kept); any other value only its type.
impl<'de> Visitor<'de> for ElementSeed {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Element, E> {
        KindVisitor.visit_bool(v).map(Element::other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
        KindVisitor.visit_i64(v).map(Element::other)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
        KindVisitor.visit_u64(v).map(Element::other)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
        KindVisitor.visit_f64(v).map(Element::other)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
        KindVisitor.visit_str(v).map(Element::other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
        KindVisitor.visit_unit().map(Element::other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Element, E> {
        KindVisitor.visit_none().map(Element::other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Element, A::Error> {
        KindVisitor.visit_seq(seq).map(Element::other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut shape = Vec::new();
        let mut values = self.keep.then(Vec::new);
        while let Some(key) = map.next_key::<String>()? {
            match values.as_mut() {
                Some(values) => {
                    let value: Value = map.next_value()?;
                    shape.push((key, Kind::of(&value)));
                    values.push(value);
                }
                None => shape.push((key, map.next_value::<Kind>()?.0)),
            }
        }
        Ok(Element::Object(shape, values))
    }
}

/// The union of the keys of the rows read, in first-seen order, each with its type tally.
#[derive(Default)]
pub(super) struct ColumnSet {
    columns: Vec<(String, TypeTally)>,
    index: HashMap<String, usize>,
    /// Rows that held each column, to tell which columns some row lacked (those are nullable).
    present: Vec<u64>,
    rows: u64,
}

impl ColumnSet {
    /// Adds one row's keys and types.
    pub(super) fn add_row(&mut self, shape: Vec<(String, ColumnType)>) {
        self.rows += 1;
        for (name, kind) in shape {
            let i = match self.index.get(&name) {
                Some(&i) => i,
                None => {
                    self.index.insert(name.clone(), self.columns.len());
                    self.columns.push((name, TypeTally::default()));
                    self.present.push(0);
                    self.columns.len() - 1
                }
            };
            // `i` came from `index`, which only holds positions pushed to both vectors above.
            self.columns[i].1.observe(kind);
            self.present[i] += 1;
        }
    }

    /// Columns in first-seen order; a column some row lacked is nullable.
    pub(super) fn infos(&self) -> Vec<ColumnInfo> {
        self.columns
            .iter()
            .zip(&self.present)
            .map(|((name, tally), &present)| {
                let mut tally = *tally;
                if present < self.rows {
                    tally.mark_null();
                }
                tally.info(name.as_str())
            })
            .collect()
    }

    /// Column names in first-seen order.
    pub(super) fn names(&self) -> Vec<String> {
        self.columns.iter().map(|(name, _)| name.clone()).collect()
    }
}

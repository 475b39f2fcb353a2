//! A JSON document read whole for profile extraction (bounded by the record cap): the serde
//! value that JSONPath queries, and a mirror of it that keeps what the value loses — each
//! number's text as written and each object's keys in file order. Queries locate nodes in the
//! value; extraction reads them from the mirror.

use std::fmt::Write as _;
use std::io::Read;

use dat_contracts::profile::{JsonPath, Step};
use dat_contracts::ColumnType;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::json::object::cell_of;
use crate::sink::ReadError;
use crate::source::SourceFile;

/// One value of the document as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A string, number, bool or null: its JSON text.
    Leaf(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, keys in file order.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// Builds the mirror of a JSON text.
    fn parse(raw: &RawValue) -> Result<Node, serde_json::Error> {
        let text = raw.get();
        Ok(match text.trim_start().as_bytes().first() {
            Some(b'{') => {
                let entries: Entries<'_> = serde_json::from_str(text)?;
                Node::Object(entries.0.into_iter().map(|(k, v)| Ok((k, Node::parse(v)?))).collect::<Result<_, _>>()?)
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                Node::Array(items.into_iter().map(Node::parse).collect::<Result<_, _>>()?)
            }
            _ => Node::Leaf(text.to_owned()),
        })
    }

    /// The node at `steps` below this one.
    pub(crate) fn at(&self, steps: &[Step]) -> Option<&Node> {
        steps.iter().try_fold(self, |node, step| match (node, step) {
            (Node::Object(entries), Step::Key(key)) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            (Node::Array(items), Step::Index(i)) => items.get(*i),
            _ => None,
        })
    }

    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as a cell: its type and text (`None` for null), nested values as compact JSON.
    pub(crate) fn cell(&self) -> Option<(ColumnType, String)> {
        match self {
            Node::Leaf(text) => {
                let (kind, text) = cell_of(text);
                text.map(|t| (kind, t.into_owned()))
            }
            Node::Array(_) => Some((ColumnType::List, self.json())),
            Node::Object(_) => Some((ColumnType::Struct, self.json())),
        }
    }

    /// Compact JSON text, keys in file order, numbers as written.
    pub(crate) fn json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Node::Leaf(text) => out.push_str(text.trim()),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Node::Object(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    // Serializing a str cannot fail.
                    let _ = write!(out, "{}:", serde_json::to_string(key).unwrap_or_default());
                    value.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// A document: its value for queries and its mirror for values.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) value: Value,
    pub(crate) root: Node,
}

impl Document {
    /// Reads `file` whole, at most `cap` bytes (decompressed).
    ///
    /// # Errors
    /// [`ReadError`] when the file cannot be read, is larger than `cap`, or is not JSON.
    pub(crate) fn read(file: &SourceFile<'_>, cap: usize) -> Result<Document, ReadError> {
        let path = file.path.as_str();
        let mut bytes = Vec::new();
        file.open().and_then(|r| r.take(cap as u64 + 1).read_to_end(&mut bytes)).map_err(|e| ReadError::io(path, e))?;
        if bytes.len() > cap {
            return Err(ReadError::format(
                path,
                format!("the document is larger than the record cap ({} MiB) a profile reads whole", cap >> 20),
            ));
        }
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        Document::parse(text).map_err(|e| ReadError::format(path, format!("invalid JSON: {e}")))
    }

    /// Parses a document.
    ///
    /// # Errors
    /// The JSON syntax error.
    pub(crate) fn parse(text: &[u8]) -> Result<Document, serde_json::Error> {
        let value: Value = serde_json::from_slice(text)?;
        let raw: &RawValue = serde_json::from_slice(text)?;
        Ok(Document { value, root: Node::parse(raw)? })
    }

    /// The nodes `path` matches, in document order, each with its value.
    pub(crate) fn select<'d>(&'d self, path: &JsonPath) -> Vec<(&'d Value, &'d Node)> {
        path.locate(&self.value).into_iter().filter_map(|(steps, value)| Some((value, self.root.at(&steps)?))).collect()
    }

    /// The first node `path` matches.
    pub(crate) fn first<'d>(&'d self, path: &JsonPath) -> Option<(&'d Value, &'d Node)> {
        self.select(path).into_iter().next()
    }
}

/// The first node `path` matches below `value`/`node` (a path relative to an element).
pub(crate) fn first_below<'d>(value: &'d Value, node: &'d Node, path: &JsonPath) -> Option<&'d Node> {
    let (steps, _) = path.first(value)?;
    node.at(&steps)
}

/// An object's entries in file order, each value's text as written.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    entries.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_keeps_key_order_and_number_text() {
        let doc = Document::parse(br#"{"z": {"b": 1.50, "a": [1e3, "x"]}, "a": null}"#).unwrap();
        let (_, node) = doc.first(&JsonPath::parse("$.z").unwrap()).unwrap();
        assert_eq!(node.json(), r#"{"b":1.50,"a":[1e3,"x"]}"#);
        assert_eq!(node.get("b").unwrap().cell(), Some((ColumnType::Float, "1.50".into())));
        let (_, first) = doc.first(&JsonPath::parse("$.z.a[1]").unwrap()).unwrap();
        assert_eq!(first.cell(), Some((ColumnType::String, "x".into())));
        assert_eq!(doc.root.get("a").unwrap().cell(), None);
    }
}

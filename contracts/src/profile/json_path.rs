//! The JSONPath a profile writes (RFC 9535, through `serde_json_path`), with its conventions:
//! `$` or an empty path is the whole document, and `{name}` placeholders are bound to an index
//! by `repeat_over`.

use serde_json::Value;

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    parsed: serde_json_path::JsonPath,
}

impl JsonPath {
    /// Parses `text` (`$` or empty: the document itself).
    ///
    /// # Errors
    /// The parser's message, for a path that is not JSONPath.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let trimmed = text.trim();
        let normal = if trimmed.is_empty() { "$" } else { trimmed };
        let parsed = serde_json_path::JsonPath::parse(normal).map_err(|e| e.to_string())?;
        Ok(JsonPath { text: normal.to_owned(), parsed })
    }

    /// The path as written (`$` for an empty one).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every match, in document order, with its location: a list of object keys and array
    /// indices from the root.
    pub fn locate<'v>(&self, value: &'v Value) -> Vec<(Vec<Step>, &'v Value)> {
        self.parsed
            .query_located(value)
            .into_iter()
            .map(|node| {
                let steps = node
                    .location()
                    .iter()
                    .map(|element| match element {
                        serde_json_path::PathElement::Name(name) => Step::Key((*name).to_owned()),
                        serde_json_path::PathElement::Index(i) => Step::Index(*i),
                    })
                    .collect();
                (steps, node.node())
            })
            .collect()
    }

    /// The first match.
    pub fn first<'v>(&self, value: &'v Value) -> Option<(Vec<Step>, &'v Value)> {
        self.locate(value).into_iter().next()
    }
}

/// One step of a location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// The placeholders (`{name}`) in `path`, in order.
pub fn placeholders(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    out
}

/// `path` with `{name}` replaced by `index`.
pub fn substitute(path: &str, name: &str, index: usize) -> String {
    path.replace(&format!("{{{name}}}"), &index.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_match_with_their_locations() {
        let doc = json!({"a": [{"b": 1}, {"b": 2}], "c": {"d": "x"}});
        let all = JsonPath::parse("$.a[*].b").unwrap().locate(&doc);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].0, vec![Step::Key("a".into()), Step::Index(1), Step::Key("b".into())]);
        assert_eq!(JsonPath::parse("").unwrap().first(&doc).unwrap().1, &doc);
        assert!(JsonPath::parse("$.a[").is_err());
    }

    #[test]
    fn placeholders_are_found_and_bound() {
        let path = "$.images[{img_index}].measurements";
        assert_eq!(placeholders(path), ["img_index"]);
        assert_eq!(substitute(path, "img_index", 3), "$.images[3].measurements");
        assert!(placeholders("$.a").is_empty());
    }
}

//! Context read from a document: `content_patterns` and the `key_map` of `run` contexts (once
//! per file), and `image` contexts (once per element of the list their path walks), which go
//! into the rows of the tables of a level that applies them.

use dat_contracts::profile::{ContextSource, ContextValue, JsonPath, ProfileSpec};
use serde_json::Value as Json;

use super::document::{first_below, Document, Node};
use super::frame::Value;

/// The file-level context values `doc` holds, and the required ones it lacks.
pub(crate) fn content_context(spec: &ProfileSpec, doc: &Document) -> (Vec<ContextValue>, Vec<String>) {
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for pattern in &spec.context_defaults.content_patterns {
        let found =
            JsonPath::parse(&pattern.path).ok().and_then(|p| doc.first(&p)).and_then(|(_, node)| json_value(node));
        match (found, &pattern.default) {
            (Some(value), _) => values.push(context(&pattern.field, value)),
            (None, Some(default)) => values.push(context(&pattern.field, default.clone())),
            (None, None) if pattern.required => {
                missing.push(format!("required context `{}` not found at `{}`", pattern.field, pattern.path))
            }
            (None, None) => {}
        }
    }
    for spec_context in spec.contexts.iter().filter(|c| c.level.as_deref().is_none_or(|l| l == "run")) {
        for (key, path) in &spec_context.key_map {
            let found = JsonPath::parse(path).ok().and_then(|p| doc.first(&p)).and_then(|(_, node)| json_value(node));
            if let Some(value) = found {
                values.push(context(key, value));
            }
        }
    }
    (values, missing)
}

fn context(key: &str, value: Json) -> ContextValue {
    ContextValue { key: key.to_owned(), value, source: ContextSource::Content }
}

/// A node as a context value: text for strings and numbers as written, JSON for the rest.
fn json_value(node: &Node) -> Option<Json> {
    let (_, text) = node.cell()?;
    Some(match node {
        Node::Leaf(raw) if raw.trim_start().starts_with('"') => Json::String(text),
        Node::Leaf(raw) => serde_json::from_str(raw).unwrap_or(Json::String(text)),
        _ => serde_json::from_str(&text).unwrap_or(Json::String(text)),
    })
}

/// The columns the `image` context named `name` gives the rows of element `i` of the list its
/// first path walks (empty for a `run` context or none).
pub(crate) fn element_context(
    spec: &ProfileSpec,
    name: Option<&str>,
    doc: &Document,
    i: usize,
) -> Vec<(String, Value)> {
    let Some(context) = name.and_then(|n| spec.context(n)).filter(|c| c.level.as_deref() == Some("image")) else {
        return vec![];
    };
    let element: Option<(&Json, &Node)> =
        context.paths.first().and_then(|p| JsonPath::parse(p).ok()).and_then(|p| doc.select(&p).into_iter().nth(i));
    context
        .key_map
        .iter()
        .map(|(key, path)| {
            let value = element.and_then(|(value, node)| {
                JsonPath::parse(path).ok().and_then(|p| first_below(value, node, &p)).and_then(Node::cell)
            });
            (key.clone(), value)
        })
        .collect()
}

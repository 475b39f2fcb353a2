//! The datasource filters (SPEC §10): a tree of groups (`AND`, `OR`, `NOT` of its first child)
//! over predicates on a file's facts. Text comparisons ignore case unless `case: sensitive`;
//! `size` compares as a number; `modified_date` compares ISO 8601 text (`2025-12-01` is before
//! `2025-12-27T09:30:00Z`); `matches` searches with a regex. No filter ⇒ every file matches.

use serde_json::Value;

use super::model::FilterNode;

/// What a filter can test about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The file name (`LOT1_W01.json`).
    pub filename: String,
    /// The extension with its dot (`.json`), empty when none.
    pub extension: String,
    /// The parent folder, workspace-relative (`lots/lot1`), empty at the root.
    pub path: String,
    /// The whole workspace-relative path.
    pub full_path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, RFC 3339 UTC.
    pub modified_date: String,
}

impl FileFacts {
    /// The facts of a workspace-relative `path`.
    pub fn new(full_path: &str, size: u64, modified_date: String) -> Self {
        let (path, filename) = full_path.rsplit_once('/').unwrap_or(("", full_path));
        let extension = filename.rfind('.').filter(|&i| i > 0).map(|i| filename[i..].to_owned()).unwrap_or_default();
        FileFacts {
            filename: filename.to_owned(),
            extension,
            path: path.to_owned(),
            full_path: full_path.to_owned(),
            size,
            modified_date,
        }
    }
}

/// Whether `file` passes `filter` (`None`: every file does). Nodes validation would refuse
/// (an unknown op or field) do not match.
pub fn matches(filter: Option<&FilterNode>, file: &FileFacts) -> bool {
    filter.is_none_or(|node| node_matches(node, file))
}

fn node_matches(node: &FilterNode, file: &FileFacts) -> bool {
    match node {
        FilterNode::Group { op, children, .. } => match op.to_ascii_uppercase().as_str() {
            "AND" => children.iter().all(|c| node_matches(c, file)),
            "OR" => children.iter().any(|c| node_matches(c, file)),
            "NOT" => children.first().is_some_and(|c| !node_matches(c, file)),
            _ => false,
        },
        FilterNode::Predicate { field, op, value, values, case, .. } => {
            let sensitive = case.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("sensitive"));
            predicate(file, field, op, value.as_ref(), values.as_deref(), sensitive)
        }
    }
}

fn predicate(
    file: &FileFacts,
    field: &str,
    op: &str,
    value: Option<&Value>,
    values: Option<&[Value]>,
    sensitive: bool,
) -> bool {
    let fold = |s: &str| if sensitive { s.to_owned() } else { s.to_lowercase() };
    let text = |v: &Value| match v {
        Value::String(s) => fold(s),
        other => fold(&other.to_string()),
    };
    if field == "size" {
        let number = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        let size = file.size as f64;
        let operand = value.and_then(number);
        return match op {
            "equals" => operand == Some(size),
            "not_equals" => operand.is_some_and(|o| o != size),
            "gt" => operand.is_some_and(|o| size > o),
            "gte" => operand.is_some_and(|o| size >= o),
            "lt" => operand.is_some_and(|o| size < o),
            "lte" => operand.is_some_and(|o| size <= o),
            "in" => values.is_some_and(|vs| vs.iter().filter_map(number).any(|o| o == size)),
            "not_in" => values.is_some_and(|vs| !vs.iter().filter_map(number).any(|o| o == size)),
            _ => false,
        };
    }
    let subject = match field {
        "filename" => &file.filename,
        "extension" => &file.extension,
        "path" => &file.path,
        "full_path" => &file.full_path,
        "modified_date" => &file.modified_date,
        _ => return false,
    };
    let subject = fold(subject);
    let operand = value.map(text);
    match (op, operand.as_deref()) {
        ("equals", Some(o)) => subject == o,
        ("not_equals", Some(o)) => subject != o,
        ("contains", Some(o)) => subject.contains(o),
        ("startswith", Some(o)) => subject.starts_with(o),
        ("endswith", Some(o)) => subject.ends_with(o),
        ("matches", Some(_)) => {
            let pattern = value.and_then(Value::as_str).unwrap_or_default();
            let pattern = if sensitive { pattern.to_owned() } else { format!("(?i){pattern}") };
            regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(&subject))
        }
        ("gt", Some(o)) => subject.as_str() > o,
        ("gte", Some(o)) => subject.as_str() >= o,
        ("lt", Some(o)) => subject.as_str() < o,
        ("lte", Some(o)) => subject.as_str() <= o,
        ("in", _) => values.is_some_and(|vs| vs.iter().any(|v| text(v) == subject)),
        ("not_in", _) => values.is_some_and(|vs| !vs.iter().any(|v| text(v) == subject)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn facts(path: &str, size: u64) -> FileFacts {
        FileFacts::new(path, size, "2025-12-27T09:30:00Z".into())
    }

    fn node(v: Value) -> FilterNode {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn facts_split_a_path() {
        let f = facts("lots/L1/a.B.JSON", 5);
        assert_eq!((f.filename.as_str(), f.extension.as_str(), f.path.as_str()), ("a.B.JSON", ".JSON", "lots/L1"));
        assert_eq!(facts("noext", 0).extension, "");
    }

    #[test]
    fn predicates_ignore_case_unless_told_and_groups_combine_them() {
        let file = facts("data/LOT1_measurement.JSON", 2048);
        let ends = node(json!({"type": "predicate", "field": "filename", "op": "endswith", "value": ".json"}));
        assert!(matches(Some(&ends), &file));
        let strict = node(
            json!({"type": "predicate", "field": "filename", "op": "endswith", "value": ".json", "case": "sensitive"}),
        );
        assert!(!matches(Some(&strict), &file));
        let and = node(json!({"type": "group", "op": "AND", "children": [
            {"type": "predicate", "field": "size", "op": "gt", "value": 1024},
            {"type": "predicate", "field": "path", "op": "equals", "value": "DATA"},
            {"type": "predicate", "field": "filename", "op": "matches", "value": "^lot[0-9]+_"},
            {"type": "predicate", "field": "extension", "op": "in", "values": [".csv", ".json"]},
            {"type": "predicate", "field": "modified_date", "op": "gte", "value": "2025-12-01"}
        ]}));
        assert!(matches(Some(&and), &file));
        let not = node(json!({"type": "group", "op": "NOT", "children": [ends]}));
        assert!(!matches(Some(&not), &file));
        let or = node(
            json!({"type": "group", "op": "OR", "children": [not, {"type": "predicate", "field": "size", "op": "lte", "value": 10}]}),
        );
        assert!(!matches(Some(&or), &file));
        assert!(matches(None, &file), "no filter: every file");
    }
}

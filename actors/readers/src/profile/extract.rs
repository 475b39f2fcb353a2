//! The strategies of SPEC §10: one profile table out of one document. Values are read from the
//! document's mirror, so they keep their text and key order; a path that matches nothing gives
//! an empty table and a warning, never an error.
//!
//! - `flat_object`: the object at `path` is one row; nested values are JSON text, or with
//!   `flatten_nested` keys `parent<sep>child` (arrays stay JSON text).
//! - `headers_data`: names from `obj[headers_key]` (else `col_<i>` with `infer_headers`, else
//!   `default_headers`), rows from `obj[data_key]`; a short row is padded with nulls, a long one
//!   cut to the names (the cut cells are counted in a warning).
//! - `array_of_objects`: the list at `path` (a trailing `[*]` is ignored); the union of keys in
//!   first-seen order, restricted to `fields` when given; an element that is not an object is
//!   a reject.
//! - `repeat_over`: for each element `i` of the list at `repeat_over.path`, `{as}` in `path`
//!   becomes `i` and the base strategy runs (headers_data when `headers_key` and `data_key` are
//!   set); `inject_fields` (JSONPath from the element) come first in each of its rows.
//! - `unpivot`: the list at `path` as a frame; `id_vars` kept, `value_vars` melted into
//!   `var_name`/`value_name` rows.
//! - `join`: the lists at `left.path` and `right.path` joined on `left.key` = `right.key` with
//!   `how` (left, right, inner, outer); the right key column is not repeated.

use dat_contracts::profile::{placeholders, substitute, JsonPath, Select};
use dat_contracts::ColumnType;

use super::document::{first_below, Document, Node};
use super::frame::{Frame, Value};

/// A table out of one document, with what extraction noticed.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    pub(crate) frame: Frame,
    /// Remarks: a path matching nothing, cut rows.
    pub(crate) warnings: Vec<String>,
    /// Records that are not rows: (position from 1, why).
    pub(crate) rejects: Vec<(u64, String)>,
}

impl Extracted {
    fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }
}

/// Extracts the table `select` describes from `doc`; `context` columns (per repeat element)
/// come first in the rows of element `i` when given.
///
/// # Errors
/// A path that is not JSONPath (validation refuses such profiles first).
pub(crate) fn extract(
    doc: &Document,
    select: &Select,
    context: &dyn Fn(usize) -> Vec<(String, Value)>,
) -> Result<Extracted, String> {
    let mut out = Extracted::default();
    match &select.repeat_over {
        None => {
            let path = select.path.clone().unwrap_or_default();
            out.frame = base(doc, select, &path, &mut out.warnings, &mut out.rejects)?;
        }
        Some(repeat) => {
            let list_path = JsonPath::parse(&repeat.path)?;
            let Some((list_value, list_node)) = doc.first(&list_path) else {
                out.warn(format!("`{}` matches nothing in this file", repeat.path));
                return Ok(out);
            };
            let (Some(values), Node::Array(nodes)) = (list_value.as_array(), list_node) else {
                out.warn(format!("`{}` is not a list in this file", repeat.path));
                return Ok(out);
            };
            let inject: Vec<(String, JsonPath)> = repeat
                .inject_fields
                .iter()
                .map(|(column, path)| Ok((column.clone(), JsonPath::parse(path)?)))
                .collect::<Result<_, String>>()?;
            for (i, (value, node)) in values.iter().zip(nodes).enumerate() {
                let template = select.path.clone().unwrap_or_default();
                let path = substitute(&template, &repeat.as_name, i);
                let mut frame = base(doc, select, &path, &mut out.warnings, &mut out.rejects)?;
                let mut constants = context(i);
                constants.extend(
                    inject
                        .iter()
                        .map(|(column, path)| (column.clone(), first_below(value, node, path).and_then(Node::cell))),
                );
                frame.prepend_constant(&constants);
                out.frame.append(frame);
            }
        }
    }
    Ok(out)
}

/// The strategy without `repeat_over`, at `path`.
fn base(
    doc: &Document,
    select: &Select,
    path: &str,
    warnings: &mut Vec<String>,
    rejects: &mut Vec<(u64, String)>,
) -> Result<Frame, String> {
    let mut warn = |message: String| {
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    };
    let strategy = if select.repeat_over.is_some() && select.headers_key.is_some() && select.data_key.is_some() {
        "headers_data"
    } else {
        select.strategy.as_str()
    };
    if strategy == "join" {
        return join(doc, select, &mut warn, rejects);
    }
    let bare = if strategy == "array_of_objects" || strategy == "unpivot" {
        path.trim().strip_suffix("[*]").unwrap_or(path.trim())
    } else {
        path.trim()
    };
    if !placeholders(bare).is_empty() {
        return Err(format!("`{bare}` has a placeholder no repeat_over binds"));
    }
    let Some((_, node)) = doc.first(&JsonPath::parse(bare)?) else {
        warn(format!("`{}` matches nothing in this file", if bare.is_empty() { "$" } else { bare }));
        return Ok(Frame::default());
    };
    Ok(match strategy {
        "flat_object" => flat_object(node, select, &mut warn, rejects),
        "headers_data" => headers_data(node, select, &mut warn),
        "array_of_objects" => array_of_objects(node, select.fields.as_deref(), &mut warn, rejects),
        "unpivot" => unpivot(array_of_objects(node, None, &mut warn, rejects), select),
        other => return Err(format!("`{other}` is not a strategy")),
    })
}

fn flat_object(node: &Node, select: &Select, warn: &mut dyn FnMut(String), rejects: &mut Vec<(u64, String)>) -> Frame {
    let Node::Object(entries) = node else {
        warn("flat_object found no object at its path".to_owned());
        return Frame::default();
    };
    let separator = select.flatten_separator.as_deref().unwrap_or("_");
    let mut cells = Vec::new();
    flatten(entries, "", separator, select.flatten_nested.unwrap_or(false), &mut cells);
    let mut frame = Frame::default();
    if let Err(why) = frame.push(1, cells) {
        rejects.push((1, why));
    }
    frame
}

fn flatten(entries: &[(String, Node)], prefix: &str, separator: &str, nested: bool, out: &mut Vec<(String, Value)>) {
    for (key, value) in entries {
        let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}{separator}{key}") };
        match value {
            Node::Object(inner) if nested => flatten(inner, &name, separator, nested, out),
            other => out.push((name, other.cell())),
        }
    }
}

fn headers_data(node: &Node, select: &Select, warn: &mut dyn FnMut(String)) -> Frame {
    let data_key = select.data_key.as_deref().unwrap_or("data");
    let rows: Vec<&[Node]> = match node.get(data_key) {
        Some(Node::Array(rows)) => rows
            .iter()
            .map(|r| match r {
                Node::Array(cells) => cells.as_slice(),
                single => std::slice::from_ref(single),
            })
            .collect(),
        Some(_) => {
            warn(format!("`{data_key}` is not a list of rows"));
            vec![]
        }
        None => {
            warn(format!("no `{data_key}` at the table's path"));
            vec![]
        }
    };
    let from_file = select.headers_key.as_deref().and_then(|k| node.get(k)).and_then(|h| match h {
        Node::Array(names) => {
            Some(names.iter().map(|n| n.cell().map(|(_, t)| t).unwrap_or_default()).collect::<Vec<_>>())
        }
        _ => None,
    });
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let names: Vec<String> = match (from_file, select.infer_headers.unwrap_or(false), &select.default_headers) {
        (Some(names), _, _) => names,
        (None, true, _) => (0..width).map(|i| format!("col_{i}")).collect(),
        (None, false, Some(defaults)) => defaults.clone(),
        (None, false, None) => {
            warn(format!(
                "no `{}` header list at the table's path",
                select.headers_key.as_deref().unwrap_or("headers")
            ));
            (0..width).map(|i| format!("col_{i}")).collect()
        }
    };
    let (names, _) = crate::typing::unique_names(names);
    let mut frame = Frame::new(names);
    let mut cut = 0usize;
    for (i, row) in rows.into_iter().enumerate() {
        cut += row.len().saturating_sub(frame.names.len());
        let values: Vec<Value> = row.iter().take(frame.names.len()).map(Node::cell).collect();
        frame.push_row(i as u64 + 1, values);
    }
    if cut > 0 {
        warn(format!("{cut} cell(s) past the header's {} columns were cut", frame.names.len()));
    }
    frame
}

fn array_of_objects(
    node: &Node,
    fields: Option<&[String]>,
    warn: &mut dyn FnMut(String),
    rejects: &mut Vec<(u64, String)>,
) -> Frame {
    let items = match node {
        Node::Array(items) => items.as_slice(),
        Node::Object(_) => std::slice::from_ref(node),
        Node::Leaf(_) => {
            warn("array_of_objects found no list at its path".to_owned());
            return Frame::default();
        }
    };
    let mut frame = Frame::new(fields.map(<[String]>::to_vec).unwrap_or_default());
    for (i, item) in items.iter().enumerate() {
        let Node::Object(entries) = item else {
            rejects.push((i as u64 + 1, format!("element {} is not an object", i + 1)));
            continue;
        };
        let cells = entries
            .iter()
            .filter(|(key, _)| fields.is_none_or(|f| f.contains(key)))
            .map(|(key, value)| (key.clone(), value.cell()))
            .collect();
        if let Err(why) = frame.push(i as u64 + 1, cells) {
            rejects.push((i as u64 + 1, format!("element {}: {why}", i + 1)));
        }
    }
    frame
}

fn unpivot(frame: Frame, select: &Select) -> Frame {
    let id_vars = select.id_vars.clone().unwrap_or_default();
    let value_vars = select.value_vars.clone().unwrap_or_default();
    let var_name = select.var_name.clone().unwrap_or_else(|| "variable".to_owned());
    let value_name = select.value_name.clone().unwrap_or_else(|| "value".to_owned());
    let position = |name: &str| frame.names.iter().position(|n| n == name);
    let mut names = id_vars.clone();
    names.extend([var_name, value_name]);
    let mut out = Frame::new(names);
    for (row, &at) in frame.rows.iter().zip(&frame.positions) {
        let ids: Vec<Value> = id_vars.iter().map(|v| position(v).and_then(|i| row[i].clone())).collect();
        for var in &value_vars {
            let mut cells = ids.clone();
            cells.push(Some((ColumnType::String, var.clone())));
            cells.push(position(var).and_then(|i| row[i].clone()));
            out.push_row(at, cells);
        }
    }
    out
}

fn join(
    doc: &Document,
    select: &Select,
    warn: &mut dyn FnMut(String),
    rejects: &mut Vec<(u64, String)>,
) -> Result<Frame, String> {
    let (Some(left), Some(right)) = (&select.left, &select.right) else {
        return Err("join needs `left` and `right`".to_owned());
    };
    let side = |path: &str, warn: &mut dyn FnMut(String), rejects: &mut Vec<(u64, String)>| -> Result<Frame, String> {
        let bare = path.trim().strip_suffix("[*]").unwrap_or(path.trim());
        Ok(match doc.first(&JsonPath::parse(bare)?) {
            Some((_, node)) => array_of_objects(node, None, warn, rejects),
            None => {
                warn(format!("`{bare}` matches nothing in this file"));
                Frame::default()
            }
        })
    };
    let l = side(&left.path, warn, rejects)?;
    let r = side(&right.path, warn, rejects)?;
    let key_of = |frame: &Frame, key: &str, row: &[Value]| -> Option<String> {
        let i = frame.names.iter().position(|n| n == key)?;
        row[i].as_ref().map(|(_, t)| t.clone())
    };
    // The right side's columns after the left's, its key column left out, a name the left side
    // already has suffixed `_right`.
    let right_columns: Vec<usize> = (0..r.names.len()).filter(|&i| r.names[i] != right.key).collect();
    let mut names = l.names.clone();
    for &i in &right_columns {
        let name = &r.names[i];
        names.push(if l.names.contains(name) { format!("{name}_right") } else { name.clone() });
    }
    let mut out = Frame::new(names);
    let how = select.how.as_deref().unwrap_or("left");
    let mut matched_right = vec![false; r.rows.len()];
    for (lrow, &at) in l.rows.iter().zip(&l.positions) {
        let key = key_of(&l, &left.key, lrow);
        let mut found = false;
        for (j, rrow) in r.rows.iter().enumerate() {
            if key.is_some() && key == key_of(&r, &right.key, rrow) {
                found = true;
                matched_right[j] = true;
                let mut row = lrow.clone();
                row.extend(right_columns.iter().map(|&c| rrow[c].clone()));
                out.push_row(at, row);
            }
        }
        if !found && matches!(how, "left" | "outer") {
            out.push_row(at, lrow.clone());
        }
    }
    if matches!(how, "right" | "outer") {
        let left_key = out.names.iter().position(|n| *n == left.key);
        let unmatched = r.rows.iter().zip(&r.positions).enumerate().filter(|(j, _)| !matched_right[*j]);
        for (_, (rrow, &at)) in unmatched {
            let mut row = vec![None; out.names.len()];
            if let (Some(k), Some(rk)) = (left_key, r.names.iter().position(|n| *n == right.key)) {
                row[k] = rrow[rk].clone();
            }
            for (n, &c) in right_columns.iter().enumerate() {
                row[l.names.len() + n] = rrow[c].clone();
            }
            out.push_row(at, row);
        }
    }
    Ok(out)
}

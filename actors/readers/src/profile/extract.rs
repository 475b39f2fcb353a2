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
//!   set); `inject_fields` (JSONPath from the element) come first in each of its rows. A
//!   context or `inject_fields` column named like a data column (of any element) is not
//!   added: the data column keeps its values, as in the parse stage's outputs, and a warning
//!   counts the rows that did not get the constant; of two constants of one name the first
//!   (the context's) is kept, with a warning.
//! - `unpivot`: the list at `path` as a frame; `id_vars` kept, `value_vars` melted into
//!   `var_name`/`value_name` rows.
//! - `join`: see [`super::join`].
//!
//! Widths are bounded by `max_columns` (`ReadOptions`) before rows are padded: an element or
//! object that would add columns past it is a reject; a header, a widest row (names
//! inferred) or the repeated elements' united columns past it fail the table. Sizes are
//! bounded by the table's [`Budget`] (rows × width cells, padding included, and their
//! estimated bytes), checked before each row, column or repeated element is added: past it
//! the table fails, naming the numbers. The intermediate frames (each repeated element's,
//! the join's two lists) count against the same budget, since they are held at once.

use std::collections::HashSet;

use dat_contracts::profile::{placeholders, substitute, JsonPath, RepeatOver, Select};
use dat_contracts::ColumnType;

use super::budget::{text_len, Budget};
use super::document::{first_below, Document, Node};
use super::frame::{Frame, Refused, Value};

/// A table out of one document, with what extraction noticed.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    pub(crate) frame: Frame,
    /// Remarks: a path matching nothing, cut rows.
    pub(crate) warnings: Vec<String>,
    /// Records that are not rows: (position from 1, why).
    pub(crate) rejects: Vec<(u64, String)>,
}

/// What a strategy works within and reports to: the width bound, what is left of the table's
/// budget, and where its warnings (each once) and rejects go.
pub(super) struct Scope<'a> {
    warnings: &'a mut Vec<String>,
    rejects: &'a mut Vec<(u64, String)>,
    pub(super) max_columns: usize,
    pub(super) budget: Budget,
}

impl Scope<'_> {
    /// Notes `message`, unless it was noted already.
    pub(super) fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }

    /// Record `at` (from 1) is not a row, because of `why`.
    pub(super) fn reject(&mut self, at: u64, why: String) {
        self.rejects.push((at, why));
    }

    /// This scope with only `budget` left: for a part built while earlier ones are held.
    pub(super) fn within(&mut self, budget: Budget) -> Scope<'_> {
        Scope { warnings: self.warnings, rejects: self.rejects, max_columns: self.max_columns, budget }
    }
}

/// Extracts the table `select` describes from `doc`; `context` columns (per repeat element)
/// come first in the rows of element `i` when given.
///
/// # Errors
/// A path that is not JSONPath (validation refuses such profiles first); a table wider than
/// `max_columns`; a table past its [`Budget`]; a join past its row bound.
pub(crate) fn extract(
    doc: &Document,
    select: &Select,
    context: &dyn Fn(usize) -> Vec<(String, Value)>,
    max_columns: usize,
) -> Result<Extracted, String> {
    let (mut warnings, mut rejects) = (Vec::new(), Vec::new());
    let mut scope = Scope { warnings: &mut warnings, rejects: &mut rejects, max_columns, budget: Budget::TABLE };
    let frame = match &select.repeat_over {
        None => base(doc, select, &select.path.clone().unwrap_or_default(), &mut scope)?,
        Some(repeat) => repeated(doc, select, repeat, context, &mut scope)?,
    };
    Ok(Extracted { frame, warnings, rejects })
}

/// The table of `select` with `repeat_over`: every element's, united with their constants.
fn repeated(
    doc: &Document,
    select: &Select,
    repeat: &RepeatOver,
    context: &dyn Fn(usize) -> Vec<(String, Value)>,
    scope: &mut Scope<'_>,
) -> Result<Frame, String> {
    let mut out = Frame::default();
    let list_path = JsonPath::parse(&repeat.path)?;
    let Some((list_value, list_node)) = doc.first(&list_path) else {
        scope.warn(format!("`{}` matches nothing in this file", repeat.path));
        return Ok(out);
    };
    let (Some(values), Node::Array(nodes)) = (list_value.as_array(), list_node) else {
        scope.warn(format!("`{}` is not a list in this file", repeat.path));
        return Ok(out);
    };
    let inject: Vec<(String, JsonPath)> = repeat
        .inject_fields
        .iter()
        .map(|(column, path)| Ok((column.clone(), JsonPath::parse(path)?)))
        .collect::<Result<_, String>>()?;
    // Every element's table first, then the constants: a constant named like a data
    // column of any element is added to no element (that column keeps the data's values,
    // null where an element lacks it), so one column never mixes data and constants.
    // Every element's frame is held until they are united: each may take what the
    // earlier ones left of the table's budget.
    let mut elements = Vec::new();
    let (mut cells, mut text) = (0usize, 0usize);
    let template = select.path.clone().unwrap_or_default();
    for (i, (value, node)) in values.iter().zip(nodes).enumerate() {
        let path = substitute(&template, &repeat.as_name, i);
        let left = scope.budget.less(cells, text);
        let frame = base(doc, select, &path, &mut scope.within(left))?;
        let (c, t) = frame.size();
        (cells, text) = (cells.saturating_add(c), text.saturating_add(t));
        let mut constants = context(i);
        constants.extend(
            inject.iter().map(|(column, path)| (column.clone(), first_below(value, node, path).and_then(Node::cell))),
        );
        elements.push((frame, constants));
    }
    let mut data: HashSet<&str> = HashSet::new();
    for (frame, _) in &elements {
        data.extend(frame.names.iter().map(String::as_str));
    }
    let constant_names: HashSet<&str> =
        elements.iter().flat_map(|(_, c)| c.iter().map(|(n, _)| n.as_str())).filter(|n| !data.contains(n)).collect();
    // Checked before `append` pads the rows so far for each new column.
    let width = data.len() + constant_names.len();
    if width > scope.max_columns {
        return Err(format!(
            "the repeated elements' tables have {width} columns together, more than the limit of {} (max_columns)",
            scope.max_columns
        ));
    }
    // The united table, constants included, checked before any row is padded.
    let rows: usize = elements.iter().map(|(frame, _)| frame.rows.len()).sum();
    let united_text = elements.iter().fold(text, |sum, (frame, constants)| {
        let per_row: usize =
            constants.iter().filter(|(n, _)| !data.contains(n.as_str())).map(|(_, v)| text_len(v)).sum();
        sum.saturating_add(per_row.saturating_mul(frame.rows.len()))
    });
    scope.budget.admit(rows, width, united_text)?;
    let data: HashSet<String> = data.into_iter().map(str::to_owned).collect();
    // (name, whether a data column has it (else an earlier constant), rows), for warnings.
    let mut skipped: Vec<(String, bool, usize)> = Vec::new();
    for (mut frame, mut constants) in elements {
        let rows = frame.rows.len();
        let mut not_added: Vec<(String, bool)> = Vec::new();
        constants.retain(|(name, _)| {
            let keep = !data.contains(name);
            if !keep {
                not_added.push((name.clone(), true));
            }
            keep
        });
        not_added.extend(frame.prepend_constant(&constants)?.into_iter().map(|name| (name, false)));
        for (name, in_data) in not_added {
            match skipped.iter_mut().find(|(n, d, _)| *n == name && *d == in_data) {
                Some((_, _, count)) => *count += rows,
                None => skipped.push((name, in_data, rows)),
            }
        }
        out.append(frame)?;
    }
    for (name, in_data, rows) in skipped.into_iter().filter(|(_, _, rows)| *rows > 0) {
        scope.warn(if in_data {
            format!(
                "column `{name}` is both a data column and a context or inject_fields column: the data's \
                 values are kept and the constant is not added ({rows} row(s))"
            )
        } else {
            format!(
                "column `{name}` is given twice by the context and inject_fields: the first is kept ({rows} row(s))"
            )
        });
    }
    Ok(out)
}

/// The strategy without `repeat_over`, at `path`, within `budget`.
fn base(doc: &Document, select: &Select, path: &str, scope: &mut Scope<'_>) -> Result<Frame, String> {
    let strategy = if select.repeat_over.is_some() && select.headers_key.is_some() && select.data_key.is_some() {
        "headers_data"
    } else {
        select.strategy.as_str()
    };
    if strategy == "join" {
        return super::join::join(doc, select, scope);
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
        scope.warn(format!("`{}` matches nothing in this file", if bare.is_empty() { "$" } else { bare }));
        return Ok(Frame::default());
    };
    Ok(match strategy {
        "flat_object" => flat_object(node, select, scope)?,
        "headers_data" => headers_data(node, select, scope)?,
        "array_of_objects" => array_of_objects(node, select.fields.as_deref(), scope)?,
        "unpivot" => unpivot(array_of_objects(node, None, scope)?, select, scope.budget)?,
        other => return Err(format!("`{other}` is not a strategy")),
    })
}

fn flat_object(node: &Node, select: &Select, scope: &mut Scope<'_>) -> Result<Frame, String> {
    let Node::Object(entries) = node else {
        scope.warn("flat_object found no object at its path".to_owned());
        return Ok(Frame::default());
    };
    let separator = select.flatten_separator.as_deref().unwrap_or("_");
    let mut cells = Vec::new();
    flatten(entries, "", separator, select.flatten_nested.unwrap_or(false), &mut cells);
    let mut frame = Frame::within(vec![], scope.budget);
    match frame.push(1, cells, scope.max_columns) {
        Ok(()) => {}
        Err(Refused::Row(why)) => scope.reject(1, why),
        Err(Refused::Table(why)) => return Err(why),
    }
    Ok(frame)
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

/// # Errors
/// A header (or, with names inferred, a row) wider than `max_columns`, or rows × names past
/// `budget`: every row is padded to the names, so both are checked before any row is built.
fn headers_data(node: &Node, select: &Select, scope: &mut Scope<'_>) -> Result<Frame, String> {
    let (max_columns, budget) = (scope.max_columns, scope.budget);
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
            scope.warn(format!("`{data_key}` is not a list of rows"));
            vec![]
        }
        None => {
            scope.warn(format!("no `{data_key}` at the table's path"));
            vec![]
        }
    };
    let from_file = select.headers_key.as_deref().and_then(|k| node.get(k)).and_then(|h| match h {
        Node::Array(names) => {
            Some(names.iter().map(|n| n.cell().map(|(_, t)| t).unwrap_or_default()).collect::<Vec<_>>())
        }
        _ => None,
    });
    let too_wide =
        |what: &str, n: usize| format!("{what} has {n} columns, more than the limit of {max_columns} (max_columns)");
    // Names built from the widest row: checked before they are, and only then (given names
    // cut a longer row instead).
    let inferred = || -> Result<Vec<String>, String> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        if width > max_columns {
            return Err(too_wide("the widest row", width));
        }
        Ok((0..width).map(|i| format!("col_{i}")).collect())
    };
    let names: Vec<String> = match (from_file, select.infer_headers.unwrap_or(false), &select.default_headers) {
        (Some(names), _, _) => names,
        (None, true, _) => inferred()?,
        (None, false, Some(defaults)) => defaults.clone(),
        (None, false, None) => {
            scope.warn(format!(
                "no `{}` header list at the table's path",
                select.headers_key.as_deref().unwrap_or("headers")
            ));
            inferred()?
        }
    };
    if names.len() > max_columns {
        return Err(too_wide("the header", names.len()));
    }
    // The cells before any row is built (texts are counted as the rows are).
    budget.admit(rows.len(), names.len(), 0)?;
    let (names, _) = crate::typing::unique_names(names);
    let mut frame = Frame::within(names, budget);
    let mut cut = 0usize;
    for (i, row) in rows.into_iter().enumerate() {
        cut += row.len().saturating_sub(frame.names.len());
        let values: Vec<Value> = row.iter().take(frame.names.len()).map(Node::cell).collect();
        frame.push_row(i as u64 + 1, values)?;
    }
    if cut > 0 {
        scope.warn(format!("{cut} cell(s) past the header's {} columns were cut", frame.names.len()));
    }
    Ok(frame)
}

pub(super) fn array_of_objects(node: &Node, fields: Option<&[String]>, scope: &mut Scope<'_>) -> Result<Frame, String> {
    let items = match node {
        Node::Array(items) => items.as_slice(),
        Node::Object(_) => std::slice::from_ref(node),
        Node::Leaf(_) => {
            scope.warn("array_of_objects found no list at its path".to_owned());
            return Ok(Frame::default());
        }
    };
    let mut frame = Frame::within(fields.map(<[String]>::to_vec).unwrap_or_default(), scope.budget);
    for (i, item) in items.iter().enumerate() {
        let Node::Object(entries) = item else {
            scope.reject(i as u64 + 1, format!("element {} is not an object", i + 1));
            continue;
        };
        let cells = entries
            .iter()
            .filter(|(key, _)| fields.is_none_or(|f| f.contains(key)))
            .map(|(key, value)| (key.clone(), value.cell()))
            .collect();
        match frame.push(i as u64 + 1, cells, scope.max_columns) {
            Ok(()) => {}
            Err(Refused::Row(why)) => scope.reject(i as u64 + 1, format!("element {}: {why}", i + 1)),
            Err(Refused::Table(why)) => return Err(why),
        }
    }
    Ok(frame)
}

/// `frame` melted, within what it leaves of `budget`.
fn unpivot(frame: Frame, select: &Select, budget: Budget) -> Result<Frame, String> {
    let id_vars = select.id_vars.clone().unwrap_or_default();
    let value_vars = select.value_vars.clone().unwrap_or_default();
    let var_name = select.var_name.clone().unwrap_or_else(|| "variable".to_owned());
    let value_name = select.value_name.clone().unwrap_or_else(|| "value".to_owned());
    let position = |name: &str| frame.names.iter().position(|n| n == name);
    let mut names = id_vars.clone();
    names.extend([var_name, value_name]);
    let (cells, text) = frame.size();
    let mut out = Frame::within(names, budget.less(cells, text));
    for (row, &at) in frame.rows.iter().zip(&frame.positions) {
        let ids: Vec<Value> = id_vars.iter().map(|v| position(v).and_then(|i| row.get(i).cloned().flatten())).collect();
        for var in &value_vars {
            let mut cells = ids.clone();
            cells.push(Some((ColumnType::String, var.clone())));
            cells.push(position(var).and_then(|i| row.get(i).cloned().flatten()));
            out.push_row(at, cells)?;
        }
    }
    Ok(out)
}

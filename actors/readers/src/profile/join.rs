//! The `join` strategy: the lists at `left.path` and `right.path` (each read like
//! `array_of_objects`) joined on `left.key` = `right.key` (as text; a null key matches nothing)
//! with `how` (left, right, inner, outer). Rows come in left order, each with its matches in
//! right order, then (right, outer) the unmatched right rows.
//!
//! - The right key column is not repeated, unless the left side has no key column (an empty
//!   left list), so that right-only rows keep their key.
//! - A right column named like a column already taken is named `<name>_right`, or, when that
//!   is taken too (by either side), `<name>_right_2`, `_3`…: names stay unique.
//! - The output is counted before it is built, and is an error of its table past
//!   [`ROWS_PER_INPUT_ROW`] × the input rows (at least [`MIN_ROW_BOUND`]), or past what the
//!   two lists leave of the table's [`Budget`]: its cells and bytes are counted from the
//!   matched rows' sizes before any row is cloned, since a long left text is copied once per
//!   match.

use std::collections::{HashMap, HashSet};

use dat_contracts::profile::{JsonPath, Select};

use super::budget::text_len;
use super::document::Document;
use super::extract::{array_of_objects, Scope};
use super::frame::{Frame, Value};

/// The most rows a join may make per input row (left + right). A key unique on one side makes
/// at most left + right rows; a key repeated on both makes their product (L × R for one key),
/// which the document's size does not bound: 2 × 10,000 elements of one key would be 10^8
/// rows. Past the bound the table fails, naming why, rather than the process running out of
/// memory; a profile joining on a key repeated on both sides is almost always a mistake.
pub(crate) const ROWS_PER_INPUT_ROW: usize = 4;

/// The bound for small inputs: a join may always make this many rows, so a small
/// many-to-many join (a few repeated keys) still works.
pub(crate) const MIN_ROW_BOUND: usize = 65_536;

/// Joins the two lists of `select` in `doc`.
///
/// # Errors
/// No `left` or `right`; a path that is not JSONPath; more columns than `max_columns`; more
/// rows than the bound, or more cells or bytes than `budget` (see the module doc).
pub(super) fn join(doc: &Document, select: &Select, scope: &mut Scope<'_>) -> Result<Frame, String> {
    let (Some(left), Some(right)) = (&select.left, &select.right) else {
        return Err("join needs `left` and `right`".to_owned());
    };
    let side = |path: &str, scope: &mut Scope<'_>| -> Result<Frame, String> {
        let bare = path.trim().strip_suffix("[*]").unwrap_or(path.trim());
        Ok(match doc.first(&JsonPath::parse(bare)?) {
            Some((_, node)) => array_of_objects(node, None, scope)?,
            None => {
                scope.warn(format!("`{bare}` matches nothing in this file"));
                Frame::default()
            }
        })
    };
    let max_columns = scope.max_columns;
    // The two lists are held with the output: each takes from the one budget.
    let l = side(&left.path, scope)?;
    let (cells, text) = l.size();
    let budget = scope.budget.less(cells, text);
    let r = side(&right.path, &mut scope.within(budget))?;
    let (cells, text) = r.size();
    let budget = budget.less(cells, text);
    let lkey = l.names.iter().position(|n| *n == left.key);
    let rkey = r.names.iter().position(|n| *n == right.key);
    let key = |row: &'_ [Value], at: Option<usize>| -> Option<String> {
        at.and_then(|i| row.get(i)).and_then(|v| v.as_ref()).map(|(_, t)| t.clone())
    };

    // Right rows by key, in order: matching is linear, not left × right comparisons.
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, row) in r.rows.iter().enumerate() {
        if let Some(k) = key(row, rkey) {
            index.entry(k).or_default().push(j);
        }
    }
    let left_keys: HashSet<String> = l.rows.iter().filter_map(|row| key(row, lkey)).collect();
    let how = select.how.as_deref().unwrap_or("left");
    let (keep_left, keep_right) = (matches!(how, "left" | "outer"), matches!(how, "right" | "outer"));

    // Counted before any row is built.
    let mut rows: usize = 0;
    for row in &l.rows {
        let matches = key(row, lkey).and_then(|k| index.get(&k)).map_or(usize::from(keep_left), Vec::len);
        rows = rows.saturating_add(matches);
    }
    if keep_right {
        let unmatched = r.rows.iter().filter(|row| !key(row, rkey).is_some_and(|k| left_keys.contains(&k))).count();
        rows = rows.saturating_add(unmatched);
    }
    let bound = ROWS_PER_INPUT_ROW.saturating_mul(l.rows.len().saturating_add(r.rows.len())).max(MIN_ROW_BOUND);
    if rows > bound {
        return Err(format!(
            "join would make {rows} rows out of {} left and {} right rows, more than its bound of {bound} \
             ({ROWS_PER_INPUT_ROW} × the input rows, at least {MIN_ROW_BOUND}): is the key unique on one side?",
            l.rows.len(),
            r.rows.len()
        ));
    }

    let right_columns: Vec<usize> = (0..r.names.len()).filter(|&i| lkey.is_none() || Some(i) != rkey).collect();
    let names = joined_names(&l.names, right_columns.iter().filter_map(|&i| r.names.get(i)));
    if names.len() > max_columns {
        return Err(format!(
            "the join has {} columns, more than the limit of {max_columns} (max_columns)",
            names.len()
        ));
    }

    // The output's text, from each left row's and each right row's (its kept columns), before
    // any row is cloned: the cells are rows × names.
    let row_text = |row: &[Value], columns: &mut dyn Iterator<Item = usize>| -> usize {
        columns.filter_map(|c| row.get(c)).map(text_len).sum()
    };
    let right_text: Vec<usize> = r.rows.iter().map(|row| row_text(row, &mut right_columns.iter().copied())).collect();
    let mut text: usize = 0;
    for row in &l.rows {
        let left_text = row_text(row, &mut (0..l.names.len()));
        match key(row, lkey).and_then(|k| index.get(&k)) {
            Some(matches) => {
                for &j in matches {
                    let right = right_text.get(j).copied().unwrap_or(0);
                    text = text.saturating_add(left_text).saturating_add(right);
                }
            }
            None if keep_left => text = text.saturating_add(left_text),
            None => {}
        }
    }
    if keep_right {
        for (row, right) in r.rows.iter().zip(&right_text) {
            if !key(row, rkey).is_some_and(|k| left_keys.contains(&k)) {
                // The right key moved into the left key column.
                let moved = lkey.and(rkey).and_then(|i| row.get(i)).map_or(0, text_len);
                text = text.saturating_add(*right).saturating_add(moved);
            }
        }
    }
    budget.admit(rows, names.len(), text)?;

    let mut out = Frame::within(names, budget);
    let right_cells = |row: &[Value]| right_columns.iter().map(|&c| row.get(c).cloned().flatten()).collect::<Vec<_>>();
    for (lrow, &at) in l.rows.iter().zip(&l.positions) {
        match key(lrow, lkey).and_then(|k| index.get(&k)) {
            Some(matches) => {
                for rrow in matches.iter().filter_map(|&j| r.rows.get(j)) {
                    let mut row = lrow.clone();
                    row.extend(right_cells(rrow));
                    out.push_row(at, row)?;
                }
            }
            None if keep_left => out.push_row(at, lrow.clone())?,
            None => {}
        }
    }
    if keep_right {
        for (rrow, &at) in r.rows.iter().zip(&r.positions) {
            let k = key(rrow, rkey);
            if k.as_ref().is_some_and(|k| left_keys.contains(k)) {
                continue;
            }
            let mut row = vec![None; l.names.len()];
            // The key goes in the left key column (the right one is not repeated).
            if let (Some(slot), Some(rk)) = (lkey.and_then(|i| row.get_mut(i)), rkey.and_then(|i| rrow.get(i))) {
                *slot = rk.clone();
            }
            row.extend(right_cells(rrow));
            out.push_row(at, row)?;
        }
    }
    Ok(out)
}

/// The left names, then each right name: as it is when free, else `<name>_right`, else
/// `<name>_right_2`, `_3`… avoiding every name of either side and those already given.
fn joined_names<'n>(left: &'n [String], right: impl Iterator<Item = &'n String> + Clone) -> Vec<String> {
    let reserved: HashSet<&str> = left.iter().map(String::as_str).chain(right.clone().map(String::as_str)).collect();
    let mut taken: HashSet<String> = left.iter().cloned().collect();
    let mut names = left.to_vec();
    for name in right {
        let chosen = if taken.contains(name) {
            let base = format!("{name}_right");
            let mut candidate = base.clone();
            let mut n = 2u64;
            while reserved.contains(candidate.as_str()) || taken.contains(&candidate) {
                candidate = format!("{base}_{n}");
                n += 1;
            }
            candidate
        } else {
            name.clone()
        };
        taken.insert(chosen.clone());
        names.push(chosen);
    }
    names
}

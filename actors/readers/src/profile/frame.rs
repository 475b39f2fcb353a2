//! A table as a profile strategy extracts it: named columns, rows of typed text cells. Frames
//! of several extractions (`repeat_over`, several files) are concatenated by column name. Every
//! way a frame grows checks its [`Budget`] first, so a hostile document fails its table
//! instead of allocating gigabytes of padding.

use std::collections::HashSet;

use dat_contracts::ColumnType;

use super::budget::{text_len, Budget};

/// One cell: its type and its text as written; `None` is null.
pub(crate) type Value = Option<(ColumnType, String)>;

/// Columns and rows; every row has one value per column and one position.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Frame {
    pub(crate) names: Vec<String>,
    pub(crate) rows: Vec<Vec<Value>>,
    /// Each row's position in the list it came from, from 1, the coordinate its `_source_row`
    /// and the strategy's rejects use: the element (`array_of_objects`; for `unpivot` the
    /// element melted, for `join` the left element, or the right one of a right-only row), the
    /// data row (`headers_data`), 1 (`flat_object`). Not the row's index in the frame: a
    /// rejected element leaves no row, and the rows after it keep their element's number. With
    /// `repeat_over` positions restart in each repeated list, as its rejects' do.
    pub(crate) positions: Vec<u64>,
    /// The bytes of the cells' texts, counted as cells are added (for the budget's estimate;
    /// column transforms count what they replace and write, see [`Frame::retext`]).
    text: usize,
    /// What the frame may hold.
    budget: Budget,
}

/// Why [`Frame::push`] did not add a row.
#[derive(Debug, PartialEq)]
pub(crate) enum Refused {
    /// This record is not a row: the caller rejects it, naming why, and goes on.
    Row(String),
    /// The table would pass its [`Budget`]: the caller fails the table with this reason.
    Table(String),
}

impl Frame {
    /// A frame with these columns, no rows, and at most `budget`.
    pub(crate) fn within(names: Vec<String>, budget: Budget) -> Self {
        Frame { names, rows: vec![], positions: vec![], text: 0, budget }
    }

    /// The cells the frame holds, nulls included, and the bytes of their texts.
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.rows.len().saturating_mul(self.names.len()), self.text)
    }

    /// Adds a row of one value per column (fewer are padded with nulls, more are dropped),
    /// from `position`.
    ///
    /// # Errors
    /// The row would pass the frame's budget; nothing is added and the caller fails the table.
    pub(crate) fn push_row(&mut self, position: u64, mut values: Vec<Value>) -> Result<(), String> {
        values.truncate(self.names.len());
        let text = self.text.saturating_add(values.iter().map(text_len).sum());
        self.budget.admit(self.rows.len().saturating_add(1), self.names.len(), text)?;
        values.resize(self.names.len(), None);
        self.rows.push(values);
        self.positions.push(position);
        self.text = text;
        Ok(())
    }

    /// Column `name` for a column transform's output, added (null in every row) when new, if
    /// the table with it and `copied` more bytes of text stays within the frame's budget.
    ///
    /// # Errors
    /// The table would pass its budget: nothing is added and the caller fails the table.
    pub(crate) fn transform_target(&mut self, name: &str, copied: usize) -> Result<usize, String> {
        let new = usize::from(!self.names.iter().any(|n| n == name));
        self.budget.admit(self.rows.len(), self.names.len().saturating_add(new), self.text.saturating_add(copied))?;
        Ok(self.column(name))
    }

    /// Counts a column transform's rewrite of one column: `replaced` bytes of text gone,
    /// `written` bytes in their place (uppercase can lengthen a text, a converted number has its
    /// own), and checks the budget again.
    ///
    /// # Errors
    /// The table is past its budget: the caller fails it.
    pub(crate) fn retext(&mut self, replaced: usize, written: usize) -> Result<(), String> {
        self.text = self.text.saturating_sub(replaced).saturating_add(written);
        self.budget.admit(self.rows.len(), self.names.len(), self.text)
    }

    /// The position of column `name`, adding it (null in the rows so far) when new. It does
    /// not check the budget: its callers do before they add columns.
    fn column(&mut self, name: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i;
        }
        self.names.push(name.to_owned());
        for row in &mut self.rows {
            row.push(None);
        }
        self.names.len() - 1
    }

    /// Adds a row of (column, value) pairs from `position`; absent columns are null.
    ///
    /// # Errors
    /// The row is not added. [`Refused::Row`] (the caller rejects it, naming why):
    /// - a column given twice (a key repeated in the object, or a flattened name meeting a key
    ///   of that name), since it holds one value per column and keeping either would drop the
    ///   other silently;
    /// - new columns that would make the frame wider than `max_columns` (like the JSON
    ///   reader's records). Checked before any column is added, because each new column pads
    ///   every earlier row: without it `[{"k0":0},{"k1":0},…]` grows with the square of the
    ///   elements (20,000 of them, ~240 KB, would need ~12.8 GB).
    ///
    /// [`Refused::Table`]: the frame, with this row and its new columns padding every row,
    /// would pass its budget (`max_columns` bounds the width, not rows × width).
    pub(crate) fn push(
        &mut self,
        position: u64,
        cells: Vec<(String, Value)>,
        max_columns: usize,
    ) -> Result<(), Refused> {
        if let Some(name) = crate::json::object::repeated(cells.iter().map(|(name, _)| name.as_str())) {
            return Err(Refused::Row(format!(
                "column `{}` is given more than once, so one of its values would be lost",
                name.chars().take(100).collect::<String>()
            )));
        }
        let new = cells.iter().filter(|(name, _)| !self.names.contains(name)).count();
        if new > 0 && self.names.len() + new > max_columns {
            return Err(Refused::Row(format!(
                "its new column(s) would make the table wider than {max_columns} columns (max_columns)"
            )));
        }
        let text = self.text.saturating_add(cells.iter().map(|(_, value)| text_len(value)).sum());
        self.budget
            .admit(self.rows.len().saturating_add(1), self.names.len().saturating_add(new), text)
            .map_err(Refused::Table)?;
        let positions: Vec<usize> = cells.iter().map(|(name, _)| self.column(name)).collect();
        let mut row = vec![None; self.names.len()];
        for (i, (_, value)) in positions.into_iter().zip(cells) {
            if let Some(slot) = row.get_mut(i) {
                *slot = value;
            }
        }
        self.rows.push(row);
        self.positions.push(position);
        self.text = text;
        Ok(())
    }

    /// Appends `other`'s rows, uniting the columns by name (first-seen order). The caller
    /// bounds the united width (see `extract`): each new column pads the rows so far.
    ///
    /// # Errors
    /// The united frame would pass this frame's budget; nothing is added.
    pub(crate) fn append(&mut self, other: Frame) -> Result<(), String> {
        let new = other.names.iter().filter(|n| !self.names.contains(n)).collect::<HashSet<_>>().len();
        let text = self.text.saturating_add(other.text);
        self.budget.admit(
            self.rows.len().saturating_add(other.rows.len()),
            self.names.len().saturating_add(new),
            text,
        )?;
        self.text = text;
        let positions: Vec<usize> = other.names.iter().map(|n| self.column(n)).collect();
        self.positions.extend(other.positions);
        for row in other.rows {
            let mut out = vec![None; self.names.len()];
            for (i, value) in positions.iter().zip(row) {
                if let Some(slot) = out.get_mut(*i) {
                    *slot = value;
                }
            }
            self.rows.push(out);
        }
        Ok(())
    }

    /// Puts these columns first in every row, with the same values on each row, and returns
    /// the names of those it did not add.
    ///
    /// A constant named like one of the frame's columns is not added: the column keeps its
    /// values (as the parse stage keeps a table column named like a context key), since
    /// replacing them would drop every one of them silently. A name given twice among the
    /// constants keeps the first. The caller counts what is returned in a warning.
    ///
    /// # Errors
    /// The constants in every row would pass the frame's budget; nothing is added.
    pub(crate) fn prepend_constant(&mut self, columns: &[(String, Value)]) -> Result<Vec<String>, String> {
        let mut added: Vec<&(String, Value)> = Vec::new();
        let mut skipped = Vec::new();
        for column in columns {
            let (name, _) = column;
            if self.names.contains(name) || added.iter().any(|(n, _)| n == name) {
                skipped.push(name.clone());
            } else {
                added.push(column);
            }
        }
        if added.is_empty() {
            return Ok(skipped);
        }
        let per_row: usize = added.iter().map(|(_, v)| text_len(v)).sum();
        let text = self.text.saturating_add(per_row.saturating_mul(self.rows.len()));
        self.budget.admit(self.rows.len(), self.names.len().saturating_add(added.len()), text)?;
        self.text = text;
        let mut names: Vec<String> = added.iter().map(|(n, _)| n.clone()).collect();
        names.append(&mut self.names);
        for row in &mut self.rows {
            let mut out: Vec<Value> = Vec::with_capacity(names.len());
            out.extend(added.iter().map(|(_, v)| v.clone()));
            out.append(row);
            *row = out;
        }
        self.names = names;
        Ok(skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        Some((ColumnType::String, text.to_owned()))
    }

    #[test]
    fn frames_unite_by_name_and_constants_go_first() {
        let mut a = Frame::default();
        a.push(1, vec![("x".into(), v("1"))], 10).unwrap();
        let mut b = Frame::default();
        b.push(4, vec![("y".into(), v("2")), ("x".into(), v("3"))], 10).unwrap();
        assert!(b.push(5, vec![("y".into(), v("2")), ("y".into(), v("3"))], 10).is_err());
        assert!(b.push(6, vec![("z".into(), v("4"))], 2).is_err(), "a third column past max_columns 2");
        a.append(b).unwrap();
        assert_eq!(a.positions, [1, 4]);
        assert_eq!(a.names, ["x", "y"]);
        assert_eq!(a.rows, [vec![v("1"), None], vec![v("3"), v("2")]]);
        let skipped =
            a.prepend_constant(&[("id".into(), v("L1")), ("y".into(), v("c")), ("id".into(), v("L2"))]).unwrap();
        assert_eq!(skipped, ["y", "id"], "a data column keeps its values; the first `id` is kept");
        assert_eq!(a.names, ["id", "x", "y"]);
        assert_eq!(a.rows, [vec![v("L1"), v("1"), None], vec![v("L1"), v("3"), v("2")]]);
    }
}

//! A table as a profile strategy extracts it: named columns, rows of typed text cells. Frames
//! of several extractions (`repeat_over`, several files) are concatenated by column name.

use dat_contracts::ColumnType;

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
}

impl Frame {
    /// A frame with these columns and no rows.
    pub(crate) fn new(names: Vec<String>) -> Self {
        Frame { names, rows: vec![], positions: vec![] }
    }

    /// Adds a row of one value per column (fewer are padded with nulls), from `position`.
    pub(crate) fn push_row(&mut self, position: u64, mut values: Vec<Value>) {
        values.resize(self.names.len(), None);
        self.rows.push(values);
        self.positions.push(position);
    }

    /// The position of column `name`, adding it (null in the rows so far) when new.
    pub(crate) fn column(&mut self, name: &str) -> usize {
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
    /// The row is not added (the caller rejects it, naming why):
    /// - a column given twice (a key repeated in the object, or a flattened name meeting a key
    ///   of that name), since it holds one value per column and keeping either would drop the
    ///   other silently;
    /// - new columns that would make the frame wider than `max_columns` (like the JSON
    ///   reader's records). Checked before any column is added, because each new column pads
    ///   every earlier row: without it `[{"k0":0},{"k1":0},…]` grows with the square of the
    ///   elements (20,000 of them, ~240 KB, would need ~12.8 GB).
    pub(crate) fn push(
        &mut self,
        position: u64,
        cells: Vec<(String, Value)>,
        max_columns: usize,
    ) -> Result<(), String> {
        if let Some(name) = crate::json::object::repeated(cells.iter().map(|(name, _)| name.as_str())) {
            return Err(format!(
                "column `{}` is given more than once, so one of its values would be lost",
                name.chars().take(100).collect::<String>()
            ));
        }
        let new = cells.iter().filter(|(name, _)| !self.names.contains(name)).count();
        if new > 0 && self.names.len() + new > max_columns {
            return Err(format!(
                "its new column(s) would make the table wider than {max_columns} columns (max_columns)"
            ));
        }
        let positions: Vec<usize> = cells.iter().map(|(name, _)| self.column(name)).collect();
        let mut row = vec![None; self.names.len()];
        for (i, (_, value)) in positions.into_iter().zip(cells) {
            if let Some(slot) = row.get_mut(i) {
                *slot = value;
            }
        }
        self.rows.push(row);
        self.positions.push(position);
        Ok(())
    }

    /// Appends `other`'s rows, uniting the columns by name (first-seen order). The caller
    /// bounds the united width (see `extract`): each new column pads the rows so far.
    pub(crate) fn append(&mut self, other: Frame) {
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
    }

    /// Puts these columns first in every row, with the same values on each row, and returns
    /// the names of those it did not add.
    ///
    /// A constant named like one of the frame's columns is not added: the column keeps its
    /// values (as the parse stage keeps a table column named like a context key), since
    /// replacing them would drop every one of them silently. A name given twice among the
    /// constants keeps the first. The caller counts what is returned in a warning.
    pub(crate) fn prepend_constant(&mut self, columns: &[(String, Value)]) -> Vec<String> {
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
            return skipped;
        }
        let mut names: Vec<String> = added.iter().map(|(n, _)| n.clone()).collect();
        names.append(&mut self.names);
        for row in &mut self.rows {
            let mut out: Vec<Value> = Vec::with_capacity(names.len());
            out.extend(added.iter().map(|(_, v)| v.clone()));
            out.append(row);
            *row = out;
        }
        self.names = names;
        skipped
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
        a.append(b);
        assert_eq!(a.positions, [1, 4]);
        assert_eq!(a.names, ["x", "y"]);
        assert_eq!(a.rows, [vec![v("1"), None], vec![v("3"), v("2")]]);
        let skipped = a.prepend_constant(&[("id".into(), v("L1")), ("y".into(), v("c")), ("id".into(), v("L2"))]);
        assert_eq!(skipped, ["y", "id"], "a data column keeps its values; the first `id` is kept");
        assert_eq!(a.names, ["id", "x", "y"]);
        assert_eq!(a.rows, [vec![v("L1"), v("1"), None], vec![v("L1"), v("3"), v("2")]]);
    }
}

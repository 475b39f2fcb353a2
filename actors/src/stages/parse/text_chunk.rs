//! A chunk of delimited-text rows kept as one text buffer per column, so that reading a cell
//! allocates nothing; each column is typed by the probe's rules as its cells arrive and turned
//! into a typed frame by the conversions every reader shares ([`TypedCell`](super::chunk::TypedCell)).

use dat_contracts::ColumnType;
use polars::prelude::*;

use super::chunk::typed_frame;
use crate::adapters::cells::TypeTally;
use crate::adapters::text::infer;

/// One column's cells.
#[derive(Debug, Default)]
struct TextColumn {
    /// The cells' text back to back, as written (strings keep their spaces).
    text: String,
    /// Where each cell ends in `text`. A null cell is empty; a non-null cell never is, because
    /// empty and blank cells are null.
    ends: Vec<usize>,
    /// The column's type so far.
    tally: TypeTally,
}

impl TextColumn {
    fn push(&mut self, cell: &str) {
        if infer::is_null(cell) {
            self.tally.observe(ColumnType::Null);
        } else {
            // Once a column is text, no cell can make it anything else: skip typing.
            if !self.tally.is_string() {
                self.tally.observe(infer::cell_type(cell));
            }
            self.text.push_str(cell);
        }
        self.ends.push(self.text.len());
    }

    /// The cells, `None` for null.
    fn cells(&self) -> Vec<Option<&str>> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let cell = self.text.get(start..end).filter(|c| !c.is_empty());
                start = end;
                cell
            })
            .collect()
    }
}

/// Rows of a delimited table, gathered column by column.
#[derive(Debug)]
pub(crate) struct TextChunk {
    names: Vec<String>,
    columns: Vec<TextColumn>,
    rows: usize,
}

impl TextChunk {
    /// An empty chunk for these columns.
    pub(crate) fn new(names: Vec<String>) -> Self {
        let columns = names.iter().map(|_| TextColumn::default()).collect();
        TextChunk { names, columns, rows: 0 }
    }

    /// Rows gathered.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Adds a record; missing trailing fields are null (callers reject records with more
    /// fields than columns before they get here).
    pub(crate) fn push_record(&mut self, record: &csv::StringRecord) {
        for (i, column) in self.columns.iter_mut().enumerate() {
            column.push(record.get(i).unwrap_or(""));
        }
        self.rows += 1;
    }

    /// The rows as a typed frame, each column of the narrowest type all its cells fit.
    ///
    /// # Errors
    /// A polars error (a bug: every column has one length and a valid type).
    pub(crate) fn into_frame(self) -> PolarsResult<(DataFrame, Vec<ColumnType>)> {
        let columns = self.names.iter().zip(&self.columns).map(|(name, c)| (name.as_str(), c.cells(), c.tally));
        typed_frame(self.rows, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(rows: &[&[&str]]) -> (DataFrame, Vec<ColumnType>) {
        let mut chunk = TextChunk::new(vec!["i".into(), "f".into(), "s".into(), "d".into(), "code".into()]);
        for row in rows {
            chunk.push_record(&csv::StringRecord::from(row.to_vec()));
        }
        assert_eq!(chunk.rows(), rows.len());
        chunk.into_frame().unwrap()
    }

    #[test]
    fn columns_get_the_narrowest_type_their_cells_fit() {
        let (df, types) = chunk(&[
            &["1", "1.5", " a ", "2026-01-02", "007"],
            &["2", "2", "", "2026-01-03T04:05:06Z", "8"],
            &[" 3 ", "NULL", "c"],
        ]);
        assert_eq!(
            types,
            vec![ColumnType::Int, ColumnType::Float, ColumnType::String, ColumnType::Datetime, ColumnType::String]
        );
        let i = df.column("i").unwrap().as_materialized_series().i64().unwrap();
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![Some(1), Some(2), Some(3)]);
        let f = df.column("f").unwrap().as_materialized_series().f64().unwrap();
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![Some(1.5), Some(2.0), None]);
        let s = df.column("s").unwrap().as_materialized_series().str().unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Some(" a "), None, Some("c")], "text kept as written");
        let code = df.column("code").unwrap().as_materialized_series().str().unwrap();
        assert_eq!(code.iter().collect::<Vec<_>>(), vec![Some("007"), Some("8"), None]);
        assert_eq!(df.column("d").unwrap().null_count(), 1);
    }

    #[test]
    fn a_text_cell_after_numbers_makes_the_column_text() {
        let (df, types) = chunk(&[&["1"], &["x"], &["2"]]);
        assert_eq!(types[0], ColumnType::String);
        let i = df.column("i").unwrap().as_materialized_series().str().unwrap();
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![Some("1"), Some("x"), Some("2")]);
        assert_eq!(types[1], ColumnType::Null, "a column of nulls only");
    }
}

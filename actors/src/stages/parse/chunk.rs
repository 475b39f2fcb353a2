//! A chunk of rows as readers produce them (cells typed as far as the format says; dates come
//! as text and are recognised by inference), and its
//! conversion into a typed polars frame: each column gets the narrowest type all its cells fit,
//! by the probe's rules (int → float → string, date → datetime → string), so parse and probe
//! agree on what a column is.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};
use dat_contracts::ColumnType;
use polars::prelude::*;

use crate::adapters::cells::TypeTally;
use crate::adapters::text::infer;

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Missing, empty or a null token.
    Null,
    /// Text whose type is to be inferred (delimited text).
    Text(String),
    /// Text that is a string whatever it looks like (a JSON string, nested JSON as text).
    Str(String),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// true/false.
    Bool(bool),
}

/// A cell that can be read as each column type; `None` when it is null or does not fit.
/// Shared by [`Cell`] and raw text cells (`Option<&str>`, `None` for null) so that every
/// reader converts values by the same rules.
pub(crate) trait TypedCell {
    /// The type of this cell on its own.
    fn column_type(&self) -> ColumnType;
    fn as_i64(&self) -> Option<i64>;
    fn as_f64(&self) -> Option<f64>;
    fn as_bool(&self) -> Option<bool>;
    fn as_date(&self) -> Option<NaiveDate>;
    fn as_datetime(&self) -> Option<NaiveDateTime>;
    fn as_text(&self) -> Option<Cow<'_, str>>;
}

/// Text cells: trimmed before they are typed; kept as written when they are strings.
impl TypedCell for Option<&str> {
    fn column_type(&self) -> ColumnType {
        self.map_or(ColumnType::Null, infer::cell_type)
    }

    fn as_i64(&self) -> Option<i64> {
        infer::parse_int(infer::trim(self.as_ref()?))
    }

    fn as_f64(&self) -> Option<f64> {
        let t = infer::trim(self.as_ref()?);
        infer::parse_float(t).or_else(|| infer::parse_int(t).map(|i| i as f64))
    }

    fn as_bool(&self) -> Option<bool> {
        infer::parse_bool(infer::trim(self.as_ref()?))
    }

    fn as_date(&self) -> Option<NaiveDate> {
        infer::parse_date(infer::trim(self.as_ref()?))
    }

    fn as_datetime(&self) -> Option<NaiveDateTime> {
        let t = infer::trim(self.as_ref()?);
        infer::parse_datetime(t).or_else(|| infer::parse_date(t).and_then(|d| d.and_hms_opt(0, 0, 0)))
    }

    fn as_text(&self) -> Option<Cow<'_, str>> {
        self.map(Cow::Borrowed)
    }
}

impl Cell {
    /// The cell as text to be typed, when it is one.
    fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl TypedCell for Cell {
    fn column_type(&self) -> ColumnType {
        match self {
            Cell::Null => ColumnType::Null,
            Cell::Text(t) => infer::cell_type(t),
            Cell::Str(_) => ColumnType::String,
            Cell::Int(_) => ColumnType::Int,
            Cell::Float(_) => ColumnType::Float,
            Cell::Bool(_) => ColumnType::Bool,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => self.text().as_i64(),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => self.text().as_f64(),
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Cell::Bool(b) => Some(*b),
            _ => self.text().as_bool(),
        }
    }

    fn as_date(&self) -> Option<NaiveDate> {
        self.text().as_date()
    }

    fn as_datetime(&self) -> Option<NaiveDateTime> {
        self.text().as_datetime()
    }

    fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Null => None,
            Cell::Text(t) | Cell::Str(t) => Some(Cow::Borrowed(t)),
            Cell::Int(i) => Some(Cow::Owned(i.to_string())),
            Cell::Float(f) => Some(Cow::Owned(f.to_string())),
            Cell::Bool(b) => Some(Cow::Owned(b.to_string())),
        }
    }
}

/// Rows being gathered column by column.
#[derive(Debug, Default)]
pub(crate) struct ChunkBuilder {
    /// Column names in order.
    pub(crate) names: Vec<String>,
    /// One vector of cells per column, all of the same length.
    columns: Vec<Vec<Cell>>,
    rows: usize,
}

impl ChunkBuilder {
    /// A builder for these columns.
    pub(crate) fn new(names: Vec<String>) -> Self {
        let columns = names.iter().map(|_| Vec::new()).collect();
        ChunkBuilder { names, columns, rows: 0 }
    }

    /// Rows gathered.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Index of column `name`, adding it (null in earlier rows) when new.
    pub(crate) fn column_index(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_owned());
                self.columns.push(vec![Cell::Null; self.rows]);
                self.names.len() - 1
            }
        }
    }

    /// Adds a row given in column order; missing cells are null, extra cells are ignored
    /// (callers reject such rows before they get here).
    pub(crate) fn push_row(&mut self, cells: impl IntoIterator<Item = Cell>) {
        let mut cells = cells.into_iter();
        for column in &mut self.columns {
            column.push(cells.next().unwrap_or(Cell::Null));
        }
        self.rows += 1;
    }

    /// Adds a row given as (column index, cell) pairs; absent columns are null.
    pub(crate) fn push_sparse(&mut self, cells: Vec<(usize, Cell)>) {
        for column in &mut self.columns {
            column.push(Cell::Null);
        }
        for (i, cell) in cells {
            if let Some(slot) = self.columns.get_mut(i).and_then(|c| c.last_mut()) {
                *slot = cell;
            }
        }
        self.rows += 1;
    }

    /// Turns the gathered rows into a typed frame and starts over (same columns).
    ///
    /// # Errors
    /// A polars error (a bug: every column is built with one length and a valid type).
    pub(crate) fn take_frame(&mut self) -> PolarsResult<(DataFrame, Vec<ColumnType>)> {
        let height = std::mem::take(&mut self.rows);
        let columns = self.names.iter().zip(&mut self.columns).map(|(name, cells)| {
            let cells = std::mem::take(cells);
            let mut tally = TypeTally::default();
            cells.iter().for_each(|c| tally.observe(c.column_type()));
            (name.as_str(), cells, tally)
        });
        typed_frame(height, columns)
    }
}

/// A frame of `height` rows from each column's name, cells and tally: every column becomes
/// the narrowest type its tally allows. Returns the frame and the column types.
///
/// # Errors
/// A polars error (a bug: every column has `height` cells and a valid type).
pub(crate) fn typed_frame<'n, C: TypedCell>(
    height: usize,
    columns: impl Iterator<Item = (&'n str, Vec<C>, TypeTally)>,
) -> PolarsResult<(DataFrame, Vec<ColumnType>)> {
    let mut series = Vec::new();
    let mut types = Vec::new();
    for (name, cells, tally) in columns {
        let dtype = tally.info(name).dtype;
        series.push(build_series(name, &cells, dtype)?.into());
        types.push(dtype);
    }
    Ok((DataFrame::new(height, series)?, types))
}

/// The polars type dat stores a column type as.
pub(crate) fn polars_type(dtype: ColumnType) -> DataType {
    match dtype {
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date => DataType::Date,
        ColumnType::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        _ => DataType::String,
    }
}

/// A column of `dtype` from its cells (all of which fit `dtype`, or are null).
fn build_series<C: TypedCell>(name: &str, cells: &[C], dtype: ColumnType) -> PolarsResult<Series> {
    let name: PlSmallStr = name.into();
    Ok(match dtype {
        ColumnType::Int => Series::new(name, cells.iter().map(C::as_i64).collect::<Vec<_>>()),
        ColumnType::Float => Series::new(name, cells.iter().map(C::as_f64).collect::<Vec<_>>()),
        ColumnType::Bool => Series::new(name, cells.iter().map(C::as_bool).collect::<Vec<_>>()),
        ColumnType::Date => {
            let epoch = NaiveDate::default();
            let days: Vec<Option<i32>> =
                cells.iter().map(|c| c.as_date().map(|d| (d - epoch).num_days() as i32)).collect();
            Series::new(name, days).cast(&DataType::Date)?
        }
        ColumnType::Datetime => {
            let micros: Vec<Option<i64>> =
                cells.iter().map(|c| c.as_datetime().map(|d| d.and_utc().timestamp_micros())).collect();
            Series::new(name, micros).cast(&polars_type(ColumnType::Datetime))?
        }
        _ => {
            let text: StringChunked = cells.iter().map(|c| c.as_text()).collect();
            text.with_name(name).into_series()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn columns_get_the_narrowest_type_their_cells_fit() {
        let mut b = ChunkBuilder::new(vec!["i".into(), "f".into(), "s".into(), "d".into(), "code".into()]);
        b.push_row([text("1"), text("1.5"), text("a"), text("2026-01-02"), text("007")]);
        b.push_row([text("2"), text("2"), Cell::Null, text("2026-01-03T04:05:06Z"), text("8")]);
        b.push_row([text(""), text("NULL"), text("c")]);
        let (df, types) = b.take_frame().unwrap();
        assert_eq!(
            types,
            vec![ColumnType::Int, ColumnType::Float, ColumnType::String, ColumnType::Datetime, ColumnType::String]
        );
        assert_eq!(df.height(), 3);
        let f = df.column("f").unwrap().as_materialized_series().f64().unwrap();
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![Some(1.5), Some(2.0), None]);
        let code = df.column("code").unwrap().as_materialized_series().str().unwrap();
        assert_eq!(code.iter().collect::<Vec<_>>(), vec![Some("007"), Some("8"), None]);
        assert_eq!(df.column("d").unwrap().null_count(), 1);
        assert_eq!(b.rows(), 0, "the builder starts over");
    }

    #[test]
    fn sparse_rows_add_columns_with_nulls_before() {
        let mut b = ChunkBuilder::new(vec![]);
        let a = b.column_index("a");
        b.push_sparse(vec![(a, Cell::Int(1))]);
        let c = b.column_index("c");
        b.push_sparse(vec![(c, Cell::Str("x".into())), (a, Cell::Int(2))]);
        let (df, types) = b.take_frame().unwrap();
        assert_eq!(types, vec![ColumnType::Int, ColumnType::String]);
        assert_eq!(df.column("c").unwrap().null_count(), 1);
    }
}

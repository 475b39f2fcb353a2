//! Rows as readers hand them over: a [`Chunk`] holds its columns' [`Values`], text-origin cells
//! kept as their original text (with the type they fit so far) until the column's type is
//! final, native values (Parquet) typed. Readers build chunks cell by cell with a
//! [`ChunkBuilder`]; a cell arrives as a [`Cell`].

use dat_contracts::ColumnType;

use crate::options::ReadOptions;
use crate::typed::{DenseValues, TypedCells};
use crate::typing::{is_null, CellRules, CellValue, TypeTally};

/// One cell as a reader found it, before its column's type is final.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// No value: absent, empty, a null token, a JSON `null`, an empty sheet cell.
    Null,
    /// Text whose type the [typing rules](crate::typing) decide (delimited text). Empty,
    /// blank and null-token text is null.
    Infer(&'a str),
    /// Text whose type the format already says: a JSON string is a `string` whatever it looks
    /// like, a JSON number keeps its digits as written, a workbook date its ISO text.
    Typed(ColumnType, &'a str),
}

/// The values of one column of a chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Cells as read, each kept as its text until the column's type is final.
    Text(TextValues),
    /// 64-bit integers.
    Int(Vec<Option<i64>>),
    /// 64-bit floats.
    Float(Vec<Option<f64>>),
    /// Exact decimals: unscaled values with their precision and scale.
    Decimal {
        /// Unscaled values (`12.30` at scale 2 is `1230`).
        values: Vec<Option<i128>>,
        /// Digits in all.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// Booleans.
    Bool(Vec<Option<bool>>),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
    /// Microseconds since 1970-01-01T00:00:00 (UTC for zoned sources).
    Datetime(Vec<Option<i64>>),
    /// Raw bytes.
    Binary(Vec<Option<Vec<u8>>>),
}

impl Values {
    /// The column's type as far as these values tell.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Values::Text(text) => text.tally.column_type(),
            Values::Int(_) => ColumnType::Int,
            Values::Float(_) => ColumnType::Float,
            Values::Decimal { precision, scale, .. } => ColumnType::Decimal { precision: *precision, scale: *scale },
            Values::Bool(_) => ColumnType::Bool,
            Values::Date(_) => ColumnType::Date,
            Values::Datetime(_) => ColumnType::Datetime,
            Values::Binary(_) => ColumnType::Binary,
        }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Values::Text(text) => text.len(),
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Decimal { values, .. } => values.len(),
            Values::Bool(v) => v.len(),
            Values::Date(v) => v.len(),
            Values::Datetime(v) => v.len(),
            Values::Binary(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values are null.
    pub fn null_count(&self) -> usize {
        fn nones<T>(v: &[Option<T>]) -> usize {
            v.iter().filter(|x| x.is_none()).count()
        }
        match self {
            Values::Text(text) => text.valid.iter().filter(|v| !**v).count(),
            Values::Int(v) => nones(v),
            Values::Float(v) => nones(v),
            Values::Decimal { values, .. } => nones(values),
            Values::Bool(v) => nones(v),
            Values::Date(v) => nones(v),
            Values::Datetime(v) => nones(v),
            Values::Binary(v) => nones(v),
        }
    }

    /// The values at `indices` in order, `None` (or an index past the end) being null: a
    /// dictionary's values by its keys.
    pub(crate) fn gather(&self, indices: &[Option<usize>]) -> Values {
        fn pick<T: Clone>(values: &[Option<T>], indices: &[Option<usize>]) -> Vec<Option<T>> {
            indices.iter().map(|i| i.and_then(|i| values.get(i).cloned().flatten())).collect()
        }
        match self {
            Values::Text(text) => {
                let cells: Vec<Option<&str>> = text.iter().collect();
                let kind = text.column_type();
                Values::Text(TextValues::from_cells(indices.iter().map(|i| {
                    i.and_then(|i| cells.get(i).copied().flatten()).map_or(Cell::Null, |t| Cell::Typed(kind, t))
                })))
            }
            Values::Int(v) => Values::Int(pick(v, indices)),
            Values::Float(v) => Values::Float(pick(v, indices)),
            Values::Decimal { values, precision, scale } => {
                Values::Decimal { values: pick(values, indices), precision: *precision, scale: *scale }
            }
            Values::Bool(v) => Values::Bool(pick(v, indices)),
            Values::Date(v) => Values::Date(pick(v, indices)),
            Values::Datetime(v) => Values::Datetime(pick(v, indices)),
            Values::Binary(v) => Values::Binary(pick(v, indices)),
        }
    }
}

/// Text cells back to back, with where each ends and whether it is null.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextValues {
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
    /// Whether each cell has a value (a JSON `""` is a value, a CSV empty cell is not).
    valid: Vec<bool>,
    /// The narrowest type every cell so far fits.
    tally: TypeTally,
    /// How cells of unknown type are typed (and later read).
    rules: CellRules,
    /// The first cell of each type the column took, by index: what forced a widening.
    firsts: Vec<(ColumnType, usize)>,
    /// Each cell's value as the column's type so far (see [`TypedCells`]).
    typed: TypedCells,
    /// Int cells beyond ±2^53 that the column, being float, holds only rounded.
    rounded: u64,
    /// The type of the last cell observed: a cell of that type again changes neither the tally
    /// nor `firsts` (widening is idempotent), so it skips both (most cells of a column).
    last_observed: Option<ColumnType>,
}

impl TextValues {
    /// Cells gathered in order.
    pub fn from_cells<'c>(cells: impl IntoIterator<Item = Cell<'c>>) -> Self {
        let mut values = TextValues::default();
        for cell in cells {
            values.push(cell);
        }
        values
    }

    /// Text values typed by `rules`.
    pub(crate) fn with_rules(rules: CellRules) -> Self {
        TextValues { rules, ..TextValues::default() }
    }

    /// An empty column for the chunk after `previous`, typed by the same rules, with room for
    /// as much as `previous` held and a little more (the typed values take the room of the cell
    /// ends): chunks of one table are alike, and growing the buffers by doubling copied each of
    /// them again (W1: 4% of the CPU in `realloc`).
    fn after(previous: &TextValues) -> Self {
        let room = |n: usize| n + n / 16;
        TextValues {
            text: String::with_capacity(room(previous.text.len())),
            ends: Vec::with_capacity(room(previous.ends.len())),
            valid: Vec::with_capacity(room(previous.valid.len())),
            ..TextValues::with_rules(previous.rules)
        }
    }

    /// Adds one cell. Kept as written: strings keep their spaces, numbers their digits. Its
    /// value is read here, once, as its column's type so far.
    fn push(&mut self, cell: Cell<'_>) {
        let index = self.ends.len();
        let text = match cell {
            Cell::Null => None,
            // Once a column is text, no cell can make it anything else: skip typing.
            Cell::Infer(text) if self.tally.is_string() => (!is_null(text)).then_some(text),
            Cell::Infer(text) => match self.rules.read_like(text, self.tally.column_type()) {
                CellValue::Null => None,
                value => {
                    self.observe(value.column_type());
                    self.typed.push(index, value, &mut self.rounded, self.ends.capacity());
                    Some(text)
                }
            },
            Cell::Typed(dtype, text) => {
                self.observe(dtype);
                let value = match dtype {
                    ColumnType::Null => CellValue::Text,
                    _ => self.rules.read_as(dtype, text).unwrap_or(CellValue::Text),
                };
                self.typed.push(index, value, &mut self.rounded, self.ends.capacity());
                Some(text)
            }
        };
        match text {
            Some(text) => {
                self.text.push_str(text);
                self.valid.push(true);
            }
            None => {
                self.tally.mark_null();
                self.typed.push_null();
                self.valid.push(false);
            }
        }
        self.ends.push(self.text.len());
    }

    /// The cells as values of the column's type when that is a typed one (int, float, bool,
    /// date, date-time), read as they were gathered, with the count of ints a float column
    /// holds only rounded; the text values themselves otherwise.
    ///
    /// # Errors
    /// The text values, when the column is text (or only nulls, or a cell's value was lost).
    pub fn into_typed(self) -> Result<(Values, u64), Box<TextValues>> {
        let (dense, valid, rounded) = self.into_dense()?;
        Ok((dense.into_values(&valid), rounded))
    }

    /// Whether the cells are held as values of the column's type (int, float, bool, date,
    /// date-time): [`Self::into_typed`] and [`Self::into_dense`] then give them.
    pub fn is_typed(&self) -> bool {
        self.typed.holds(self.tally.column_type(), self.valid.len())
    }

    /// [`Self::into_typed`] without the pass through `Option`s: the values (a placeholder where
    /// a cell is null), whether each cell has a value, and the count of ints held rounded.
    ///
    /// # Errors
    /// The text values, when the column is not [typed](Self::is_typed).
    pub fn into_dense(mut self) -> Result<(DenseValues, Vec<bool>, u64), Box<TextValues>> {
        if !self.is_typed() {
            return Err(Box::new(self));
        }
        match std::mem::take(&mut self.typed).into_dense() {
            Ok(dense) => Ok((dense, std::mem::take(&mut self.valid), self.rounded)),
            Err(typed) => {
                self.typed = typed;
                Err(Box::new(self))
            }
        }
    }

    /// Ints beyond ±2^53 the column, being float, holds only rounded.
    pub fn rounded(&self) -> u64 {
        self.rounded
    }

    /// Widens the column with the type of the cell about to be added. Inlined: on most cells
    /// it is one comparison, and the call cost more than that.
    #[inline]
    fn observe(&mut self, dtype: ColumnType) {
        if self.last_observed != Some(dtype) {
            self.observe_new(dtype);
        }
    }

    /// [`Self::observe`] for a cell whose type differs from the last one's.
    #[cold]
    fn observe_new(&mut self, dtype: ColumnType) {
        self.last_observed = Some(dtype);
        if dtype != ColumnType::Null && !self.firsts.iter().any(|(t, _)| *t == dtype) {
            self.firsts.push((dtype, self.ends.len()));
        }
        self.tally.observe(dtype);
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The raw layout: the cells' text back to back, where each ends, and whether each has a
    /// value (for writing a chunk to disk as it is).
    pub fn raw(&self) -> (&str, &[usize], &[bool]) {
        (&self.text, &self.ends, &self.valid)
    }

    /// Cells from their raw layout, as [`Self::raw`] gives it.
    ///
    /// # Errors
    /// The layout does not hold together (ends out of order, past the text or inside a
    /// character, or not one validity flag per cell).
    pub fn from_raw(text: String, ends: Vec<usize>, valid: Vec<bool>) -> Result<Self, String> {
        let ordered = ends.windows(2).all(|w| w[0] <= w[1]);
        if !ordered || ends.len() != valid.len() || ends.iter().any(|&e| !text.is_char_boundary(e)) {
            return Err("text cells whose layout does not hold together".to_owned());
        }
        Ok(TextValues { text, ends, valid, ..TextValues::default() })
    }

    /// The rules the cells were typed by (and are to be read by).
    pub fn rules(&self) -> CellRules {
        self.rules
    }

    /// The first cell of each type the column took (type, index, text), in the order taken.
    pub fn firsts(&self) -> impl Iterator<Item = (ColumnType, usize, &str)> + '_ {
        self.firsts.iter().map(|&(dtype, i)| {
            let start = i.checked_sub(1).and_then(|p| self.ends.get(p)).copied().unwrap_or(0);
            let end = self.ends.get(i).copied().unwrap_or(start);
            (dtype, i, self.text.get(start..end).unwrap_or_default())
        })
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The type every cell fits.
    pub fn column_type(&self) -> ColumnType {
        self.tally.column_type()
    }

    /// The cells in order, `None` for null.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        let mut start = 0;
        self.ends.iter().zip(&self.valid).map(move |(&end, &valid)| {
            let cell = self.text.get(start..end);
            start = end;
            cell.filter(|_| valid)
        })
    }
}

/// A batch of rows of one table, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Column names, unique, in order of first appearance.
    pub names: Vec<String>,
    /// One column of values per name, each with one value per row.
    pub columns: Vec<Values>,
    /// Each row's position in its source, the same coordinate rejects name: line (text, JSON
    /// Lines), element (JSON array), sheet row (workbooks), row (Parquet), from 1.
    pub source_rows: Vec<u64>,
}

impl Chunk {
    /// Rows in the chunk.
    pub fn rows(&self) -> usize {
        self.source_rows.len()
    }
}

/// Rows being gathered, cell by cell, into a [`Chunk`].
#[derive(Debug, Default)]
pub struct ChunkBuilder {
    names: Vec<String>,
    columns: Vec<TextValues>,
    source_rows: Vec<u64>,
    /// Bytes of text held, to hand the chunk over before it grows large.
    bytes: usize,
}

impl ChunkBuilder {
    /// A builder for these columns (more may be added as rows bring them).
    pub fn new(names: Vec<String>) -> Self {
        let columns = names.iter().map(|_| TextValues::default()).collect();
        ChunkBuilder { names, columns, source_rows: vec![], bytes: 0 }
    }

    /// A builder for these columns whose text cells are typed by `rules` (one per column).
    pub fn with_rules(names: Vec<String>, rules: Vec<CellRules>) -> Self {
        let columns = rules.into_iter().map(TextValues::with_rules).collect();
        ChunkBuilder { names, columns, source_rows: vec![], bytes: 0 }
    }

    /// Rows gathered.
    pub fn rows(&self) -> usize {
        self.source_rows.len()
    }

    /// Columns so far.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// Whether a column of this name exists.
    pub fn has_column(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Whether the chunk should be handed over: `chunk_rows` rows or `chunk_bytes` of text.
    pub fn is_full(&self, options: &ReadOptions) -> bool {
        self.rows() >= options.chunk_rows || self.bytes >= options.chunk_bytes
    }

    /// Index of column `name`, adding it (null in the rows already gathered) when new.
    pub fn column_index(&mut self, name: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i;
        }
        let mut column = TextValues::default();
        for _ in 0..self.rows() {
            column.push(Cell::Null);
        }
        self.names.push(name.to_owned());
        self.columns.push(column);
        self.names.len() - 1
    }

    /// Adds a row given in column order; missing cells are null, extra cells are ignored
    /// (readers reject or name such rows before they get here).
    pub fn push_row<'c>(&mut self, source_row: u64, cells: impl IntoIterator<Item = Cell<'c>>) {
        let mut cells = cells.into_iter();
        for column in &mut self.columns {
            let cell = cells.next().unwrap_or(Cell::Null);
            self.bytes += cell_len(cell);
            column.push(cell);
        }
        self.source_rows.push(source_row);
    }

    /// Adds a row given as (column index, cell) pairs from [`Self::column_index`]; absent
    /// columns are null; a repeated index keeps the last cell (readers reject a record that
    /// gives a column twice before it gets here: see `json::object::Parsed::Repeated`).
    pub fn push_sparse<'c>(&mut self, source_row: u64, mut cells: Vec<(usize, Cell<'c>)>) {
        cells.sort_by_key(|(i, _)| *i);
        let mut cells = cells.into_iter().peekable();
        for (i, column) in self.columns.iter_mut().enumerate() {
            let mut cell = Cell::Null;
            while let Some((_, next)) = cells.next_if(|(at, _)| *at == i) {
                cell = next;
            }
            self.bytes += cell_len(cell);
            column.push(cell);
        }
        self.source_rows.push(source_row);
    }

    /// The rows gathered as a chunk; the builder starts over with the same columns.
    pub fn take(&mut self) -> Chunk {
        self.bytes = 0;
        let columns = self
            .columns
            .iter_mut()
            .map(|c| {
                let next = TextValues::after(c);
                Values::Text(std::mem::replace(c, next))
            })
            .collect();
        Chunk { names: self.names.clone(), columns, source_rows: std::mem::take(&mut self.source_rows) }
    }
}

/// What a cell costs a chunk in memory: its text, its end offset and its validity flag.
fn cell_len(cell: Cell<'_>) -> usize {
    // Its end, its typed value and its validity flag.
    const PER_CELL: usize = 2 * std::mem::size_of::<usize>() + 1;
    match cell {
        Cell::Null => PER_CELL,
        Cell::Infer(text) | Cell::Typed(_, text) => text.len() + PER_CELL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(values: &Values) -> Vec<Option<String>> {
        let Values::Text(text) = values else { panic!("not text: {values:?}") };
        text.iter().map(|c| c.map(str::to_owned)).collect()
    }

    #[test]
    fn inferred_cells_keep_their_text_and_the_type_they_fit() {
        let mut b = ChunkBuilder::new(vec!["f".into(), "code".into()]);
        b.push_row(2, [Cell::Infer("1.50"), Cell::Infer("007")]);
        b.push_row(3, [Cell::Infer(" 2 "), Cell::Infer("NULL")]);
        b.push_row(4, [Cell::Infer("")]);
        let chunk = b.take();
        assert_eq!(chunk.source_rows, [2, 3, 4]);
        assert_eq!(chunk.columns[0].column_type(), ColumnType::Float);
        assert_eq!(texts(&chunk.columns[0]), [Some("1.50".into()), Some(" 2 ".into()), None]);
        assert_eq!(chunk.columns[1].column_type(), ColumnType::String);
        assert_eq!(texts(&chunk.columns[1]), [Some("007".into()), None, None]);
        assert_eq!(b.rows(), 0, "the builder starts over");
    }

    #[test]
    fn typed_cells_keep_their_type_and_empty_strings_are_values() {
        let mut b = ChunkBuilder::new(vec![]);
        let a = b.column_index("a");
        b.push_sparse(1, vec![(a, Cell::Typed(ColumnType::String, ""))]);
        let c = b.column_index("c");
        b.push_sparse(2, vec![(c, Cell::Typed(ColumnType::Int, "5")), (a, Cell::Typed(ColumnType::String, "5"))]);
        let chunk = b.take();
        assert_eq!(chunk.names, ["a", "c"]);
        assert_eq!(texts(&chunk.columns[0]), [Some(String::new()), Some("5".into())]);
        assert_eq!(chunk.columns[0].column_type(), ColumnType::String, "a JSON string stays a string");
        assert_eq!(texts(&chunk.columns[1]), [None, Some("5".into())]);
        assert_eq!(chunk.columns[1].column_type(), ColumnType::Int);
    }

    #[test]
    fn a_chunk_is_full_at_its_rows_or_its_bytes() {
        let options = ReadOptions { chunk_rows: 3, chunk_bytes: 40, ..ReadOptions::default() };
        let mut b = ChunkBuilder::new(vec!["a".into()]);
        b.push_row(1, [Cell::Infer("x")]);
        assert!(!b.is_full(&options));
        b.push_row(2, [Cell::Infer("0123456789012345678901234567890")]);
        assert!(b.is_full(&options), "forty bytes of text and offsets");
    }
}

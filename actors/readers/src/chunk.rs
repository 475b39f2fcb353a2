//! Rows as readers hand them over: a [`Chunk`] holds its columns' [`Values`], text-origin cells
//! kept as their original text (with the type they fit so far) until the column's type is
//! final, native values (Parquet) typed. Readers build chunks cell by cell with a
//! [`ChunkBuilder`]; a cell arrives as a [`Cell`].

use std::borrow::Cow;

use dat_contracts::ColumnType;

use crate::deferred::Deferred;
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

/// Text cells back to back, with where each ends and whether it is null. The text of a column
/// whose cells are all typed may be held back ([`Deferred`]): it is then written from the
/// values when first asked for.
#[derive(Debug, Clone, Default)]
pub struct TextValues {
    /// The cells' text, unless held back.
    text: String,
    /// Where each cell ends in `text` (none while the text is held back).
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
    /// While `Some`, the cells' text is held back: every cell writes back from its value.
    /// Boxed: most columns of most readers never hold text back.
    deferred: Option<Box<Deferred>>,
}

impl PartialEq for TextValues {
    /// The same cells (text and validity), read the same way: whether the text was held back
    /// does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
            && self.tally == other.tally
            && self.rules == other.rules
            && self.firsts == other.firsts
            && self.typed == other.typed
            && self.rounded == other.rounded
    }
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

    /// Text values typed by `rules`, the text of typed cells held back while it writes back
    /// from their values (numbers in the plain format only).
    pub(crate) fn with_rules(rules: CellRules) -> Self {
        // Numbers in the plain format (`1234.5`) are the ones whose text their value writes back.
        let deferred = rules.number.is_plain().then(Box::default);
        TextValues { rules, deferred, ..TextValues::default() }
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
        let index = self.valid.len();
        let text = match cell {
            Cell::Null => None,
            // Once a column is text, no cell can make it anything else: skip typing.
            Cell::Infer(text) if self.tally.is_string() => (!is_null(text)).then_some(text),
            Cell::Infer(text) => match self.rules.read_like(text, self.tally.column_type()) {
                CellValue::Null => None,
                value => {
                    if self.deferred.as_mut().is_some_and(|d| !d.keeps(&self.typed, index, value, text)) {
                        self.write_held_text();
                    }
                    self.observe(value.column_type());
                    self.typed.push(index, value, &mut self.rounded, self.valid.capacity());
                    Some(text)
                }
            },
            Cell::Typed(dtype, text) => {
                self.write_held_text();
                self.observe(dtype);
                let value = match dtype {
                    ColumnType::Null => CellValue::Text,
                    _ => self.rules.read_as(dtype, text).unwrap_or(CellValue::Text),
                };
                self.typed.push(index, value, &mut self.rounded, self.valid.capacity());
                Some(text)
            }
        };
        match text {
            Some(text) => {
                if self.deferred.is_none() {
                    self.text.push_str(text);
                }
                self.valid.push(true);
            }
            None => {
                self.tally.mark_null();
                self.typed.push_null();
                self.valid.push(false);
            }
        }
        match &mut self.deferred {
            None => self.ends.push(self.text.len()),
            Some(deferred) => deferred.added(),
        }
    }

    /// Writes the text held back, from the values of the cells so far (before one that does
    /// not write back is added), and keeps the text of the cells from then on.
    #[cold]
    fn write_held_text(&mut self) {
        if let Some(deferred) = self.deferred.take() {
            (self.text, self.ends) = deferred.write(&self.typed, &self.valid);
        }
    }

    /// The text and cell ends, written from the values when held back.
    fn text_and_ends(&self) -> (&str, &[usize]) {
        match &self.deferred {
            None => (&self.text, &self.ends),
            Some(deferred) => deferred.written(&self.typed, &self.valid),
        }
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
            self.firsts.push((dtype, self.valid.len()));
        }
        self.tally.observe(dtype);
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.valid.len()
    }

    /// The raw layout: the cells' text back to back, where each ends, and whether each has a
    /// value (for writing a chunk to disk as it is).
    pub fn raw(&self) -> (&str, &[usize], &[bool]) {
        let (text, ends) = self.text_and_ends();
        (text, ends, &self.valid)
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
    pub fn firsts(&self) -> impl Iterator<Item = (ColumnType, usize, Cow<'_, str>)> + '_ {
        self.firsts.iter().map(|&(dtype, i)| {
            let text = match &self.deferred {
                // Written alone: the whole column's text is not needed for a few cells.
                Some(deferred) => {
                    let mut text = String::new();
                    if self.valid.get(i) == Some(&true) {
                        deferred.write_cell(&self.typed, i, &mut text);
                    }
                    Cow::Owned(text)
                }
                None => {
                    let start = i.checked_sub(1).and_then(|p| self.ends.get(p)).copied().unwrap_or(0);
                    let end = self.ends.get(i).copied().unwrap_or(start);
                    Cow::Borrowed(self.text.get(start..end).unwrap_or_default())
                }
            };
            (dtype, i, text)
        })
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.valid.is_empty()
    }

    /// The type every cell fits.
    pub fn column_type(&self) -> ColumnType {
        self.tally.column_type()
    }

    /// The cells in order, `None` for null.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        let (text, ends) = self.text_and_ends();
        let mut start = 0;
        ends.iter().zip(&self.valid).map(move |(&end, &valid)| {
            let cell = text.get(start..end);
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

    /// One cell's text at random: a shape that writes back from its value, one that does not,
    /// or a random number, date or date-time of a shape that does.
    fn any_cell(next: &mut impl FnMut() -> u64, kind: u64) -> String {
        const ODD: &[&str] = &[
            "+5",
            "-0",
            "007",
            "-0.0",
            "-0.00",
            ".5",
            "5.",
            "1e5",
            "2.5E-3",
            "123456789012345.6",
            "9007199254740993",
            "-9007199254740993",
            "9223372036854775807",
            " 42",
            "42 ",
            "1.5 ",
            "2025-3-17",
            "17/03/2025",
            "03/17/2025",
            "2025-03-17 16:31:48",
            "2025-03-17T16:31:48.5",
            "2025-03-17T23:59:60",
            "2025-03-17T16:31",
            "2025-03-17T16:31:48Z",
            "2025-03-17T16:31:48+02:00",
            "true",
            "false",
            "x",
            "",
            "null",
            "NaN",
            "1,5",
            "0x10",
            "inf",
            "-",
            "1.2.3",
            "9999-12-31",
            "0000-01-01",
            "0001-01-01T00:00:00",
            "2024-02-29",
        ];
        let pick = next() % 100;
        if pick < 8 {
            return ODD[(next() as usize) % ODD.len()].to_owned();
        }
        let sign = if next().is_multiple_of(4) { "-" } else { "" };
        match kind {
            0 => format!("{sign}{}", next() % 10u64.pow((next() % 16) as u32 + 1)),
            1 => {
                let (whole_digits, fraction_digits) = ((next() % 8) as u32 + 1, (next() % 8) as usize + 1);
                let whole = next() % 10u64.pow(whole_digits);
                let fraction = next() % 10u64.pow(fraction_digits as u32);
                format!("{sign}{whole}.{fraction:0fraction_digits$}")
            }
            2 => format!("{:04}-{:02}-{:02}", next() % 10_000, next() % 12 + 1, next() % 28 + 1),
            _ => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                next() % 10_000,
                next() % 12 + 1,
                next() % 28 + 1,
                next() % 24,
                next() % 60,
                next() % 60
            ),
        }
    }

    /// A column whose typed cells' text is held back gives, in every way it can be read, what
    /// the same cells give when their text is copied as read: the text, the validity, the
    /// firsts, the type and the values, whatever cells come and in whatever order.
    #[test]
    fn held_back_text_writes_back_exactly_as_read() {
        let mut next = crate::testing::random(0x7e57_dead_beef_0001);
        for round in 0..20_000 {
            let kind = next() % 4;
            let cells: Vec<String> = (0..next() % 40).map(|_| any_cell(&mut next, kind)).collect();
            let nulls: Vec<bool> = cells.iter().map(|_| next().is_multiple_of(10)).collect();
            let as_cells =
                || cells.iter().zip(&nulls).map(|(c, null)| if *null { Cell::Null } else { Cell::Infer(c.as_str()) });
            let copied = TextValues::from_cells(as_cells());
            let mut held = TextValues::with_rules(CellRules::default());
            assert!(held.deferred.is_some());
            for cell in as_cells() {
                held.push(cell);
            }
            let context = format!("round {round}: {cells:?}");
            assert_eq!(held.iter().collect::<Vec<_>>(), copied.iter().collect::<Vec<_>>(), "{context}");
            assert_eq!(held.raw(), copied.raw(), "{context}");
            let firsts = |t: &TextValues| t.firsts().map(|(d, i, v)| (d, i, v.into_owned())).collect::<Vec<_>>();
            assert_eq!(firsts(&held), firsts(&copied), "{context}");
            assert_eq!((held.column_type(), held.is_typed()), (copied.column_type(), copied.is_typed()), "{context}");
            assert_eq!(held, copied, "{context}");
            let typed =
                |t: TextValues| t.into_typed().map_err(|t| t.iter().map(|c| c.map(str::to_owned)).collect::<Vec<_>>());
            assert_eq!(typed(held), typed(copied), "{context}");
        }
    }

    #[test]
    fn text_is_held_back_only_while_every_cell_writes_back() {
        let pushed = |cells: &[&str]| {
            let mut values = TextValues::with_rules(CellRules::default());
            cells.iter().for_each(|c| values.push(Cell::Infer(c)));
            values.deferred.is_some()
        };
        assert!(pushed(&["1", "-2", "3.50", "", "4"]), "ints and floats of a float column");
        assert!(pushed(&["2025-03-17", "2025-03-18"]));
        assert!(pushed(&["2025-03-17T16:31:48"]));
        for odd in ["+5", "-0", "1e3", " 7", "5.", "2025-03-17 16:31:48", "true", "x"] {
            assert!(!pushed(&["1", odd]), "{odd}");
        }
        assert!(!pushed(&["9007199254740993", "1.5"]), "an int a float holds only rounded");
        assert!(!pushed(&["2025-03-17", "2025-03-17T16:31:48"]), "a date in a date-time column");
        let comma = CellRules {
            number: dat_contracts::text_layout::NumberFormat { decimal: ',', thousands: None },
            ..CellRules::default()
        };
        assert!(TextValues::with_rules(comma).deferred.is_none(), "numbers in a local format keep their text");
    }

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

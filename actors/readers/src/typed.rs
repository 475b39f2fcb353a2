//! The values of a chunk's text column as the type it has so far, gathered as each cell is typed
//! (so no cell's text is parsed twice), and what a finished chunk's column becomes: typed
//! [`Values`] when its type is a typed one (the text is then dropped: the checkpoint holds the
//! values, 8 bytes a cell), its text otherwise.

use dat_contracts::ColumnType;

use crate::chunk::Values;
use crate::typing::CellValue;

/// Largest integer magnitude a float holds exactly.
const EXACT_IN_FLOAT: i64 = 1 << 53;

/// One value per cell (a placeholder for nulls) in the column's type so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum TypedCells {
    /// No value yet (only nulls).
    #[default]
    Empty,
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Date(Vec<i32>),
    Datetime(Vec<i64>),
    /// The column is text, or took a value the others cannot be made exactly: the text is read
    /// when the chunk is settled.
    Lost,
}

impl TypedCells {
    /// Adds the value of cell `index` (`cells` before it); `rounded` counts ints a float column
    /// holds only rounded; the first value reserves room for `expected` cells.
    pub(crate) fn push(&mut self, index: usize, value: CellValue, rounded: &mut u64, expected: usize) {
        use CellValue as V;
        use TypedCells as T;
        let as_float = |i: i64, rounded: &mut u64| {
            *rounded += u64::from(!exact_in_float(i));
            i as f64
        };
        match (&mut *self, value) {
            (T::Lost, _) => {}
            (_, V::Null) => self.push_null(),
            (_, V::Text) => *self = T::Lost,
            (T::Empty, value) => {
                fn zeros<T: Clone + Default>(index: usize, expected: usize) -> Vec<T> {
                    let mut v = Vec::with_capacity(expected.max(index + 1));
                    v.resize(index, T::default());
                    v
                }
                *self = match value {
                    V::Int(_) => T::Int(zeros(index, expected)),
                    V::Float(_) => T::Float(zeros(index, expected)),
                    V::Bool(_) => T::Bool(zeros(index, expected)),
                    V::Date(_) => T::Date(zeros(index, expected)),
                    V::Datetime(_) => T::Datetime(zeros(index, expected)),
                    V::Null | V::Text => T::Lost,
                };
                self.push(index, value, rounded, expected);
            }
            (T::Int(v), V::Int(i)) => v.push(i),
            (T::Int(v), V::Float(f)) => {
                let mut floats: Vec<f64> = v.iter().map(|i| as_float(*i, rounded)).collect();
                floats.push(f);
                *self = T::Float(floats);
            }
            (T::Float(v), V::Float(f)) => v.push(f),
            (T::Float(v), V::Int(i)) => v.push(as_float(i, rounded)),
            (T::Bool(v), V::Bool(b)) => v.push(b),
            (T::Date(v), V::Date(d)) => v.push(d),
            (T::Date(v), V::Datetime(m)) => {
                let mut micros: Vec<i64> = v.iter().map(|d| day_micros(*d)).collect();
                micros.push(m);
                *self = T::Datetime(micros);
            }
            (T::Datetime(v), V::Datetime(m)) => v.push(m),
            (T::Datetime(v), V::Date(d)) => v.push(day_micros(d)),
            _ => *self = T::Lost,
        }
    }

    /// Adds a placeholder for a null cell.
    pub(crate) fn push_null(&mut self) {
        match self {
            TypedCells::Int(v) | TypedCells::Datetime(v) => v.push(0),
            TypedCells::Float(v) => v.push(0.0),
            TypedCells::Bool(v) => v.push(false),
            TypedCells::Date(v) => v.push(0),
            TypedCells::Empty | TypedCells::Lost => {}
        }
    }

    /// Whether these are `len` values of type `kind`.
    pub(crate) fn holds(&self, kind: ColumnType, len: usize) -> bool {
        match (self, kind) {
            (TypedCells::Int(v), ColumnType::Int) | (TypedCells::Datetime(v), ColumnType::Datetime) => v.len() == len,
            (TypedCells::Float(v), ColumnType::Float) => v.len() == len,
            (TypedCells::Bool(v), ColumnType::Bool) => v.len() == len,
            (TypedCells::Date(v), ColumnType::Date) => v.len() == len,
            _ => false,
        }
    }

    /// The values, unless the column is text, only nulls, or lost its values (`self` back).
    pub(crate) fn into_dense(self) -> Result<DenseValues, Self> {
        Ok(match self {
            TypedCells::Int(v) => DenseValues::Int(v),
            TypedCells::Float(v) => DenseValues::Float(v),
            TypedCells::Bool(v) => DenseValues::Bool(v),
            TypedCells::Date(v) => DenseValues::Date(v),
            TypedCells::Datetime(v) => DenseValues::Datetime(v),
            TypedCells::Empty | TypedCells::Lost => return Err(self),
        })
    }
}

/// A typed column's values, one per cell (a placeholder where the cell is null), as Arrow holds
/// them: an array takes the vector as it is, where going through [`Values`] wrote every value
/// into an `Option` and then back out (W1: about 1% of the CPU).
#[derive(Debug, Clone, PartialEq)]
pub enum DenseValues {
    /// 64-bit integers.
    Int(Vec<i64>),
    /// 64-bit floats.
    Float(Vec<f64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Days since 1970-01-01.
    Date(Vec<i32>),
    /// Microseconds since 1970-01-01T00:00:00.
    Datetime(Vec<i64>),
}

impl DenseValues {
    /// As [`Values`], null where `valid` (one flag per value, as [`TextValues::into_dense`]
    /// gives them) says so.
    ///
    /// [`TextValues::into_dense`]: crate::TextValues::into_dense
    pub(crate) fn into_values(self, valid: &[bool]) -> Values {
        fn with<T: Copy>(values: Vec<T>, valid: &[bool]) -> Vec<Option<T>> {
            values.into_iter().zip(valid).map(|(v, ok)| ok.then_some(v)).collect()
        }
        match self {
            DenseValues::Int(v) => Values::Int(with(v, valid)),
            DenseValues::Float(v) => Values::Float(with(v, valid)),
            DenseValues::Bool(v) => Values::Bool(with(v, valid)),
            DenseValues::Date(v) => Values::Date(with(v, valid)),
            DenseValues::Datetime(v) => Values::Datetime(with(v, valid)),
        }
    }
}

/// Whether a float holds the int `i` exactly.
pub(crate) fn exact_in_float(i: i64) -> bool {
    (-EXACT_IN_FLOAT..=EXACT_IN_FLOAT).contains(&i)
}

/// Midnight of a day, in microseconds since the epoch (every i32 day count fits).
fn day_micros(days: i32) -> i64 {
    i64::from(days) * 86_400_000_000
}

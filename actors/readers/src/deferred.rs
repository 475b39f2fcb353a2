//! The text of typed cells, not copied while it can be written again, exactly, from the values.
//!
//! A text column keeps each cell's text as read, because its type is final only at the end of
//! the chunk: a later cell may make it text. Copying the text of every number and date cost W1
//! 6% of its CPU (3.7% once the checks below are paid), for text that is dropped when the
//! column stays typed (nearly always). So while every cell of a column is written the way its
//! value writes back (`42`, `-3.250` with its three digits after the point, `2025-03-17`,
//! `2025-03-17T16:31:48`), only the values are kept. The first cell that is not (`+5`, `1e3`,
//! ` 7`, `03/17/2025`, an int beyond 2^53 in a float column, a date in a date-time column, any
//! text) has the text of the cells before it written from their values, and the column keeps
//! its text from then on. Nothing is ever written from a value that does not give back the text
//! exactly: a test compares both ways on every shape.

use std::fmt::Write;
use std::sync::OnceLock;

use crate::typed::{exact_in_float, TypedCells};
use crate::typing::{date_text, datetime_text, CellValue};

/// How a cell is written back: [`PLAIN`], or for a float its digits after the point (1 to 15).
type Shape = u8;

/// As its value writes: an int (also in a float column: `5` among `5.25`), a date, a date-time.
const PLAIN: Shape = 0;

/// A column whose text is held back: for a float column, how each cell writes back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deferred {
    /// Per cell of a float column (a placeholder for a null); empty for other kinds.
    shapes: Vec<Shape>,
    /// The text and cell ends, once asked for ([`Self::written`]).
    written: OnceLock<(String, Vec<usize>)>,
}

impl Deferred {
    /// Whether the cell at `index` with `value` read from `text` can be written back from its
    /// value once added to `typed` (the column's values so far); notes how.
    #[inline]
    pub(crate) fn keeps(&mut self, typed: &TypedCells, index: usize, value: CellValue, text: &str) -> bool {
        let Some(shape) = shape(value, text) else { return false };
        let kept = match (typed, value) {
            (TypedCells::Empty, _)
            | (TypedCells::Int(_), CellValue::Int(_))
            | (TypedCells::Float(_), CellValue::Float(_))
            | (TypedCells::Date(_), CellValue::Date(_))
            | (TypedCells::Datetime(_), CellValue::Datetime(_)) => true,
            // A float column holds an int exactly up to 2^53, and the ints before a float.
            (TypedCells::Float(_), CellValue::Int(i)) => exact_in_float(i),
            (TypedCells::Int(ints), CellValue::Float(_)) => ints.iter().all(|i| exact_in_float(*i)),
            _ => false,
        };
        if kept && (matches!(value, CellValue::Float(_)) || matches!(typed, TypedCells::Float(_))) {
            // The cells before (nulls, or the ints before the column became float) are plain.
            if self.shapes.len() < index {
                self.shapes.resize(index, PLAIN);
            }
            self.shapes.push(shape);
        }
        kept
    }

    /// A cell was added: text written before is for fewer cells.
    #[inline]
    pub(crate) fn added(&mut self) {
        if self.written.get().is_some() {
            self.written = OnceLock::new();
        }
    }

    /// The text and cell ends of the cells so far, written once (see [`Self::write`]).
    pub(crate) fn written(&self, typed: &TypedCells, valid: &[bool]) -> (&str, &[usize]) {
        let (text, ends) = self.written.get_or_init(|| self.write(typed, valid));
        (text, ends)
    }

    /// The text and cell ends of `valid.len()` cells whose values are `typed`.
    pub(crate) fn write(&self, typed: &TypedCells, valid: &[bool]) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(valid.len());
        for (index, valid) in valid.iter().enumerate() {
            if *valid {
                self.write_cell(typed, index, &mut text);
            }
            ends.push(text.len());
        }
        (text, ends)
    }

    /// The text of cell `index` appended to `out`.
    pub(crate) fn write_cell(&self, typed: &TypedCells, index: usize, out: &mut String) {
        match typed {
            TypedCells::Int(v) => {
                let _ = v.get(index).map(|i| write!(out, "{i}"));
            }
            TypedCells::Float(v) => {
                let _ = match (v.get(index), self.shapes.get(index)) {
                    (Some(f), Some(&PLAIN) | None) => write!(out, "{}", *f as i64),
                    (Some(f), Some(&digits)) => write!(out, "{f:.*}", usize::from(digits)),
                    (None, _) => Ok(()),
                };
            }
            TypedCells::Date(v) => out.push_str(&v.get(index).and_then(|d| date_text(*d)).unwrap_or_default()),
            TypedCells::Datetime(v) => {
                out.push_str(&v.get(index).and_then(|m| datetime_text(*m)).unwrap_or_default());
            }
            // Never held back: a bool is kept as text, and a column that lost its values
            // wrote its text before.
            TypedCells::Empty | TypedCells::Bool(_) | TypedCells::Lost => {}
        }
    }
}

/// How the cell `text` read as `value` writes back from it, `None` when it does not exactly.
#[inline]
fn shape(value: CellValue, text: &str) -> Option<Shape> {
    let b = text.as_bytes();
    let (&first, &last) = (b.first()?, b.last()?);
    if !first.is_ascii_graphic() || !last.is_ascii_graphic() {
        return None; // spaces around it
    }
    match value {
        // Read as an int: an optional sign and digits without a leading zero (`007` is a code);
        // `+5` and `-0` are the ones that do not write back.
        CellValue::Int(i) => (first != b'+' && !(i == 0 && first == b'-')).then_some(PLAIN),
        CellValue::Float(f) if !(f == 0.0 && first == b'-') => float_shape(b),
        // `dddd-dd-dd`, the one ISO date shape read (a local `17/03/2025` has no `-` there).
        CellValue::Date(_) => (b.len() == 10 && b[4] == b'-').then_some(PLAIN),
        // `dddd-dd-ddTdd:dd:dd` exactly (a space, a fraction or a zone writes back otherwise),
        // and not a leap second (`:60` is read as the next minute's `:00`).
        CellValue::Datetime(_) => {
            let shaped = b.len() == 19 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
            (shaped && b[17] < b'6').then_some(PLAIN)
        }
        _ => None,
    }
}

/// The digits after the point of a float written `-?d+\.d+` with at most 15 digits, which its
/// value writes back with that many (a double holds 15 significant digits exactly). The cell
/// read as a float, so besides digits it can only hold one point, signs and an exponent.
#[inline]
fn float_shape(b: &[u8]) -> Option<Shape> {
    let negative = usize::from(b.first() == Some(&b'-'));
    let mut point = 0;
    for (i, &c) in b.iter().enumerate().skip(negative) {
        match c {
            b'.' => point = i,
            b'0'..=b'9' => {}
            _ => return None, // an exponent, a `+`
        }
    }
    let (whole, fraction) = (point.checked_sub(negative)?, b.len() - point - 1);
    (whole > 0 && fraction > 0 && whole + fraction <= 15).then_some(fraction as Shape)
}

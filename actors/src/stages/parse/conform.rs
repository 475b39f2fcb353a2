//! A checkpoint part's column brought to the dataset's final type for that column, keeping every
//! value: text cells are read as the final type by the rules they were typed by (so a column
//! that ends as `string` keeps each cell's text exactly as it was read, whatever the chunk size
//! or file order), native values are widened exactly (int → decimal, decimal → wider decimal,
//! date → datetime) or written as their exact text. The one widening that can round, a 64-bit
//! int beyond ±2^53 made a float, is counted; nothing becomes null silently. Columns come out as
//! Arrow arrays, the dataset writer's input.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array,
    Int64Array, PrimitiveArray, StringArray, TimestampMicrosecondArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use dat_contracts::ColumnType;
use dat_readers::typing::{
    as_f64, date_text, datetime_text, decimal_text, epoch_days, epoch_micros, float_text, hex, parse_bool, parse_int,
    trim, CellRules,
};
use dat_readers::{DenseValues, TextValues, Values};

/// Values that could not be kept exactly, by column and reason; reported per table.
pub(crate) type Losses = BTreeMap<(String, &'static str), u64>;

/// Largest integer magnitude a float holds exactly.
const EXACT_IN_FLOAT: i64 = 1 << 53;

/// The reason counted for ints a float holds only rounded.
pub(crate) const ROUNDED: &str = "are integers beyond ±2^53 that a float holds only rounded";

/// A pairing the widening rules never produce, or a decimal Arrow refuses: a bug, the stage fails.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}`: {reason}")]
pub(crate) struct ConformError {
    column: String,
    reason: String,
}

fn exact_in_float(v: i64) -> bool {
    (-EXACT_IN_FLOAT..=EXACT_IN_FLOAT).contains(&v)
}

/// `values` (one column of a part) as the dataset column `own` goes to, of type `target`, text
/// cells read by `rules` (the rules they were typed by), counting what could not be kept in
/// `losses` (under the table's own column name `own`). Taken by value, so that each part column
/// is freed as soon as its array is made.
///
/// # Errors
/// [`ConformError`] for a pairing the widening rules never produce (a bug).
pub(crate) fn conform(
    own: &str,
    values: Values,
    target: ColumnType,
    rules: &CellRules,
    losses: &mut Losses,
) -> Result<ArrayRef, ConformError> {
    let mut lost = |reason: &'static str, n: u64| {
        if n > 0 {
            *losses.entry((own.to_owned(), reason)).or_default() += n;
        }
    };
    let bug = |reason: String| ConformError { column: own.to_owned(), reason };
    Ok(match (values, target) {
        // Typed as they were read, by the same rules: the values go into the array as they are.
        (Values::Text(text), _) if text.column_type() == target && text.is_typed() => match text.into_dense() {
            Ok((values, valid, _)) => dense_array(values, &valid).map_err(bug)?,
            Err(text) => from_text(&text, target, rules, &mut lost).map_err(bug)?,
        },
        (Values::Text(text), _) => from_text(&text, target, rules, &mut lost).map_err(bug)?,
        (native, _) if native.column_type() == target => native_array(native).map_err(bug)?,
        (values, ColumnType::String) => as_text(&values),
        (Values::Int(v), ColumnType::Float) => {
            lost(ROUNDED, v.iter().flatten().filter(|v| !exact_in_float(**v)).count() as u64);
            Arc::new(v.iter().map(|v| v.map(|v| v as f64)).collect::<Float64Array>())
        }
        (Values::Int(v), ColumnType::Decimal { precision, scale }) => {
            decimal(v.iter().map(|v| v.and_then(|v| i128::from(v).checked_mul(pow10(scale)))), precision, scale)
                .map_err(bug)?
        }
        (Values::Decimal { values, scale: from, .. }, ColumnType::Decimal { precision, scale }) => {
            let factor = pow10(scale.saturating_sub(from));
            decimal(values.iter().map(|v| v.and_then(|v| v.checked_mul(factor))), precision, scale).map_err(bug)?
        }
        (Values::Date(v), ColumnType::Datetime) => Arc::new(
            v.iter()
                .map(|d| d.and_then(|d| i64::from(d).checked_mul(86_400_000_000)))
                .collect::<TimestampMicrosecondArray>(),
        ),
        (from, to) => return Err(bug(format!("no rule widens {} to {to}", from.column_type()))),
    })
}

/// Text cells read as `target` by `rules`. A cell that does not fit (which the type tally makes
/// impossible) is null and counted rather than lost unseen.
fn from_text(
    text: &TextValues,
    target: ColumnType,
    rules: &CellRules,
    lost: &mut dyn FnMut(&'static str, u64),
) -> Result<ArrayRef, String> {
    let int = |c: &str| rules.with_number(c, parse_int);
    let array: ArrayRef = match target {
        ColumnType::String | ColumnType::Struct | ColumnType::List | ColumnType::Null => {
            return Ok(text_array(text));
        }
        ColumnType::Int => Arc::new(text.iter().map(|c| c.and_then(int)).collect::<Int64Array>()),
        ColumnType::Float => {
            let rounded = text.iter().flatten().filter(|c| int(c).is_some_and(|v| !exact_in_float(v))).count();
            lost(ROUNDED, rounded as u64);
            Arc::new(text.iter().map(|c| c.and_then(|c| rules.with_number(c, as_f64))).collect::<Float64Array>())
        }
        ColumnType::Bool => {
            Arc::new(text.iter().map(|c| c.and_then(|c| parse_bool(trim(c)))).collect::<BooleanArray>())
        }
        ColumnType::Date => {
            Arc::new(text.iter().map(|c| c.and_then(|c| rules.date(c)).map(epoch_days)).collect::<Date32Array>())
        }
        ColumnType::Datetime => Arc::new(
            text.iter()
                .map(|c| c.and_then(|c| rules.datetime(c)).map(epoch_micros))
                .collect::<TimestampMicrosecondArray>(),
        ),
        ColumnType::Decimal { precision, scale } => decimal(
            text.iter().map(|c| c.and_then(int).and_then(|v| i128::from(v).checked_mul(pow10(scale)))),
            precision,
            scale,
        )?,
        ColumnType::Binary => return Err("text never widens to binary".to_owned()),
    };
    let nulls = text.iter().filter(Option::is_none).count();
    let misfits = array.null_count().saturating_sub(nulls) as u64;
    lost("could not be read as the column's type and are null (please report this)", misfits);
    Ok(array)
}

/// Text cells as a string array, copied into buffers of their final size: collected, the array
/// grew by doubling, and a part of wide text (2 KB cells) held its old and new buffers at once
/// (a third of assembly's peak heap, taking `dat run` past 200 MiB). Not moved: an array over
/// the part's own text (offsets from its ends, no copy) saved 0.6% of W1's CPU but raised the
/// peak RSS of 100,000 rows of 2 KB text from 136–156 to 160–176 MiB (allocator reuse across
/// the reading and encoding threads), too close to the 200 MiB bound for that little.
fn text_array(text: &TextValues) -> ArrayRef {
    let (bytes, ends, _) = text.raw();
    let mut array = StringBuilder::with_capacity(ends.len(), bytes.len());
    array.extend(text.iter());
    Arc::new(array.finish())
}

/// Where `values` are null, as Arrow marks them (`None` when no value is).
fn nulls<T>(values: &[Option<T>]) -> Option<NullBuffer> {
    let nulls = values.iter().any(Option::is_none);
    nulls.then(|| NullBuffer::new(values.iter().map(Option::is_some).collect::<BooleanBuffer>()))
}

/// Values as a primitive array built in two tight passes, the values then their validity
/// (collected, each value was one append to a builder).
fn primitive<T: ArrowPrimitiveType>(values: &[Option<T::Native>]) -> PrimitiveArray<T> {
    let dense: Vec<T::Native> = values.iter().map(|v| v.unwrap_or_default()).collect();
    PrimitiveArray::new(ScalarBuffer::from(dense), nulls(values))
}

/// Native values as the Arrow array of their own type.
fn native_array(values: Values) -> Result<ArrayRef, String> {
    Ok(match values {
        Values::Text(text) => text_array(&text),
        Values::Int(v) => Arc::new(primitive::<Int64Type>(&v)),
        Values::Float(v) => Arc::new(primitive::<Float64Type>(&v)),
        Values::Bool(v) => {
            let flags = v.iter().map(|b| b.unwrap_or(false)).collect::<BooleanBuffer>();
            Arc::new(BooleanArray::new(flags, nulls(&v)))
        }
        Values::Date(v) => Arc::new(primitive::<Date32Type>(&v)),
        Values::Datetime(v) => Arc::new(primitive::<TimestampMicrosecondType>(&v)),
        Values::Decimal { values, precision, scale } => decimal(values.into_iter(), precision, scale)?,
        Values::Binary(v) => Arc::new(v.iter().map(|b| b.as_deref()).collect::<BinaryArray>()),
    })
}

/// A typed column's values as the Arrow array of their type, the vector taken as it is; null
/// where `valid` says so.
fn dense_array(values: DenseValues, valid: &[bool]) -> Result<ArrayRef, String> {
    fn array<T: ArrowPrimitiveType>(values: Vec<T::Native>, nulls: Option<NullBuffer>) -> Result<ArrayRef, String> {
        Ok(Arc::new(PrimitiveArray::<T>::try_new(ScalarBuffer::from(values), nulls).map_err(|e| e.to_string())?))
    }
    let nulls = valid.contains(&false).then(|| NullBuffer::new(valid.iter().copied().collect::<BooleanBuffer>()));
    match values {
        DenseValues::Int(v) => array::<Int64Type>(v, nulls),
        DenseValues::Float(v) => array::<Float64Type>(v, nulls),
        DenseValues::Bool(v) => {
            if v.len() != valid.len() {
                return Err(format!("{} values for {} cells", v.len(), valid.len()));
            }
            Ok(Arc::new(BooleanArray::new(v.into_iter().collect::<BooleanBuffer>(), nulls)))
        }
        DenseValues::Date(v) => array::<Date32Type>(v, nulls),
        DenseValues::Datetime(v) => array::<TimestampMicrosecondType>(v, nulls),
    }
}

/// Unscaled decimals as a decimal array of `precision` and `scale`.
fn decimal(values: impl Iterator<Item = Option<i128>>, precision: u8, scale: u8) -> Result<ArrayRef, String> {
    let scale = i8::try_from(scale).map_err(|_| format!("a decimal scale of {scale}"))?;
    let array = values.collect::<Decimal128Array>().with_precision_and_scale(precision, scale);
    Ok(Arc::new(array.map_err(|e| e.to_string())?))
}

/// Native values as their exact text.
fn as_text(values: &Values) -> ArrayRef {
    fn all<T: Copy>(v: &[Option<T>], text: impl Fn(T) -> Option<String>) -> StringArray {
        v.iter().map(|x| x.and_then(&text)).collect()
    }
    Arc::new(match values {
        Values::Text(text) => text.iter().collect(),
        Values::Int(v) => all(v, |v| Some(v.to_string())),
        Values::Float(v) => all(v, |v| Some(float_text(v))),
        Values::Bool(v) => all(v, |v| Some(v.to_string())),
        Values::Date(v) => all(v, date_text),
        Values::Datetime(v) => all(v, datetime_text),
        Values::Decimal { values, scale, .. } => all(values, |v| Some(decimal_text(v, *scale))),
        Values::Binary(v) => v.iter().map(|b| b.as_deref().map(hex)).collect(),
    })
}

fn pow10(exp: u8) -> i128 {
    10i128.checked_pow(u32::from(exp)).unwrap_or(i128::MAX)
}

#[cfg(test)]
mod tests {
    use dat_readers::Cell;

    use super::*;

    fn conformed(values: Values, target: ColumnType) -> ArrayRef {
        conform("c", values, target, &CellRules::default(), &mut Losses::new()).unwrap()
    }

    /// A text column typed as it was read goes into its array as it is: the same array as its
    /// values give, nulls in place, for every typed kind.
    #[test]
    fn typed_text_gives_the_array_its_values_give() {
        let columns: [&[&str]; 5] = [
            &["7", "", "-12", "null"],
            &["1.5", "", "-0.25", "3"],
            &["true", "", "false", "true"],
            &["2025-03-17", "", "1969-12-31", "2000-02-29"],
            &["2025-03-17T16:31:48", "", "1970-01-01T00:00:00.000001", "2025-03-17"],
        ];
        for cells in columns {
            let text = TextValues::from_cells(cells.iter().map(|c| Cell::Infer(c)));
            assert!(text.is_typed(), "{cells:?}");
            let target = text.column_type();
            let (values, _) = text.clone().into_typed().unwrap();
            let direct = conformed(Values::Text(text), target);
            assert_eq!(&direct, &conformed(values, target), "{cells:?}");
            assert_eq!(
                direct.null_count(),
                cells.iter().filter(|c| c.is_empty() || **c == "null").count(),
                "{cells:?}"
            );
        }
        let text = TextValues::from_cells([Cell::Infer("1"), Cell::Infer("x")]);
        assert!(!text.is_typed(), "a column that became text keeps its text");
    }

    #[test]
    fn values_of_the_target_type_keep_every_value_and_null_in_place() {
        let text = TextValues::from_cells([Cell::Infer("a b"), Cell::Null, Cell::Infer("née"), Cell::Infer("")]);
        let array = conformed(Values::Text(text), ColumnType::String);
        let expected: ArrayRef = Arc::new(StringArray::from(vec![Some("a b"), None, Some("née"), None]));
        assert_eq!(&array, &expected, "an empty CSV cell is no value");
        let array = conformed(Values::Float(vec![Some(1.5), None, Some(-0.0)]), ColumnType::Float);
        assert_eq!(&array, &(Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-0.0)])) as ArrayRef));
        let array = conformed(Values::Int(vec![Some(7), Some(i64::MIN)]), ColumnType::Int);
        assert_eq!(array.null_count(), 0);
        assert_eq!(&array, &(Arc::new(Int64Array::from(vec![7, i64::MIN])) as ArrayRef));
        let array = conformed(Values::Bool(vec![None, Some(true), Some(false)]), ColumnType::Bool);
        assert_eq!(&array, &(Arc::new(BooleanArray::from(vec![None, Some(true), Some(false)])) as ArrayRef));
    }
}

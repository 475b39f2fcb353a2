//! A checkpoint part's column brought to the dataset's final type for that column, keeping every
//! value: text-origin cells are read as the final type by the rules they were typed by (so a
//! column that ends as `string` keeps each cell's text exactly as it was read, whatever the chunk
//! size or file order), native values are widened exactly (int → decimal, decimal → wider
//! decimal, date → datetime) or written as their exact text. The one widening that can round, a
//! 64-bit int beyond ±2^53 made a float, is counted; nothing becomes null silently. Each cell is
//! typed here once, straight from the part's values into the dataset's column.

use std::collections::BTreeMap;

use dat_contracts::ColumnType;
use dat_readers::typing::{
    as_f64, date_text, datetime_text, decimal_text, epoch_days, epoch_micros, float_text, hex, parse_bool, parse_int,
    trim, CellRules,
};
use dat_readers::{TextValues, Values};
use polars::prelude::*;

use super::frame::polars_type;

/// Values that could not be kept exactly, by column and reason; reported per table.
pub(crate) type Losses = BTreeMap<(String, &'static str), u64>;

/// Largest integer magnitude a float holds exactly.
const EXACT_IN_FLOAT: i64 = 1 << 53;

/// The reason counted for ints a float holds only rounded.
pub(crate) const ROUNDED: &str = "are integers beyond ±2^53 that a float holds only rounded";

fn exact_in_float(v: i64) -> bool {
    (-EXACT_IN_FLOAT..=EXACT_IN_FLOAT).contains(&v)
}

/// `values` (one column of a part) as a dataset column `name` of type `target`, text cells read
/// by `rules` (the rules they were typed by), counting what could not be kept in `losses`
/// (under the table's own column name `own`).
///
/// # Errors
/// A polars error, or a pairing the widening rules never produce (a bug).
pub(crate) fn conform(
    (name, own): (&str, &str),
    values: &Values,
    target: ColumnType,
    rules: &CellRules,
    losses: &mut Losses,
) -> PolarsResult<Column> {
    let mut lost = |reason: &'static str, n: u64| {
        if n > 0 {
            *losses.entry((own.to_owned(), reason)).or_default() += n;
        }
    };
    let out: Series = match (values, target) {
        (Values::Text(text), _) => from_text(text, target, rules, &mut lost)?,
        (native, _) if native.column_type() == target => native_series(native)?,
        (_, ColumnType::String) => as_text(values),
        (Values::Int(v), ColumnType::Float) => {
            lost(ROUNDED, v.iter().flatten().filter(|v| !exact_in_float(**v)).count() as u64);
            v.iter().map(|v| v.map(|v| v as f64)).collect::<Float64Chunked>().into_series()
        }
        (Values::Int(v), ColumnType::Decimal { precision, scale }) => {
            let scaled: Int128Chunked =
                v.iter().map(|v| v.and_then(|v| i128::from(v).checked_mul(pow10(scale)))).collect();
            scaled.into_decimal(precision.into(), scale.into())?.into_series()
        }
        (Values::Decimal { values, scale: from, .. }, ColumnType::Decimal { precision, scale }) => {
            let factor = pow10(scale.saturating_sub(*from));
            let scaled: Int128Chunked = values.iter().map(|v| v.and_then(|v| v.checked_mul(factor))).collect();
            scaled.into_decimal(precision.into(), scale.into())?.into_series()
        }
        (Values::Date(v), ColumnType::Datetime) => {
            let micros: Int64Chunked =
                v.iter().map(|d| d.and_then(|d| i64::from(d).checked_mul(86_400_000_000))).collect();
            micros.into_series().cast(&polars_type(ColumnType::Datetime))?
        }
        (from, to) => polars_bail!(ComputeError: "no rule widens {} to {to}", from.column_type()),
    };
    Ok(out.with_name(name.into()).into_column())
}

/// Text cells read as `target` by `rules`. A cell that does not fit (which the type tally makes
/// impossible) is null and counted rather than lost unseen.
fn from_text(
    text: &TextValues,
    target: ColumnType,
    rules: &CellRules,
    lost: &mut dyn FnMut(&'static str, u64),
) -> PolarsResult<Series> {
    let int = |c: &str| rules.with_number(c, parse_int);
    let series = match target {
        ColumnType::String | ColumnType::Struct | ColumnType::List | ColumnType::Null => {
            let out: StringChunked = text.iter().collect();
            return Ok(out.into_series());
        }
        ColumnType::Int => text.iter().map(|c| c.and_then(int)).collect::<Int64Chunked>().into_series(),
        ColumnType::Float => {
            let rounded = text.iter().flatten().filter(|c| int(c).is_some_and(|v| !exact_in_float(v))).count();
            lost(ROUNDED, rounded as u64);
            text.iter().map(|c| c.and_then(|c| rules.with_number(c, as_f64))).collect::<Float64Chunked>().into_series()
        }
        ColumnType::Bool => {
            text.iter().map(|c| c.and_then(|c| parse_bool(trim(c)))).collect::<BooleanChunked>().into_series()
        }
        ColumnType::Date => {
            let out: Int32Chunked = text.iter().map(|c| c.and_then(|c| rules.date(c)).map(epoch_days)).collect();
            out.into_series().cast(&DataType::Date)?
        }
        ColumnType::Datetime => {
            let out: Int64Chunked = text.iter().map(|c| c.and_then(|c| rules.datetime(c)).map(epoch_micros)).collect();
            out.into_series().cast(&polars_type(ColumnType::Datetime))?
        }
        ColumnType::Decimal { precision, scale } => {
            let out: Int128Chunked =
                text.iter().map(|c| c.and_then(int).and_then(|v| i128::from(v).checked_mul(pow10(scale)))).collect();
            out.into_decimal(precision.into(), scale.into())?.into_series()
        }
        ColumnType::Binary => polars_bail!(ComputeError: "text never widens to binary"),
    };
    let nulls = text.iter().filter(Option::is_none).count();
    let misfits = series.null_count().saturating_sub(nulls) as u64;
    lost("could not be read as the column's type and are null (please report this)", misfits);
    Ok(series)
}

/// Native values as the polars series of their own type.
fn native_series(values: &Values) -> PolarsResult<Series> {
    let name = PlSmallStr::EMPTY;
    Ok(match values {
        Values::Text(text) => text.iter().collect::<StringChunked>().into_series(),
        Values::Int(v) => Series::new(name, v),
        Values::Float(v) => Series::new(name, v),
        Values::Bool(v) => Series::new(name, v),
        Values::Date(v) => Series::new(name, v).cast(&DataType::Date)?,
        Values::Datetime(v) => Series::new(name, v).cast(&polars_type(ColumnType::Datetime))?,
        Values::Decimal { values, precision, scale } => {
            let column: Int128Chunked = values.iter().copied().collect();
            column.into_decimal(usize::from(*precision), usize::from(*scale))?.into_series()
        }
        Values::Binary(v) => v.iter().map(|b| b.as_deref()).collect::<BinaryChunked>().into_series(),
    })
}

/// Native values as their exact text.
fn as_text(values: &Values) -> Series {
    fn all<T: Copy>(v: &[Option<T>], text: impl Fn(T) -> Option<String>) -> StringChunked {
        v.iter().map(|x| x.and_then(&text)).collect()
    }
    let out: StringChunked = match values {
        Values::Text(text) => text.iter().collect(),
        Values::Int(v) => all(v, |v| Some(v.to_string())),
        Values::Float(v) => all(v, |v| Some(float_text(v))),
        Values::Bool(v) => all(v, |v| Some(v.to_string())),
        Values::Date(v) => all(v, date_text),
        Values::Datetime(v) => all(v, datetime_text),
        Values::Decimal { values, scale, .. } => all(values, |v| Some(decimal_text(v, *scale))),
        Values::Binary(v) => v.iter().map(|b| b.as_deref().map(hex)).collect(),
    };
    out.into_series()
}

fn pow10(exp: u8) -> i128 {
    10i128.checked_pow(u32::from(exp)).unwrap_or(i128::MAX)
}

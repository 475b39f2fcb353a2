//! A checkpoint part's column brought to the dataset's final type for that column, keeping every
//! value: text-origin cells are read as the final type by the shared typing rules (so a column
//! that ends as `string` keeps each cell's text exactly as it was read, whatever the chunk size
//! or file order), native values are widened exactly (int → decimal, decimal → wider decimal,
//! date → datetime) or written as their exact text. The one widening that can round, a 64-bit
//! int beyond ±2^53 made a float, is counted; nothing becomes null silently.

use std::collections::BTreeMap;

use dat_contracts::ColumnType;
use dat_readers::typing::{
    as_f64, date_text, datetime_text, decimal_text, epoch_days, epoch_micros, float_text, hex, parse_bool, parse_int,
    trim, CellRules,
};
use polars::prelude::*;

use super::frame::polars_type;

/// Values that could not be kept exactly, by column and reason; reported per table.
pub(crate) type Losses = BTreeMap<(String, &'static str), u64>;

/// Largest integer magnitude a float holds exactly.
const EXACT_IN_FLOAT: i64 = 1 << 53;

/// The reason counted for ints a float holds only rounded.
const ROUNDED: &str = "are integers beyond ±2^53 that a float holds only rounded";

fn exact_in_float(v: i64) -> bool {
    (-EXACT_IN_FLOAT..=EXACT_IN_FLOAT).contains(&v)
}

/// `column` as `target`, its text cells read by `rules` (the rules they were typed by),
/// counting what could not be kept in `losses`.
///
/// # Errors
/// A polars error, or a pairing the widening rules never produce (a bug).
pub(crate) fn conform(
    column: &Column,
    target: ColumnType,
    rules: &CellRules,
    losses: &mut Losses,
) -> PolarsResult<Column> {
    let name = column.name().clone();
    let want = polars_type(target);
    if column.dtype() == &want {
        return Ok(column.clone());
    }
    let mut lost = |reason: &'static str, n: u64| {
        if n > 0 {
            *losses.entry((name.to_string(), reason)).or_default() += n;
        }
    };
    let series = column.as_materialized_series();
    let out: Series = match (series.dtype(), target) {
        (DataType::String, _) => from_text(series.str()?, target, rules, &mut lost)?,
        (DataType::Int64, ColumnType::Float) => {
            let ints = series.i64()?;
            lost(ROUNDED, ints.iter().flatten().filter(|v| !exact_in_float(*v)).count() as u64);
            ints.iter().map(|v| v.map(|v| v as f64)).collect::<Float64Chunked>().into_series()
        }
        (DataType::Int64, ColumnType::Decimal { precision, scale }) => {
            let scaled: Int128Chunked =
                series.i64()?.iter().map(|v| v.and_then(|v| i128::from(v).checked_mul(pow10(scale)))).collect();
            scaled.into_decimal(precision.into(), scale.into())?.into_series()
        }
        (DataType::Decimal(_, from), ColumnType::Decimal { precision, scale }) => {
            let factor = pow10(scale.saturating_sub(u8::try_from(*from).unwrap_or(0)));
            let scaled: Int128Chunked =
                series.decimal()?.physical().iter().map(|v| v.and_then(|v| v.checked_mul(factor))).collect();
            scaled.into_decimal(precision.into(), scale.into())?.into_series()
        }
        (DataType::Date, ColumnType::Datetime) => {
            let micros: Int64Chunked = series
                .date()?
                .physical()
                .iter()
                .map(|d| d.and_then(|d| i64::from(d).checked_mul(86_400_000_000)))
                .collect();
            micros.into_series().cast(&want)?
        }
        (_, ColumnType::String) => as_text(series)?,
        (from, to) => polars_bail!(ComputeError: "no rule widens {from} to {to}"),
    };
    Ok(out.with_name(name).into_column())
}

/// Text cells read as `target` by the typing rules. A cell that does not fit (which the type
/// tally makes impossible) is null and counted rather than lost unseen.
fn from_text(
    text: &StringChunked,
    target: ColumnType,
    rules: &CellRules,
    lost: &mut dyn FnMut(&'static str, u64),
) -> PolarsResult<Series> {
    let int = |c: &str| rules.with_number(c, parse_int);
    let series = match target {
        ColumnType::String | ColumnType::Struct | ColumnType::List | ColumnType::Null => {
            return Ok(text.clone().into_series())
        }
        ColumnType::Int => {
            let out: Int64Chunked = text.iter().map(|c| c.and_then(int)).collect();
            out.into_series()
        }
        ColumnType::Float => {
            let rounded = text.iter().flatten().filter(|c| int(c).is_some_and(|v| !exact_in_float(v))).count();
            lost(ROUNDED, rounded as u64);
            let out: Float64Chunked = text.iter().map(|c| c.and_then(|c| rules.with_number(c, as_f64))).collect();
            out.into_series()
        }
        ColumnType::Bool => {
            let out: BooleanChunked = text.iter().map(|c| c.and_then(|c| parse_bool(trim(c)))).collect();
            out.into_series()
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
    let misfits = series.null_count().saturating_sub(text.null_count()) as u64;
    lost("could not be read as the column's type and are null (please report this)", misfits);
    Ok(series)
}

/// Native values as their exact text.
fn as_text(series: &Series) -> PolarsResult<Series> {
    let out: StringChunked = match series.dtype() {
        DataType::Int64 => series.i64()?.iter().map(|v| v.map(|v| v.to_string())).collect(),
        DataType::Float64 => series.f64()?.iter().map(|v| v.map(float_text)).collect(),
        DataType::Boolean => series.bool()?.iter().map(|v| v.map(|v| v.to_string())).collect(),
        DataType::Date => series.date()?.physical().iter().map(|v| v.and_then(date_text)).collect(),
        DataType::Datetime(..) => series.datetime()?.physical().iter().map(|v| v.and_then(datetime_text)).collect(),
        DataType::Decimal(_, scale) => {
            let scale = u8::try_from(*scale).unwrap_or(0);
            series.decimal()?.physical().iter().map(|v| v.map(|v| decimal_text(v, scale))).collect()
        }
        DataType::Binary => series.binary()?.iter().map(|v| v.map(hex)).collect(),
        other => polars_bail!(ComputeError: "no rule writes {other} as text"),
    };
    Ok(out.into_series())
}

fn pow10(exp: u8) -> i128 {
    10i128.checked_pow(u32::from(exp)).unwrap_or(i128::MAX)
}

//! The chunk statistics of `_source_file` and `_source_table`, computed by dat rather than by
//! the Parquet writer: the writer compares every value with the least and greatest so far, two
//! full `memcmp`s a row on values that are all equal (W1: 3.5% of the wall time). Each batch
//! dat writes holds one value in these columns (`StringArray::new_repeated`), which one
//! comparison of the values with themselves, shifted by one value, proves; a batch that does not
//! is compared value by value. Min and max are cut as the writer cuts them (64 bytes, the max
//! then raised to stay an upper bound), so readers prune row groups by source as before.

use arrow_array::{Array, RecordBatch, StringArray};
use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::data_type::ByteArray;
use parquet::errors::Result;
use parquet::file::properties::DEFAULT_STATISTICS_TRUNCATE_LENGTH;
use parquet::file::statistics::{Statistics, ValueStatistics};

use super::assemble::SOURCE_COLUMNS;

/// Whether column `name` is one whose statistics dat computes (the writer's are turned off).
pub(crate) fn computed_here(name: &str) -> bool {
    name == SOURCE_COLUMNS[0] || name == SOURCE_COLUMNS[1]
}

/// `chunk`, column `index` of `batches` encoded, with the statistics the writer would have
/// given it, when it is a column dat computes them for; as it is otherwise.
///
/// # Errors
/// The chunk's metadata cannot be rebuilt (a bug).
pub(crate) fn with_statistics(
    mut chunk: ArrowColumnChunk,
    batches: &[RecordBatch],
    index: usize,
) -> Result<ArrowColumnChunk> {
    let Some(name) = batches.first().map(|b| b.schema_ref().field(index).name().clone()) else { return Ok(chunk) };
    if !computed_here(&name) {
        return Ok(chunk);
    }
    let mut nulls = 0u64;
    let mut bounds: Option<(&str, &str)> = None;
    for batch in batches {
        let column = batch.column(index);
        nulls += column.null_count() as u64;
        let Some(text) = column.as_any().downcast_ref::<StringArray>() else { continue };
        if let Some((least, greatest)) = min_max(text) {
            bounds = Some(match bounds {
                Some((min, max)) => (min.min(least), max.max(greatest)),
                None => (least, greatest),
            });
        }
    }
    let close = chunk.close_mut();
    let statistics = Statistics::ByteArray(match bounds {
        Some((min, max)) => {
            let (min, min_exact) = lower_bound(min);
            let (max, max_exact) = upper_bound(max);
            ValueStatistics::new(Some(ByteArray::from(min)), Some(ByteArray::from(max)), None, Some(nulls), false)
                .with_min_is_exact(min_exact)
                .with_max_is_exact(max_exact)
        }
        None => ValueStatistics::new(None, None, None, Some(nulls), false),
    });
    close.metadata = close.metadata.clone().into_builder().set_statistics(statistics).build()?;
    Ok(chunk)
}

/// The least and greatest value of `text` (`None` when it has none): one comparison when it
/// holds one value throughout, else one per value.
fn min_max(text: &StringArray) -> Option<(&str, &str)> {
    if one_value(text) {
        let first = text.value(0);
        return Some((first, first));
    }
    let mut values = text.iter().flatten();
    let first = values.next()?;
    Some(values.fold((first, first), |(min, max), v| (min.min(v), max.max(v))))
}

/// Whether `text` holds one value on every row, without nulls: every value as long as the
/// first, and its bytes equal to themselves shifted by one value.
fn one_value(text: &StringArray) -> bool {
    let offsets = text.value_offsets();
    let (Some(&start), Some(&end)) = (offsets.first(), offsets.last()) else { return false };
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else { return false };
    let Some(bytes) = text.value_data().get(start..end) else { return false };
    let width = offsets.get(1).map_or(0, |&next| usize::try_from(next).unwrap_or(0).saturating_sub(start));
    text.null_count() == 0
        && !text.is_empty()
        && offsets.windows(2).all(|w| usize::try_from(w[1] - w[0]).ok() == Some(width))
        && bytes.get(width..) == bytes.get(..bytes.len().saturating_sub(width))
}

/// `value` as a chunk minimum: cut to the writer's length on a character boundary (a prefix is
/// never greater); whether it is whole.
fn lower_bound(value: &str) -> (Vec<u8>, bool) {
    match DEFAULT_STATISTICS_TRUNCATE_LENGTH.filter(|limit| value.len() > *limit) {
        Some(limit) => (value.as_bytes().get(..floor_char_boundary(value, limit)).unwrap_or_default().to_vec(), false),
        None => (value.as_bytes().to_vec(), true),
    }
}

/// `value` as a chunk maximum: cut like [`lower_bound`], its last character then raised to the
/// next one (dropping characters that have none), so that it is still no less than `value`;
/// whether it is whole. With no character to raise, the whole value.
fn upper_bound(value: &str) -> (Vec<u8>, bool) {
    let Some(limit) = DEFAULT_STATISTICS_TRUNCATE_LENGTH.filter(|limit| value.len() > *limit) else {
        return (value.as_bytes().to_vec(), true);
    };
    let mut prefix: Vec<char> = value.get(..floor_char_boundary(value, limit)).unwrap_or_default().chars().collect();
    while let Some(last) = prefix.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            prefix.push(next);
            return (prefix.into_iter().collect::<String>().into_bytes(), false);
        }
    }
    (value.as_bytes().to_vec(), true)
}

/// The largest character boundary of `value` at or below `at`.
fn floor_char_boundary(value: &str, at: usize) -> usize {
    (0..=at.min(value.len())).rev().find(|&i| value.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_repeated_is_its_own_min_and_max_and_mixed_values_are_scanned() {
        assert_eq!(min_max(&StringArray::new_repeated("in/b.csv", 1000)), Some(("in/b.csv", "in/b.csv")));
        let mixed = StringArray::from(vec!["in/b.csv", "in/a.csv", "in/c.csv", "in/b.csv"]);
        assert_eq!(min_max(&mixed), Some(("in/a.csv", "in/c.csv")));
        // Same widths, different bytes: not taken for one value.
        let same_width = StringArray::from(vec!["b", "b", "a", "b"]);
        assert_eq!(min_max(&same_width), Some(("a", "b")));
        let sliced = StringArray::from(vec!["x", "yy", "yy", "yy"]).slice(1, 3);
        assert_eq!(min_max(&sliced), Some(("yy", "yy")));
        assert_eq!(min_max(&StringArray::from(vec![None::<&str>, Some("q")])), Some(("q", "q")));
        assert_eq!(min_max(&StringArray::from(Vec::<&str>::new())), None);
    }

    #[test]
    fn long_values_are_cut_as_the_writer_cuts_them_and_stay_bounds() {
        let long = format!("{}é/z.csv", "a".repeat(63));
        let (min, min_exact) = lower_bound(&long);
        assert_eq!((min.as_slice(), min_exact), ("a".repeat(63).as_bytes(), false), "cut before the é");
        let (max, max_exact) = upper_bound(&long);
        assert_eq!((max, max_exact), (format!("{}b", "a".repeat(62)).into_bytes(), false));
        assert!(min.as_slice() <= long.as_bytes());
        let short = "in/a.csv";
        assert_eq!(lower_bound(short), (short.as_bytes().to_vec(), true));
        assert_eq!(upper_bound(short), (short.as_bytes().to_vec(), true));
        let highest = format!("{}", char::MAX).repeat(20);
        let (max, _) = upper_bound(&highest);
        assert!(max.as_slice() >= highest.as_bytes(), "no character to raise: the whole value");
    }
}

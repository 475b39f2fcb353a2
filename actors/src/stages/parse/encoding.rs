//! How dat's Parquet is encoded, the dataset's row groups and encoded checkpoint parts alike:
//! zstd at a fast level, statistics per column chunk, integers and dates delta-encoded, the
//! source columns as shared prefixes, text dictionary-encoded only where a dictionary pays.

use std::collections::HashSet;

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, SchemaRef};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::Result;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::source_stats::computed_here;

/// Rows per data page, at least (and under twice as many): a column without nulls is written in
/// runs of this many rows, and a page ends after the run that fills it, so a page holds one to
/// two runs. At the writer's default of 20,000, a part's leftover rows joined the next run into
/// pages of up to 40,000 rows (320 KB of floats), which zstd level 1 compresses far worse above
/// 256 KiB (W1's floats: 0.94 of their size instead of 0.64); 16,384 keeps a page of floats
/// within 128–256 KiB, where it compresses best.
const PAGE_ROWS: usize = 16_384;

/// How the file is written: zstd, statistics per column chunk, `metadata`; integers and dates
/// delta-encoded, text columns dictionary-encoded where [`dictionary_pays`] on `sample`.
pub(crate) fn properties(
    schema: &SchemaRef,
    metadata: Vec<KeyValue>,
    sample: &[RecordBatch],
) -> Result<WriterProperties> {
    let mut properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_dictionary_enabled(false)
        .set_key_value_metadata(Some(metadata));
    for (index, field) in schema.fields().iter().enumerate() {
        let column = ColumnPath::from(field.name().as_str());
        properties = match field.data_type() {
            // `_source_file` and `_source_table` hold one value for thousands of rows: as
            // prefixes shared with the row before, they are a few bytes a page, where plain
            // they were W1's largest columns before compression (100 MB each for zstd to scan).
            // dat computes their statistics itself, far cheaper (see `source_stats`).
            DataType::Utf8 if computed_here(field.name()) => properties
                .set_column_encoding(column.clone(), Encoding::DELTA_BYTE_ARRAY)
                .set_column_statistics_enabled(column, EnabledStatistics::None),
            DataType::Utf8 if dictionary_pays(sample, index) => properties.set_column_dictionary_enabled(column, true),
            // Ids, counts, row numbers and dates step by little: deltas, bit-packed, leave
            // zstd a fraction of the bytes (W2: 17% less time encoding the dataset, 8% smaller
            // file). Date-times stay plain: on unordered ones deltas cost more than they save.
            DataType::Int32 | DataType::Int64 | DataType::Date32 => {
                properties.set_column_encoding(column, Encoding::DELTA_BINARY_PACKED)
            }
            _ => properties,
        };
    }
    Ok(properties.build())
}

/// Values a dictionary is judged on, at most: the first of a row group tell enough, and hashing
/// every value of every encoded part cost 4% of W1's CPU.
const DICTIONARY_SAMPLE: usize = 8_192;

/// Whether a dictionary pays for text column `index`, judged on the first [`DICTIONARY_SAMPLE`]
/// values of the first row group (`sample`), or of an encoded part: its values repeat (at most a
/// quarter as many distinct values as values) and do not come in long runs (more than one run
/// per 16 values). Mostly distinct values (lot numbers) gain little from a dictionary, and long
/// runs of one value (a constant column) are what zstd takes for nearly nothing as plain text;
/// in both, hashing every value cost more than it saved (W1: 6% less CPU and a 3% smaller file
/// without; W2: 4% less wall, 3.5% smaller).
fn dictionary_pays(sample: &[RecordBatch], index: usize) -> bool {
    let (mut values, mut runs) = (0usize, 0usize);
    let mut distinct = HashSet::new();
    let mut last = None;
    for batch in sample {
        let Some(column) = batch.column(index).as_any().downcast_ref::<StringArray>() else {
            return false;
        };
        for value in column.iter().flatten() {
            if values == DICTIONARY_SAMPLE {
                break;
            }
            values += 1;
            if last != Some(value) {
                runs += 1;
                last = Some(value);
            }
            distinct.insert(value);
            if distinct.len() * 4 > DICTIONARY_SAMPLE {
                return false; // more distinct values than a dictionary pays for, whatever follows
            }
        }
    }
    distinct.len() * 4 <= values && runs * 16 > values
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn batches(values: &[&str], per_batch: usize) -> Vec<RecordBatch> {
        values
            .chunks(per_batch)
            .map(|chunk| {
                let column: Arc<dyn Array> = Arc::new(StringArray::from(chunk.to_vec()));
                RecordBatch::try_from_iter([("text", column)]).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_dictionary_is_used_for_text_that_repeats_out_of_order_only() {
        let tools: Vec<String> = (0..1000).map(|i| format!("CDSEM-{:02}", (i * 7) % 10)).collect();
        let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
        assert!(dictionary_pays(&batches(&tools, 300), 0), "10 tools, shuffled");

        let lots: Vec<String> = (0..1000).map(|i| format!("LOT{:05}", (i * 7919) % 900)).collect();
        let lots: Vec<&str> = lots.iter().map(String::as_str).collect();
        assert!(!dictionary_pays(&batches(&lots, 300), 0), "900 lots in 1,000 rows");

        let files: Vec<&str> = (0..1000).map(|i| if i < 600 { "a.csv" } else { "b.csv" }).collect();
        assert!(!dictionary_pays(&batches(&files, 300), 0), "two runs, across batches");
        assert!(!dictionary_pays(&[], 0), "no rows");

        let many: Vec<String> = (0..20_000).map(|i| format!("LOT{i:05}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(!dictionary_pays(&batches(&many, 5_000), 0), "distinct past the sample's quarter");
        let tools: Vec<&str> = (0..20_000).map(|i| ["A", "B", "C"][(i * 7 / 3) % 3]).collect();
        assert!(dictionary_pays(&batches(&tools, 5_000), 0), "judged on the first values only");
    }
}

//! Chunks large enough to be encoded at parse give the dataset that raw parts give: spliced as
//! they are where their columns have the dataset's types, conformed like raw parts where not.

use polars::prelude::*;

use super::encoded::{ENCODE_FROM_ROWS, ENCODE_RANGE_FROM_ROWS};
use super::tests::{assemble_files, assemble_with_footer, parse, texts};

/// Rows per chunk for the large reads: every chunk is encoded.
const LARGE: usize = ENCODE_FROM_ROWS + 1_000;
/// Rows per chunk for the reads every part of which stays raw.
const SMALL: usize = 1_000;

/// A CSV of `rows` rows under `header`, each made by `row`.
fn csv(header: &str, rows: std::ops::Range<usize>, row: impl Fn(usize) -> String) -> String {
    let mut text = format!("{header}\n");
    for i in rows {
        text.push_str(&row(i));
        text.push('\n');
    }
    text
}

/// The number of encoded parts each file's checkpoint holds, and the dataset.
fn encoded_parts(files: &[(&str, &str)], chunk_rows: usize) -> (Vec<usize>, DataFrame) {
    encoded_parts_in_ranges(files, chunk_rows, 1)
}

/// [`encoded_parts`], each file read in `ranges` ranges.
fn encoded_parts_in_ranges(files: &[(&str, &str)], chunk_rows: usize, ranges: usize) -> (Vec<usize>, DataFrame) {
    let counted = std::sync::Mutex::new(vec![]);
    let count = |_: &std::path::Path, dirs: &[&std::path::Path]| {
        for dir in dirs {
            let parquet = std::fs::read_dir(dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".parquet"))
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("part-"))
                .count();
            counted.lock().unwrap().push(parquet);
        }
    };
    let (df, _, _) = assemble_files(files, chunk_rows, ranges, &count).unwrap();
    (counted.into_inner().unwrap(), df)
}

#[test]
fn large_chunks_are_encoded_at_parse_and_give_the_dataset_raw_parts_give() {
    let rows = 2 * LARGE + 10;
    let text = csv("id,x,lot,day,at", 0..rows, |i| {
        let at = if i % 9 == 0 { String::new() } else { format!("2026-01-{:02}T10:00:{:02}", 1 + i % 28, i % 60) };
        format!("{i},{}.25,LOT{:03},2026-02-{:02},{at}", i % 1000, i % 13, 1 + i % 28)
    });
    let files = [("a.csv", text.as_str())];
    let (encoded, large) = encoded_parts(&files, LARGE);
    assert_eq!(encoded, [2], "two full chunks encoded, the last ten rows raw");
    let (raw, small) = encoded_parts(&files, SMALL);
    assert_eq!(raw, [0]);
    assert_eq!(large, small);
    assert_eq!(large.height(), rows);
    assert_eq!(large.column("at").unwrap().null_count(), rows.div_ceil(9));
    assert_eq!(texts(&large, "lot")[LARGE + 1].as_deref(), Some(format!("LOT{:03}", (LARGE + 1) % 13).as_str()));
}

#[test]
fn an_encoded_part_whose_column_a_later_part_widened_keeps_its_values() {
    let text = csv("v", 0..2 * LARGE, |i| if i < LARGE { i.to_string() } else { format!("{i}.5") });
    let files = [("a.csv", text.as_str())];
    let (encoded, large) = encoded_parts(&files, LARGE);
    assert_eq!(encoded, [2], "an int part and a float part");
    let v: Vec<Option<f64>> = large.column("v").unwrap().f64().unwrap().iter().collect();
    assert_eq!(v[7], Some(7.0));
    assert_eq!(v[LARGE + 1], Some(LARGE as f64 + 1.5));
    assert_eq!(large, parse(&files, SMALL).0);
}

#[test]
fn numbers_of_an_encoded_part_that_the_dataset_keeps_as_text_are_written_as_the_file_has_them() {
    let text = csv("v", 0..LARGE + 2, |i| if i == LARGE + 1 { "0870A".to_owned() } else { format!("{i}.50") });
    let files = [("a.csv", text.as_str())];
    let (encoded, large) = encoded_parts(&files, LARGE);
    assert_eq!(encoded, [1], "the float part is encoded, the part with the text is not");
    let v = texts(&large, "v");
    assert_eq!(v[3].as_deref(), Some("3.50"), "read again from the file, not printed from the float");
    assert_eq!(v[LARGE + 1].as_deref(), Some("0870A"));
}

#[test]
fn encoded_parts_of_tables_that_spell_or_lack_a_column_otherwise_go_where_their_columns_go() {
    let a = csv("Lot ID,n", 0..LARGE, |i| format!("L{},{i}", i % 5));
    let b = csv("lot_id,m", 0..LARGE, |i| format!("M{},{}", i % 3, i * 2));
    let files = [("a.csv", a.as_str()), ("b.csv", b.as_str())];
    let (encoded, large) = encoded_parts(&files, LARGE);
    assert_eq!(encoded, [1, 1]);
    let names: Vec<&str> = large.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["Lot ID", "n", "m", "_source_file", "_source_table", "_source_row"]);
    let lots = texts(&large, "Lot ID");
    assert_eq!((lots[1].as_deref(), lots[LARGE + 1].as_deref()), (Some("L1"), Some("M1")));
    let m = large.column("m").unwrap();
    assert_eq!((m.null_count(), m.get(LARGE + 2).unwrap()), (LARGE, AnyValue::Int64(4)));
    assert_eq!(large.column("n").unwrap().null_count(), LARGE);
    assert_eq!(large, parse(&files, SMALL).0);
}

#[test]
fn the_last_chunk_of_each_range_is_encoded_too_and_rows_keep_their_order() {
    let rows = 10 * ENCODE_RANGE_FROM_ROWS;
    let text = csv("id,x", 0..rows, |i| format!("{i},{}.5", i % 97));
    let files = [("a.csv", text.as_str())];
    let (encoded, ranged) = encoded_parts_in_ranges(&files, 3_000, 2);
    assert_eq!(encoded, [4], "two ranges of about 5 Ki rows: a full chunk and a tail of about 2 Ki each");
    let (_, whole) = encoded_parts(&files, SMALL);
    assert_eq!(ranged, whole);
}

#[test]
fn every_row_group_carries_the_least_and_greatest_source_of_its_rows() {
    // Row groups gathered from raw parts of several tables, and encoded parts spliced as they
    // are: readers prune row groups by `_source_file` and `_source_table` on these statistics.
    let a = csv("n", 0..LARGE, |i| i.to_string());
    let b = csv("n", 0..300, |i| i.to_string());
    let c = csv("n", 0..200, |i| i.to_string());
    let long = format!("{}_z.csv", "d".repeat(70));
    let files = [("a.csv", a.as_str()), ("b.csv", b.as_str()), ("c.csv", c.as_str()), (long.as_str(), b.as_str())];
    for chunk_rows in [LARGE, SMALL] {
        let (df, footer) = assemble_with_footer(&files, chunk_rows);
        let mut first_row = 0;
        for group in footer.row_groups() {
            let rows = usize::try_from(group.num_rows()).unwrap();
            for name in ["_source_file", "_source_table"] {
                let values = texts(&df, name)[first_row..first_row + rows].to_vec();
                let (min, max) = (values.iter().min().cloned().flatten(), values.iter().max().cloned().flatten());
                let column = group.columns().iter().find(|c| c.column_descr().name() == name).unwrap();
                let Some(parquet::file::statistics::Statistics::ByteArray(stats)) = column.statistics() else {
                    panic!("{name} has no statistics")
                };
                let (low, high) =
                    (stats.min_opt().unwrap().as_utf8().unwrap(), stats.max_opt().unwrap().as_utf8().unwrap());
                let (min, max) = (min.unwrap(), max.unwrap());
                assert!(low <= min.as_str() && max.as_str() <= high, "{name}: [{low}, {high}] holds [{min}, {max}]");
                if max.len() <= 64 {
                    assert_eq!((low, high), (min.as_str(), max.as_str()), "{name}: exact");
                }
                assert_eq!(stats.null_count_opt(), Some(0));
            }
            first_row += rows;
        }
        assert_eq!(first_row, df.height());
    }
}

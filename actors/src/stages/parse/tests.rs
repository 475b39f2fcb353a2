//! Tables read into checkpoints and assembled, as the parse stage does it: values survive
//! widening whatever the chunk size and file order, what cannot be kept is counted, and a file
//! whose content is not discovery's fails its table.

use dat_contracts::artifacts::SelectedTable;
use dat_contracts::bundle::FailureCode;
use dat_contracts::{TableStatus, WorkspacePath};
use dat_readers::{AdapterRegistry, ReadOptions, SourceFile, TextHints};
use parquet::file::metadata::ParquetMetaData;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::assemble::{self, Parsed};
use super::checkpoint::{self, NotRead, Reading};
use super::conform::Losses;
use super::recall::Reread;
use crate::workspace::Workspace;

/// Assembly with nobody asking it to stop or counting its rows.
const NO_WATCH: super::Watch<'static> = super::Watch { should_stop: &|| false, on_rows: &|_| {} };

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn selected(name: &str, adapters: &AdapterRegistry) -> SelectedTable {
    let adapter = adapters.for_name(name).map(|(a, _)| a.id().to_owned()).unwrap_or_default();
    SelectedTable {
        table_id: name.to_owned(),
        file: WorkspacePath::parse(name).unwrap(),
        sheet: None,
        adapter,
        status: TableStatus::Available,
    }
}

/// Reads `files` (in this order) with `chunk_rows` and assembles them: the dataset and what
/// each table could not keep.
pub(super) fn parse(files: &[(&str, &str)], chunk_rows: usize) -> (DataFrame, Vec<Losses>) {
    parse_in_ranges(files, chunk_rows, 1)
}

/// [`parse`], each file of at least 1 byte read in `ranges` ranges at once.
fn parse_in_ranges(files: &[(&str, &str)], chunk_rows: usize, ranges: usize) -> (DataFrame, Vec<Losses>) {
    let (df, losses, _) = assemble_files(files, chunk_rows, ranges, &|_, _| {}).unwrap();
    (df, losses)
}

/// Reads `files` into checkpoints, calls `between` with the workspace and the checkpoints'
/// folders, then assembles them: the dataset, what each table could not keep, and the
/// checkpoints.
pub(super) fn assemble_files(
    files: &[(&str, &str)],
    chunk_rows: usize,
    ranges: usize,
    between: &dyn Fn(&std::path::Path, &[&std::path::Path]),
) -> Result<(DataFrame, Vec<Losses>, Vec<checkpoint::TableCheckpoint>), assemble::AssembleError> {
    let (df, losses, checkpoints, left_out, _) = assemble_leaving_out(files, chunk_rows, ranges, between)?;
    assert_eq!(left_out, Vec::<String>::new(), "no table left out");
    Ok((df, losses, checkpoints))
}

/// The dataset, what each table could not keep, the checkpoints, the tables left out, and the
/// dataset's Parquet footer.
type Assembled = (DataFrame, Vec<Losses>, Vec<checkpoint::TableCheckpoint>, Vec<String>, ParquetMetaData);

/// [`assemble_files`], leaving out the tables whose text cannot be read again (as the stage
/// does): also the reasons they were left out, in order.
fn assemble_leaving_out(
    files: &[(&str, &str)],
    chunk_rows: usize,
    ranges: usize,
    between: &dyn Fn(&std::path::Path, &[&std::path::Path]),
) -> Result<Assembled, assemble::AssembleError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let workspace = Workspace::open(dir.path()).unwrap();
    let adapters = AdapterRegistry::default();
    // Files written just now are read in ranges only when the fingerprint cache vouches for
    // their content (their change stamps are not settled yet): as discovery would have.
    let cache = dat_store::MemoryLog::default();
    for (name, text) in files {
        use dat_store::FingerprintCache;
        let meta = std::fs::metadata(dir.path().join(name)).unwrap();
        let stamp = dat_readers::stamp::change_stamp(&meta);
        let fingerprint = dat_store::Fingerprint { size: meta.len(), stamp, sha256: sha(text.as_bytes()) };
        cache.remember(name, &fingerprint).unwrap();
    }
    let reading = Reading {
        adapters: &adapters,
        workspace: &workspace,
        options: ReadOptions { split_min_bytes: 1, ..ReadOptions::default() }.with_chunk_rows(chunk_rows),
        on_chunk: &|_| {},
        should_stop: &|| false,
        ranges,
        // Fewer readers than ranges: a reader takes the next range when done with one.
        readers: 2,
        fingerprints: (ranges > 1).then_some(&cache as &dyn dat_store::FingerprintCache),
    };
    let out = tempfile::tempdir().unwrap();
    let tables: Vec<SelectedTable> = files.iter().map(|(name, _)| selected(name, &adapters)).collect();
    let parsed: Vec<Parsed<'_>> = tables
        .iter()
        .zip(files)
        .map(|(table, (_, text))| {
            let dir = out.path().join(checkpoint::folder_name(&table.table_id));
            let checkpoint =
                checkpoint::write(&reading, table, TextHints::default(), &sha(text.as_bytes()), &dir).unwrap();
            Parsed { table, dir, checkpoint }
        })
        .collect();
    between(dir.path(), &parsed.iter().map(|p| p.dir.as_path()).collect::<Vec<_>>());
    let path = out.path().join("dataset.parquet");
    let hints = |_: &SelectedTable| TextHints::default();
    let reread = Reread { reading: &reading, hints: &hints };
    let mut parsed: Vec<(usize, Parsed<'_>)> = parsed.into_iter().enumerate().collect();
    let write = |all: &[&Parsed<'_>]| {
        let united = assemble::unite(all, &Default::default());
        assemble::write_dataset(all, &united, &path, &NO_WATCH, &|_| vec![], &reread, "{}")
    };
    let (written, left_out) = assemble::without_unrecallable(&mut parsed, write)?;
    let (_, losses) = written.unwrap();
    let df = ParquetReader::new(std::fs::File::open(&path).unwrap()).finish().unwrap();
    let footer = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&std::fs::File::open(&path).unwrap())
        .unwrap();
    let left_out = left_out.into_iter().map(|(_, p, why)| format!("{}: {why}", p.table.table_id)).collect();
    Ok((df, losses, parsed.into_iter().map(|(_, p)| p.checkpoint).collect(), left_out, footer))
}

/// The dataset of `files` read in chunks of `chunk_rows` rows, and its Parquet footer.
pub(super) fn assemble_with_footer(files: &[(&str, &str)], chunk_rows: usize) -> (DataFrame, ParquetMetaData) {
    let (df, _, _, left_out, footer) = assemble_leaving_out(files, chunk_rows, 1, &|_, _| {}).unwrap();
    assert_eq!(left_out, Vec::<String>::new(), "no table left out");
    (df, footer)
}

pub(super) fn texts(df: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = df.column(column).unwrap();
    assert_eq!(c.dtype(), &DataType::String, "{column} is text");
    c.str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
}

fn some(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

const NUMBERS: &str = "v,code,e,big\n1.50,007,1e3,1\n2,12,2.0,9223372036854775808\n";
const TEXT: &str = "v,code,e,big\nx1,A7,E,2\n";

#[test]
fn a_column_widened_to_text_keeps_every_cell_as_written_at_any_chunk_size_in_either_order() {
    for chunk_rows in [1, 2, ReadOptions::CHUNK_ROWS] {
        let (df, losses) = parse(&[("a.csv", NUMBERS), ("b.csv", TEXT)], chunk_rows);
        assert_eq!(texts(&df, "v"), some(&["1.50", "2", "x1"]), "chunk_rows {chunk_rows}");
        assert_eq!(texts(&df, "code"), some(&["007", "12", "A7"]), "chunk_rows {chunk_rows}");
        assert_eq!(texts(&df, "e"), some(&["1e3", "2.0", "E"]), "chunk_rows {chunk_rows}");
        assert_eq!(texts(&df, "big"), some(&["1", "9223372036854775808", "2"]), "beyond i64: its digits");
        assert!(losses.iter().all(Losses::is_empty), "{losses:?}");

        let (df, _) = parse(&[("b.csv", TEXT), ("a.csv", NUMBERS)], chunk_rows);
        assert_eq!(texts(&df, "v"), some(&["x1", "1.50", "2"]), "other order, chunk_rows {chunk_rows}");
        assert_eq!(texts(&df, "e"), some(&["E", "1e3", "2.0"]), "other order, chunk_rows {chunk_rows}");
    }
}

#[test]
fn ints_widened_to_floats_keep_their_value_and_rounding_past_two_to_the_53_is_counted() {
    let (df, losses) = parse(&[("a.csv", "n\n5\n9007199254740993\n"), ("b.csv", "n\n2.5\n")], 1);
    let n: Vec<Option<f64>> = df.column("n").unwrap().f64().unwrap().iter().collect();
    assert_eq!(n, [Some(5.0), Some(9007199254740992.0), Some(2.5)]);
    let counted: u64 = losses[0].values().sum();
    assert_eq!(counted, 1, "{losses:?}");
    assert!(losses[0].keys().any(|(column, reason)| column == "n" && reason.contains("2^53")));
    assert_eq!(
        df.column("_source_row").unwrap().i64().unwrap().iter().collect::<Vec<_>>(),
        [Some(2), Some(3), Some(2)]
    );
}

#[test]
fn dates_and_datetimes_widen_to_datetimes_and_bools_keep_their_spelling_as_text() {
    let (df, _) = parse(&[("a.csv", "d,b\n2026-01-02,TRUE\n"), ("b.csv", "d,b\n2026-01-02 03:04:05,x\n")], 1);
    let d = df.column("d").unwrap();
    assert_eq!(d.dtype(), &DataType::Datetime(TimeUnit::Microseconds, None));
    assert_eq!(d.null_count(), 0);
    assert_eq!(texts(&df, "b"), some(&["TRUE", "x"]));
}

#[test]
fn a_file_read_in_ranges_gives_the_dataset_one_read_gives() {
    let mut text = String::from("id,v,code\n");
    for i in 0..500 {
        text.push_str(&format!("{i},{}.25,{}\n", i % 7, if i == 430 { "0870A".to_owned() } else { i.to_string() }));
        if i == 200 {
            text.push_str("1,2,3,4\n");
        }
    }
    let files = [("big.csv", text.as_str())];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.csv"), &text).unwrap();
    let path = WorkspacePath::parse("big.csv").unwrap();
    let disk = dir.path().join("big.csv");
    let options = ReadOptions { split_min_bytes: 1, ..ReadOptions::default() };
    let (adapter, _) = AdapterRegistry::default().for_name("big.csv").unwrap();
    let planned = dat_readers::split_table(adapter.as_ref(), &SourceFile::new(&path, &disk, None), None, &options, 3);
    assert_eq!(planned.unwrap().map(|r| r.len()), Some(3), "the file is read in ranges");
    let (one, _) = parse_in_ranges(&files, 64, 1);
    for ranges in [2, 3, 8] {
        let (split, _) = parse_in_ranges(&files, 64, ranges);
        assert_eq!(split, one, "{ranges} ranges");
    }
    assert_eq!(one.height(), 500);
    assert_eq!(texts(&one, "code")[430].as_deref(), Some("0870A"), "a late value widens every range's column");
}

#[test]
fn a_file_the_fingerprint_cache_vouches_for_is_not_hashed_again_until_it_is_written() {
    use dat_store::{Fingerprint, FingerprintCache, MemoryLog};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.csv");
    std::fs::write(&file, "a\n1\n2\n3\n").unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let adapters = AdapterRegistry::default();
    let cache = MemoryLog::default();
    let table = selected("a.csv", &adapters);
    let out = tempfile::tempdir().unwrap();
    for ranges in [1, 2] {
        let reading = Reading {
            adapters: &adapters,
            workspace: &workspace,
            options: ReadOptions { split_min_bytes: 1, ..ReadOptions::default() },
            on_chunk: &|_| {},
            should_stop: &|| false,
            ranges,
            readers: ranges,
            fingerprints: Some(&cache),
        };
        // A hash planted under the file's size and stamp: taking it as found shows the file
        // was not hashed again.
        let meta = std::fs::metadata(&file).unwrap();
        let stamp = dat_readers::stamp::change_stamp(&meta);
        let planted = Fingerprint { size: meta.len(), stamp, sha256: "planted".into() };
        cache.remember("a.csv", &planted).unwrap();
        let target = out.path().join(format!("cp-{ranges}"));
        let read = checkpoint::write(&reading, &table, TextHints::default(), "planted", &target).unwrap();
        assert_eq!((read.sha256.as_str(), read.rows), ("planted", 3), "ranges {ranges}");

        // A write of the same size changes the stamp: the file is hashed, and is not what
        // discovery saw.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, "a\n1\n2\n4\n").unwrap();
        let target = out.path().join(format!("edited-{ranges}"));
        let Err(NotRead::Failed(failure)) =
            checkpoint::write(&reading, &table, TextHints::default(), "planted", &target)
        else {
            panic!("an edited file must fail its table (ranges {ranges})");
        };
        assert_eq!(failure.code, FailureCode::SourceChanged);
        assert_eq!(failure.details["found_sha256"], sha(b"a\n1\n2\n4\n").as_str());
    }
}

#[test]
fn a_file_whose_content_is_not_discoverys_fails_its_table_with_source_changed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "a\n2\n").unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let adapters = AdapterRegistry::default();
    let reading = Reading {
        adapters: &adapters,
        workspace: &workspace,
        options: ReadOptions::default(),
        on_chunk: &|_| {},
        should_stop: &|| false,
        ranges: 1,
        readers: 1,
        fingerprints: None,
    };
    let table = selected("a.csv", &adapters);
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("cp");
    let discovered = sha(b"a\n1\n");
    let Err(NotRead::Failed(failure)) = checkpoint::write(&reading, &table, TextHints::default(), &discovered, &target)
    else {
        panic!("the table must fail");
    };
    assert_eq!(failure.code, FailureCode::SourceChanged);
    assert_eq!(failure.details["expected_sha256"], discovered.as_str());
    assert_eq!(failure.details["found_sha256"], sha(b"a\n2\n").as_str());
    assert!(!target.exists(), "no checkpoint is left behind");
}

#[test]
fn numbers_are_checkpointed_as_values_and_their_text_is_read_again_only_where_the_dataset_keeps_text() {
    let (df, _, checkpoints) = assemble_files(&[("a.csv", NUMBERS)], 1, 1, &|_, _| {}).unwrap();
    assert!(checkpoints[0].from_text.contains("v"), "{:?}", checkpoints[0].from_text);
    let v: Vec<Option<f64>> = df.column("v").unwrap().f64().unwrap().iter().collect();
    assert_eq!(v, [Some(1.5), Some(2.0)]);

    // The same file beside text: `v` is text, read again from the file, every cell as written.
    let (df, _, _) = assemble_files(&[("a.csv", NUMBERS), ("b.csv", TEXT)], 1, 1, &|_, _| {}).unwrap();
    assert_eq!(texts(&df, "v"), some(&["1.50", "2", "x1"]));
}

#[test]
fn a_file_changed_before_its_text_is_read_again_is_left_out_and_the_others_are_assembled() {
    let edit = |dir: &std::path::Path, _: &[&std::path::Path]| {
        std::fs::write(dir.join("a.csv"), NUMBERS.replace("1.50", "1.75")).unwrap()
    };
    let (df, _, _, left_out, _) = assemble_leaving_out(&[("a.csv", NUMBERS), ("b.csv", TEXT)], 1, 1, &edit).unwrap();
    assert_eq!(left_out.len(), 1, "{left_out:?}");
    assert!(left_out[0].starts_with("a.csv: ") && left_out[0].contains("re-lock discovery"), "{left_out:?}");
    assert_eq!(texts(&df, "_source_file"), some(&["b.csv"]), "only b.csv's rows, none from other content");
    assert_eq!(texts(&df, "v"), some(&["x1"]));
}

#[test]
fn parts_checkpointed_under_the_parquet_names_of_earlier_versions_are_assembled() {
    let (expected, _, _) = assemble_files(&[("a.csv", NUMBERS), ("b.csv", TEXT)], 1, 1, &|_, _| {}).unwrap();
    let legacy_names = |_: &std::path::Path, dirs: &[&std::path::Path]| {
        for dir in dirs {
            for index in 0.. {
                let part = checkpoint::part_file(dir, index);
                if !part.exists() {
                    assert!(index > 0, "{} has parts", dir.display());
                    break;
                }
                std::fs::rename(&part, dir.join(format!("part-{index:05}.parquet"))).unwrap();
            }
        }
    };
    let (df, _, _) = assemble_files(&[("a.csv", NUMBERS), ("b.csv", TEXT)], 1, 1, &legacy_names).unwrap();
    assert_eq!(df, expected);
    assert_eq!(texts(&df, "v"), some(&["1.50", "2", "x1"]));
}

#[test]
fn a_table_column_named_like_a_source_column_is_kept_under_another_name() {
    // A dataset dat wrote, read again: its `_source_row` is data, the dataset's is dat's own.
    let (df, _) = parse(&[("a.csv", "_source_row,v\n7,x\n9,y\n")], 1000);
    let names: Vec<&str> = df.get_column_names().into_iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["_source_row_2", "v", "_source_file", "_source_table", "_source_row"]);
    let ints = |name: &str| df.column(name).unwrap().i64().unwrap().iter().collect::<Vec<_>>();
    assert_eq!((ints("_source_row_2"), ints("_source_row")), (vec![Some(7), Some(9)], vec![Some(2), Some(3)]));
}

#[test]
fn a_key_first_met_in_a_later_chunk_counts_the_rows_before_it_as_nulls() {
    let text = "{\"a\":1}\n{\"a\":2}\n{\"a\":3,\"c\":\"x\"}\n";
    let (df, _, checkpoints) = assemble_files(&[("t.jsonl", text)], 2, 1, &|_, _| {}).unwrap();
    assert_eq!(
        checkpoints[0].nulls.get("c"),
        Some(&2),
        "the manifest's nullable and the report's nulls come from here"
    );
    assert_eq!(texts(&df, "c"), [None, None, Some("x".to_owned())]);
}

#[test]
fn a_checkpoint_whose_part_a_crash_cut_short_is_read_again() {
    let checked = std::cell::Cell::new(false);
    let cut = |_: &std::path::Path, dirs: &[&std::path::Path]| {
        let dir = dirs[0];
        assert!(checkpoint::load(dir).is_some(), "a whole checkpoint is taken");
        let part = checkpoint::part_file(dir, 1);
        let bytes = std::fs::read(&part).unwrap();
        std::fs::write(&part, &bytes[..bytes.len() - 1]).unwrap();
        assert!(checkpoint::load(dir).is_none(), "one cut short is not: its table is read again");
        std::fs::write(&part, &bytes).unwrap();
        checked.set(true);
    };
    let (df, _, _) = assemble_files(&[("a.csv", "v\n1\n2\n3\n")], 2, 1, &cut).unwrap();
    assert!(checked.get());
    assert_eq!(df.height(), 3);
}

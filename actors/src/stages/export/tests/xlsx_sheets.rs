//! Splitting xlsx into sheets above the row limit, and stopping: a stop between batches leaves
//! no file behind in any format.

use calamine::{Data, Reader, Xlsx};
use dat_contracts::ExportFormat;

use super::{numbered, run_id, write_parquet, TestReporter};
use crate::stages::export::file::ExportStats;
use crate::stages::export::{export_file, extension, Exported, Limits};

#[test]
fn xlsx_splits_into_sheets_each_with_the_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = dir.path().join("dataset.parquet");
    write_parquet(&numbered(25), &dataset, 4);
    let out = dir.path().join("data.xlsx");
    // Slices of 7 rows, sheets of 10: slices cross sheet boundaries.
    let limits = Limits { batch_rows: 7, sheet_rows: 10 };
    let result =
        export_file(&dataset, ExportFormat::Xlsx, &out, limits, run_id(), &TestReporter::running()).expect("export");
    assert_eq!(result, Exported::Completed(ExportStats { rows: 25, sheets: 3 }));

    let mut workbook: Xlsx<_> = calamine::open_workbook(&out).expect("open");
    assert_eq!(workbook.sheet_names(), vec!["data", "data_2", "data_3"]);
    let mut next = 0i64;
    for (sheet, rows) in [("data", 10), ("data_2", 10), ("data_3", 5)] {
        let range = workbook.worksheet_range(sheet).expect("sheet");
        assert_eq!(range.height(), rows + 1, "{sheet}: header plus {rows} rows");
        let mut lines = range.rows();
        let header = lines.next().expect("header");
        assert_eq!(header, &[Data::String("row".into()), Data::String("label".into())], "{sheet}");
        for line in lines {
            assert_eq!(line, &[Data::Float(next as f64), Data::String(format!("row {next}"))], "{sheet}");
            next += 1;
        }
    }
    assert_eq!(next, 25, "every row is in one sheet");
}

#[test]
fn a_stop_before_the_first_batch_leaves_no_file() {
    for format in [ExportFormat::Parquet, ExportFormat::Csv, ExportFormat::Json, ExportFormat::Xlsx] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dataset = dir.path().join("dataset.parquet");
        write_parquet(&numbered(25), &dataset, 4);
        let out = dir.path().join(format!("data.{}", extension(format)));
        let result = export_file(&dataset, format, &out, Limits::default(), run_id(), &TestReporter::stopping_after(0))
            .expect("export");
        assert_eq!(result, Exported::Cancelled, "{format:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("dataset.parquet")], "{format:?}: nothing else is left");
    }
}

#[test]
fn a_stop_between_batches_removes_the_partial_file() {
    for format in [ExportFormat::Csv, ExportFormat::Tsv, ExportFormat::Jsonl, ExportFormat::Xlsx] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dataset = dir.path().join("dataset.parquet");
        write_parquet(&numbered(25), &dataset, 4);
        let out = dir.path().join(format!("data.{}", extension(format)));
        let limits = Limits { batch_rows: 5, sheet_rows: 10 };
        // Two batches are written, then the stop comes.
        let result =
            export_file(&dataset, format, &out, limits, run_id(), &TestReporter::stopping_after(2)).expect("export");
        assert_eq!(result, Exported::Cancelled, "{format:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("dataset.parquet")], "{format:?}: no partial file");
    }
}

#[test]
fn text_beyond_excels_cell_limit_fails_naming_column_and_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = dir.path().join("dataset.parquet");
    let long = "é".repeat(40_000);
    let df = polars::prelude::df!("note" => ["short", long.as_str()]).expect("frame");
    write_parquet(&df, &dataset, 4);
    let out = dir.path().join("data.xlsx");
    let err = export_file(&dataset, ExportFormat::Xlsx, &out, Limits::default(), run_id(), &TestReporter::running())
        .expect_err("too long for a cell");
    let message = err.to_string();
    assert!(message.contains("column `note`, data row 2") && message.contains("csv"), "{message}");
    assert!(!out.exists() && !dir.path().join("data.xlsx.part").exists());
}

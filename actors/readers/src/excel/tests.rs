//! Workbooks written with rust_xlsxwriter, plus files that only pretend to be workbooks.

use std::path::Path;

use dat_contracts::{ColumnType, TableProbe, TableStatus, WorkspacePath};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::json;

use super::ExcelAdapter;
use crate::{Adapter, ReadError, SourceFile};

fn probe(dir: &Path, name: &str) -> Vec<TableProbe> {
    let path = WorkspacePath::parse(name).unwrap();
    let disk = dir.join(name);
    ExcelAdapter.probe(&SourceFile::new(&path, &disk, None), &crate::ReadOptions::default())
}

fn preview(dir: &Path, name: &str, sheet: Option<&str>, rows: usize) -> Result<dat_contracts::TablePreview, ReadError> {
    let path = WorkspacePath::parse(name).unwrap();
    let disk = dir.join(name);
    ExcelAdapter.preview(&SourceFile::new(&path, &disk, None), sheet, rows, &crate::ReadOptions::default())
}

/// Sheets: `Data` (header, three typed rows, one blank name), `Blank` (nothing), `Secret` (hidden, two rows),
/// `HeaderOnly` (a header below two blank rows, no data).
fn workbook_bytes() -> Vec<u8> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let data = book.add_worksheet().set_name("Data").unwrap();
    for (col, name) in ["id", "name", "value", "ok", "day"].iter().enumerate() {
        data.write_string(0, col as u16, *name).unwrap();
    }
    for row in 1..=3u32 {
        data.write_number(row, 0, f64::from(row)).unwrap();
        if row < 3 {
            data.write_string(row, 1, format!("n{row}")).unwrap();
        }
        data.write_number(row, 2, f64::from(row) + 0.5).unwrap();
        data.write_boolean(row, 3, row % 2 == 0).unwrap();
        let day = ExcelDateTime::from_ymd(2024, 1, row as u8).unwrap();
        data.write_datetime_with_format(row, 4, &day, &date).unwrap();
    }
    book.add_worksheet().set_name("Blank").unwrap();
    let secret = book.add_worksheet().set_name("Secret").unwrap();
    secret.write_string(0, 0, "k").unwrap();
    secret.write_number(1, 0, 1.0).unwrap();
    secret.write_number(2, 0, 2.0).unwrap();
    secret.set_hidden(true);
    let header_only = book.add_worksheet().set_name("HeaderOnly").unwrap();
    header_only.write_string(2, 1, "a").unwrap();
    header_only.write_string(2, 2, "b").unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn every_sheet_is_a_table_with_exact_dimensions_and_types() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.xlsx"), workbook_bytes()).unwrap();
    let tables = probe(dir.path(), "book.xlsx");
    let ids: Vec<_> = tables.iter().map(|t| t.table_id.as_str()).collect();
    assert_eq!(ids, ["book.xlsx#Data", "book.xlsx#Blank", "book.xlsx#Secret", "book.xlsx#HeaderOnly"]);

    let data = &tables[0];
    assert_eq!(data.status, TableStatus::Available);
    assert_eq!((data.row_estimate, data.row_count_exact), (Some(3), true));
    assert_eq!(data.sheet.as_deref(), Some("Data"));
    let types: Vec<_> = data.columns.iter().map(|c| (c.name.as_str(), c.dtype, c.nullable)).collect();
    assert_eq!(
        types,
        [
            ("id", ColumnType::Int, false),
            ("name", ColumnType::String, true),
            ("value", ColumnType::Float, false),
            ("ok", ColumnType::Bool, false),
            ("day", ColumnType::Date, false),
        ]
    );
    assert!(data.warnings.is_empty(), "{:?}", data.warnings);
}

#[test]
fn empty_hidden_and_header_only_sheets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.xlsx"), workbook_bytes()).unwrap();
    let tables = probe(dir.path(), "book.xlsx");
    let (blank, secret, header_only) = (&tables[1], &tables[2], &tables[3]);
    assert_eq!((blank.status, blank.row_estimate), (TableStatus::Empty, Some(0)));
    assert!(blank.columns.is_empty());
    assert_eq!(secret.status, TableStatus::Available);
    assert_eq!(secret.row_estimate, Some(2));
    assert!(secret.warnings.iter().any(|w| w.contains("sheet is hidden")));
    assert_eq!(header_only.status, TableStatus::Empty);
    let names: Vec<_> = header_only.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn preview_gives_typed_cells_and_iso_dates_in_sheet_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.xlsx"), workbook_bytes()).unwrap();
    let preview = preview(dir.path(), "book.xlsx", Some("Data"), 2).unwrap();
    assert_eq!(preview.table_id, "book.xlsx#Data");
    assert_eq!(preview.columns, ["id", "name", "value", "ok", "day"]);
    assert_eq!(preview.total_estimate, Some(3));
    assert_eq!(
        preview.rows,
        [
            vec![json!(1), json!("n1"), json!(1.5), json!(false), json!("2024-01-01")],
            vec![json!(2), json!("n2"), json!(2.5), json!(true), json!("2024-01-02")]
        ]
    );
}

#[test]
fn preview_of_an_unknown_sheet_is_no_such_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.xlsx"), workbook_bytes()).unwrap();
    let err = preview(dir.path(), "book.xlsx", Some("Nope"), 5).unwrap_err();
    assert!(matches!(err, ReadError::NoSuchTable { ref table, .. } if table == "Nope"), "{err:?}");
}

#[test]
fn a_text_file_named_xlsx_is_one_error_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.xlsx"), "id,name\n1,a\n").unwrap();
    let tables = probe(dir.path(), "notes.xlsx");
    assert_eq!(tables.len(), 1);
    assert_eq!((tables[0].table_id.as_str(), tables[0].status), ("notes.xlsx", TableStatus::Error));
    let reason = tables[0].error.as_deref().unwrap();
    assert!(reason.contains("not a readable xlsx workbook"), "{reason}");
    assert!(!reason.contains(&dir.path().display().to_string()), "{reason}");
}

#[test]
fn a_truncated_workbook_is_one_error_table() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = workbook_bytes();
    std::fs::write(dir.path().join("cut.XLSX"), &bytes[..bytes.len() / 2]).unwrap();
    let tables = probe(dir.path(), "cut.XLSX");
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].status, TableStatus::Error);
    assert!(tables[0].error.is_some());
}

#[test]
fn a_text_file_named_xls_or_ods_is_one_error_table() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.xls", "a.ods", "a.xlsb"] {
        std::fs::write(dir.path().join(name), "not a workbook").unwrap();
        let tables = probe(dir.path(), name);
        assert_eq!(tables.len(), 1, "{name}");
        assert_eq!(tables[0].status, TableStatus::Error, "{name}");
    }
}

#[test]
fn every_sheet_row_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.xlsx"), workbook_bytes()).unwrap();
    let options = crate::ReadOptions::default();
    for (sheet, rows) in [("Data", 3), ("HeaderOnly", 0)] {
        let (result, got) =
            crate::testing::read_path(&ExcelAdapter, "b.xlsx", &dir.path().join("b.xlsx"), Some(sheet), &options, None);
        let account = result.unwrap().accounting.unwrap();
        assert_eq!(got.rows(), rows, "{sheet}");
        assert_eq!(account.skipped.get("header"), Some(&1), "{sheet}");
        assert_eq!(account.check(sheet, rows as u64, 0), Ok(()), "{sheet}: {account:?}");
    }
}

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

/// Reads `sheet` of the workbook `bytes` (saved as `name`) with `options`.
fn read_book(
    name: &str,
    bytes: &[u8],
    options: &crate::ReadOptions,
) -> (Result<crate::ReadEnd, ReadError>, crate::testing::Collected) {
    crate::testing::read_bytes(&ExcelAdapter, name, bytes, None, options, None)
}

/// Options with a record cap small enough for a test cell to pass it.
fn small_cap() -> crate::ReadOptions {
    crate::ReadOptions { record_cap: 64, ..crate::ReadOptions::default() }
}

#[test]
fn a_row_whose_first_cell_passes_the_record_cap_is_a_reject_not_a_blank() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "a").unwrap();
    sheet.write_string(0, 1, "b").unwrap();
    sheet.write_string(1, 0, "x".repeat(100)).unwrap();
    sheet.write_number(2, 0, 1.0).unwrap();
    sheet.write_number(2, 1, 2.0).unwrap();
    let (result, got) = read_book("b.xlsx", &book.save_to_buffer().unwrap(), &small_cap());
    let account = result.unwrap().accounting.unwrap();
    assert_eq!(got.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [2]);
    assert!(got.rejects[0].reason.contains("record cap"), "{}", got.rejects[0].reason);
    assert_eq!(got.source_rows(), [3]);
    assert_eq!(got.column("a").0, [Some("1".to_owned())]);
    assert_eq!(account.skipped.get("blank"), None);
    assert_eq!(account.check("Sheet1", 1, 1), Ok(()), "{account:?}");
}

#[test]
fn a_header_row_past_the_record_cap_is_an_error_not_the_next_row() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "x".repeat(100)).unwrap();
    sheet.write_number(1, 0, 1.0).unwrap();
    sheet.write_number(2, 0, 2.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (result, got) = read_book("h.xlsx", &bytes, &small_cap());
    let err = result.unwrap_err();
    assert!(err.to_string().contains("header row 1"), "{err}");
    assert_eq!(got.rows(), 0);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.xlsx"), &bytes).unwrap();
    let path = WorkspacePath::parse("h.xlsx").unwrap();
    let disk = dir.path().join("h.xlsx");
    let tables = ExcelAdapter.probe(&SourceFile::new(&path, &disk, None), &small_cap());
    assert_eq!(tables[0].status, TableStatus::Error, "{:?}", tables[0]);
    assert!(tables[0].error.as_deref().unwrap_or_default().contains("header row 1"), "{:?}", tables[0].error);
}

/// A cell holding the error `error` (a formula's cached result).
fn write_error(sheet: &mut rust_xlsxwriter::Worksheet, row: u32, col: u16, error: &str) {
    sheet.write_formula(row, col, rust_xlsxwriter::Formula::new("=NA()").set_result(error)).unwrap();
}

#[test]
fn a_row_of_only_error_cells_is_a_row_of_nulls_with_its_errors_counted() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "a").unwrap();
    sheet.write_string(0, 1, "b").unwrap();
    sheet.write_number(1, 0, 1.0).unwrap();
    write_error(sheet, 1, 1, "#N/A");
    write_error(sheet, 2, 0, "#N/A");
    write_error(sheet, 2, 1, "#DIV/0!");
    sheet.write_number(3, 0, 3.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (result, got) = read_book("e.xlsx", &bytes, &crate::ReadOptions::default());
    let end = result.unwrap();
    let account = end.accounting.unwrap();
    assert_eq!(got.source_rows(), [2, 3, 4]);
    assert_eq!(got.column("a").0, [Some("1".to_owned()), None, Some("3".to_owned())]);
    assert_eq!(got.column("b").0, [None, None, None]);
    assert!(end.warnings.iter().any(|w| w.starts_with("3 cell(s) hold Excel errors")), "{:?}", end.warnings);
    assert_eq!(account.check("Sheet1", 3, 0), Ok(()), "{account:?}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.xlsx"), &bytes).unwrap();
    let tables = probe(dir.path(), "e.xlsx");
    assert_eq!(tables[0].row_estimate, Some(3));
    assert!(tables[0].warnings.iter().any(|w| w.starts_with("3 cell(s)")), "{:?}", tables[0].warnings);
}

#[test]
fn a_date_formatted_number_outside_the_date_range_stays_its_number_with_a_warning() {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "day").unwrap();
    sheet.write_number_with_format(1, 0, 45306.0, &date).unwrap();
    sheet.write_number_with_format(2, 0, -5.25, &date).unwrap();
    sheet.write_number_with_format(3, 0, 3_000_000.0, &date).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (result, got) = read_book("d.xlsx", &bytes, &crate::ReadOptions::default());
    let end = result.unwrap();
    assert_eq!(
        got.column("day").0,
        [Some("2024-01-15".to_owned()), Some("-5.25".to_owned()), Some("3000000".to_owned())]
    );
    assert!(end.warnings.iter().any(|w| w.starts_with("2 date-formatted cell(s)")), "{:?}", end.warnings);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.xlsx"), &bytes).unwrap();
    let tables = probe(dir.path(), "d.xlsx");
    assert!(tables[0].warnings.iter().any(|w| w.starts_with("2 date-formatted cell(s)")), "{:?}", tables[0].warnings);
}

#[test]
fn a_row_wider_than_max_columns_keeps_no_more_cells_than_that_and_is_a_reject() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "a").unwrap();
    for col in 0..50u16 {
        sheet.write_number(1, col, f64::from(col)).unwrap();
        sheet.write_string(2, col, " ").unwrap();
    }
    sheet.write_number(3, 0, 1.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let options = crate::ReadOptions { max_columns: 8, ..crate::ReadOptions::default() };
    let (result, got) = read_book("w.xlsx", &bytes, &options);
    let account = result.unwrap().accounting.unwrap();
    assert_eq!(got.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [2]);
    assert!(got.rejects[0].reason.contains("limit of 8 columns"), "{}", got.rejects[0].reason);
    assert_eq!(got.source_rows(), [4]);
    assert_eq!(account.skipped.get("blank"), Some(&1), "a row of blank cells stays blank, however wide");
    assert_eq!(account.check("Sheet1", 1, 1), Ok(()), "{account:?}");

    // Memory: the row in hand never holds more cells than a row may have.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.xlsx"), &bytes).unwrap();
    let mut open = super::book::Book::open(&dir.path().join("w.xlsx"), "xlsx", u64::MAX).unwrap();
    let mut widest = 0;
    open.rows("Sheet1", options.record_cap, options.max_columns, &mut |_| {}, &mut |row| {
        widest = widest.max(row.cells.len());
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert!(widest <= 8, "a row kept {widest} cells");
}

/// The workbook `bytes` with its shared strings part rewritten by `edit` (stored, not deflated).
fn with_shared_strings(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let text = if name == "xl/sharedStrings.xml" { edit(&text) } else { text };
        out.start_file(name, stored).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_shared_strings_count_the_part_cannot_hold_is_refused_before_calamine_reserves_it() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "name").unwrap();
    sheet.write_string(1, 0, "ada").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let honest = with_shared_strings(&bytes, str::to_owned);
    let hostile = with_shared_strings(&bytes, |xml| {
        let at = xml.find("uniqueCount=\"").unwrap() + "uniqueCount=\"".len();
        let end = at + xml[at..].find('"').unwrap();
        format!("{}100000000000000000{}", &xml[..at], &xml[end..])
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("honest.xlsx"), honest).unwrap();
    std::fs::write(dir.path().join("hostile.xlsx"), hostile).unwrap();
    assert_eq!(probe(dir.path(), "honest.xlsx")[0].status, TableStatus::Available);
    let tables = probe(dir.path(), "hostile.xlsx");
    assert_eq!((tables.len(), tables[0].status), (1, TableStatus::Error));
    let reason = tables[0].error.as_deref().unwrap();
    assert!(reason.contains("100000000000000000 shared strings"), "{reason}");
}

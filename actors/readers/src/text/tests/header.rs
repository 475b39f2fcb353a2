//! Header detection and column names.

use dat_contracts::{ColumnType, TableStatus};

use super::{names, probe, sniff, types};

#[test]
fn a_numeric_file_without_header_gets_numbered_columns() {
    let table = probe("numbers.csv", b"1,2.5,7\n3,4.5,8\n5,6,9\n");
    assert!(!sniff(&table).header);
    assert_eq!(names(&table), ["column_1", "column_2", "column_3"]);
    assert_eq!(types(&table), [ColumnType::Int, ColumnType::Float, ColumnType::Int]);
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(3), true));
}

#[test]
fn a_text_first_row_over_typed_columns_is_a_header() {
    let table = probe("h.csv", b"id,when,ok\n1,2024-01-01,true\n2,2024-01-02,false\n");
    assert!(sniff(&table).header);
    assert_eq!(names(&table), ["id", "when", "ok"]);
    assert_eq!(table.row_estimate, Some(2));
}

#[test]
fn a_header_may_hold_a_number_among_names() {
    // One vote each way (`id` over ints says header, `2024` over ints says data): a header.
    let table = probe("years.csv", b"id,2024\n1,5\n2,6\n");
    assert!(sniff(&table).header);
    assert_eq!(names(&table), ["id", "2024"]);
}

#[test]
fn unique_text_over_text_columns_is_a_header() {
    let table = probe("people.csv", b"name,city\nalice,paris\nbob,rome\n");
    assert!(sniff(&table).header);
    assert_eq!(table.row_estimate, Some(2));
}

#[test]
fn repeated_and_empty_names_are_made_unique_with_warnings() {
    let table = probe("dups.csv", b"x,x, ,y\n1,2,3,4\n");
    assert_eq!(names(&table), ["x", "x_2", "column_3", "y"]);
    assert_eq!(table.warnings.len(), 2, "{:?}", table.warnings);
    assert!(table.warnings.iter().any(|w| w.contains("x_2")));
    assert!(table.warnings.iter().any(|w| w.contains("column_3")));
    assert_eq!(table.status, TableStatus::Available);
}

//! The shared fixtures in `../shared/fixtures/basic` (a test fails when they are missing).

use dat_contracts::{ColumnType, TableStatus};

use super::{names, probe_in, sniff, types};

#[test]
fn shared_fixtures_probe_as_a_user_expects() {
    let dir = &crate::testing::shared_fixture("basic");
    let csv = probe_in(dir, "sample.csv");
    assert_eq!(csv.status, TableStatus::Available, "{:?}", csv.warnings);
    assert_eq!(names(&csv), ["id", "name", "value", "category", "created_at"]);
    assert_eq!(
        types(&csv),
        [ColumnType::Int, ColumnType::String, ColumnType::Float, ColumnType::String, ColumnType::Date]
    );
    assert!(csv.columns[2].nullable, "`value` has an empty cell and a NULL");
    assert_eq!((csv.row_estimate, csv.row_count_exact), (Some(10), true));
    assert_eq!((sniff(&csv).delimiter.as_str(), sniff(&csv).encoding.as_str()), (",", "utf-8"));

    let tsv = probe_in(dir, "sample.tsv");
    assert_eq!(tsv.status, TableStatus::Available);
    assert_eq!(sniff(&tsv).delimiter, "\t");
    assert_eq!(names(&tsv), ["id", "name", "value", "category"]);
    assert_eq!(tsv.row_estimate, Some(3));

    let empty = probe_in(dir, "empty.csv");
    assert_eq!(empty.status, TableStatus::Empty);
}

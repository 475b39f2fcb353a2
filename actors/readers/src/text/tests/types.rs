//! Column types inferred from the sample.

use dat_contracts::{ColumnInfo, ColumnType};

use super::probe;

fn column(columns: &[ColumnInfo], name: &str) -> (ColumnType, bool) {
    let c = columns.iter().find(|c| c.name == name).unwrap();
    (c.dtype, c.nullable)
}

#[test]
fn types_are_inferred_and_widened() {
    let text = "\
int,float,widened,bool,date,datetime,text,mixed,nulls,nullable_int
1,1.5,1,true,2024-01-01,2026-11-20T08:00:00Z,a,1,,1
-2,2e3,2.5,FALSE,2024-02-29,2026-11-20 08:00:00,b,x,,
30,.5,3,True,2024-12-31,2026-11-20T08:00:00.123+01:00,c d,true,,NULL
";
    let columns = probe("types.csv", text.as_bytes()).columns;
    assert_eq!(column(&columns, "int"), (ColumnType::Int, false));
    assert_eq!(column(&columns, "float"), (ColumnType::Float, false));
    assert_eq!(column(&columns, "widened"), (ColumnType::Float, false));
    assert_eq!(column(&columns, "bool"), (ColumnType::Bool, false));
    assert_eq!(column(&columns, "date"), (ColumnType::Date, false));
    assert_eq!(column(&columns, "datetime"), (ColumnType::Datetime, false));
    assert_eq!(column(&columns, "text"), (ColumnType::String, false));
    assert_eq!(column(&columns, "mixed"), (ColumnType::String, false));
    assert_eq!(column(&columns, "nulls"), (ColumnType::Null, true));
    assert_eq!(column(&columns, "nullable_int"), (ColumnType::Int, true));
}

#[test]
fn codes_and_non_numbers_stay_text() {
    // `1,234` could be a grouped thousand or a decimal: it settles nothing and stays text.
    let text = "zip,big,comma,inf,bad_date\n00123,123456789012345678901,\"1,234\",inf,2024-02-30\n";
    let columns = probe("codes.csv", text.as_bytes()).columns;
    for name in ["zip", "big", "comma", "inf", "bad_date"] {
        assert_eq!(column(&columns, name).0, ColumnType::String, "{name}");
    }
}

#[test]
fn dates_and_datetimes_together_are_datetimes() {
    let columns = probe("when.csv", b"id,when\n1,2024-01-01\n2,2024-01-01 10:00\n").columns;
    assert_eq!(column(&columns, "when").0, ColumnType::Datetime);
}

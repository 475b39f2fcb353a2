//! Previews: typed cells in file order, limits, long rows past the sample.

use serde_json::{json, Value};

use super::{file, preview, preview_in, utf16};
use crate::text::DelimitedAdapter;
use crate::{Adapter, ReadError, SourceFile};

#[test]
fn preview_returns_typed_cells_in_file_order() {
    let text = b"id,name,score,ok,day,at\n1,Alpha,1.5,true,2024-01-01,2026-11-20 08:00:00\n2,,2,false,,\n";
    let preview = preview("typed.csv", text, 100);
    assert_eq!(preview.table_id, "typed.csv");
    assert_eq!(preview.columns, ["id", "name", "score", "ok", "day", "at"]);
    assert_eq!(preview.total_estimate, Some(2));
    assert_eq!(
        preview.rows,
        [
            vec![json!(1), json!("Alpha"), json!(1.5), json!(true), json!("2024-01-01"), json!("2026-11-20 08:00:00")],
            vec![json!(2), Value::Null, json!(2.0), json!(false), Value::Null, Value::Null],
        ]
    );
}

#[test]
fn preview_stops_at_the_requested_rows() {
    let text: String = std::iter::once("n\n".to_owned()).chain((0..50).map(|i| format!("{i}\n"))).collect();
    let preview = preview("many.csv", text.as_bytes(), 3);
    assert_eq!(preview.rows, [[json!(0)], [json!(1)], [json!(2)]]);
    assert_eq!(preview.total_estimate, Some(50));
}

#[test]
fn preview_reads_on_past_the_sample_when_rows_are_long() {
    // Four UTF-16 rows of 800 KB each: most of them lie past the probe's 1 MiB sample.
    let long = |c: char| c.to_string().repeat(400_000);
    let text = format!("id,text\n1,{}\n2,{}\n3,{}\n4,é{}\n", long('a'), long('b'), long('c'), long('d'));
    let dir = file("long.csv", &utf16(&text, true, true));
    let preview = preview_in(dir.path(), "long.csv", 10).unwrap();
    assert_eq!(preview.rows.len(), 4);
    assert_eq!(preview.rows[3][0], json!(4));
    let last = preview.rows[3][1].as_str().unwrap();
    assert!(last.starts_with("éd") && last.len() == 400_002, "{}", last.len());
}

#[test]
fn a_sheet_name_is_no_such_table() {
    let dir = file("a.csv", b"a\n1\n");
    let path = dat_contracts::WorkspacePath::parse("a.csv").unwrap();
    let disk = dir.path().join("a.csv");
    let err = DelimitedAdapter::default()
        .preview(&SourceFile::new(&path, &disk, None), Some("Sheet1"), 5, &crate::ReadOptions::default())
        .unwrap_err();
    assert!(matches!(err, ReadError::NoSuchTable { .. }), "{err}");
}

//! Each strategy, given a small document and a table spec, then the rows it extracts: empty
//! arrays, missing paths, ragged header/data rows, repeat_over with inject_fields, unpivot,
//! join; and the adapter's normalisation, transforms and stable columns, through `read`.

use std::sync::Arc;

use dat_contracts::profile::{Profile, Select};
use dat_contracts::ColumnType;
use serde_json::json;

use super::document::Document;
use super::extract::{extract, Extracted};
use super::ProfileAdapter;
use crate::testing::read_bytes;
use crate::ReadOptions;

/// `doc` is JSON text (not `json!`, which would sort keys and reformat numbers).
fn given(doc: &str, select: serde_json::Value) -> Extracted {
    given_at_most(doc, select, ReadOptions::default().max_columns).unwrap()
}

/// [`given`] with a `max_columns` limit, keeping a table-level error.
fn given_at_most(doc: &str, select: serde_json::Value, max_columns: usize) -> Result<Extracted, String> {
    let doc = Document::parse(doc.as_bytes()).unwrap();
    let select: Select = serde_json::from_value(select).unwrap();
    extract(&doc, &select, &|_| vec![], max_columns)
}

/// The rows as text, null as `-`.
fn rows(e: &Extracted) -> Vec<Vec<String>> {
    e.frame
        .rows
        .iter()
        .map(|r| r.iter().map(|v| v.as_ref().map_or("-".to_owned(), |(_, t)| t.clone())).collect())
        .collect()
}

#[test]
fn flat_object_is_one_row_with_nested_values_as_json_or_flattened() {
    let doc = r#"{"s": {"n": 1.50, "tool": {"id": "T1", "pos": [1, 2]}}}"#;
    let e = given(doc, json!({"strategy": "flat_object", "path": "$.s"}));
    assert_eq!(e.frame.names, ["n", "tool"]);
    assert_eq!(rows(&e), [["1.50", r#"{"id":"T1","pos":[1,2]}"#]]);
    let e =
        given(doc, json!({"strategy": "flat_object", "path": "$.s", "flatten_nested": true, "flatten_separator": "."}));
    assert_eq!(e.frame.names, ["n", "tool.id", "tool.pos"]);
    assert_eq!(e.frame.rows[0][2], Some((ColumnType::List, "[1,2]".into())));
}

#[test]
fn a_path_that_matches_nothing_is_an_empty_table_with_a_warning() {
    let e = given(r#"{"a": 1}"#, json!({"strategy": "flat_object", "path": "$.missing"}));
    assert!(e.frame.rows.is_empty());
    assert_eq!(e.warnings, ["`$.missing` matches nothing in this file"]);
}

#[test]
fn headers_data_pads_short_rows_and_cuts_long_ones_with_a_count() {
    let doc = r#"{"t": {"cols": ["a", "b", "c"], "rows": [[1, 2, 3], [4], [5, 6, 7, 8, 9], []]}}"#;
    let e = given(doc, json!({"strategy": "headers_data", "path": "$.t", "headers_key": "cols", "data_key": "rows"}));
    assert_eq!(e.frame.names, ["a", "b", "c"]);
    assert_eq!(rows(&e), [["1", "2", "3"], ["4", "-", "-"], ["5", "6", "7"], ["-", "-", "-"]]);
    assert_eq!(e.warnings, ["2 cell(s) past the header's 3 columns were cut"]);
}

#[test]
fn headers_data_infers_or_defaults_names_and_an_empty_list_has_no_rows() {
    let doc = r#"{"t": {"rows": [[1, 2], [3, 4, 5]]}, "e": {"h": ["x"], "rows": []}}"#;
    let inferred =
        given(doc, json!({"strategy": "headers_data", "path": "$.t", "data_key": "rows", "infer_headers": true}));
    assert_eq!(inferred.frame.names, ["col_0", "col_1", "col_2"]);
    let defaulted = given(
        doc,
        json!({"strategy": "headers_data", "path": "$.t", "data_key": "rows", "default_headers": ["p", "q"]}),
    );
    assert_eq!(rows(&defaulted), [["1", "2"], ["3", "4"]]);
    let empty = given(doc, json!({"strategy": "headers_data", "path": "$.e", "headers_key": "h", "data_key": "rows"}));
    assert_eq!((empty.frame.names.clone(), empty.frame.rows.len()), (vec!["x".to_owned()], 0));
}

#[test]
fn array_of_objects_unites_keys_in_first_seen_order_and_rejects_non_objects() {
    let doc = r#"{"items": [{"b": 1, "a": "x"}, 7, {"c": true, "a": "y"}]}"#;
    let e = given(doc, json!({"strategy": "array_of_objects", "path": "$.items[*]"}));
    assert_eq!(e.frame.names, ["b", "a", "c"]);
    assert_eq!(rows(&e), [["1", "x", "-"], ["-", "y", "true"]]);
    assert_eq!(e.rejects, [(2, "element 2 is not an object".to_owned())]);
    let fields = given(doc, json!({"strategy": "array_of_objects", "path": "$.items", "fields": ["a"]}));
    assert_eq!((fields.frame.names.clone(), fields.frame.rows.len()), (vec!["a".to_owned()], 2));
}

#[test]
fn repeat_over_extracts_each_element_and_injects_its_fields_first() {
    let doc = r#"{"lines": [
        {"id": "L1", "h": ["v"], "rows": [[1], [2]]},
        {"id": "L2", "h": ["v", "w"], "rows": [[3, 4]]},
        {"id": "L3", "h": ["v"], "rows": []}
    ]}"#;
    let e = given(
        doc,
        json!({"strategy": "headers_data", "path": "$.lines[{i}]", "headers_key": "h", "data_key": "rows",
               "repeat_over": {"path": "$.lines", "as": "i", "inject_fields": {"line": "$.id"}}}),
    );
    assert_eq!(e.frame.names, ["line", "v", "w"]);
    assert_eq!(rows(&e), [["L1", "1", "-"], ["L1", "2", "-"], ["L2", "3", "4"]]);
}

#[test]
fn repeat_over_a_missing_list_is_empty_with_a_warning() {
    let e =
        given("{}", json!({"strategy": "flat_object", "path": "$.x[{i}]", "repeat_over": {"path": "$.x", "as": "i"}}));
    assert!(e.frame.rows.is_empty());
    assert_eq!(e.warnings, ["`$.x` matches nothing in this file"]);
}

#[test]
fn unpivot_melts_value_vars() {
    let doc = r#"{"m": [{"site": "S1", "cd": 24.1, "lwr": 2.0}, {"site": "S2", "cd": 24.3}]}"#;
    let e = given(
        doc,
        json!({"strategy": "unpivot", "path": "$.m", "id_vars": ["site"], "value_vars": ["cd", "lwr"], "var_name": "metric"}),
    );
    assert_eq!(e.frame.names, ["site", "metric", "value"]);
    assert_eq!(rows(&e), [["S1", "cd", "24.1"], ["S1", "lwr", "2.0"], ["S2", "cd", "24.3"], ["S2", "lwr", "-"]]);
}

#[test]
fn join_matches_keys_and_keeps_one_key_column() {
    let doc = r#"{
        "sites": [{"id": "S1", "x": 0}, {"id": "S2", "x": 5}],
        "cd": [{"site": "S1", "x": 24.1}, {"site": "S9", "x": 1.0}]
    }"#;
    let select = |how: &str| json!({"strategy": "join", "left": {"path": "$.sites", "key": "id"}, "right": {"path": "$.cd", "key": "site"}, "how": how});
    let left = given(doc, select("left"));
    assert_eq!(left.frame.names, ["id", "x", "x_right"]);
    assert_eq!(rows(&left), [["S1", "0", "24.1"], ["S2", "5", "-"]]);
    assert_eq!(rows(&given(doc, select("inner"))), [["S1", "0", "24.1"]]);
    let outer = given(doc, select("outer"));
    assert_eq!(rows(&outer), [["S1", "0", "24.1"], ["S2", "5", "-"], ["S9", "-", "1.0"]]);
}

/// A profile with one table and these normalisation and transform settings.
fn profile(table: serde_json::Value, normalization: serde_json::Value) -> ProfileAdapter {
    let profile =
        Profile::from_value(json!({"meta": {"profile_id": "tp"}, "levels": [{"name": "run", "tables": [table]}],
                                             "normalization": normalization}))
        .unwrap();
    ProfileAdapter::new(Arc::new(profile))
}

#[test]
fn reading_normalises_transforms_and_keeps_text() {
    let adapter = profile(
        json!({"id": "t", "select": {"strategy": "array_of_objects", "path": "$.rows"},
               "column_transforms": [{"source": "nm", "target": "um", "transform": "unit_convert", "args": {"factor": 0.001}},
                                     {"source": "code", "transform": "uppercase"}]}),
        json!({"nan_values": ["N/A", "-"], "numeric_coercion": true}),
    );
    let doc = r#"{"rows": [{"nm": 1500, "code": "ab", "s": "1.50", "t": "N/A"}, {"nm": "x", "code": "cd", "s": "2", "t": "-"}]}"#;
    let (result, got) = read_bytes(&adapter, "f.json", doc.as_bytes(), Some("t"), &ReadOptions::default(), None);
    let end = result.unwrap();
    assert_eq!(got.column("um").0, [Some("1.5".into()), Some("x".into())]);
    assert_eq!(got.column("code").0, [Some("AB".into()), Some("CD".into())]);
    let (s, types) = got.column("s");
    assert_eq!(
        (s, types),
        (vec![Some("1.50".into()), Some("2".into())], vec![ColumnType::Float]),
        "coerced, text kept"
    );
    assert_eq!(got.column("t").0, [None, None], "nan_values are null");
    assert_eq!(
        end.warnings,
        ["column_transforms: 1 value(s) of `nm` are not numbers; unit_convert left them as they were"]
    );
}

#[test]
fn stable_columns_warn_makes_a_partial_probe_and_error_fails_the_table() {
    let table = |mode: &str| json!({"id": "t", "select": {"strategy": "flat_object", "path": "$"}, "stable_columns": ["a", "b"], "stable_columns_mode": mode});
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.json"), r#"{"a": 1}"#).unwrap();
    let path = dat_contracts::WorkspacePath::parse("f.json").unwrap();
    let disk = dir.path().join("f.json");
    let file = crate::SourceFile::new(&path, &disk, None);
    let options = ReadOptions::default();
    let warn = crate::Adapter::probe(&profile(table("warn"), json!({})), &file, &options);
    assert_eq!(warn[0].table_id, "f.json#t");
    assert_eq!(warn[0].status, dat_contracts::TableStatus::Partial);
    assert_eq!(warn[0].warnings, ["stable column(s) missing: b"]);
    let error = crate::Adapter::probe(&profile(table("error"), json!({})), &file, &options);
    assert_eq!(error[0].status, dat_contracts::TableStatus::Error);
    assert!(error[0].error.as_deref().unwrap().contains("stable column(s) missing: b"));
}

#[test]
fn a_column_name_given_twice_is_a_reject_naming_it() {
    let flat = json!({"strategy": "flat_object", "path": "$", "flatten_nested": true});
    let e = given(r#"{"stage_x": 1, "stage": {"x": 2}}"#, flat.clone());
    assert!(e.frame.rows.is_empty(), "no value of the two is kept silently: {:?}", e.frame.rows);
    assert_eq!(
        e.rejects,
        [(1, "column `stage_x` is given more than once, so one of its values would be lost".to_owned())]
    );
    let e = given(r#"{"a": 1, "a": 2}"#, flat);
    assert_eq!(e.rejects, [(1, "column `a` is given more than once, so one of its values would be lost".to_owned())]);
    let items = given(r#"[{"a": 1}, {"a": 1, "a": 2}]"#, json!({"strategy": "array_of_objects", "path": "$"}));
    assert_eq!(rows(&items), [["1"]]);
    assert_eq!(
        items.rejects,
        [(2, "element 2: column `a` is given more than once, so one of its values would be lost".to_owned())]
    );
}

#[test]
fn rows_keep_their_element_number_past_a_rejected_element() {
    let adapter = profile(json!({"id": "t", "select": {"strategy": "array_of_objects", "path": "$"}}), json!({}));
    let doc = r#"[{"a": 1}, 5, {"a": 2}]"#;
    let (result, got) = read_bytes(&adapter, "f.json", doc.as_bytes(), Some("t"), &ReadOptions::default(), None);
    result.unwrap();
    assert_eq!(
        got.rejects.iter().map(|r| (r.line, r.reason.as_str())).collect::<Vec<_>>(),
        [(2, "element 2 is not an object")]
    );
    assert_eq!(got.source_rows(), [1, 3], "a=2 is element 3");
    assert_eq!(got.column("a").0, [Some("1".into()), Some("2".into())]);
}

#[test]
fn an_injected_column_named_like_a_data_column_keeps_the_data_values_with_a_counted_warning() {
    // `v` is a data column of element 1 and an inject_fields column: the data keeps its
    // values in every element, the constant is added nowhere, and a warning says so.
    let doc = r#"{"lines": [
        {"id": "L1", "h": ["v", "w"], "rows": [[1, 2], [3, 4]]},
        {"id": "L2", "h": ["w"], "rows": [[5]]}
    ]}"#;
    let e = given(
        doc,
        json!({"strategy": "headers_data", "path": "$.lines[{i}]", "headers_key": "h", "data_key": "rows",
               "repeat_over": {"path": "$.lines", "as": "i", "inject_fields": {"v": "$.id", "line": "$.id"}}}),
    );
    assert_eq!(e.frame.names, ["line", "v", "w"]);
    assert_eq!(rows(&e), [["L1", "1", "2"], ["L1", "3", "4"], ["L2", "-", "5"]]);
    assert_eq!(
        e.warnings,
        ["column `v` is both a data column and a context or inject_fields column: the data's values are kept \
          and the constant is not added (3 row(s))"]
    );
    // A context key and an inject_fields column of one name: the context's comes first and is kept.
    let select: Select = serde_json::from_value(json!({"strategy": "headers_data", "path": "$.lines[{i}]",
        "headers_key": "h", "data_key": "rows", "repeat_over": {"path": "$.lines", "as": "i", "inject_fields": {"line": "$.id"}}}))
    .unwrap();
    let context = |_| vec![("line".to_owned(), Some((ColumnType::String, "ctx".to_owned())))];
    let e = extract(&Document::parse(doc.as_bytes()).unwrap(), &select, &context, 100).unwrap();
    assert_eq!(e.frame.names, ["line", "v", "w"]);
    assert_eq!(rows(&e)[2], ["ctx", "-", "5"]);
    assert_eq!(
        e.warnings,
        ["column `line` is given twice by the context and inject_fields: the first is kept (3 row(s))"]
    );
}

/// How many distinct keys the width tests use: a dense frame padded for each would hold
/// KEYS² / 2 cells (20,000 keys: 200 million cells, ~6.4 GB), so the limit must fire first.
const KEYS: usize = 20_000;

#[test]
fn a_table_wider_than_max_columns_is_refused_before_it_is_padded() {
    let keys: Vec<String> = (0..KEYS).map(|i| format!(r#"{{"k{i}": 0}}"#)).collect();
    let doc = format!("[{}]", keys.join(","));
    let e = given_at_most(&doc, json!({"strategy": "array_of_objects", "path": "$"}), 8).unwrap();
    assert_eq!((e.frame.names.len(), e.frame.rows.len()), (8, 8));
    assert_eq!(e.rejects.len(), KEYS - 8, "each element past the limit is a reject");
    assert_eq!(
        e.rejects[0],
        (9, "element 9: its new column(s) would make the table wider than 8 columns (max_columns)".to_owned())
    );

    let names: Vec<String> = (0..KEYS).map(|i| format!(r#""c{i}""#)).collect();
    let header = format!(r#"{{"h": [{}], "rows": [[1]]}}"#, names.join(","));
    let select = json!({"strategy": "headers_data", "path": "$", "headers_key": "h", "data_key": "rows"});
    let why = given_at_most(&header, select, 8).err();
    assert_eq!(why, Some(format!("the header has {KEYS} columns, more than the limit of 8 (max_columns)")));

    let cells = vec!["0"; KEYS].join(",");
    let ragged = format!(r#"{{"rows": [[1], [{cells}]]}}"#);
    let select = json!({"strategy": "headers_data", "path": "$", "data_key": "rows", "infer_headers": true});
    let why = given_at_most(&ragged, select, 8).err();
    assert_eq!(why, Some(format!("the widest row has {KEYS} columns, more than the limit of 8 (max_columns)")));

    // Each repeated element is narrow; together they are too wide.
    let elements: Vec<String> = (0..KEYS).map(|i| format!(r#"{{"k{i}": 0}}"#)).collect();
    let doc = format!(r#"{{"xs": [{}]}}"#, elements.join(","));
    let select = json!({"strategy": "flat_object", "path": "$.xs[{i}]", "repeat_over": {"path": "$.xs", "as": "i"}});
    let why = given_at_most(&doc, select, 8).err();
    assert_eq!(
        why,
        Some(format!(
            "the repeated elements' tables have {KEYS} columns together, more than the limit of 8 (max_columns)"
        ))
    );
}

#[test]
fn a_join_past_its_row_bound_is_an_error_naming_why() {
    // 300 × 300 rows of one key: 90,000 rows out of 600, past the bound of 65,536.
    let side = |key: &str| vec![format!(r#"{{"{key}": "K", "n": 1}}"#); 300].join(",");
    let doc = format!(r#"{{"l": [{}], "r": [{}]}}"#, side("id"), side("site"));
    let select =
        json!({"strategy": "join", "left": {"path": "$.l", "key": "id"}, "right": {"path": "$.r", "key": "site"}});
    let why = given_at_most(&doc, select, 100).err();
    assert_eq!(
        why.as_deref(),
        Some(
            "join would make 90000 rows out of 300 left and 300 right rows, more than its bound of 65536 \
         (4 × the input rows, at least 65536): is the key unique on one side?"
        )
    );
}

#[test]
fn join_names_stay_unique_when_the_suffixed_name_is_taken() {
    let doc = r#"{
        "l": [{"id": "S1", "x": 0, "x_right": 1}],
        "r": [{"site": "S1", "x": 2, "x_right": 3}]
    }"#;
    let e = given(
        doc,
        json!({"strategy": "join", "left": {"path": "$.l", "key": "id"}, "right": {"path": "$.r", "key": "site"}}),
    );
    assert_eq!(e.frame.names, ["id", "x", "x_right", "x_right_2", "x_right_right"]);
    assert_eq!(rows(&e), [["S1", "0", "1", "2", "3"]]);
    let doc = r#"{"l": [{"id": "S1", "x": 0}], "r": [{"site": "S1", "x": 2, "x_right": 3}]}"#;
    let e = given(
        doc,
        json!({"strategy": "join", "left": {"path": "$.l", "key": "id"}, "right": {"path": "$.r", "key": "site"}}),
    );
    assert_eq!(e.frame.names, ["id", "x", "x_right_2", "x_right"]);
    assert_eq!(rows(&e), [["S1", "0", "2", "3"]]);
}

/// Distinct keys enough to make a dense table of KEYS × KEYS cells (~268M, ~8.6 GB) within
/// the default `max_columns`: only the table's cell and byte budget stops it.
const WIDE: usize = 16_384;

#[test]
fn a_table_past_its_cells_is_an_error_before_its_rows_are_padded() {
    let max_columns = ReadOptions::default().max_columns;
    assert!(WIDE <= max_columns, "the width alone is allowed");
    let one_key_each: Vec<String> = (0..WIDE).map(|i| format!(r#"{{"k{i}": 0}}"#)).collect();
    let doc = format!("[{}]", one_key_each.join(","));
    let why = given_at_most(&doc, json!({"strategy": "array_of_objects", "path": "$"}), max_columns).err();
    // 2048 rows × 2048 columns are exactly MAX_CELLS, and with their 2048 texts past MAX_BYTES.
    assert_eq!(
        why.as_deref(),
        Some(
            "the table would hold about 134219776 bytes (2048 × 2048 cells of 32 bytes and 2048 bytes of text), \
             more than the 134217728 bytes a profile table may hold"
        )
    );

    // The same keys as repeated elements: refused before they are united.
    let doc = format!(r#"{{"xs": [{}]}}"#, one_key_each.join(","));
    let select = json!({"strategy": "flat_object", "path": "$.xs[{i}]", "repeat_over": {"path": "$.xs", "as": "i"}});
    let why = given_at_most(&doc, select, max_columns).err();
    assert_eq!(
        why.as_deref(),
        Some("the table would hold 16384 × 16384 cells, more than the 4194304 cells a profile table may hold")
    );
}

#[test]
fn one_wide_row_then_many_narrow_ones_is_an_error_not_gigabytes_of_padding() {
    let max_columns = ReadOptions::default().max_columns;
    let keys: Vec<String> = (0..WIDE).map(|i| format!(r#""k{i}": 0"#)).collect();
    // Each 3-byte `{}` is a row of 16,384 nulls (512 KiB).
    let doc = format!("[{{{}}}, {}]", keys.join(","), vec!["{}"; 300].join(","));
    let why = given_at_most(&doc, json!({"strategy": "array_of_objects", "path": "$"}), max_columns).err();
    assert_eq!(
        why.as_deref(),
        Some(
            "the table would hold about 134234112 bytes (256 × 16384 cells of 32 bytes and 16384 bytes of text), \
             more than the 134217728 bytes a profile table may hold"
        )
    );

    // A 16,384-name header and rows of `[]`: refused before any row is built.
    let names: Vec<String> = (0..WIDE).map(|i| format!(r#""c{i}""#)).collect();
    let doc = format!(r#"{{"h": [{}], "rows": [{}]}}"#, names.join(","), vec!["[]"; 300].join(","));
    let select = json!({"strategy": "headers_data", "path": "$", "headers_key": "h", "data_key": "rows"});
    let why = given_at_most(&doc, select, max_columns).err();
    assert_eq!(
        why.as_deref(),
        Some("the table would hold 300 × 16384 cells, more than the 4194304 cells a profile table may hold")
    );
}

#[test]
fn a_join_copying_a_long_left_text_per_match_is_an_error_before_it_is_copied() {
    // 600 matches of one 256 KiB left row: 150 MiB of copies from a ~260 KB document, within
    // the row bound (65,536) but past the table's bytes.
    let blob = "x".repeat(256 * 1024);
    let doc = format!(r#"{{"l": [{{"k": 1, "blob": "{blob}"}}], "r": [{}]}}"#, vec![r#"{"k": 1}"#; 600].join(","));
    let select = json!({"strategy": "join", "left": {"path": "$.l", "key": "k"}, "right": {"path": "$.r", "key": "k"}});
    let why = given_at_most(&doc, select, 100).err().unwrap_or_default();
    assert!(why.starts_with("the table would hold about "), "{why}");
    assert!(
        why.contains("(600 × 2 cells of 32 bytes and 157287000 bytes of text), more than the ")
            && why.ends_with("bytes its lists leave of the 134217728 a profile table may hold"),
        "{why}"
    );
}

#[test]
fn headers_data_with_default_headers_cuts_a_row_wider_than_max_columns() {
    // The width limit is for names built from the widest row; given names cut it.
    let cells = vec!["0"; 20_000].join(",");
    let doc = format!(r#"{{"rows": [[1, 2, {cells}]]}}"#);
    let select = json!({"strategy": "headers_data", "path": "$", "data_key": "rows", "default_headers": ["a", "b"]});
    let e = given_at_most(&doc, select, 8).unwrap();
    assert_eq!(e.frame.names, ["a", "b"]);
    assert_eq!(rows(&e), [["1", "2"]]);
    assert_eq!(e.warnings, ["20000 cell(s) past the header's 2 columns were cut"]);
}

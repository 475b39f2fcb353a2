//! JSON and JSON Lines files written to a temp dir, plus the shared fixtures.

use std::io::Write;
use std::path::Path;

use dat_contracts::{ColumnType, TablePreview, TableProbe, TableStatus, WorkspacePath};
use serde_json::json;

use super::{JsonAdapter, PROBE_BYTES};

const JSON: JsonAdapter = JsonAdapter::DOCUMENT;
const JSONL: JsonAdapter = JsonAdapter::LINES;
use crate::{Adapter, Compression, ReadError, SourceFile};

fn probe(adapter: &dyn Adapter, dir: &Path, name: &str, compression: Option<Compression>) -> TableProbe {
    let path = WorkspacePath::parse(name).unwrap();
    let disk = dir.join(name);
    let mut tables = adapter.probe(&SourceFile::new(&path, &disk, compression), &crate::ReadOptions::default());
    assert_eq!(tables.len(), 1);
    tables.remove(0)
}

fn probe_text(adapter: &dyn Adapter, name: &str, text: &str) -> TableProbe {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    probe(adapter, dir.path(), name, None)
}

fn preview_text(adapter: &dyn Adapter, name: &str, text: &str, rows: usize) -> Result<TablePreview, ReadError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    let path = WorkspacePath::parse(name).unwrap();
    let disk = dir.path().join(name);
    adapter.preview(&SourceFile::new(&path, &disk, None), None, rows, &crate::ReadOptions::default())
}

fn columns(table: &TableProbe) -> Vec<(&str, ColumnType, bool)> {
    table.columns.iter().map(|c| (c.name.as_str(), c.dtype, c.nullable)).collect()
}

#[test]
fn an_array_of_objects_is_one_table_with_the_union_of_keys_in_first_seen_order() {
    let table = probe_text(&JSON, "a.json", r#"[{"a": 1, "b": "x"}, {"b": "y", "c": 2.5}, {"a": 3, "c": 4}]"#);
    assert_eq!((table.table_id.as_str(), table.status), ("a.json", TableStatus::Available));
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(3), true));
    assert_eq!(
        columns(&table),
        [("a", ColumnType::Int, true), ("b", ColumnType::String, true), ("c", ColumnType::Float, true)]
    );
}

#[test]
fn a_single_object_is_one_row_and_nested_values_are_struct_and_list_columns() {
    let text = r#"{"lot": "L1", "meta": {"tool": "T"}, "sites": [{"id": 1}, {"id": 2}], "n": null}"#;
    let table = probe_text(&JSON, "one.json", text);
    assert_eq!(table.status, TableStatus::Available);
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(1), true));
    assert_eq!(
        columns(&table),
        [
            ("lot", ColumnType::String, false),
            ("meta", ColumnType::Struct, false),
            ("sites", ColumnType::List, false),
            ("n", ColumnType::Null, true),
        ]
    );
    let preview = preview_text(&JSON, "one.json", text, 10).unwrap();
    assert_eq!(preview.rows, [vec![json!("L1"), json!({"tool": "T"}), json!([{"id": 1}, {"id": 2}]), json!(null)]]);
}

#[test]
fn a_scalar_document_is_an_error() {
    for text in ["42", "\"x\"", "null"] {
        let table = probe_text(&JSON, "s.json", text);
        assert_eq!(table.status, TableStatus::Error, "{text}");
        let reason = table.error.unwrap();
        assert!(reason.contains("a JSON file must hold an object or an array of objects"), "{reason}");
    }
}

#[test]
fn invalid_json_is_an_error_with_line_and_column() {
    let table = probe_text(&JSON, "bad.json", "\n\n[{\"a\": 1},\n {\"a\": }]");
    assert_eq!(table.status, TableStatus::Error);
    let reason = table.error.unwrap();
    assert!(reason.contains("invalid JSON at line 4 column 8: expected value"), "{reason}");
}

#[test]
fn an_empty_array_or_blank_file_is_empty() {
    assert_eq!(probe_text(&JSON, "e.json", " [ ] ").status, TableStatus::Empty);
    assert_eq!(probe_text(&JSON, "e.json", "").status, TableStatus::Empty);
    assert_eq!(probe_text(&JSON, "e.json", " \n ").status, TableStatus::Empty);
}

#[test]
fn non_objects_in_an_array_are_skipped_when_few_and_an_error_when_most() {
    let partial = probe_text(&JSON, "m.json", r#"[{"a": 1}, 2, {"a": 3}]"#);
    assert_eq!((partial.status, partial.row_estimate), (TableStatus::Partial, Some(2)));
    assert_eq!(partial.warnings, ["element 2 is a number, not an object"]);
    let error = probe_text(&JSON, "m.json", r#"[1, 2, {"a": 3}]"#);
    assert_eq!(error.status, TableStatus::Error);
    assert!(error.error.unwrap().contains("2 of the 3 elements read are bad"));
}

#[test]
fn a_utf8_bom_is_skipped() {
    let table = probe_text(&JSON, "bom.json", "\u{feff}[{\"a\": 1}]");
    assert_eq!(table.status, TableStatus::Available);
}

#[test]
fn gzip_and_zstd_json_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = br#"[{"a": 1}, {"a": 2}]"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text).unwrap();
    std::fs::write(dir.path().join("a.json.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("a.json.zst"), zstd::encode_all(&text[..], 3).unwrap()).unwrap();
    for (name, compression) in [("a.json.gz", Compression::Gzip), ("a.json.zst", Compression::Zstd)] {
        let table = probe(&JSON, dir.path(), name, Some(compression));
        assert_eq!((table.status, table.row_estimate, table.row_count_exact), (TableStatus::Available, Some(2), true));
    }
}

#[test]
fn a_large_array_is_probed_from_its_first_mib_and_estimated() {
    let row = r#"{"id": 123456, "name": "some name", "value": 1.5}"#;
    let rows = 2 * PROBE_BYTES as usize / row.len();
    let text = format!("[{}]", vec![row; rows].join(","));
    let table = probe_text(&JSON, "big.json", &text);
    assert_eq!(table.status, TableStatus::Available);
    assert!(!table.row_count_exact);
    let estimate = table.row_estimate.unwrap() as f64;
    assert!((estimate / rows as f64 - 1.0).abs() < 0.05, "{estimate} vs {rows}");
}

#[test]
fn json_preview_gives_the_first_objects_with_nulls_for_missing_keys() {
    let preview = preview_text(&JSON, "p.json", r#"[{"a": 1}, {"b": true}, {"a": 3}]"#, 2).unwrap();
    assert_eq!(preview.columns, ["a", "b"]);
    assert_eq!(preview.rows, [vec![json!(1), json!(null)], vec![json!(null), json!(true)]]);
    assert_eq!(preview.total_estimate, Some(3));
    assert!(matches!(preview_text(&JSON, "p.json", "42", 2), Err(ReadError::Format { .. })));
}

#[test]
fn jsonl_with_one_bad_line_is_partial_and_names_the_line() {
    let table = probe_text(&JSONL, "a.jsonl", "{\"a\": 1}\n\n{\"a\": 2\n[1]\n{\"a\": 3, \"b\": \"x\"}\n");
    assert_eq!(table.status, TableStatus::Partial);
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(2), true));
    assert_eq!(
        table.warnings,
        ["line 3: EOF while parsing an object at column 7", "line 4: an array is not a JSON object"]
    );
    assert_eq!(columns(&table), [("a", ColumnType::Int, false), ("b", ColumnType::String, true)]);
}

#[test]
fn jsonl_all_good_is_available_with_an_exact_count() {
    let table = probe_text(&JSONL, "a.ndjson", "{\"a\": 1}\r\n{\"a\": 2}\r\n{\"a\": 3}");
    assert_eq!((table.status, table.row_estimate, table.row_count_exact), (TableStatus::Available, Some(3), true));
}

#[test]
fn jsonl_all_bad_is_an_error_and_no_lines_is_empty() {
    let bad = probe_text(&JSONL, "a.jsonl", "nope\n{\n");
    assert_eq!(bad.status, TableStatus::Error);
    assert!(bad.error.unwrap().contains("line 1: "));
    let empty = probe_text(&JSONL, "a.jsonl", "");
    assert_eq!((empty.status, empty.row_estimate), (TableStatus::Empty, Some(0)));
    assert_eq!(probe_text(&JSONL, "a.jsonl", "\n  \n").status, TableStatus::Empty);
}

#[test]
fn a_large_jsonl_file_is_probed_from_its_first_mib_and_estimated() {
    let line = "{\"id\": 1234567, \"name\": \"a name\"}\n";
    let lines = 3 * PROBE_BYTES as usize / line.len();
    let table = probe_text(&JSONL, "big.jsonl", &line.repeat(lines));
    assert!(!table.row_count_exact);
    let estimate = table.row_estimate.unwrap() as f64;
    assert!((estimate / lines as f64 - 1.0).abs() < 0.05, "{estimate} vs {lines}");
}

#[test]
fn jsonl_preview_skips_bad_lines() {
    let preview = preview_text(&JSONL, "p.jsonl", "{\"a\": 1}\nbad\n{\"a\": 2}\n{\"a\": 3}\n", 2).unwrap();
    assert_eq!(preview.rows, [vec![json!(1)], vec![json!(2)]]);
    assert_eq!(preview.total_estimate, Some(3));
}

fn probe_fixture(adapter: &dyn Adapter, relative: &str) -> TableProbe {
    let disk = crate::testing::shared_fixture(relative);
    let path = WorkspacePath::parse(relative).unwrap();
    let mut tables = adapter.probe(&SourceFile::new(&path, &disk, None), &crate::ReadOptions::default());
    assert_eq!(tables.len(), 1);
    tables.remove(0)
}

#[test]
fn the_basic_fixtures_probe_as_expected() {
    let expected = [
        ("id", ColumnType::Int, false),
        ("name", ColumnType::String, false),
        ("value", ColumnType::Float, true),
        ("active", ColumnType::Bool, false),
    ];
    let table = probe_fixture(&JSON, "basic/sample.json");
    assert_eq!((table.status, table.row_estimate, table.row_count_exact), (TableStatus::Available, Some(5), true));
    assert_eq!(columns(&table), expected);
    let table = probe_fixture(&JSONL, "basic/sample.jsonl");
    assert_eq!((table.status, table.row_estimate, table.row_count_exact), (TableStatus::Available, Some(5), true));
    assert_eq!(columns(&table), expected);
    let table = probe_fixture(&JSON, "basic/invalid.json");
    assert_eq!(table.status, TableStatus::Error);
    let reason = table.error.unwrap();
    assert!(reason.starts_with("invalid JSON at line"), "{reason}");
}

#[test]
fn the_cdsem_fixtures_are_each_one_table() {
    let dir = crate::testing::shared_fixture("cdsem");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        seen += 1;
        let table = probe_fixture(&JSON, &format!("cdsem/{name}"));
        assert_eq!(table.status, TableStatus::Available, "{name}: {:?}", table.error);
        assert_eq!(table.row_estimate, Some(1), "{name}");
        assert!(table.columns.iter().any(|c| c.name == "metadata" && c.dtype == ColumnType::Struct), "{name}");
    }
    assert_eq!(seen, 3, "the three CD-SEM measurement files");
}

/// Reading, through the adapter as parse does.
mod read {
    use dat_contracts::ColumnType;

    use super::{JSON, JSONL};
    use crate::testing::read_bytes;
    use crate::ReadOptions;

    fn options(chunk_rows: usize) -> ReadOptions {
        ReadOptions::default().with_chunk_rows(chunk_rows)
    }

    #[test]
    fn every_element_and_line_is_accounted_for() {
        let json = r#"[{"a": 1}, 7, {"a": 2}]"#;
        let (result, got) = read_bytes(&JSON, "t.json", json.as_bytes(), None, &options(2), None);
        let account = result.unwrap().accounting.unwrap();
        assert_eq!((account.unit.as_str(), account.read), ("elements", 3));
        assert_eq!(account.check("t.json", got.rows() as u64, got.rejects.len() as u64), Ok(()));
        let lines = "{\"a\": 1}\n\n{\"a\": \n{\"a\": 3}\n";
        let (result, got) = read_bytes(&JSONL, "t.jsonl", lines.as_bytes(), None, &options(2), None);
        let account = result.unwrap().accounting.unwrap();
        assert_eq!((account.unit.as_str(), account.skipped.get("blank")), ("lines", Some(&1)));
        assert_eq!((got.rows(), got.rejects.len()), (2, 1));
        assert_eq!(account.check("t.jsonl", 2, 1), Ok(()));
    }

    #[test]
    fn an_array_is_read_element_by_element_with_non_objects_rejected() {
        let json = r#"[{"a": 1, "n": {"x": [1, 2]}}, 7, {"a": 2.50, "b": "s"}, {"b": null}, {"a": 3}]"#;
        let (result, got) = read_bytes(&JSON, "t.json", json.as_bytes(), None, &options(2), None);
        result.unwrap();
        assert_eq!(got.rejects.len(), 1);
        assert_eq!((got.rejects[0].line, got.rejects[0].reason.as_str()), (2, "element 2 is a number, not an object"));
        assert_eq!(got.heights(), [2, 2]);
        assert_eq!(got.source_rows(), [1, 3, 4, 5], "rows keep their element number");
        let (n, types) = got.column("n");
        assert_eq!(n[0].as_deref(), Some(r#"{"x":[1,2]}"#), "nested values as compact JSON text");
        assert_eq!(types[0], ColumnType::Struct);
        assert_eq!(got.column("a").0[1].as_deref(), Some("2.50"), "numbers as written");
    }

    #[test]
    fn an_object_is_one_row_and_broken_documents_fail_the_table() {
        let (result, got) = read_bytes(&JSON, "t.json", "\u{feff}{\"a\": 1}".as_bytes(), None, &options(10), None);
        result.unwrap();
        assert_eq!((got.rows(), got.column("a").1), (1, vec![ColumnType::Int]));
        for bad in ["42", "[{\"a\": 1}", "{\"a\": 1} {\"a\": 2}", "[{\"a\": 1} {\"a\": 2}]"] {
            let (result, _) = read_bytes(&JSON, "t.json", bad.as_bytes(), None, &options(10), None);
            assert!(matches!(&result, Err(crate::ReadError::Format { .. })), "{bad}: {result:?}");
        }
    }

    #[test]
    fn an_element_past_the_record_cap_is_one_reject() {
        let big = format!(r#"[{{"a": 1}}, {{"a": "{}"}}, {{"a": 3}}]"#, "x".repeat(10_000));
        let options = ReadOptions { record_cap: 1000, ..options(10) };
        let (result, got) = read_bytes(&JSON, "t.json", big.as_bytes(), None, &options, None);
        result.unwrap();
        assert_eq!(got.rejects.len(), 1);
        assert_eq!(got.rejects[0].line, 2);
        assert_eq!(got.rows(), 2);
    }

    #[test]
    fn jsonl_lines_past_the_cap_and_bad_lines_are_rejects_with_their_line() {
        let text = format!("{{\"a\": 1}}\n{{\"a\": \"{}\"}}\n{{\"a\": \n\n{{\"a\": 4}}\n", "y".repeat(5000));
        let options = ReadOptions { record_cap: 1000, ..options(10) };
        let (result, got) = read_bytes(&JSONL, "t.jsonl", text.as_bytes(), None, &options, None);
        result.unwrap();
        let lines: Vec<u64> = got.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(got.rejects[0].reason.contains("record cap"), "{}", got.rejects[0].reason);
        assert_eq!(got.source_rows(), [1, 5]);
    }

    #[test]
    fn a_key_beyond_the_column_limit_is_a_reject() {
        let text = "{\"a\": 1}\n{\"a\": 2, \"b\": 3}\n{\"a\": 4}\n";
        let options = ReadOptions { max_columns: 1, ..options(10) };
        let (result, got) = read_bytes(&JSONL, "t.jsonl", text.as_bytes(), None, &options, None);
        result.unwrap();
        assert_eq!(got.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [2]);
        assert_eq!(got.rows(), 2);
    }

    /// The value a float column would store for a column's one cell.
    fn float_value(got: &crate::testing::Collected, name: &str) -> f64 {
        let chunk = &got.chunks[0];
        let i = chunk.names.iter().position(|n| n == name).unwrap();
        let crate::chunk::Values::Text(text) = &chunk.columns[i] else { panic!("not text") };
        let (values, _) = text.clone().into_typed().unwrap();
        let crate::chunk::Values::Float(values) = values else { panic!("{name}: not a float column: {values:?}") };
        values[0].unwrap()
    }

    #[test]
    fn a_number_no_float_holds_exactly_stays_text_as_written() {
        let line = format!(
            r#"{{"tiny": 1e-400, "long": 123456789012345678901.5, "digits": 0.12345678901234567890123, "many_zeros": 0.{}1, "ok": 0.1, "shortest": 1.2345678901234568e-300, "c17": 0.10000000000000001, "rounded17": 0.12345678901234567, "zero": 0e-400, "padded": 1.50}}"#,
            "0".repeat(400)
        );
        let (result, got) = read_bytes(&JSONL, "n.jsonl", line.as_bytes(), None, &options(10), None);
        result.unwrap();
        for name in ["tiny", "long", "digits", "many_zeros", "rounded17"] {
            let (cells, types) = got.column(name);
            assert_eq!(types, [ColumnType::String], "{name}: no float holds it");
            assert!(cells[0].as_deref().is_some_and(|c| line.contains(&format!(": {c},"))), "{name}: {cells:?}");
        }
        for name in ["ok", "shortest", "c17", "zero", "padded"] {
            assert_eq!(got.column(name).1, [ColumnType::Float], "{name}");
        }
        assert_eq!(float_value(&got, "shortest"), 1.2345678901234568e-300);
    }

    #[test]
    fn minus_zero_is_a_float_that_keeps_its_sign() {
        let (result, got) = read_bytes(&JSONL, "z.jsonl", b"{\"z\": -0}\n", None, &options(10), None);
        result.unwrap();
        assert_eq!(got.column("z").1, [ColumnType::Float]);
        let z = float_value(&got, "z");
        assert!(z == 0.0 && z.is_sign_negative(), "{z}");
    }

    #[test]
    fn a_key_given_twice_is_a_reject_naming_it() {
        let text = "{\"a\": 1, \"b\": 0, \"a\": 2}\n{\"a\": 3}\n";
        let (result, got) = read_bytes(&JSONL, "d.jsonl", text.as_bytes(), None, &options(10), None);
        result.unwrap();
        assert_eq!(got.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [1]);
        assert!(got.rejects[0].reason.contains("key `a` appears more than once"), "{}", got.rejects[0].reason);
        assert_eq!((got.source_rows(), got.column("a").0), (vec![2], vec![Some("3".into())]));
        // The same key spelled with an escape, in an array.
        let json = r#"[{"a": 1}, {"a": 1, "\u0061": 2}]"#;
        let (result, got) = read_bytes(&JSON, "d.json", json.as_bytes(), None, &options(10), None);
        result.unwrap();
        assert_eq!(got.rejects.len(), 1);
        assert_eq!(got.rejects[0].line, 2);
        assert!(
            got.rejects[0].reason.contains("element 2: key `a` appears more than once"),
            "{}",
            got.rejects[0].reason
        );
        assert_eq!(got.source_rows(), [1]);
    }

    #[test]
    fn a_line_of_millions_of_fields_is_one_reject_naming_its_width() {
        let fields = 3_000_000;
        let line = format!("{{{}\"\":0}}\n{{\"a\": 1}}\n", "\"\":0,".repeat(fields - 1));
        let (result, got) = read_bytes(&JSONL, "w.jsonl", line.as_bytes(), None, &options(10), None);
        result.unwrap();
        assert_eq!(got.rejects.len(), 1);
        let reason = &got.rejects[0].reason;
        assert!(reason.contains("3000000 fields, more than the 16384 columns"), "{reason}");
        assert_eq!(got.source_rows(), [2]);
    }

    #[test]
    fn a_sink_that_stops_stops_the_json_reader() {
        let json = format!("[{}]", (0..100).map(|i| format!("{{\"a\": {i}}}")).collect::<Vec<_>>().join(","));
        let (result, got) = read_bytes(&JSON, "t.json", json.as_bytes(), None, &options(10), Some(2));
        assert!(matches!(result, Err(crate::ReadError::Stopped)), "{result:?}");
        assert_eq!(got.chunks.len(), 2);
    }
}

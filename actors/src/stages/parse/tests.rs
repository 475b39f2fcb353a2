//! The table readers on small files: chunking, rejects with their lines, JSON shapes, and a
//! consumer that stops the read (the two-thread text reader must stop too, not hang).

use dat_contracts::{ColumnType, WorkspacePath};
use polars::prelude::*;

use super::read::{read_table, ReadError, Reject};

/// What a read emitted: each chunk's height and types, and the rows as text.
#[derive(Default)]
struct Emitted {
    chunks: Vec<(usize, Vec<ColumnType>)>,
    frames: Vec<DataFrame>,
}

fn read(name: &str, content: &str, adapter: &str, chunk_rows: usize) -> (Result<Vec<Reject>, ReadError>, Emitted) {
    read_with(name, content, adapter, chunk_rows, None)
}

/// Reads `content` as file `name`; the consumer fails with `Stopped` on chunk `stop_at`.
fn read_with(
    name: &str,
    content: &str,
    adapter: &str,
    chunk_rows: usize,
    stop_at: Option<usize>,
) -> (Result<Vec<Reject>, ReadError>, Emitted) {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join(name);
    std::fs::write(&disk, content).unwrap();
    let path = WorkspacePath::parse(name).unwrap();
    let file = crate::adapters::SourceFile { path: &path, disk: &disk, compression: None };
    let mut emitted = Emitted::default();
    let mut emit = |frame: DataFrame, types: Vec<ColumnType>| {
        if stop_at == Some(emitted.chunks.len()) {
            return Err(ReadError::Stopped);
        }
        emitted.chunks.push((frame.height(), types));
        emitted.frames.push(frame);
        Ok(())
    };
    let result = read_table(&file, adapter, None, chunk_rows, &mut emit);
    (result, emitted)
}

fn texts(frame: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = frame.column(column).unwrap().cast(&DataType::String).unwrap();
    c.as_materialized_series().str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
}

#[test]
fn delimited_rows_come_in_chunks_and_long_rows_are_rejected_with_their_line() {
    let csv = "a,b\n1,x\n2,y,extra\n3,z\n4\n5,w\n";
    let (result, emitted) = read("t.csv", csv, "csv", 2);
    let rejects = result.unwrap();
    assert_eq!(rejects, vec![Reject { line: 3, reason: "3 fields, the header has 2".into() }]);
    let heights: Vec<usize> = emitted.chunks.iter().map(|(h, _)| *h).collect();
    assert_eq!(heights, [2, 2], "four rows kept, in chunks of two");
    assert_eq!(emitted.chunks[0].1, [ColumnType::Int, ColumnType::String]);
    assert_eq!(texts(&emitted.frames[1], "b"), [None, Some("w".into())], "a short row is padded with null");
}

#[test]
fn a_consumer_that_stops_stops_the_text_reader() {
    let csv: String = std::iter::once("a\n".to_owned()).chain((0..1000).map(|i| format!("{i}\n"))).collect();
    let (result, emitted) = read_with("t.csv", &csv, "csv", 10, Some(1));
    assert!(matches!(result, Err(ReadError::Stopped)), "{result:?}");
    assert_eq!(emitted.chunks.len(), 1);
}

#[test]
fn a_json_array_is_read_element_by_element() {
    let json = r#"[{"a": 1, "n": {"x": [1, 2]}}, 7, {"a": 2.5, "b": "s"}, {"b": null}, {"a": 3}]"#;
    let (result, emitted) = read("t.json", json, "json", 2);
    assert_eq!(result.unwrap(), vec![Reject { line: 2, reason: "array element is not an object".into() }]);
    let heights: Vec<usize> = emitted.chunks.iter().map(|(h, _)| *h).collect();
    assert_eq!(heights, [2, 2]);
    assert_eq!(texts(&emitted.frames[0], "n"), [Some(r#"{"x":[1,2]}"#.into()), None], "nested kept as JSON");
    assert_eq!(emitted.chunks[0].1[0], ColumnType::Float, "1 and 2.5 in one chunk: float");
}

#[test]
fn a_json_object_is_one_row_and_other_documents_fail_the_table() {
    let (result, emitted) = read("t.json", "\u{feff}{\"a\": 1}", "json", 10);
    assert!(result.unwrap().is_empty());
    assert_eq!(emitted.chunks, [(1, vec![ColumnType::Int])]);
    for bad in ["42", "[{\"a\": 1}", "{\"a\": 1} {\"a\": 2}"] {
        let (result, _) = read("t.json", bad, "json", 10);
        assert!(matches!(&result, Err(ReadError::Failed(m)) if m.starts_with("invalid JSON")), "{bad}: {result:?}");
    }
}

#[test]
fn a_consumer_that_stops_stops_the_json_reader() {
    let json = format!("[{}]", (0..100).map(|i| format!("{{\"a\": {i}}}")).collect::<Vec<_>>().join(","));
    let (result, emitted) = read_with("t.json", &json, "json", 10, Some(2));
    assert!(matches!(result, Err(ReadError::Stopped)), "{result:?}");
    assert_eq!(emitted.chunks.len(), 2);
}

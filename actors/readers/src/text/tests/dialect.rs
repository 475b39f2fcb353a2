//! Delimiters and quotes.

use dat_contracts::{ColumnType, TableStatus};
use serde_json::json;

use super::{names, preview, probe, sniff, types};
use crate::{AdapterRegistry, Compression};

#[test]
fn semicolon_tab_and_pipe_are_detected() {
    for (delimiter, sep) in [(";", ';'), ("\t", '\t'), ("|", '|')] {
        let text = format!("id{sep}name{sep}value\n1{sep}a,b{sep}1.5\n2{sep}c{sep}2.5\n3{sep}d,e,f{sep}3\n");
        let table = probe("data.txt", text.as_bytes());
        assert_eq!(sniff(&table).delimiter, delimiter);
        assert_eq!(names(&table), ["id", "name", "value"]);
        assert_eq!(types(&table), [ColumnType::Int, ColumnType::String, ColumnType::Float]);
        assert_eq!(table.status, TableStatus::Available);
    }
}

#[test]
fn quoted_fields_keep_their_delimiters_and_newlines() {
    let text = "id,comment,n\n1,\"a, b\",1\n2,\"line one\nline two\",2\n3,\"say \"\"hi\"\"\",3\n";
    let table = probe("quoted.csv", text.as_bytes());
    assert_eq!(table.status, TableStatus::Available, "{:?}", table.warnings);
    assert_eq!(sniff(&table).quote.as_deref(), Some("\""));
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(3), true));
    let rows = preview("quoted.csv", text.as_bytes(), 10).rows;
    assert_eq!(
        rows,
        [
            [json!(1), json!("a, b"), json!(1)],
            [json!(2), json!("line one\nline two"), json!(2)],
            [json!(3), json!("say \"hi\""), json!(3)]
        ]
    );
}

#[test]
fn single_quotes_are_detected_when_they_wrap_fields() {
    let text = "id|name\n1|'a|b'\n2|'c'\n";
    let table = probe("single.csv", text.as_bytes());
    assert_eq!(sniff(&table).delimiter, "|");
    assert_eq!(sniff(&table).quote.as_deref(), Some("'"));
    assert_eq!(table.status, TableStatus::Available, "{:?}", table.warnings);
    assert_eq!(preview("single.csv", text.as_bytes(), 10).rows, [[json!(1), json!("a|b")], [json!(2), json!("c")]]);
}

#[test]
fn a_semicolon_file_with_decimal_commas_is_not_split_on_its_commas() {
    // Both split every line in two; only `;` gives fields that are values.
    let text = "name;value\nalpha;1,5\nbeta;2,25\n";
    let table = probe("eu.csv", text.as_bytes());
    assert_eq!(sniff(&table).delimiter, ";");
    assert_eq!(sniff(&table).number.decimal, ',');
    assert_eq!(
        preview("eu.csv", text.as_bytes(), 10).rows,
        [[json!("alpha"), json!(1.5)], [json!("beta"), json!(2.25)]]
    );
}

#[test]
fn unquoted_files_record_no_quote() {
    let table = probe("plain.csv", b"a,b\n1,2\n");
    assert_eq!(sniff(&table).quote, None);
}

#[test]
fn tsv_files_prefer_tab_when_delimiters_are_equally_consistent() {
    let text = b"a,b\tc\nx,y\tz\n";
    assert_eq!(sniff(&probe("x.tsv", text)).delimiter, "\t");
    assert_eq!(sniff(&probe("x.csv", text)).delimiter, ",");
    assert_eq!(sniff(&probe("x.TSV", text)).delimiter, "\t");
}

#[test]
fn consistency_beats_frequency() {
    // Decimal commas in a semicolon file: commas split rows unevenly, semicolons evenly.
    let text = "name;price;qty\napple;1,5;3\npear;2;4\nfig;10,25;1\n";
    let table = probe("prices.csv", text.as_bytes());
    assert_eq!(sniff(&table).delimiter, ";");
    assert_eq!(names(&table), ["name", "price", "qty"]);
}

#[test]
fn the_registry_gives_text_files_to_this_adapter_whatever_the_case() {
    let registry = AdapterRegistry::default();
    for (name, compression) in [
        ("a.CSV", None),
        ("b.Tsv", None),
        ("c.txt", None),
        ("d.CSV.GZ", Some(Compression::Gzip)),
        ("e.tsv.zst", Some(Compression::Zstd)),
    ] {
        let (adapter, found) = registry.for_name(name).unwrap();
        assert_eq!((adapter.id(), found), ("csv", compression), "{name}");
    }
}

//! The files every lab folder has: a Latin-1 `;` export with decimal commas, thousands dots,
//! title lines and a footer; `d/m/yyyy` dates; quoted line breaks, blank lines and CRLF; and
//! the account of every line that says where each went.

use dat_contracts::bundle::RowAccount;
use dat_contracts::text_layout::{DateOrder, NumberFormat};
use dat_contracts::{ColumnType, TableStatus};
use serde_json::json;

use super::{names, preview, probe, sniff, types};
use crate::testing::read_bytes;
use crate::text::DelimitedAdapter;
use crate::{ReadOptions, TextHints};

/// An instrument export as a German lab PC writes it, in Windows-1252.
fn latin1_export() -> Vec<u8> {
    let text = "Messprotokoll Prüfstand Süd\r\nErstellt: 03.02.2025 08:15\r\n\r\n\
                Probe;Temperatur °C;Anzahl;Gewicht\r\n\
                Größe A;21,5;1.234;1.234,5\r\n\
                Größe B;-3,25;12;0,75\r\n\
                Maß C;100;2.000.000;12.345.678,9\r\n\
                Ende des Berichts\r\n";
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("latin-1")).collect()
}

#[test]
fn a_latin1_semicolon_export_with_title_and_footer_is_available_with_its_layout_recorded() {
    let bytes = latin1_export();
    let table = probe("lab.csv", &bytes);
    assert_eq!(table.status, TableStatus::Available, "{:?}", table.warnings);
    let s = sniff(&table);
    assert_eq!((s.encoding.as_str(), s.delimiter.as_str(), s.header), ("windows-1252", ";", true));
    assert_eq!(s.number, NumberFormat { decimal: ',', thousands: Some('.') });
    assert_eq!(s.title, ["Messprotokoll Prüfstand Süd", "Erstellt: 03.02.2025 08:15", ""]);
    assert_eq!(s.footer, ["Ende des Berichts"]);
    assert_eq!(names(&table), ["Probe", "Temperatur °C", "Anzahl", "Gewicht"]);
    assert_eq!(types(&table), [ColumnType::String, ColumnType::Float, ColumnType::Int, ColumnType::Float]);
    assert_eq!(table.row_estimate, Some(3));
    let rows = preview("lab.csv", &bytes, 10).rows;
    assert_eq!(rows[0], [json!("Größe A"), json!(21.5), json!(1234), json!(1234.5)]);
    assert_eq!(rows[2], [json!("Maß C"), json!(100.0), json!(2_000_000), json!(12_345_678.9)]);
}

#[test]
fn reading_keeps_the_text_and_accounts_for_every_line() {
    let (result, got) =
        read_bytes(&DelimitedAdapter::default(), "lab.csv", &latin1_export(), None, &ReadOptions::default(), None);
    let end = result.unwrap();
    let (weights, kinds) = got.column("Gewicht");
    assert_eq!(weights, [Some("1.234,5".into()), Some("0,75".into()), Some("12.345.678,9".into())], "text as written");
    assert_eq!(kinds, [ColumnType::Float]);
    assert_eq!(got.source_rows(), [5, 6, 7]);
    assert_eq!(end.footer, ["Ende des Berichts"]);
    let mut expected = RowAccount::new("lines", 8);
    for (reason, n) in [("title", 3), ("header", 1), ("footer", 1)] {
        expected.skip(reason, n);
    }
    assert_eq!(end.accounting, Some(expected));
    assert_eq!(end.accounting.unwrap().check("lab.csv", got.rows() as u64, 0), Ok(()));
}

#[test]
fn overrides_set_the_header_row_and_the_separators() {
    let text = "run 7\noperator: ana\nx;y\n1.5;2\n";
    let hints = TextHints {
        lines_before: Some(2),
        decimal: Some('.'),
        thousands: Some(None),
        overridden: vec!["header_row".into()],
        ..TextHints::default()
    };
    let options = ReadOptions { text: hints, ..ReadOptions::default() };
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "o.csv", text.as_bytes(), None, &options, None);
    let account = result.unwrap().accounting.unwrap();
    assert_eq!(got.column("x").0, [Some("1.5".into())]);
    assert_eq!(account.skipped.get("title"), Some(&2));
    assert_eq!(account.check("o.csv", got.rows() as u64, 0), Ok(()));
}

#[test]
fn a_decided_delimiter_and_quote_are_followed_not_sniffed_again() {
    // Sniffed alone, `,` splits every line in two; table availability decided `;` with `'`.
    let text = "a;b,c\n'1;x',2\n3;4,5\n";
    let (_, got) =
        read_bytes(&DelimitedAdapter::default(), "d.csv", text.as_bytes(), None, &ReadOptions::default(), None);
    assert_eq!(got.column("a;b").0.len(), 2, "alone, the sniffer splits at commas");
    let decided = TextHints { delimiter: Some(b';'), quote: Some(Some(b'\'')), ..TextHints::default() };
    let options = ReadOptions { text: decided, ..ReadOptions::default() };
    let (result, got) = read_bytes(&DelimitedAdapter::default(), "d.csv", text.as_bytes(), None, &options, None);
    assert!(result.is_ok());
    // The quoted `;` stays in its field.
    assert_eq!(got.column("a").0, [Some("1;x,2".into()), Some("3".into())]);
}

#[test]
fn quoted_line_breaks_blank_lines_crlf_and_rejects_are_all_accounted_for() {
    let text = "a,b\r\n1,\"two\r\nlines\"\r\n\r\n2,x,extra\r\n\n3,y\r\n4,z";
    let (result, got) =
        read_bytes(&DelimitedAdapter::default(), "q.csv", text.as_bytes(), None, &ReadOptions::default(), None);
    let account = result.unwrap().accounting.unwrap();
    assert_eq!(got.rows(), 3);
    assert_eq!(got.rejects.len(), 1);
    assert_eq!(
        (account.read, account.skipped.get("blank"), account.skipped.get("continuation")),
        (8, Some(&2), Some(&1))
    );
    assert_eq!(account.check("q.csv", 3, 1), Ok(()));
    assert!(account.check("q.csv", 2, 1).is_err(), "a row lost on the way is caught");
}

#[test]
fn the_sample_gathers_the_evidence_for_the_folders_date_order() {
    let table = probe("d.csv", b"when,v\n03/04/2025,1\n13/04/2025,2\n05/06/2025 10:30,3\n");
    let dates = table.columns[0].dates.as_ref().expect("date evidence");
    assert_eq!(dates.ambiguous, 2);
    assert_eq!(dates.day_first.as_ref().map(|c| (c.line, c.value.as_str())), Some((3, "13/04/2025")));
    assert_eq!(dates.month_first, None);
    assert_eq!(table.columns[0].dtype, ColumnType::Datetime, "sampled as dates while the order is open");

    let decided =
        TextHints { date_orders: Some([("when".to_owned(), DateOrder::MonthFirst)].into()), ..TextHints::default() };
    let options = ReadOptions { text: decided, ..ReadOptions::default() };
    let (_, got) =
        read_bytes(&DelimitedAdapter::default(), "d.csv", b"when\n03/04/2025\n04/13/2025\n", None, &options, None);
    assert_eq!(got.column("when").1, [ColumnType::Date], "month-first reads both");
    let (_, got) =
        read_bytes(&DelimitedAdapter::default(), "d.csv", b"when\n03/04/2025\n13/04/2025\n", None, &options, None);
    assert_eq!(got.column("when").1, [ColumnType::String], "a value the order cannot read keeps the column's text");
}

/// Reads `text` with `options`, checks that every line is accounted for, and returns the rows
/// and what the read ended with.
fn read_accounted(name: &str, text: &str, options: &ReadOptions) -> (crate::ReadEnd, crate::testing::Collected) {
    let (result, got) = read_bytes(&DelimitedAdapter::default(), name, text.as_bytes(), None, options, None);
    let end = result.unwrap();
    let account = end.accounting.clone().unwrap();
    assert_eq!(account.check(name, got.rows() as u64, got.rejects.len() as u64), Ok(()), "{text:?}");
    (end, got)
}

#[test]
fn a_last_record_with_a_quoted_line_break_and_no_final_line_end_is_accounted_for() {
    let (end, got) = read_accounted("n.csv", "a,b\n1,\"x\ny\"", &ReadOptions::default());
    assert_eq!(got.column("b").0, [Some("x\ny".into())]);
    assert_eq!(got.source_rows(), [2]);
    let account = end.accounting.unwrap();
    assert_eq!((account.read, account.skipped.get("continuation")), (3, Some(&1)));
}

#[test]
fn a_run_of_short_records_longer_than_a_footer_is_all_rows() {
    let text = format!("k,v\na,1\n{}", "x\n".repeat(40));
    let (end, got) = read_accounted("f.csv", &text, &ReadOptions::default());
    assert_eq!(end.footer, Vec::<String>::new(), "more than 32 lines is no footer");
    assert_eq!(got.rows(), 41);
    assert_eq!(got.source_rows().last(), Some(&42));
    assert_eq!(sniff(&probe("f.csv", text.as_bytes())).footer, Vec::<String>::new(), "the probe agrees");
    // A run of 32 is still a footer, for both.
    let text = format!("k,v\na,1\n{}", "x\n".repeat(32));
    let (end, got) = read_accounted("f.csv", &text, &ReadOptions::default());
    assert_eq!((end.footer.len(), got.rows()), (32, 1));
    assert_eq!(sniff(&probe("f.csv", text.as_bytes())).footer.len(), 32);
}

#[test]
fn a_run_of_long_text_lines_at_the_end_is_rows_not_a_footer() {
    let long = "y".repeat(30_000);
    let text = format!("k,v\na,1\n{long}\n{long}\n{long}\nEnd\n");
    let (end, got) = read_accounted("l.csv", &text, &ReadOptions::default());
    assert_eq!(end.footer, Vec::<String>::new(), "a footer is a few short lines");
    assert_eq!(got.rows(), 5);
    assert_eq!(got.column("k").0.last(), Some(&Some("End".to_owned())));
    assert_eq!(sniff(&probe("l.csv", text.as_bytes())).footer, Vec::<String>::new(), "the probe agrees");
}

#[test]
fn title_lines_end_at_a_lone_carriage_return_as_records_do() {
    for (text, title, lines) in [
        ("Title\rMore\nid,v\n1,2\n3,4\n", &["Title", "More"][..], [4, 5]),
        ("Report\rid,v\r1,2\r3,4\r", &["Report"][..], [3, 4]),
        ("Report\r\n\rid,v\r\n1,2\r3,4", &["Report", ""][..], [4, 5]),
    ] {
        let (end, got) = read_accounted("t.csv", text, &ReadOptions::default());
        assert_eq!(got.rejects.len(), 0, "{text:?}");
        assert_eq!(got.column("id").0, [Some("1".into()), Some("3".into())], "{text:?}");
        assert_eq!(got.source_rows(), lines, "{text:?}");
        assert_eq!(end.accounting.unwrap().skipped.get("title"), Some(&(title.len() as u64)), "{text:?}");
        assert_eq!(sniff(&probe("t.csv", text.as_bytes())).title, title, "{text:?}");
    }
}

#[test]
fn a_dialect_without_quote_reads_a_quote_character_as_text() {
    let decided = TextHints { delimiter: Some(b','), quote: Some(None), ..TextHints::default() };
    let options = ReadOptions { text: decided, ..ReadOptions::default() };
    let (_, got) = read_accounted("u.csv", "a,b\n\"x,1\n2,3\n", &options);
    assert_eq!(got.column("a").0, [Some("\"x".into()), Some("2".into())]);
    assert_eq!(got.column("b").0, [Some("1".into()), Some("3".into())]);
    assert_eq!(got.source_rows(), [2, 3]);
}

#[test]
fn title_lines_asked_for_beyond_the_end_of_the_file_count_only_those_there() {
    let hints = TextHints { lines_before: Some(5), overridden: vec!["header_row".into()], ..TextHints::default() };
    let options = ReadOptions { text: hints, ..ReadOptions::default() };
    let (end, got) = read_accounted("s.csv", "x\n1\n", &options);
    assert_eq!(got.rows(), 0);
    assert_eq!(end.accounting.unwrap().skipped.get("title"), Some(&2));
}

//! Encodings: byte order marks, UTF-16, the Windows-1252 fallback, binary data.

use dat_contracts::TableStatus;
use serde_json::json;

use super::super::sample::SAMPLE_BYTES;
use super::{file, names, preview, preview_in, probe, probe_in, sniff, utf16};

#[test]
fn utf8_bom_is_recorded_and_not_part_of_the_first_name() {
    let table = probe("bom.csv", "\u{FEFF}id,name\n1,café\n".as_bytes());
    assert_eq!(table.status, TableStatus::Available);
    assert_eq!(sniff(&table).encoding, "utf-8-bom");
    assert_eq!(names(&table), ["id", "name"]);
    let rows = preview("bom.csv", "\u{FEFF}id,name\n1,café\n".as_bytes(), 10).rows;
    assert_eq!(rows, [[json!(1), json!("café")]]);
}

#[test]
fn utf16_with_a_byte_order_mark_is_decoded_both_ways() {
    for (little_endian, name) in [(true, "utf-16le"), (false, "utf-16be")] {
        let bytes = utf16("id;name\n1;café\n2;Zoë\n", little_endian, true);
        let table = probe("wide.csv", &bytes);
        assert_eq!(table.status, TableStatus::Available, "{name}: {:?}", table.warnings);
        assert_eq!(sniff(&table).encoding, name);
        assert_eq!(sniff(&table).delimiter, ";");
        assert_eq!(names(&table), ["id", "name"]);
        assert_eq!(table.row_estimate, Some(2));
        let rows = preview("wide.csv", &bytes, 10).rows;
        assert_eq!(rows, [[json!(1), json!("café")], [json!(2), json!("Zoë")]]);
    }
}

#[test]
fn utf16_without_a_byte_order_mark_is_recognised() {
    let table = probe("nobom.csv", &utf16("id,name\n1,a\n2,b\n", true, false));
    assert_eq!(table.status, TableStatus::Available);
    assert_eq!(sniff(&table).encoding, "utf-16le");
    assert_eq!(names(&table), ["id", "name"]);
}

#[test]
fn windows_1252_bytes_are_decoded_and_the_table_is_available_with_its_encoding() {
    let table = probe("latin.csv", b"name\ncaf\xe9\n");
    assert_eq!(table.status, TableStatus::Available, "a legacy encoding decodes every byte: nothing is lost");
    assert_eq!(sniff(&table).encoding, "windows-1252");
    assert!(table.warnings.iter().any(|w| w.contains("Windows-1252")), "{:?}", table.warnings);
    assert_eq!(preview("latin.csv", b"name\ncaf\xe9\n", 10).rows, [[json!("café")]]);
}

#[test]
fn a_utf8_character_cut_by_the_sample_end_does_not_make_it_windows_1252() {
    // Find a padding that puts the first byte of an `é` last in the sample the probe reads
    // (it reads SAMPLE_BYTES + 1 bytes).
    let content = (0..4)
        .map(|pad| {
            let mut text = format!("name{}\n", "x".repeat(pad));
            while text.len() < SAMPLE_BYTES + 4096 {
                text.push_str("éééééééééé\n");
            }
            text
        })
        .find(|text| text.as_bytes()[SAMPLE_BYTES] == 0xC3)
        .unwrap();
    let table = probe("cut.csv", content.as_bytes());
    assert_eq!(sniff(&table).encoding, "utf-8");
    assert_eq!(table.status, TableStatus::Available, "{:?}", table.warnings);
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
    assert!(!table.row_count_exact);
}

#[test]
fn nul_bytes_are_not_a_text_file() {
    let mut bytes = b"id,name\n".to_vec();
    bytes.extend(std::iter::repeat_n([0u8, 0, 0, 7, 0xFF, 0x10], 500).flatten());
    let table = probe("blob.csv", &bytes);
    assert_eq!(table.status, TableStatus::Error);
    assert!(table.error.as_deref().unwrap().contains("not a text file"), "{:?}", table.error);
    let dir = file("blob.csv", &bytes);
    let err = preview_in(dir.path(), "blob.csv", 5).unwrap_err();
    assert!(err.to_string().contains("not a text file"), "{err}");
}

#[test]
fn random_bytes_are_not_a_text_file() {
    let mut next = crate::testing::random(0x2545_f491_4f6c_dd1d);
    let bytes: Vec<u8> = (0..20_000).map(|_| (next() >> 24) as u8).collect();
    let dir = file("noise.txt", &bytes);
    let table = probe_in(dir.path(), "noise.txt");
    assert_eq!(table.status, TableStatus::Error, "{table:?}");
}

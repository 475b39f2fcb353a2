//! `.xls` and `.ods` files, which calamine builds whole when it opens them: honest ones are
//! read, and ones whose structure or repeats would make calamine loop, abort or take gigabytes
//! are one `error` table saying why (see `biff.rs` and `repeats.rs`). The files are written
//! here byte by byte: a compound file around BIFF8 records, and a zip around `content.xml`.

use std::io::Write;

use dat_contracts::TableStatus;

use super::ExcelAdapter;
use crate::testing::{read_bytes, Collected};
use crate::ReadOptions;

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FREESECT: u32 = 0xFFFF_FFFF;

fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut out = typ.to_le_bytes().to_vec();
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn bof(sheet: bool) -> Vec<u8> {
    let kind: u16 = if sheet { 0x0010 } else { 0x0005 };
    let mut data = 0x0600u16.to_le_bytes().to_vec();
    data.extend_from_slice(&kind.to_le_bytes());
    data.extend_from_slice(&[0xBB, 0x0D, 0xCC, 0x07, 0, 0, 0, 0, 6, 0, 0, 0]);
    record(0x0809, &data)
}

fn cell(row: u16, col: u16) -> Vec<u8> {
    [row.to_le_bytes(), col.to_le_bytes(), 0u16.to_le_bytes()].concat()
}

/// A NUMBER record.
fn number(row: u16, col: u16, value: f64) -> Vec<u8> {
    record(0x0203, &[cell(row, col), value.to_le_bytes().to_vec()].concat())
}

/// A LABELSST record: shared string `index`.
fn label(row: u16, col: u16, index: u32) -> Vec<u8> {
    record(0x00FD, &[cell(row, col), index.to_le_bytes().to_vec()].concat())
}

/// A DIMENSIONS record (BIFF8): rows `first..last`, columns `first..last` (ends excluded).
fn dimensions(rows: (u32, u32), cols: (u16, u16)) -> Vec<u8> {
    let data =
        [&rows.0.to_le_bytes()[..], &rows.1.to_le_bytes(), &cols.0.to_le_bytes(), &cols.1.to_le_bytes(), &[0, 0]];
    record(0x0200, &data.concat())
}

/// A BIFF8 workbook stream: one sheet `Data` holding `sheet` (records), shared `strings`.
fn workbook(strings: &[&str], sheet: &[Vec<u8>]) -> Vec<u8> {
    let mut sst = [(strings.len() as u32).to_le_bytes(), (strings.len() as u32).to_le_bytes()].concat();
    for s in strings {
        sst.extend_from_slice(&(s.len() as u16).to_le_bytes());
        sst.push(0);
        sst.extend_from_slice(s.as_bytes());
    }
    let boundsheet = |pos: u32| record(0x0085, &[&pos.to_le_bytes()[..], &[0, 0, 4, 0], b"Data"].concat());
    let globals_len = bof(false).len() + boundsheet(0).len() + record(0x00FC, &sst).len() + 4;
    let mut stream = [bof(false), boundsheet(globals_len as u32), record(0x00FC, &sst), record(0x000A, &[])].concat();
    stream.extend(bof(true));
    stream.extend(sheet.concat());
    stream.extend(record(0x000A, &[]));
    // At least 4096 bytes, so that the stream lives in the file's own sectors.
    stream.resize(stream.len().max(4096).next_multiple_of(512), 0);
    stream
}

/// A compound file holding `stream` as `Workbook`: header, the allocation table's sectors,
/// one directory sector, then the stream. `loops` makes the directory chain point at itself.
fn compound_file(stream: &[u8], loops: bool) -> Vec<u8> {
    let sectors = stream.len().div_ceil(512);
    let tables = (sectors + 1).div_ceil(127);
    assert!(tables <= 109, "the header lists every table sector");
    let dir = tables as u32;
    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    let put16 = |h: &mut Vec<u8>, at: usize, v: u16| h[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |h: &mut Vec<u8>, at: usize, v: u32| h[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put16(&mut header, 24, 0x003E);
    put16(&mut header, 26, 3);
    put16(&mut header, 28, 0xFFFE);
    put16(&mut header, 30, 9);
    put16(&mut header, 32, 6);
    put32(&mut header, 44, tables as u32);
    put32(&mut header, 48, dir);
    put32(&mut header, 56, 4096);
    put32(&mut header, 60, ENDOFCHAIN);
    put32(&mut header, 68, ENDOFCHAIN);
    for i in 0..109 {
        put32(&mut header, 76 + 4 * i, if i < tables { i as u32 } else { FREESECT });
    }
    let mut fat = vec![FREESECT; tables * 128];
    fat[..tables].fill(0xFFFF_FFFD);
    fat[tables] = if loops { dir } else { ENDOFCHAIN };
    let first = tables + 1;
    for i in 0..sectors {
        fat[first + i] = if i + 1 == sectors { ENDOFCHAIN } else { (first + i + 1) as u32 };
    }
    let mut directory = vec![0u8; 512];
    let entries = [(0, "Root Entry", 5u8, ENDOFCHAIN, 0u32), (1, "Workbook", 2, first as u32, stream.len() as u32)];
    for (slot, name, kind, start, len) in entries {
        let entry = &mut directory[slot * 128..(slot + 1) * 128];
        let units: Vec<u8> = name.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
        entry[..units.len()].copy_from_slice(&units);
        entry[64..66].copy_from_slice(&(units.len() as u16).to_le_bytes());
        entry[66] = kind;
        entry[68..80].copy_from_slice(&[0xFF; 12]);
        entry[116..120].copy_from_slice(&start.to_le_bytes());
        entry[120..124].copy_from_slice(&len.to_le_bytes());
    }
    let mut file = header;
    file.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
    file.extend(directory);
    file.extend_from_slice(stream);
    file.resize(512 * (1 + tables + 1 + sectors), 0);
    file
}

/// An `.ods` whose first sheet, `Data`, holds `rows` (`<table:table-row>` elements).
fn ods(rows: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Data">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body, options) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet", stored),
        ("META-INF/manifest.xml", manifest, deflated),
        ("content.xml", content.as_str(), deflated),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn text(value: &str) -> String {
    format!(r#"<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>"#)
}

fn float(value: f64) -> String {
    format!(
        r#"<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>"#
    )
}

fn read(name: &str, bytes: &[u8]) -> (Result<crate::ReadEnd, crate::ReadError>, Collected) {
    read_bytes(&ExcelAdapter, name, bytes, None, &ReadOptions::default(), None)
}

/// The one table a probe of `bytes` saved as `name` gives, and its error.
fn probed(name: &str, bytes: &[u8]) -> (TableStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    let path = dat_contracts::WorkspacePath::parse(name).unwrap();
    let disk = dir.path().join(name);
    let file = crate::SourceFile::new(&path, &disk, None);
    let tables = crate::Adapter::probe(&ExcelAdapter, &file, &ReadOptions::default());
    assert_eq!(tables.len(), 1, "{name}: {tables:?}");
    (tables[0].status, tables[0].error.clone().unwrap_or_default())
}

/// A small honest `.xls`: header `a`, `b`, two rows (also a seed of the mutation tests).
pub(crate) fn honest_xls() -> Vec<u8> {
    let sheet = [label(0, 0, 0), label(0, 1, 1), number(1, 0, 1.5), number(1, 1, 2.0), number(2, 0, 2.5)];
    compound_file(&workbook(&["a", "b"], &sheet), false)
}

/// A small honest `.ods`: header `a`, `b`, then two rows and LibreOffice's repeated empties.
pub(crate) fn honest_ods() -> Vec<u8> {
    ods(&honest_ods_rows())
}

fn honest_ods_rows() -> String {
    // LibreOffice's habit: the rest of each row and of the sheet as repeated empty cells.
    let empty_rest = r#"<table:table-cell table:number-columns-repeated="16382"/>"#;
    format!(
        r#"<table:table-row>{}{}{empty_rest}</table:table-row><table:table-row table:number-rows-repeated="2">{}{}{empty_rest}</table:table-row><table:table-row table:number-rows-repeated="1048573"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
        text("a"),
        text("b"),
        float(1.5),
        float(2.0),
    )
}

#[test]
fn honest_xls_and_ods_files_are_read() {
    let (result, got) = read("book.xls", &honest_xls());
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(got.column("a").0, [Some("1.5".to_owned()), Some("2.5".to_owned())]);
    assert_eq!(got.column("b").0, [Some("2".to_owned()), None]);

    let rows = honest_ods_rows();
    let (result, got) = read("book.ods", &ods(&rows));
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(got.column("a").0, [Some("1.5".to_owned()), Some("1.5".to_owned())]);
    let cost = super::repeats::cost_of(&rows).unwrap();
    assert!((1..1 << 20).contains(&cost), "the trailing empty cells and rows cost nothing: {cost}");
}

#[test]
fn an_xls_whose_directory_chain_loops_is_one_error_table() {
    // calamine followed this chain until memory ran out.
    let xls = compound_file(&workbook(&["a"], &[label(0, 0, 0)]), true);
    assert_eq!(xls.len(), 512 * 11);
    let (status, error) = probed("loop.xls", &xls);
    assert_eq!(status, TableStatus::Error);
    assert!(error.contains("container is damaged: a sector chain loops"), "{error}");
}

#[test]
fn an_xls_whose_cells_span_a_huge_grid_is_one_error_table() {
    // Two cells, one at A1 and one at row 65,536, column 65,536: calamine's dense grid of them
    // is 4.3 G cells (137 GB), and the failed allocation aborted the process.
    let xls = compound_file(&workbook(&["a"], &[label(0, 0, 0), number(65535, 65535, 1.0)]), false);
    let (status, error) = probed("far.xls", &xls);
    assert_eq!(status, TableStatus::Error);
    assert!(error.contains("reading this xls whole would take about"), "{error}");
    assert!(error.contains("save it as xlsx"), "{error}");
}

#[test]
fn an_xls_declaring_huge_dimensions_is_one_error_table() {
    // Rows 0..4,000,000,000: calamine reserved that many rows of cells before reading any.
    let sheet = [dimensions((0, 4_000_000_000), (0, 200)), label(0, 0, 0)];
    let (status, error) = probed("dims.xls", &compound_file(&workbook(&["a"], &sheet), false));
    assert_eq!(status, TableStatus::Error);
    assert!(error.contains("reading this xls whole would take about"), "{error}");
    // The same sheet with the dimensions it really has is read.
    let sheet = [dimensions((0, 2), (0, 1)), label(0, 0, 0), number(1, 0, 1.0)];
    assert_eq!(probed("dims.xls", &compound_file(&workbook(&["a"], &sheet), false)).0, TableStatus::Available);
}

#[test]
fn an_xls_whose_cells_copy_a_long_shared_string_is_one_error_table() {
    // 5,000 cells (50 KB of records) each naming one 60,000-character string: calamine gives
    // each cell its own copy, 300 MB.
    let long = "x".repeat(60_000);
    let mut sheet = vec![label(0, 0, 1)];
    sheet.extend((1..5_000).map(|row| label(row, 0, 0)));
    let file = compound_file(&workbook(&[&long, "name"], &sheet), false);
    let (status, error) = probed("strings.xls", &file);
    assert_eq!(status, TableStatus::Error);
    assert!(error.contains("reading this xls whole would take about"), "{error}");
}

#[test]
fn an_ods_whose_repeats_expand_past_the_budget_is_one_error_table() {
    // 1 KB of XML: a row of 16,384 copies of a 100-character string, repeated 6,000 times:
    // 98 M cells, under calamine's own cap of 100 M, and about 15 GB once built.
    let rows = format!(
        r#"<table:table-row>{}</table:table-row><table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>{}</text:p></table:table-cell></table:table-row>"#,
        text("a"),
        "y".repeat(100)
    );
    let (status, error) = probed("repeats.ods", &ods(&rows));
    assert_eq!(status, TableStatus::Error);
    assert!(error.contains("its repeated rows and cells would take about"), "{error}");
    // Empty rows between two rows are built too: 1,000,000 of them, 16,384 columns wide.
    let rows = format!(
        r#"<table:table-row>{}<table:table-cell table:number-columns-repeated="16382"/>{}</table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell/></table:table-row><table:table-row>{}</table:table-row>"#,
        text("a"),
        text("b"),
        text("c")
    );
    let cost = super::repeats::cost_of(&rows).unwrap();
    assert!(cost > 1_000_000 * 16_384 * 50, "empty rows inside the sheet are counted: {cost}");
}

#[test]
fn an_xls_string_record_before_any_formula_counts_as_a_cell_at_a1() {
    // calamine puts a STRING record's value at the last formula's cell, (0, 0) before one: with
    // a number at (65535, 65535) that is a 4.3 G-cell grid again.
    let string = record(0x0207, &[1, 0, 0, b'x']);
    let sheet = [number(65535, 65535, 1.0), string];
    let (status, error) = probed("late.xls", &compound_file(&workbook(&["a"], &sheet), false));
    assert_eq!(status, TableStatus::Error);
    assert!(error.contains("reading this xls whole would take about"), "{error}");
}

#[test]
fn ods_spaces_and_a_content_cut_inside_a_sheet_are_counted_or_refused() {
    // `<text:s text:c="N"/>` is N spaces in calamine's string.
    let spaces = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="4000000000"/></text:p></table:table-cell></table:table-row>"#;
    assert!(super::repeats::cost_of(spaces).unwrap() >= 4_000_000_000);
    // calamine reads a sheet until its end tag: cut before it, it would never stop.
    let cut = r#"<table:table table:name="t"><table:table-row><table:table-cell/></table:table-row>"#;
    let Err(error) = super::repeats::cost_of_content(cut) else { panic!("a sheet without its end") };
    assert!(error.contains("it ends inside a sheet"), "{error}");
}

/// A MULRK record: `count` numbers in row `row` from column `first`.
fn mul_rk(row: u16, first: u16, count: u16) -> Vec<u8> {
    let mut data = [row.to_le_bytes(), first.to_le_bytes()].concat();
    for _ in 0..count {
        data.extend_from_slice(&[0, 0, 0x02, 0, 0, 0]); // format 0, the integer 0
    }
    data.extend_from_slice(&first.wrapping_add(count).wrapping_sub(1).to_le_bytes());
    record(0x00BD, &data)
}

#[test]
fn mulrk_columns_count_on_past_65535_as_calamine_counts_them() {
    // calamine numbers a MULRK's columns from the first as u32: 1,000 from column 65,000 span
    // 1,000 columns, as many as 1,000 from column 0 (the last column field wraps).
    let cost = |first| super::biff::workbook_cost(&workbook(&[], &[mul_rk(0, first, 1_000)])).unwrap();
    assert_eq!(cost(65_000), cost(0));
    // A record whose length does not match its last column fails calamine's sheet: refused.
    let mut bad = mul_rk(0, 0, 10);
    let at = bad.len() - 2;
    bad[at] = 20;
    let error = super::biff::workbook_cost(&workbook(&[], &[bad])).unwrap_err();
    assert!(error.contains("damaged cell record"), "{error}");
}

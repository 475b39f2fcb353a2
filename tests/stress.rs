//! Hostile and huge inputs, generated at run time, each through `dat run` with its peak RSS
//! measured from outside the process (GNU time, which reads the child's rusage): memory stays
//! under 200 MiB and nothing is lost. They need the release build, so they are ignored in the
//! debug run and run by `scripts/test` as `cargo test --release --test e2e stress -- --ignored`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use serde_json::Value;

/// The memory every input must fit in (SPEC §7).
const LIMIT_MIB: u64 = 200;

/// What `dat run` left: its output, peak RSS, the parse result and the rejects.
struct Ran {
    stdout: String,
    peak_mib: u64,
    result: Value,
    rejects: DataFrame,
    rows: u64,
    _dir: tempfile::TempDir,
}

/// Runs `dat run` on `folder` under GNU time.
fn run(folder: &Path) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let (data_dir, out) = (dir.path().join("data-dir"), dir.path().join("out"));
    let output = Command::new("/usr/bin/time")
        .args(["-f", "peak_rss_kib=%M"])
        .arg(env!("CARGO_BIN_EXE_dat"))
        .args([
            "run".as_ref(),
            folder.as_os_str(),
            "--data-dir".as_ref(),
            data_dir.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .output()
        .expect("run /usr/bin/time (scripts/test installs it: apt-get install time)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "dat run failed:\n{stdout}\n{stderr}");
    let peak_kib: u64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let bundle = crate::support::parse_bundle(&data_dir, &out);
    let result: Value = serde_json::from_slice(&std::fs::read(bundle.join("result.json")).unwrap()).unwrap();
    let rejects = ParquetReader::new(File::open(bundle.join("rejects.parquet")).unwrap()).finish().unwrap();
    let rows = manifest["row_count"].as_u64().unwrap();
    println!("{}: {rows} rows, peak RSS {} MiB", folder.display(), peak_kib / 1024);
    Ran { stdout, peak_mib: peak_kib / 1024, result, rejects, rows, _dir: dir }
}

fn folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    (dir, data)
}

fn within_memory(ran: &Ran) {
    assert!(ran.peak_mib <= LIMIT_MIB, "peak RSS {} MiB > {LIMIT_MIB} MiB\n{}", ran.peak_mib, ran.stdout);
}

/// Every one of `rows` rows read, and no reject.
fn every_row(ran: &Ran, rows: u64) {
    assert_eq!(ran.rows, rows, "every row");
    assert_eq!(ran.rejects.height(), 0);
}

/// One partial table with exactly one reject, at `line` of `file`.
fn one_reject(ran: &Ran, file: &str, line: i64) {
    let problems = ran.result["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{}", ran.result);
    assert_eq!((problems[0]["status"].as_str(), problems[0]["rejects"].as_u64()), (Some("partial"), Some(1)));
    assert_eq!(ran.rejects.height(), 1);
    let file_column = ran.rejects.column("file").unwrap().str().unwrap().get(0).map(str::to_owned);
    assert_eq!(file_column.as_deref(), Some(file));
    assert_eq!(ran.rejects.column("line").unwrap().i64().unwrap().get(0), Some(line));
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_a_small_gzip_that_inflates_to_300_mb_is_read_in_bounded_memory() {
    let (_dir, data) = folder();
    let mut gz = flate2::write::GzEncoder::new(
        BufWriter::new(File::create(data.join("big.csv.gz")).unwrap()),
        flate2::Compression::new(6),
    );
    gz.write_all(b"id,wafer,cd,tool\n").unwrap();
    let (mut rows, mut bytes) = (0u64, 0u64);
    while bytes < 300 << 20 {
        let line = format!("{rows},W{:02},{}.5,CD{}\n", rows % 25, 40 + rows % 9, rows % 4);
        bytes += line.len() as u64;
        gz.write_all(line.as_bytes()).unwrap();
        rows += 1;
    }
    gz.finish().unwrap().flush().unwrap();
    let ran = run(&data);
    within_memory(&ran);
    every_row(&ran, rows);
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_a_json_array_of_a_million_objects_is_read_in_bounded_memory() {
    let (_dir, data) = folder();
    let mut out = BufWriter::new(File::create(data.join("many.json")).unwrap());
    out.write_all(b"[\n").unwrap();
    let rows = 1_000_000u64;
    for i in 0..rows {
        let sep = if i + 1 < rows { "," } else { "" };
        writeln!(out, r#"{{"id": {i}, "lot": "L{}", "cd": {}.25, "nested": {{"x": [{i}]}}}}{sep}"#, i % 7, i % 50)
            .unwrap();
    }
    out.write_all(b"]\n").unwrap();
    out.flush().unwrap();
    let ran = run(&data);
    within_memory(&ran);
    assert_eq!(ran.rows, rows);
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_an_xlsx_of_half_a_million_rows_with_shared_strings_is_streamed() {
    let (_dir, data) = folder();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_low_memory().unwrap();
    for (c, name) in ["id", "wafer", "cd", "code"].into_iter().enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    let rows = 500_000u32;
    for r in 1..=rows {
        sheet.write_number(r, 0, f64::from(r)).unwrap();
        sheet.write_string(r, 1, format!("W{:02}", r % 25)).unwrap();
        sheet.write_number(r, 2, 40.0 + f64::from(r % 97) / 10.0).unwrap();
        sheet.write_string(r, 3, format!("ID-{r:07}")).unwrap(); // one shared string each
    }
    book.save(data.join("book.xlsx")).unwrap();
    let ran = run(&data);
    within_memory(&ran);
    assert_eq!(ran.rows, u64::from(rows));
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_an_unterminated_quote_on_line_2_is_one_reject_and_every_later_row_is_kept() {
    let (_dir, data) = folder();
    let mut out = BufWriter::new(File::create(data.join("quote.csv")).unwrap());
    out.write_all(b"id,text\n1,\"never closed\n").unwrap();
    let (mut records, mut bytes) = (1u64, 0u64);
    while bytes < 100 << 20 {
        records += 1;
        let line = format!("{records},row number {records}\n");
        bytes += line.len() as u64;
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
    let ran = run(&data);
    within_memory(&ran);
    one_reject(&ran, "quote.csv", 2);
    assert_eq!(ran.rows, records - 1, "every record but the broken one");
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_a_100_mb_jsonl_line_is_one_reject_and_the_lines_around_it_are_kept() {
    let (_dir, data) = folder();
    let mut out = BufWriter::new(File::create(data.join("lines.jsonl")).unwrap());
    for i in 0..1000 {
        writeln!(out, r#"{{"i": {i}}}"#).unwrap();
    }
    out.write_all(br#"{"i": -1, "blob": ""#).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..100 {
        out.write_all(&chunk).unwrap();
    }
    out.write_all(b"\"}\n").unwrap();
    for i in 1000..2000 {
        writeln!(out, r#"{{"i": {i}}}"#).unwrap();
    }
    out.flush().unwrap();
    let ran = run(&data);
    within_memory(&ran);
    one_reject(&ran, "lines.jsonl", 1001);
    assert_eq!(ran.rows, 2000);
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_wide_text_rows_of_2_kb_are_read_in_bounded_memory() {
    // Rows this wide fill the dataset's row groups by bytes, not rows: three of them in memory
    // at once (two encoding, one gathering) took `dat run` to 205–219 MiB before they were
    // capped at 16 MiB each.
    let (_dir, data) = folder();
    let mut out = BufWriter::new(File::create(data.join("notes.csv")).unwrap());
    out.write_all(b"id,note\n").unwrap();
    let rows = 100_000u64;
    let note = "y".repeat(2000);
    for i in 0..rows {
        writeln!(out, "{i},{note}").unwrap();
    }
    out.flush().unwrap();
    let ran = run(&data);
    within_memory(&ran);
    every_row(&ran, rows);
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_a_large_file_gives_the_same_dataset_bytes_on_one_core_as_on_all() {
    // Large enough to be read in ranges (64 MiB).
    let (_dir, data) = folder();
    let mut file = BufWriter::new(File::create(data.join("big.csv")).unwrap());
    writeln!(file, "id,lot,value,when").unwrap();
    for i in 0..1_600_000u64 {
        writeln!(
            file,
            "{i},LOT-{:05},{}.{:03},2024-0{}-1{} 10:2{}:00",
            i % 977,
            i % 9_973,
            i % 1_000,
            1 + i % 9,
            i % 10,
            i % 10
        )
        .unwrap();
    }
    file.flush().unwrap();
    drop(file);
    assert!(std::fs::metadata(data.join("big.csv")).unwrap().len() > 64 << 20);
    let sha = |one_core: bool| -> String {
        let dir = tempfile::tempdir().unwrap();
        let (data_dir, out) = (dir.path().join("data-dir"), dir.path().join("out"));
        let mut command = if one_core { Command::new("taskset") } else { Command::new(env!("CARGO_BIN_EXE_dat")) };
        if one_core {
            command.args(["--cpu-list", "0", env!("CARGO_BIN_EXE_dat")]);
        }
        let output = command
            .args(["run".as_ref(), data.as_os_str(), "--data-dir".as_ref(), data_dir.as_os_str()])
            .args(["--out".as_ref(), out.as_os_str(), "--export".as_ref(), "parquet".as_ref()])
            .output()
            .expect("dat run (taskset is in util-linux)");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["row_count"], 1_600_000);
        manifest["version_id"].as_str().unwrap().to_owned()
    };
    assert_eq!(sha(true), sha(false), "the dataset's sha256 on one core and on all");
}

/// A 1.5 KB `.xls` whose directory chain points at itself: calamine followed such a chain until
/// memory ran out (see `excel/compound.rs`).
fn looping_xls() -> Vec<u8> {
    const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
    let mut file = vec![0u8; 512 * 3];
    file[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    let mut put = |at: usize, bytes: &[u8]| file[at..at + bytes.len()].copy_from_slice(bytes);
    put(24, &[0x3E, 0, 3, 0, 0xFE, 0xFF, 9, 0, 6, 0]); // versions, byte order, sector shifts
    put(44, &1u32.to_le_bytes()); // one allocation table sector (sector 0)
    put(48, &1u32.to_le_bytes()); // the directory starts at sector 1
    put(56, &4096u32.to_le_bytes());
    put(60, &ENDOFCHAIN.to_le_bytes());
    put(68, &ENDOFCHAIN.to_le_bytes());
    put(76, &0u32.to_le_bytes());
    for i in 1..109 {
        put(76 + 4 * i, &u32::MAX.to_le_bytes());
    }
    // Sector 0, the table: itself, then sector 1 (the directory) followed by sector 1 again.
    put(512, &0xFFFF_FFFDu32.to_le_bytes());
    put(516, &1u32.to_le_bytes());
    for i in 2..128 {
        put(512 + 4 * i, &u32::MAX.to_le_bytes());
    }
    let name: Vec<u8> = "Root Entry".encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
    put(1024, &name);
    put(1024 + 64, &(name.len() as u16).to_le_bytes());
    put(1024 + 66, &[5]);
    file
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_an_xls_whose_sector_chain_loops_is_one_error_table_and_the_run_goes_on() {
    let (_dir, data) = folder();
    std::fs::write(data.join("loop.xls"), looping_xls()).unwrap();
    std::fs::write(data.join("ok.csv"), "a,b\n1,2\n3,4\n").unwrap();
    let ran = run(&data);
    within_memory(&ran);
    every_row(&ran, 2);
    assert!(
        ran.stdout.contains("not read: loop.xls: the xls file's container is damaged: a sector chain loops"),
        "{}",
        ran.stdout
    );
}

/// A Parquet file of one string column whose one GZIP page says it decodes to 2 MB and holds a
/// gzip stream of 1 GiB of zeros (about 1 MB on disk). The crate's GZIP decoder grows its
/// output to what the stream holds before comparing it with the header.
fn write_gzip_bomb_parquet(path: &Path) {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, GzipLevel};
    use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
    use parquet::file::properties::WriterProperties;
    // 2 MB of letters (about 1.2 MB under GZIP): the page's sizes take 4-byte varints.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let letters: String = (0..2_000_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b'a' + (seed % 26) as u8)
        })
        .collect();
    let batch = arrow_array::RecordBatch::try_from_iter([(
        "s",
        std::sync::Arc::new(arrow_array::StringArray::from(vec![letters])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::GZIP(GzipLevel::default()))
        .build();
    let mut honest = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut honest, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    std::fs::write(path, &honest).unwrap();
    let metadata = ParquetMetaDataReader::new().parse_and_finish(&File::open(path).unwrap()).unwrap();
    let chunk = metadata.row_group(0).column(0).clone();
    let at = chunk.data_page_offset() as usize;
    // The header: type (0x15, one byte), uncompressed size (0x15, 4 bytes), compressed size
    // (0x15, 4 bytes), then the rest; the chunk is the one page.
    assert_eq!((honest[at], honest[at + 2], honest[at + 7]), (0x15, 0x15, 0x15), "a v1 page header at {at}");
    let varint = |bytes: &[u8]| bytes.iter().rev().fold(0u64, |v, b| (v << 7) | u64::from(b & 0x7F));
    let compressed = (varint(&honest[at + 8..at + 12]) >> 1) as usize;
    let header_len = chunk.compressed_size() as usize - compressed;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gzip.write_all(&zeros).unwrap();
    }
    let body = gzip.finish().unwrap();
    let mut zigzag = (body.len() as u64) << 1;
    let mut file = honest[..at + header_len].to_vec();
    for (i, byte) in file[at + 8..at + 12].iter_mut().enumerate() {
        *byte = (zigzag & 0x7F) as u8 | if i < 3 { 0x80 } else { 0 };
        zigzag >>= 7;
    }
    assert_eq!(zigzag, 0, "the body's size fits 4 bytes");
    file.extend_from_slice(&body);
    let chunk = chunk.into_builder().set_total_compressed_size((header_len + body.len()) as i64).build().unwrap();
    let mut builder = metadata.into_builder();
    let groups = builder
        .take_row_groups()
        .into_iter()
        .map(|group| group.into_builder().set_column_metadata(vec![chunk.clone()]).build().unwrap())
        .collect();
    let metadata = builder.set_row_groups(groups).build();
    ParquetMetaDataWriter::new(&mut file, &metadata).finish().unwrap();
    assert!(file.len() < 8 << 20, "{} bytes", file.len());
    std::fs::write(path, file).unwrap();
}

#[test]
#[ignore = "stress: needs the release build (scripts/test runs it)"]
fn stress_a_gzip_parquet_page_that_inflates_past_its_header_is_one_error_table() {
    let (_dir, data) = folder();
    write_gzip_bomb_parquet(&data.join("bomb.parquet"));
    std::fs::write(data.join("ok.csv"), "a,b\n1,2\n3,4\n").unwrap();
    let ran = run(&data);
    within_memory(&ran);
    every_row(&ran, 2);
    let expected = "failed: bomb.parquet: [unreadable] bomb.parquet: column `s`: the GZIP page at byte 4 decodes to \
                    more than the 2000004 bytes its header declares";
    assert!(ran.stdout.contains(expected), "{}", ran.stdout);
}

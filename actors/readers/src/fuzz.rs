//! Mutation tests: each adapter's `probe` and `read` called directly (no `catch_unwind` between
//! this test and the adapter) on thousands of byte-level mutations of valid files, each case
//! with a deadline. Any panic or hang fails the test and names the case, whose bytes are kept
//! in `target/fuzz-failures/` to be replayed.

use std::sync::mpsc;
use std::time::Duration;

use dat_contracts::WorkspacePath;

use crate::testing::Collected;
use crate::{AdapterRegistry, ReadOptions, SourceFile};

/// Cases per seed file.
const CASES: u64 = 1500;
/// The longest a case may take (the debug build is slow; a hang is minutes).
const DEADLINE: Duration = Duration::from_secs(20);

/// A small deterministic generator (xorshift64*), so every run tries the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the formats: quotes, separators, brackets, line ends, high bytes.
const INTERESTING: &[u8] = b"\"',;\t|\n\r{}[]:\\0\xff\xfe\xef\xbb\xbf\x00PK";

/// One mutation of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = (rng.next() & 0xff) as u8;
            }
            2 => bytes.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            3 => {
                let end = (at + rng.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(256)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
            5 => bytes.truncate(at),
            _ => {
                // A run of one byte: a long field, a deep nesting, a long line.
                let b = INTERESTING[rng.below(INTERESTING.len())];
                bytes.splice(at..at, std::iter::repeat_n(b, rng.below(2048)));
            }
        }
    }
    bytes
}

/// Probes and reads `bytes` as `name` with small chunks and caps, so every limit is exercised.
fn exercise(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = dir.path().join(name);
    std::fs::write(&disk, bytes).expect("write");
    let path = WorkspacePath::parse(name).expect("path");
    let registry = AdapterRegistry::default();
    let Some((adapter, compression)) = registry.for_name(name) else { panic!("no adapter for {name}") };
    let file = SourceFile::new(&path, &disk, compression);
    let options = ReadOptions {
        chunk_rows: 7,
        chunk_bytes: 4096,
        record_cap: 512,
        max_columns: 64,
        whole_workbook_limit: 1 << 20,
        ..ReadOptions::default()
    };
    let tables = adapter.probe(&file, &options);
    for table in tables.iter().filter(|t| t.status.selectable()) {
        let mut sink = Collected::default();
        let _ = adapter.read(&file, table.sheet.as_deref(), &options, &mut sink);
    }
    let _ = adapter.preview(&file, tables.first().and_then(|t| t.sheet.as_deref()), 5, &crate::ReadOptions::default());
}

/// Runs `CASES` mutations of each seed, each on a thread with a deadline.
fn fuzz(name: &str, seeds: &[Vec<u8>], salt: u64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ salt);
    for (s, seed) in seeds.iter().enumerate() {
        for case in 0..CASES {
            let bytes = if case == 0 { seed.clone() } else { mutate(seed, &mut rng) };
            let (done, finished) = mpsc::channel();
            let input = bytes.clone();
            let owned = name.to_owned();
            let worker = std::thread::spawn(move || {
                exercise(&owned, &input);
                let _ = done.send(());
            });
            let outcome = finished.recv_timeout(DEADLINE);
            if outcome.is_err() {
                let kept = keep(name, s, case, &bytes);
                match worker.join() {
                    Err(_) => panic!("{name}: seed {s} case {case} panicked; bytes in {kept}"),
                    Ok(()) => panic!("{name}: seed {s} case {case} took over {DEADLINE:?}; bytes in {kept}"),
                }
            }
            if worker.join().is_err() {
                panic!("{name}: seed {s} case {case} panicked; bytes in {}", keep(name, s, case, &bytes));
            }
        }
    }
}

/// Saves a failing case where it can be replayed.
fn keep(name: &str, seed: usize, case: u64, bytes: &[u8]) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{seed}-{case}-{name}"));
    let _ = std::fs::write(&path, bytes);
    path.display().to_string()
}

#[test]
fn delimited_text_survives_mutations() {
    let seeds = [
        b"id,name,value,when\n1,\"a, b\",1.5,2026-01-02\n2,\"say \"\"hi\"\"\",,2026-01-03T04:05:06Z\n3,x,NULL,\n"
            .to_vec(),
        "a;b;c\n1;2,5;x\n\"q\";\"\";é\n".as_bytes().to_vec(),
        b"\xff\xfea\x00\t\x00b\x00\n\x001\x00\t\x002\x00\n\x00".to_vec(),
    ];
    fuzz("t.csv", &seeds, 1);
}

#[test]
fn json_and_json_lines_survive_mutations() {
    let document =
        br#"[{"a": 1, "b": "x", "n": {"k": [1, 2.5e3, null]}}, {"a": -2, "c": true}, {"b": "\u00e9\"", "a": 1.50}]"#;
    fuzz("t.json", &[document.to_vec(), br#"{"meta": {"lot": "L1"}, "rows": [1, 2]}"#.to_vec()], 2);
    let lines = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": [1, {\"c\": null}]}\n\n{\"a\": 3.25}\n";
    fuzz("t.jsonl", &[lines.to_vec()], 3);
}

#[test]
fn gzip_text_survives_mutations() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"a,b\n1,2\n3,4\n\"x\",\"y\"\n").expect("gzip");
    fuzz("t.csv.gz", &[gz.finish().expect("gzip")], 4);
}

#[test]
fn workbooks_survive_mutations() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "id").expect("cell");
    sheet.write_string(0, 1, "name").expect("cell");
    for r in 1..20u32 {
        sheet.write_number(r, 0, f64::from(r) * 1.5).expect("cell");
        sheet.write_string(r, 1, format!("n{r}")).expect("cell");
    }
    let xlsx = book.save_to_buffer().expect("xlsx");
    fuzz("t.xlsx", std::slice::from_ref(&xlsx), 5);
    // Workbook bytes under the names of the formats read whole, and real ones of those.
    fuzz("t.ods", &[xlsx, crate::excel::whole_tests::honest_ods()], 6);
    fuzz("t.xls", &[crate::excel::whole_tests::honest_xls()], 7);
}

#[test]
fn parquet_survives_mutations() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("v", Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-2.0)])) as ArrayRef),
        ("s", Arc::new(StringArray::from(vec!["a", "b", "a"])) as ArrayRef),
    ])
    .expect("batch");
    let mut plain = Vec::new();
    let mut writer = ::parquet::arrow::ArrowWriter::try_new(&mut plain, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    // Nested values, a dictionary and v2 data pages.
    let mut list = arrow_array::builder::ListBuilder::new(arrow_array::builder::Int32Builder::new());
    for n in 0..3 {
        list.values().append_value(n);
        list.append(n != 1);
    }
    let lots: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
        vec!["L1", "L1", "L2"].into_iter().collect();
    let nested = RecordBatch::try_from_iter([
        ("tags", Arc::new(list.finish()) as ArrayRef),
        ("lot", Arc::new(lots) as ArrayRef),
    ])
    .expect("batch");
    let props = ::parquet::file::properties::WriterProperties::builder()
        .set_writer_version(::parquet::file::properties::WriterVersion::PARQUET_2_0)
        .build();
    let mut v2 = Vec::new();
    let mut writer =
        ::parquet::arrow::ArrowWriter::try_new(&mut v2, nested.schema(), Some(props.clone())).expect("writer");
    writer.write(&nested).expect("write");
    writer.close().expect("close");
    // The same under GZIP, whose pages are decoded once more before the crate reads them.
    let gzip = ::parquet::basic::Compression::GZIP(::parquet::basic::GzipLevel::default());
    let props = props.into_builder().set_compression(gzip).build();
    let mut gzipped = Vec::new();
    let mut writer =
        ::parquet::arrow::ArrowWriter::try_new(&mut gzipped, nested.schema(), Some(props)).expect("writer");
    writer.write(&nested).expect("write");
    writer.close().expect("close");
    fuzz("t.parquet", &[plain, v2, gzipped], 7);
}

#[test]
fn mutations_change_the_bytes() {
    let mut rng = Rng(1);
    let seed = b"0123456789".to_vec();
    let changed = (0..100).filter(|_| mutate(&seed, &mut rng) != seed).count();
    assert!(changed > 90, "{changed} of 100 mutations changed the seed");
}

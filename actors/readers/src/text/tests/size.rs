//! Row counts: exact for files that fit the sample, estimated (without reading it all) above.

use std::io::{BufWriter, Write};
use std::time::Instant;

use dat_contracts::TableStatus;

use super::{file, gzip, probe, probe_in};

/// Rows of uneven length, like real data: `id,label,value,flag`.
fn row(i: u64) -> String {
    format!("{i},label-{},{}.{},{}\n", i % 997, i * 31 % 100_000, i % 7, i.is_multiple_of(2))
}

#[test]
fn a_small_file_is_counted_exactly() {
    let text: String = std::iter::once("id,label,value,flag\n".to_owned()).chain((0..1000).map(row)).collect();
    let table = probe("small.csv", text.as_bytes());
    assert_eq!((table.row_estimate, table.row_count_exact), (Some(1000), true));
}

#[test]
fn a_large_file_is_estimated_from_its_first_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = BufWriter::new(std::fs::File::create(dir.path().join("big.csv")).unwrap());
    out.write_all(b"id,label,value,flag\n").unwrap();
    let (mut rows, mut bytes) = (0u64, 0usize);
    while bytes < 50 * 1024 * 1024 {
        let line = row(rows);
        bytes += line.len();
        out.write_all(line.as_bytes()).unwrap();
        rows += 1;
    }
    out.flush().unwrap();
    drop(out);

    let started = Instant::now();
    let table = probe_in(dir.path(), "big.csv");
    let took = started.elapsed();
    assert_eq!(table.status, TableStatus::Available);
    assert!(!table.row_count_exact);
    let estimate = table.row_estimate.unwrap() as f64;
    assert!((estimate / rows as f64 - 1.0).abs() < 0.2, "estimate {estimate}, real {rows}");
    // Generous for debug builds on a busy machine; it would take far longer to read 50 MB.
    assert!(took.as_secs() < 5, "probe took {took:?}");
}

#[test]
fn a_large_compressed_file_is_estimated_from_the_compression_ratio() {
    let text: String = std::iter::once("id,label,value,flag\n".to_owned()).chain((0..400_000).map(row)).collect();
    assert!(text.len() > 4 * 1024 * 1024);
    let dir = file("big.csv.gz", &gzip(text.as_bytes()));
    let table = probe_in(dir.path(), "big.csv.gz");
    assert_eq!(table.status, TableStatus::Available);
    assert!(!table.row_count_exact);
    let estimate = table.row_estimate.unwrap() as f64;
    assert!((estimate / 400_000.0 - 1.0).abs() < 0.2, "estimate {estimate}");
}

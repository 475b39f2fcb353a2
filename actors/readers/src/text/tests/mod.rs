//! Tests of the delimited-text adapter, through the `Adapter` trait on files written to a temp
//! dir: what a user checks (status, columns, types, sniff, warnings, preview cells).

mod dialect;
mod encoding;
mod fixtures;
mod header;
mod messy;
mod preview;
mod read;
mod size;
mod status;
mod types;

use std::io::Write;
use std::path::Path;

use dat_contracts::{ColumnType, TablePreview, TableProbe, WorkspacePath};
use tempfile::TempDir;

use super::DelimitedAdapter;
use crate::{Adapter, Compression, ReadError, SourceFile};

/// Probes `name` in `dir` (compression from the name, as the registry does).
fn probe_in(dir: &Path, name: &str) -> TableProbe {
    let path = WorkspacePath::parse(name).unwrap();
    let (_, compression) = Compression::strip(name);
    let disk = dir.join(name);
    let mut tables =
        DelimitedAdapter::default().probe(&SourceFile::new(&path, &disk, compression), &crate::ReadOptions::default());
    assert_eq!(tables.len(), 1, "a text file is one table");
    let table = tables.remove(0);
    assert_eq!(table.table_id, name);
    table
}

/// Previews `name` in `dir`.
fn preview_in(dir: &Path, name: &str, rows: usize) -> Result<TablePreview, ReadError> {
    let path = WorkspacePath::parse(name).unwrap();
    let (_, compression) = Compression::strip(name);
    let disk = dir.join(name);
    DelimitedAdapter::default().preview(
        &SourceFile::new(&path, &disk, compression),
        None,
        rows,
        &crate::ReadOptions::default(),
    )
}

/// A temp dir holding one file.
fn file(name: &str, bytes: &[u8]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

/// Writes `bytes` as `name` and probes it.
fn probe(name: &str, bytes: &[u8]) -> TableProbe {
    let dir = file(name, bytes);
    probe_in(dir.path(), name)
}

/// Writes `bytes` as `name` and previews up to `rows` rows.
fn preview(name: &str, bytes: &[u8], rows: usize) -> TablePreview {
    let dir = file(name, bytes);
    preview_in(dir.path(), name, rows).unwrap()
}

/// Column names in file order.
fn names(table: &TableProbe) -> Vec<&str> {
    table.columns.iter().map(|c| c.name.as_str()).collect()
}

/// Column types in file order.
fn types(table: &TableProbe) -> Vec<ColumnType> {
    table.columns.iter().map(|c| c.dtype).collect()
}

/// The sniff result (panics when there is none).
fn sniff(table: &TableProbe) -> &dat_contracts::Sniff {
    table.sniff.as_ref().expect("a sniff result")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 1).unwrap()
}

/// `text` as UTF-16 code units, with a byte order mark when `bom`.
fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xFEFF_u16).into_iter().chain(text.encode_utf16());
    units.flat_map(|u| if little_endian { u.to_le_bytes() } else { u.to_be_bytes() }).collect()
}

//! Footers written by hand in Thrift's compact protocol (the crate's Thrift types are private):
//! schemas nested past what the crate's recursive build survives, and nested files that read.

use std::path::Path;
use std::sync::Arc;

use dat_contracts::{ColumnType, TableStatus};

use super::{columns, preview, probe, read, write_arrow};
use crate::ReadError;

const I32: u8 = 5;
const I64: u8 = 6;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const STRUCT: u8 = 12;

/// A Thrift struct being written: its bytes and its last field id.
#[derive(Default)]
struct Fields {
    out: Vec<u8>,
    last: i16,
}

impl Fields {
    fn header(&mut self, id: i16, nibble: u8) {
        match id - self.last {
            delta @ 1..=15 => self.out.push(((delta as u8) << 4) | nibble),
            _ => {
                self.out.push(nibble);
                varint(&mut self.out, zigzag(i64::from(id)));
            }
        }
        self.last = id;
    }
    fn int(&mut self, id: i16, nibble: u8, value: i64) {
        self.header(id, nibble);
        varint(&mut self.out, zigzag(value));
    }
    fn end(mut self) -> Vec<u8> {
        self.out.push(0);
        self.out
    }
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn list_header(out: &mut Vec<u8>, nibble: u8, len: usize) {
    if len < 15 {
        out.push(((len as u8) << 4) | nibble);
    } else {
        out.push(0xF0 | nibble);
        varint(out, len as u64);
    }
}

/// A `SchemaElement`: physical type (field 1), repetition (3, 0 = REQUIRED), name (4), children (5).
fn element(physical: Option<i64>, repetition: Option<i64>, name: &str, children: Option<i64>) -> Vec<u8> {
    let mut fields = Fields::default();
    if let Some(physical) = physical {
        fields.int(1, I32, physical);
    }
    if let Some(repetition) = repetition {
        fields.int(3, I32, repetition);
    }
    fields.header(4, BINARY);
    varint(&mut fields.out, name.len() as u64);
    fields.out.extend_from_slice(name.as_bytes());
    if let Some(children) = children {
        fields.int(5, I32, children);
    }
    fields.end()
}

/// The schema list of a root, `groups` required groups each holding the next, and one required
/// INT32 leaf `x`: the leaf is `groups + 1` levels below the root.
fn chain(groups: usize) -> Vec<u8> {
    let mut out = Vec::new();
    list_header(&mut out, STRUCT, groups + 2);
    out.extend(element(None, None, "root", Some(1)));
    let group = element(None, Some(0), "g", Some(1));
    for _ in 0..groups {
        out.extend_from_slice(&group);
    }
    out.extend(element(Some(1), Some(0), "x", None));
    out
}

/// A Parquet file of no rows whose footer (`FileMetaData`, version 1) lists each of `schemas`
/// as field 2, in order; the magic at both ends, no pages.
fn write_footer(disk: &Path, schemas: &[Vec<u8>]) -> usize {
    let mut fields = Fields::default();
    fields.int(1, I32, 1);
    for schema in schemas {
        fields.header(2, LIST);
        fields.out.extend_from_slice(schema);
    }
    fields.int(3, I64, 0);
    fields.header(4, LIST);
    list_header(&mut fields.out, STRUCT, 0);
    let footer = fields.end();
    let length = u32::try_from(footer.len()).unwrap().to_le_bytes();
    std::fs::write(disk, [&b"PAR1"[..], &footer, &length, b"PAR1"].concat()).unwrap();
    footer.len()
}

/// Probe, preview and read all refuse the file with `reason`, and read no row.
fn assert_refused(disk: &Path, name: &str, reason: &str) {
    let table = probe(disk, name);
    assert_eq!(table.status, TableStatus::Error);
    let error = table.error.unwrap();
    assert!(error.contains(reason), "{error}");
    match preview(disk, name, 2) {
        Err(ReadError::Format { message, .. }) => assert!(message.contains(reason), "{message}"),
        other => panic!("{other:?}"),
    }
    let (end, got) = read(disk, name);
    match end {
        Err(ReadError::Format { path, message }) => {
            assert_eq!(path, name);
            assert!(message.contains(reason), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(got.rows(), 0);
}

#[test]
fn a_schema_nested_100000_groups_deep_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("deep.parquet");
    let footer = write_footer(&disk, &[chain(100_000)]);
    assert!(footer > 750_000, "{footer}");
    // Without the check the crate's recursive build overflows the stack: the test binary aborts.
    let started = std::time::Instant::now();
    assert_refused(&disk, "deep.parquet", "the schema nests 100001 levels deep; at most 64 are read");
    // Three walks of a 0.8 MB footer (probe, preview, read), unoptimized.
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn a_schema_of_64_levels_is_read_and_one_of_65_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("64.parquet");
    write_footer(&disk, &[chain(63)]);
    let table = probe(&disk, "64.parquet");
    assert_eq!((table.status, table.error.as_deref()), (TableStatus::Empty, None));
    assert_eq!(columns(&table), [("g", ColumnType::Struct, false)]);
    let disk = dir.path().join("65.parquet");
    write_footer(&disk, &[chain(64)]);
    assert_refused(&disk, "65.parquet", "the schema nests 65 levels deep; at most 64 are read");
}

#[test]
fn a_footer_listing_two_schemas_is_measured_by_the_one_built() {
    // The crate builds the first schema list (field 2) of a footer and skips any later one; the
    // check measures that same first list, so a deep second one neither refuses the file nor
    // reaches the crate's recursive build.
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("two.parquet");
    write_footer(&disk, &[chain(0), chain(100_000)]);
    let table = probe(&disk, "two.parquet");
    assert_eq!((table.status, table.error.as_deref()), (TableStatus::Empty, None));
    assert_eq!(columns(&table), [("x", ColumnType::Int, false)]);
}

#[test]
fn a_child_count_with_another_field_type_is_a_corrupt_footer() {
    // `num_children` encoded as a string: the crate reads it as a number anyway, so walking it
    // as a string would end elsewhere than the crate does.
    let mut schema = Vec::new();
    list_header(&mut schema, STRUCT, 2);
    let mut root = Fields::default();
    root.header(4, BINARY);
    root.out.extend([1, b'r']);
    root.header(5, BINARY);
    root.out.extend([2, 0]);
    schema.extend(root.end());
    schema.extend(element(Some(1), Some(0), "x", None));
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("lie.parquet");
    write_footer(&disk, &[schema]);
    assert_refused(
        &disk,
        "lie.parquet",
        "(corrupt footer): field 5 is encoded as type 8, but the format declares type 5",
    );
}

#[test]
fn an_encrypted_footer_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("e.parquet");
    std::fs::write(&disk, [&b"PAR1"[..], &[0; 16], &16u32.to_le_bytes(), b"PARE"].concat()).unwrap();
    assert_refused(&disk, "e.parquet", "encrypted");
}

#[test]
fn nested_lists_and_structs_read_as_before() {
    use arrow_array::builder::{Int32Builder, ListBuilder, StructBuilder};
    use arrow_array::types::Int32Type;
    use arrow_array::ListArray;
    use arrow_schema::{DataType, Field};
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("nested.parquet");
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>([Some(vec![Some(1), Some(2)]), None]);
    // A list of structs {a: int32}: [{a: 7}, {a: 8}], then an empty list.
    let mut points = ListBuilder::new(StructBuilder::from_fields(vec![Field::new("a", DataType::Int32, false)], 2));
    for a in [7, 8] {
        points.values().field_builder::<Int32Builder>(0).unwrap().append_value(a);
        points.values().append(true);
    }
    points.append(true);
    points.append(true);
    let points = points.finish();
    write_arrow(&disk, vec![("list", Arc::new(list)), ("points", Arc::new(points))], None);
    let table = probe(&disk, "nested.parquet");
    assert_eq!(table.status, TableStatus::Available);
    assert_eq!(columns(&table), [("list", ColumnType::List, true), ("points", ColumnType::List, false)]);
    let (end, got) = read(&disk, "nested.parquet");
    end.unwrap();
    assert_eq!(got.column("list").0, [Some("[1,2]".to_owned()), None]);
    assert_eq!(got.column("points").0, [Some(r#"[{"a":7},{"a":8}]"#.to_owned()), Some("[]".to_owned())]);
}

//! A raw checkpoint part: one chunk exactly as the reader handed it over, in a plain binary
//! layout written and read back with copies only: no encoding, no compression, no typing. Small
//! chunks (small files, the tails of ranges) and chunks whose text is still to be typed are kept
//! so and encoded once, at assembly; large ones are encoded at parse instead ([`super::encoded`]).
//!
//! Layout (little endian): `DATPART2`, rows (u64), columns (u64), the source rows: `0` and the
//! first (u64) when they follow each other, else `1` and each one (u64); then per column its
//! name (u32 length + UTF-8), a tag byte and its values:
//! - validity: `0` when every row has a value, else `1` and one byte (0 or 1) per row;
//! - text: the cells back to back (u64 length + bytes), the width of each cell's end (4 or 8)
//!   and the ends, then the validity;
//! - int, float, date, date-time, bool, decimal (precision, scale): the validity, then the
//!   value (i64, f64 bits, i32, i64, u8, i128) for each row, zero for nulls;
//! - binary: the validity, the length (u64) per row, then the bytes.
//!
//! Parts written by earlier versions (`DATPART1`: every source row, every validity byte, 8-byte
//! ends) read back too, so a run parsed in part before an upgrade resumes. The flags leave out
//! what is implied (W2 of the benchmark: a quarter fewer bytes to write and read back).
//! A part that does not read back whole is an error of its table, never a silent null.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use dat_readers::{Chunk, TextValues, Values};

const MAGIC: &[u8; 8] = b"DATPART2";
/// The first layout, still read.
const MAGIC_V1: &[u8; 8] = b"DATPART1";
/// Rows a part without columns may claim (nothing else in it bounds the count); far more than
/// a chunk holds.
const MAX_ROWS_WITHOUT_COLUMNS: usize = 1 << 24;

/// Writes `chunk` to `path`.
///
/// # Errors
/// The file cannot be written.
pub(crate) fn write(path: &Path, chunk: &Chunk) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(MAGIC)?;
    put_u64(&mut out, chunk.rows() as u64)?;
    put_u64(&mut out, chunk.columns.len() as u64)?;
    let rows = &chunk.source_rows;
    match rows.first() {
        Some(&first) if rows.iter().enumerate().all(|(i, row)| row.checked_sub(first) == Some(i as u64)) => {
            out.write_all(&[0])?;
            put_u64(&mut out, first)?;
        }
        _ => {
            out.write_all(&[1])?;
            out.write_all(&rows.iter().flat_map(|row| row.to_le_bytes()).collect::<Vec<u8>>())?;
        }
    }
    for (name, values) in chunk.names.iter().zip(&chunk.columns) {
        put_bytes32(&mut out, name.as_bytes())?;
        write_values(&mut out, values)?;
    }
    out.flush()
}

/// Reads the part at `path` back (whole: a part is one chunk, a few MiB).
///
/// # Errors
/// The file cannot be read or does not hold a whole part.
pub(crate) fn read(path: &Path) -> io::Result<Chunk> {
    let bytes = std::fs::read(path)?;
    let mut input = Input { bytes: &bytes, v1: false };
    let magic = input.take(8)?;
    input.v1 = match magic {
        m if m == MAGIC => false,
        m if m == MAGIC_V1 => true,
        _ => return Err(corrupt("not a checkpoint part")),
    };
    let rows = input.len()?;
    let columns = input.len()?;
    let listed = input.v1 || input.u8()? != 0;
    let (listed_rows, first) =
        if listed { (input.fixed(rows, u64::from_le_bytes)?, 0) } else { (vec![], input.u64()?) };
    let mut names = Vec::with_capacity(columns.min(1 << 16));
    let mut values = Vec::with_capacity(columns.min(1 << 16));
    for _ in 0..columns {
        let len = usize::try_from(u32::from_le_bytes(input.array()?)).map_err(|_| corrupt("a length"))?;
        let name = String::from_utf8(input.take(len)?.to_vec()).map_err(|_| corrupt("a column name"))?;
        names.push(name);
        values.push(read_values(&mut input, rows)?);
    }
    if !input.bytes.is_empty() {
        return Err(corrupt("bytes after its last column"));
    }
    // Rows that follow each other are made only now: the columns have shown that the file holds
    // that many rows (a damaged count fails there instead of allocating it).
    let source_rows = if listed {
        listed_rows
    } else {
        let last = first.checked_add(rows as u64).filter(|_| columns > 0 || rows <= MAX_ROWS_WITHOUT_COLUMNS);
        (first..last.ok_or_else(|| corrupt("its row count"))?).collect()
    };
    Ok(Chunk { names, columns: values, source_rows })
}

/// Tags of the value kinds.
mod tag {
    pub(super) const TEXT: u8 = 1;
    pub(super) const INT: u8 = 2;
    pub(super) const FLOAT: u8 = 3;
    pub(super) const DECIMAL: u8 = 4;
    pub(super) const BOOL: u8 = 5;
    pub(super) const DATE: u8 = 6;
    pub(super) const DATETIME: u8 = 7;
    pub(super) const BINARY: u8 = 8;
}

fn write_values(out: &mut impl Write, values: &Values) -> io::Result<()> {
    match values {
        Values::Text(text) => {
            out.write_all(&[tag::TEXT])?;
            let (cells, ends, valid) = text.raw();
            put_u64(out, cells.len() as u64)?;
            out.write_all(cells.as_bytes())?;
            let narrow: Option<Vec<u8>> = ends
                .iter()
                .map(|end| u32::try_from(*end).ok().map(u32::to_le_bytes))
                .collect::<Option<Vec<_>>>()
                .map(|ends| ends.concat());
            match narrow {
                Some(ends) => {
                    out.write_all(&[4])?;
                    out.write_all(&ends)?;
                }
                None => {
                    out.write_all(&[8])?;
                    out.write_all(&ends.iter().flat_map(|end| (*end as u64).to_le_bytes()).collect::<Vec<u8>>())?;
                }
            }
            write_validity(out, valid.iter().copied())
        }
        Values::Int(v) => fixed(out, tag::INT, v, |x| x.to_le_bytes()),
        Values::Float(v) => fixed(out, tag::FLOAT, v, |x| x.to_bits().to_le_bytes()),
        Values::Decimal { values, precision, scale } => {
            out.write_all(&[tag::DECIMAL, *precision, *scale])?;
            fixed(out, None, values, |x| x.to_le_bytes())
        }
        Values::Bool(v) => fixed(out, tag::BOOL, v, |x| [u8::from(x)]),
        Values::Date(v) => fixed(out, tag::DATE, v, |x| x.to_le_bytes()),
        Values::Datetime(v) => fixed(out, tag::DATETIME, v, |x| x.to_le_bytes()),
        Values::Binary(v) => {
            out.write_all(&[tag::BINARY])?;
            write_validity(out, v.iter().map(Option::is_some))?;
            for cell in v {
                put_u64(out, cell.as_ref().map_or(0, |b| b.len() as u64))?;
            }
            v.iter().flatten().try_for_each(|b| out.write_all(b))
        }
    }
}

/// `0` when every flag is set, else `1` and the flags as bytes.
fn write_validity(out: &mut impl Write, valid: impl Iterator<Item = bool> + Clone) -> io::Result<()> {
    if valid.clone().all(|v| v) {
        return out.write_all(&[0]);
    }
    out.write_all(&[1])?;
    out.write_all(&valid.map(u8::from).collect::<Vec<u8>>())
}

/// The validity, then each value's bytes (zero for nulls); `tag` first when given.
fn fixed<T: Copy + Default, const N: usize>(
    out: &mut impl Write,
    tag: impl Into<Option<u8>>,
    values: &[Option<T>],
    bytes: impl Fn(T) -> [u8; N],
) -> io::Result<()> {
    if let Some(tag) = tag.into() {
        out.write_all(&[tag])?;
    }
    write_validity(out, values.iter().map(Option::is_some))?;
    // Filled in place, value by value, rather than extended (a capacity check per value).
    let mut buf = vec![0u8; values.len() * N];
    for (slot, v) in buf.chunks_exact_mut(N).zip(values) {
        slot.copy_from_slice(&bytes(v.unwrap_or_default()));
    }
    out.write_all(&buf)
}

/// What is left of a part being read, and whether it has the first layout.
struct Input<'a> {
    bytes: &'a [u8],
    v1: bool,
}

impl<'a> Input<'a> {
    /// The next `len` bytes; a damaged length fails here rather than allocating.
    fn take(&mut self, len: usize) -> io::Result<&'a [u8]> {
        if len > self.bytes.len() {
            return Err(corrupt("it ends early"));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut raw = [0u8; N];
        raw.copy_from_slice(self.take(N)?);
        Ok(raw)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn len(&mut self) -> io::Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| corrupt("a length"))
    }

    /// `count` values of `N` bytes each.
    fn fixed<T, const N: usize>(&mut self, count: usize, value: impl Fn([u8; N]) -> T) -> io::Result<Vec<T>> {
        let bytes = self.take(count.checked_mul(N).ok_or_else(|| corrupt("a part too large"))?)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|b| {
                let mut raw = [0u8; N];
                raw.copy_from_slice(b);
                value(raw)
            })
            .collect())
    }

    /// One validity flag per row (`None`: every row has a value).
    fn validity(&mut self, rows: usize) -> io::Result<Option<&'a [u8]>> {
        if !self.v1 && self.u8()? == 0 {
            return Ok(None);
        }
        self.take(rows).map(Some)
    }
}

fn read_values(input: &mut Input<'_>, rows: usize) -> io::Result<Values> {
    let kind = input.u8()?;
    Ok(match kind {
        tag::TEXT => {
            let len = input.len()?;
            let text = String::from_utf8(input.take(len)?.to_vec()).map_err(|_| corrupt("text cells"))?;
            let width = if input.v1 { 8 } else { input.u8()? };
            let ends = match width {
                4 => input.fixed(rows, |b| u32::from_le_bytes(b) as usize)?,
                8 => input
                    .fixed(rows, u64::from_le_bytes)?
                    .into_iter()
                    .map(|end| usize::try_from(end).map_err(|_| corrupt("a length")))
                    .collect::<io::Result<_>>()?,
                _ => return Err(corrupt("text cells")),
            };
            let valid = match input.validity(rows)? {
                None => vec![true; rows],
                Some(flags) => flags.iter().map(|b| *b != 0).collect(),
            };
            Values::Text(TextValues::from_raw(text, ends, valid).map_err(corrupt)?)
        }
        tag::INT => Values::Int(read_fixed(input, rows, i64::from_le_bytes)?),
        tag::FLOAT => Values::Float(read_fixed(input, rows, |b| f64::from_bits(u64::from_le_bytes(b)))?),
        tag::DECIMAL => {
            let (precision, scale) = (input.u8()?, input.u8()?);
            Values::Decimal { values: read_fixed(input, rows, i128::from_le_bytes)?, precision, scale }
        }
        tag::BOOL => Values::Bool(read_fixed(input, rows, |b: [u8; 1]| b[0] != 0)?),
        tag::DATE => Values::Date(read_fixed(input, rows, i32::from_le_bytes)?),
        tag::DATETIME => Values::Datetime(read_fixed(input, rows, i64::from_le_bytes)?),
        tag::BINARY => {
            // The first layout interleaves each row's flag and length.
            let cells: Vec<(bool, usize)> = if input.v1 {
                (0..rows).map(|_| Ok((input.u8()? != 0, input.len()?))).collect::<io::Result<_>>()?
            } else {
                let valid = input.validity(rows)?;
                (0..rows).map(|i| Ok((valid.is_none_or(|v| v[i] != 0), input.len()?))).collect::<io::Result<_>>()?
            };
            let mut v = Vec::with_capacity(rows);
            for (valid, len) in cells {
                let bytes = input.take(if valid { len } else { 0 })?;
                v.push(valid.then(|| bytes.to_vec()));
            }
            Values::Binary(v)
        }
        other => return Err(corrupt(format!("unknown value kind {other}"))),
    })
}

fn read_fixed<T, const N: usize>(
    input: &mut Input<'_>,
    rows: usize,
    value: impl Fn([u8; N]) -> T,
) -> io::Result<Vec<Option<T>>> {
    let valid = input.validity(rows)?;
    let values = input.fixed(rows, value)?;
    Ok(match valid {
        None => values.into_iter().map(Some).collect(),
        Some(flags) => values.into_iter().zip(flags).map(|(v, f)| (*f != 0).then_some(v)).collect(),
    })
}

fn corrupt(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("a checkpoint part is damaged: {what}"))
}

fn put_u64(out: &mut impl Write, v: u64) -> io::Result<()> {
    out.write_all(&v.to_le_bytes())
}

fn put_bytes32(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| corrupt("a column name longer than 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use dat_readers::{Cell, ChunkBuilder};

    use super::*;

    #[test]
    fn every_kind_of_values_reads_back_as_written() {
        let mut builder = ChunkBuilder::new(vec!["t".into()]);
        builder.push_row(2, [Cell::Infer("1.50")]);
        builder.push_row(3, [Cell::Null]);
        builder.push_row(5, [Cell::Infer("née")]);
        let mut chunk = builder.take();
        chunk.names.extend(["i", "f", "d", "b", "day", "at", "bin"].map(String::from));
        chunk.columns.extend([
            Values::Int(vec![Some(-7), None, Some(i64::MAX)]),
            Values::Float(vec![Some(0.1), Some(f64::MIN_POSITIVE), None]),
            Values::Decimal { values: vec![Some(-12_345), None, Some(i128::MAX)], precision: 38, scale: 2 },
            Values::Bool(vec![Some(true), Some(false), None]),
            Values::Date(vec![Some(-1), None, Some(20_000)]),
            Values::Datetime(vec![None, Some(1), Some(-1)]),
            Values::Binary(vec![Some(vec![0, 255]), None, Some(vec![])]),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        write(&path, &chunk).unwrap();
        let back = read(&path).unwrap();
        assert_eq!((&back.names, &back.source_rows), (&chunk.names, &chunk.source_rows));
        let Values::Text(text) = &back.columns[0] else { panic!("text") };
        assert_eq!(text.iter().collect::<Vec<_>>(), [Some("1.50"), None, Some("née")]);
        assert_eq!(back.columns[1..], chunk.columns[1..]);

        // A part cut short is an error, never fewer values.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(read(&path).is_err());
    }

    #[test]
    fn rows_that_follow_each_other_and_columns_without_nulls_take_no_per_row_flags() {
        let mut builder = ChunkBuilder::new(vec!["t".into()]);
        for (row, cell) in [(7, "a"), (8, "bc"), (9, "1.50")] {
            builder.push_row(row, [Cell::Infer(cell)]);
        }
        let mut chunk = builder.take();
        chunk.names.push("i".into());
        chunk.columns.push(Values::Int(vec![Some(1), Some(2), Some(3)]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        write(&path, &chunk).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.source_rows, [7, 8, 9]);
        let Values::Text(text) = &back.columns[0] else { panic!("text") };
        assert_eq!(text.iter().collect::<Vec<_>>(), [Some("a"), Some("bc"), Some("1.50")]);
        assert_eq!(back.columns[1], chunk.columns[1]);
        // magic, rows, columns, first row; names; text: len, bytes, width, ends, validity; ints.
        let expected = 8 + 8 + 8 + (1 + 8) + (4 + 1) * 2 + (1 + 8 + 7 + 1 + 3 * 4 + 1) + (1 + 1 + 3 * 8);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), expected as u64);
    }

    #[test]
    fn a_damaged_row_count_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        for (rows, columns) in [(1u64 << 40, 0u64), (1 << 40, 1), (u64::MAX, 1)] {
            let mut bytes = b"DATPART2".to_vec();
            bytes.extend_from_slice(&rows.to_le_bytes());
            bytes.extend_from_slice(&columns.to_le_bytes());
            bytes.push(0); // rows that follow each other, from 1
            bytes.extend_from_slice(&1u64.to_le_bytes());
            if columns == 1 {
                bytes.extend_from_slice(&1u32.to_le_bytes());
                bytes.extend_from_slice(b"i");
                bytes.extend_from_slice(&[2, 0]); // int, no nulls
                bytes.extend_from_slice(&7i64.to_le_bytes());
            }
            std::fs::write(&path, &bytes).unwrap();
            let error = read(&path).map(|_| ()).unwrap_err();
            assert!(error.to_string().contains("damaged"), "{rows} rows, {columns} columns: {error}");
        }
    }

    #[test]
    fn a_part_in_the_first_layout_still_reads_back() {
        let mut bytes = b"DATPART1".to_vec();
        for v in [2u64, 2, 4, 6] {
            bytes.extend_from_slice(&v.to_le_bytes()); // rows, columns, each source row
        }
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(b"t");
        bytes.push(1); // text
        bytes.extend_from_slice(&2u64.to_le_bytes());
        bytes.extend_from_slice(b"ab");
        for end in [2u64, 2] {
            bytes.extend_from_slice(&end.to_le_bytes());
        }
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(b"i");
        bytes.push(2); // int
        bytes.extend_from_slice(&[0, 1]);
        for v in [0i64, -5] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        std::fs::write(&path, &bytes).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(
            (back.names.as_slice(), back.source_rows.as_slice()),
            (["t", "i"].map(String::from).as_slice(), [4, 6].as_slice())
        );
        let Values::Text(text) = &back.columns[0] else { panic!("text") };
        assert_eq!(text.iter().collect::<Vec<_>>(), [Some("ab"), None]);
        assert_eq!(back.columns[1], Values::Int(vec![None, Some(-5)]));
    }
}

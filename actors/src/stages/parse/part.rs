//! A checkpoint part: one chunk exactly as the reader handed it over, in a plain binary layout
//! written and read back with copies only: no encoding, no compression, no typing. The dataset
//! is the one file that is encoded (as Parquet, once); a part is read once more, by assembly.
//!
//! Layout (little endian): `DATPART1`, rows (u64), columns (u64), each row's source row (u64),
//! then per column its name (u32 length + UTF-8) and its values: a tag byte and
//! - text: the cells back to back (u64 length + bytes), each cell's end (u64) and validity (u8);
//! - int, float, date, date-time, bool, decimal (precision, scale): validity (u8) and the value
//!   (i64, f64 bits, i32, i64, u8, i128) for each row;
//! - binary: validity (u8) and length (u64) per row, then the bytes.
//!
//! A part that does not read back whole is an error of its table, never a silent null.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use dat_readers::{Chunk, TextValues, Values};

const MAGIC: &[u8; 8] = b"DATPART1";

/// Writes `chunk` to `path`.
///
/// # Errors
/// The file cannot be written.
pub(crate) fn write(path: &Path, chunk: &Chunk) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(MAGIC)?;
    put_u64(&mut out, chunk.rows() as u64)?;
    put_u64(&mut out, chunk.columns.len() as u64)?;
    for row in &chunk.source_rows {
        put_u64(&mut out, *row)?;
    }
    for (name, values) in chunk.names.iter().zip(&chunk.columns) {
        put_bytes32(&mut out, name.as_bytes())?;
        write_values(&mut out, values)?;
    }
    out.flush()
}

/// Reads the part at `path` back.
///
/// # Errors
/// The file cannot be read or does not hold a whole part.
pub(crate) fn read(path: &Path) -> io::Result<Chunk> {
    let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(corrupt("not a checkpoint part"));
    }
    let rows = get_len(&mut input)?;
    let columns = get_len(&mut input)?;
    let source_rows = (0..rows).map(|_| get_u64(&mut input)).collect::<io::Result<Vec<u64>>>()?;
    let mut names = Vec::with_capacity(columns.min(1 << 16));
    let mut values = Vec::with_capacity(columns.min(1 << 16));
    for _ in 0..columns {
        let name = String::from_utf8(get_bytes32(&mut input)?).map_err(|_| corrupt("a column name"))?;
        names.push(name);
        values.push(read_values(&mut input, rows)?);
    }
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
            for end in ends {
                put_u64(out, *end as u64)?;
            }
            out.write_all(&valid.iter().map(|v| u8::from(*v)).collect::<Vec<u8>>())
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
            for cell in v {
                out.write_all(&[u8::from(cell.is_some())])?;
                put_u64(out, cell.as_ref().map_or(0, |b| b.len() as u64))?;
            }
            v.iter().flatten().try_for_each(|b| out.write_all(b))
        }
    }
}

/// Validity bytes, then each value's bytes (zero for nulls); `tag` first when given.
fn fixed<T: Copy + Default, const N: usize>(
    out: &mut impl Write,
    tag: impl Into<Option<u8>>,
    values: &[Option<T>],
    bytes: impl Fn(T) -> [u8; N],
) -> io::Result<()> {
    if let Some(tag) = tag.into() {
        out.write_all(&[tag])?;
    }
    out.write_all(&values.iter().map(|v| u8::from(v.is_some())).collect::<Vec<u8>>())?;
    let mut buf = Vec::with_capacity(values.len() * N);
    for v in values {
        buf.extend_from_slice(&bytes(v.unwrap_or_default()));
    }
    out.write_all(&buf)
}

fn read_values(input: &mut impl Read, rows: usize) -> io::Result<Values> {
    let kind = get_u8(input)?;
    Ok(match kind {
        tag::TEXT => {
            let len = get_len(input)?;
            let text = String::from_utf8(get_exact(input, len)?).map_err(|_| corrupt("text cells"))?;
            let ends = (0..rows).map(|_| get_len(input)).collect::<io::Result<Vec<usize>>>()?;
            let valid = get_exact(input, rows)?.into_iter().map(|b| b != 0).collect();
            Values::Text(TextValues::from_raw(text, ends, valid).map_err(corrupt)?)
        }
        tag::INT => Values::Int(read_fixed(input, rows, i64::from_le_bytes)?),
        tag::FLOAT => Values::Float(read_fixed(input, rows, |b| f64::from_bits(u64::from_le_bytes(b)))?),
        tag::DECIMAL => {
            let (precision, scale) = (get_u8(input)?, get_u8(input)?);
            Values::Decimal { values: read_fixed(input, rows, i128::from_le_bytes)?, precision, scale }
        }
        tag::BOOL => Values::Bool(read_fixed(input, rows, |b: [u8; 1]| b[0] != 0)?),
        tag::DATE => Values::Date(read_fixed(input, rows, i32::from_le_bytes)?),
        tag::DATETIME => Values::Datetime(read_fixed(input, rows, i64::from_le_bytes)?),
        tag::BINARY => {
            let mut cells: Vec<(bool, usize)> = Vec::with_capacity(rows);
            for _ in 0..rows {
                cells.push((get_u8(input)? != 0, get_len(input)?));
            }
            let mut v = Vec::with_capacity(rows);
            for (valid, len) in cells {
                let bytes = if valid { get_exact(input, len)? } else { Vec::new() };
                v.push(valid.then_some(bytes));
            }
            Values::Binary(v)
        }
        other => return Err(corrupt(format!("unknown value kind {other}"))),
    })
}

fn read_fixed<T, const N: usize>(
    input: &mut impl Read,
    rows: usize,
    value: impl Fn([u8; N]) -> T,
) -> io::Result<Vec<Option<T>>> {
    let valid = get_exact(input, rows)?;
    let bytes = get_exact(input, rows.checked_mul(N).ok_or_else(|| corrupt("a part too large"))?)?;
    Ok(valid
        .iter()
        .zip(bytes.chunks_exact(N))
        .map(|(v, b)| {
            let mut raw = [0u8; N];
            raw.copy_from_slice(b);
            (*v != 0).then(|| value(raw))
        })
        .collect())
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

fn get_u8(input: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b)?;
    Ok(b[0])
}

fn get_u64(input: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn get_len(input: &mut impl Read) -> io::Result<usize> {
    usize::try_from(get_u64(input)?).map_err(|_| corrupt("a length"))
}

/// Exactly `len` bytes; the buffer grows as bytes arrive, so a damaged length cannot make it
/// allocate more than the file holds.
fn get_exact(input: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len.min(1 << 24));
    input.take(len as u64).read_to_end(&mut buf)?;
    if buf.len() != len {
        return Err(corrupt("it ends early"));
    }
    Ok(buf)
}

fn get_bytes32(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut b = [0u8; 4];
    input.read_exact(&mut b)?;
    let len = usize::try_from(u32::from_le_bytes(b)).map_err(|_| corrupt("a length"))?;
    get_exact(input, len)
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
}

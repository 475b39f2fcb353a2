//! Just enough of Thrift's compact protocol to walk a Parquet footer without building it: a
//! cursor over the footer's bytes and an iterative skip. Every rule here mirrors the parquet
//! crate's own decoder (`parquet_thrift.rs`, v60), so a walk ends where the crate's read would.

use std::fmt;

/// The compact protocol's type nibbles (the parquet crate's `FieldType`).
pub(super) const BOOL_TRUE: u8 = 1;
pub(super) const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
pub(super) const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
pub(super) const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
pub(super) const STRUCT: u8 = 12;
const UUID: u8 = 13;

/// How deep a skipped value may nest (structs, lists, maps) before the walk gives up. The
/// crate's own skip stops at 64 below each field it decodes by name, and its named structs add
/// fewer than 10 levels above that: 128 is more than the crate can read, so a footer the crate
/// reads is never refused for nesting here, and the walk's memory stays a few kilobytes.
const MAX_NESTING: usize = 128;

/// Why a footer's bytes cannot be walked. The file is refused with this reason: each case is a
/// footer the crate cannot read either, or one whose field types contradict the Parquet format.
#[derive(Debug)]
pub(super) enum Malformed {
    /// The bytes end inside a value.
    Truncated,
    /// A nibble names no compact-protocol type.
    UnknownType(u8),
    /// A field the crate reads by its declared type carries another type's nibble: walking it
    /// by the nibble could end elsewhere than the crate's read, so the walk would be blind.
    WrongType { field: i16, found: u8, declared: u8 },
    /// A field id, list or map size past what the crate accepts.
    OutOfRange,
    /// A skipped value nests deeper than [`MAX_NESTING`].
    TooNested,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "the footer ends inside a value"),
            Self::UnknownType(nibble) => write!(f, "the footer holds an unknown value type {nibble}"),
            Self::WrongType { field, found, declared } => {
                write!(f, "field {field} is encoded as type {found}, but the format declares type {declared}")
            }
            Self::OutOfRange => write!(f, "a field id or collection size is out of range"),
            Self::TooNested => write!(f, "a value nests more than {MAX_NESTING} levels deep"),
        }
    }
}

/// The struct a field belongs to, where the crate reads fields by their declared type rather
/// than by their nibble (see [`declared`]). `Generic` is everything else: skipped by its nibbles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Generic,
    SchemaElement,
    LogicalType,
    Decimal,
    /// `TimeType` and `TimestampType`.
    Timed,
    TimeUnit,
    Int,
    Variant,
    Geometry,
    Geography,
    /// A page header and the structs in it, read without statistics as the page reader reads
    /// them (see `pages`).
    PageHeader,
    DataPageHeader,
    IndexPageHeader,
    DictionaryPageHeader,
    DataPageHeaderV2,
}

/// The declared type (and the shape of a struct) of field `id` of a `shape` struct, when the
/// crate decodes that field by name. Such a field must carry its declared nibble (a bool either
/// bool nibble), so that skipping by nibble consumes exactly what the crate's read consumes.
fn declared(shape: Shape, id: i16) -> Option<(u8, Shape)> {
    let of = |nibble| Some((nibble, Shape::Generic));
    match (shape, id) {
        (Shape::SchemaElement, 1..=3 | 5..=9) => of(I32),
        (Shape::SchemaElement, 4) => of(BINARY),
        (Shape::SchemaElement, 10) => Some((STRUCT, Shape::LogicalType)),
        (Shape::LogicalType, 1..=4 | 6 | 11..=15 | 19) | (Shape::TimeUnit, 1..=3) => of(STRUCT),
        (Shape::LogicalType, 5) => Some((STRUCT, Shape::Decimal)),
        (Shape::LogicalType, 7 | 8) => Some((STRUCT, Shape::Timed)),
        (Shape::LogicalType, 10) => Some((STRUCT, Shape::Int)),
        (Shape::LogicalType, 16) => Some((STRUCT, Shape::Variant)),
        (Shape::LogicalType, 17) => Some((STRUCT, Shape::Geometry)),
        (Shape::LogicalType, 18) => Some((STRUCT, Shape::Geography)),
        (Shape::Decimal, 1 | 2) | (Shape::Geography, 2) => of(I32),
        (Shape::Timed, 1) | (Shape::Int, 2) => of(BOOL_TRUE),
        (Shape::Timed, 2) => Some((STRUCT, Shape::TimeUnit)),
        (Shape::Int | Shape::Variant, 1) => of(BYTE),
        (Shape::Geometry | Shape::Geography, 1) => of(BINARY),
        (Shape::PageHeader, 1..=4)
        | (Shape::DataPageHeader, 1..=4)
        | (Shape::DictionaryPageHeader, 1 | 2)
        | (Shape::DataPageHeaderV2, 1..=6) => of(I32),
        (Shape::PageHeader, 5) => Some((STRUCT, Shape::DataPageHeader)),
        (Shape::PageHeader, 6) => Some((STRUCT, Shape::IndexPageHeader)),
        (Shape::PageHeader, 7) => Some((STRUCT, Shape::DictionaryPageHeader)),
        (Shape::PageHeader, 8) => Some((STRUCT, Shape::DataPageHeaderV2)),
        (Shape::DictionaryPageHeader, 3) | (Shape::DataPageHeaderV2, 7) => of(BOOL_TRUE),
        _ => None,
    }
}

/// Field `id` of a `shape` struct, encoded as `nibble`: the nibble and shape to skip it by,
/// once a field the crate reads by its declared type is found to carry that type.
fn checked(shape: Shape, nibble: u8, id: i16) -> Result<(u8, Shape), Malformed> {
    match declared(shape, id) {
        Some((BOOL_TRUE, child)) if matches!(nibble, BOOL_TRUE | BOOL_FALSE) => Ok((nibble, child)),
        Some((want, child)) if want == nibble => Ok((nibble, child)),
        Some((want, _)) => Err(Malformed::WrongType { field: id, found: nibble, declared: want }),
        None => Ok((nibble, Shape::Generic)),
    }
}

/// A value still being skipped, innermost last.
enum Frame {
    Struct {
        shape: Shape,
        last: i16,
    },
    Items {
        nibble: u8,
        left: u64,
    },
    /// Keys and values alternate; `left` counts both.
    Pairs {
        key: u8,
        value: u8,
        left: u64,
    },
}

/// A read position in a footer's bytes.
pub(super) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// The bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        let (&first, rest) = self.rest.split_first().ok_or(Malformed::Truncated)?;
        self.rest = rest;
        Ok(first)
    }

    fn advance(&mut self, n: u64) -> Result<(), Malformed> {
        let n = usize::try_from(n).map_err(|_| Malformed::Truncated)?;
        self.rest = self.rest.get(n..).ok_or(Malformed::Truncated)?;
        Ok(())
    }

    /// An unsigned LEB128 varint; like the crate, bits past the 64th are dropped.
    fn varint(&mut self) -> Result<u64, Malformed> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7F).wrapping_shl(shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift = shift.saturating_add(7);
        }
    }

    /// A zigzag varint, cut to `i32` the way the crate's `read_i32` cuts it (`as`), so the walk
    /// sees the value the crate sees.
    pub(super) fn i32(&mut self) -> Result<i32, Malformed> {
        let raw = self.varint()?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        Ok(((raw >> 1) as i64 ^ -((raw & 1) as i64)) as i32)
    }

    /// A struct field's header after field `last`: its nibble and id, or `None` at the struct's end.
    pub(super) fn field(&mut self, last: i16) -> Result<Option<(u8, i16)>, Malformed> {
        let header = self.byte()?;
        let nibble = header & 0x0F;
        if nibble == 0 {
            return Ok(None);
        }
        if nibble > UUID {
            return Err(Malformed::UnknownType(nibble));
        }
        let delta = header >> 4;
        let id = if delta == 0 {
            #[allow(clippy::cast_possible_truncation)]
            let id = self.i32()? as i16;
            id
        } else {
            last.checked_add(i16::from(delta)).ok_or(Malformed::OutOfRange)?
        };
        Ok(Some((nibble, id)))
    }

    /// A list's header: its element nibble and its size. A 0 byte is an empty list, as some
    /// writers encode one; a bool element is nibble 1 or 2.
    pub(super) fn list(&mut self) -> Result<(u8, u64), Malformed> {
        let header = self.byte()?;
        if header == 0 {
            return Ok((BYTE, 0));
        }
        let nibble = element(header & 0x0F)?;
        let size = match header >> 4 {
            15 => i32::try_from(self.varint()?).map_err(|_| Malformed::OutOfRange)?,
            short => i32::from(short),
        };
        Ok((nibble, u64::try_from(size).map_err(|_| Malformed::OutOfRange)?))
    }

    /// Field `id` of a `shape` struct, its header already read: checks its declared type and
    /// skips its value.
    ///
    /// # Errors
    /// See [`Malformed`].
    pub(super) fn skip_field(&mut self, shape: Shape, nibble: u8, id: i16) -> Result<(), Malformed> {
        let (nibble, shape) = checked(shape, nibble, id)?;
        self.skip(nibble, shape)
    }

    /// Skips one value of type `nibble` (a struct of shape `shape`) with an explicit stack, so
    /// a hostile nesting costs memory up to [`MAX_NESTING`] frames, never the call stack.
    ///
    /// A bool consumes no byte, in a struct field and, like the crate's skip, in a list or map.
    ///
    /// # Errors
    /// See [`Malformed`].
    pub(super) fn skip(&mut self, nibble: u8, shape: Shape) -> Result<(), Malformed> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut next = Some((nibble, shape));
        loop {
            if let Some((nibble, shape)) = next.take() {
                match nibble {
                    BOOL_TRUE | BOOL_FALSE => {}
                    BYTE => {
                        self.byte()?;
                    }
                    I16 | I32 | I64 => {
                        self.varint()?;
                    }
                    DOUBLE => self.advance(8)?,
                    BINARY => {
                        let len = self.varint()?;
                        self.advance(len)?;
                    }
                    UUID => self.advance(16)?,
                    LIST | SET => {
                        let (nibble, left) = self.list()?;
                        // Bools consume nothing here (see above): 2^31 of them are skipped at once.
                        if !matches!(nibble, BOOL_TRUE | BOOL_FALSE) {
                            stack.push(Frame::Items { nibble, left });
                        }
                    }
                    MAP => {
                        let size = i32::try_from(self.varint()?).map_err(|_| Malformed::OutOfRange)?;
                        if size > 0 {
                            let kinds = self.byte()?;
                            let (key, value) = (element(kinds >> 4)?, element(kinds & 0x0F)?);
                            let bools = |n: u8| matches!(n, BOOL_TRUE | BOOL_FALSE);
                            if !(bools(key) && bools(value)) {
                                stack.push(Frame::Pairs { key, value, left: 2 * u64::from(size.unsigned_abs()) });
                            }
                        }
                    }
                    STRUCT => stack.push(Frame::Struct { shape, last: 0 }),
                    other => return Err(Malformed::UnknownType(other)),
                }
                if stack.len() > MAX_NESTING {
                    return Err(Malformed::TooNested);
                }
            }
            let Some(top) = stack.last_mut() else { return Ok(()) };
            match top {
                Frame::Items { left: 0, .. } | Frame::Pairs { left: 0, .. } => {
                    stack.pop();
                }
                Frame::Items { nibble, left } => {
                    *left -= 1;
                    next = Some((*nibble, Shape::Generic));
                }
                Frame::Pairs { key, value, left } => {
                    let nibble = if *left % 2 == 0 { *key } else { *value };
                    *left -= 1;
                    next = Some((nibble, Shape::Generic));
                }
                Frame::Struct { shape, last } => {
                    // The crate's generic skip reads every field id relative to 0.
                    let after = if *shape == Shape::Generic { 0 } else { *last };
                    match self.field(after)? {
                        None => {
                            stack.pop();
                        }
                        Some((nibble, id)) => {
                            *last = id;
                            next = Some(checked(*shape, nibble, id)?);
                        }
                    }
                }
            }
        }
    }
}

/// A list or map element's nibble: the field nibbles but stop, with 1 and 2 both a bool.
fn element(nibble: u8) -> Result<u8, Malformed> {
    match nibble {
        BOOL_TRUE..=UUID => Ok(nibble),
        other => Err(Malformed::UnknownType(other)),
    }
}

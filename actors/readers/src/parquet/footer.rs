//! The footer's schema, measured before the parquet crate builds it. The crate (v60) turns the
//! flat schema list into a tree with one recursive call per nesting level and no limit
//! (`schema_from_array_helper`): a footer of 100,000 nested groups overflowed the stack, which
//! aborts the whole process, past any `catch_unwind`. So the depth is counted here first,
//! without recursion, and only a schema within [`MAX_DEPTH`] is handed to the crate.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use ::parquet::file::metadata::{FooterTail, ParquetMetaDataReader};
use ::parquet::schema::types::SchemaDescPtr;

use super::thrift::{Cursor, Malformed, Shape, I32, STRUCT};

/// The deepest nesting read, counting levels below the schema's root (a flat column is level 1,
/// an element of a standard list level 3). Real files nest a handful of levels; 64 leaves room
/// for any of them while keeping the crate's recursion (and Arrow's after it) within tens of
/// kilobytes of stack, well inside any thread's.
pub(super) const MAX_DEPTH: usize = 64;

/// The most groups a count keeps open before the count stops: the walk's memory stays at 4 MB
/// however large the footer, and a deeper schema is reported as "at least" this deep.
const MAX_COUNTED: usize = 1 << 20;

/// Reads the footer of `file` and decodes its schema with the crate, once the schema is known
/// to nest at most [`MAX_DEPTH`] levels. The caller hands that schema to the crate's footer
/// read (`ParquetMetaDataOptions::with_schema`), which then skips every schema list in the
/// footer instead of building it: the crate builds only the schema measured here, even from a
/// footer that lists a second one.
///
/// Returns `None` when the file has no footer to measure (shorter than its 8-byte tail, no
/// `PAR1` at its end, a footer length past its start): the crate's read says why.
///
/// # Errors
/// The schema nests too deep, the footer is encrypted (`PARE`: the crate is built without
/// decryption and refuses it too; refusing it here keeps that true if a feature turns
/// decryption on, since an encrypted schema cannot be measured), the footer cannot be walked
/// (see [`Malformed`]) or read, or the crate cannot decode the schema. Each names no path.
pub(super) fn checked_schema(file: &File) -> Result<Option<SchemaDescPtr>, String> {
    let unreadable = |e: std::io::Error| format!("cannot read the file's footer: {e}");
    let size = file.metadata().map_err(unreadable)?.len();
    let Some(tail_at) = size.checked_sub(8) else { return Ok(None) };
    let mut tail = [0u8; 8];
    read_at(file, tail_at, &mut tail).map_err(unreadable)?;
    let Ok(tail) = FooterTail::try_new(&tail) else { return Ok(None) };
    if tail.is_encrypted_footer() {
        return Err("the file's footer is encrypted (PARE); encrypted Parquet files are not read".to_owned());
    }
    let Ok(length) = u64::try_from(tail.metadata_length()) else { return Ok(None) };
    let Some(start) = tail_at.checked_sub(length) else { return Ok(None) };
    let mut footer = Vec::new();
    footer
        .try_reserve_exact(tail.metadata_length())
        .map_err(|_| format!("the footer's {length} bytes do not fit in memory"))?;
    footer.resize(tail.metadata_length(), 0);
    read_at(file, start, &mut footer).map_err(unreadable)?;
    match schema_depth(&footer) {
        Err(malformed) => return Err(format!("not a readable Parquet file (corrupt footer): {malformed}")),
        Ok(Depth::AtLeast(levels)) => {
            return Err(format!("the schema nests at least {levels} levels deep; at most {MAX_DEPTH} are read"))
        }
        Ok(Depth::Exactly(levels)) if levels > MAX_DEPTH => {
            return Err(format!("the schema nests {levels} levels deep; at most {MAX_DEPTH} are read"))
        }
        Ok(Depth::Exactly(_)) => {}
    }
    ParquetMetaDataReader::decode_schema(&footer)
        .map(Some)
        .map_err(|e| format!("not a readable Parquet file (corrupt or truncated): {e}"))
}

fn read_at(mut file: &File, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// How deep a schema nests, in levels below its root.
#[derive(Debug, PartialEq, Eq)]
enum Depth {
    Exactly(usize),
    /// The count stopped at [`MAX_COUNTED`] open groups.
    AtLeast(usize),
}

/// How deep the schema the crate would build from `footer` (a Thrift `FileMetaData`) nests: the
/// first field 2 (`list<SchemaElement>`), reached the way the crate's `decode_schema` reaches
/// it (other fields skipped by their nibbles). The depth of an element is the number of
/// recursive calls open around its conversion: its ancestors, each still counting its children.
/// A footer with no such list, or whose list holds no structs, is 0 deep: the crate refuses it.
///
/// # Errors
/// See [`Malformed`].
fn schema_depth(footer: &[u8]) -> Result<Depth, Malformed> {
    let mut cursor = Cursor::new(footer);
    let mut last = 0;
    loop {
        let Some((nibble, id)) = cursor.field(last)? else { return Ok(Depth::Exactly(0)) };
        if id == 2 {
            break;
        }
        cursor.skip(nibble, Shape::Generic)?;
        last = id;
    }
    let (nibble, elements) = cursor.list()?;
    if nibble != STRUCT {
        return Ok(Depth::Exactly(0));
    }
    // Children still to come, per group open around the next element, outermost first. A
    // group whose last child is open stays: its call is still on the crate's stack.
    let mut open: Vec<u32> = Vec::new();
    let mut deepest = 0;
    for _ in 0..elements {
        let children = num_children(&mut cursor)?;
        while open.last() == Some(&0) {
            open.pop();
        }
        deepest = deepest.max(open.len());
        if let Some(left) = open.last_mut() {
            *left -= 1;
        }
        if let Ok(children @ 1..) = u32::try_from(children) {
            if open.len() == MAX_COUNTED {
                return Ok(Depth::AtLeast(MAX_COUNTED + 1));
            }
            open.push(children);
        }
    }
    Ok(Depth::Exactly(deepest))
}

/// Walks one `SchemaElement` and returns its `num_children` (field 5; 0 when absent). The crate
/// reads a negative count as an error, and 0 as a leaf.
fn num_children(cursor: &mut Cursor<'_>) -> Result<i32, Malformed> {
    let (mut last, mut children) = (0, 0);
    while let Some((nibble, id)) = cursor.field(last)? {
        if id == 5 {
            if nibble != I32 {
                return Err(Malformed::WrongType { field: id, found: nibble, declared: I32 });
            }
            children = cursor.i32()?;
        } else {
            cursor.skip_field(Shape::SchemaElement, nibble, id)?;
        }
        last = id;
    }
    Ok(children)
}

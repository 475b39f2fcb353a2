//! What an `.xls` makes calamine allocate, worked out before calamine opens it. calamine 0.38
//! builds every sheet of an `.xls` when it opens the file, trusting what the file says:
//! - it follows the compound file's directory chain until it ends: a chain that loops grows a
//!   buffer without bound (a 1.5 KB file took all memory);
//! - it reserves `rows × columns` cells for a sheet's DIMENSIONS record, and builds a dense
//!   grid of its cells' bounding box: one cell at A1 and one at column 65,535, row 65,535 asks
//!   for 137 GB, and a failed allocation aborts the process;
//! - each cell that names a shared string gets its own copy of it, and a formula's text names
//!   sheets and defined names in full: a few hundred kilobytes can become gigabytes.
//!
//! So the file is walked the way calamine walks it (`compound` reads the container as its
//! `cfb.rs` does, this file the records as its `xls.rs` does), so that the two cannot disagree about
//! what the file says, and what calamine would allocate is added up. A chain longer than the
//! file has sectors (it loops), a part calamine would index past, or a total above the budget
//! is refused with why. An independent reader (the `cfb` crate) could read a damaged file
//! differently from calamine, which is what has to be bounded.

use std::mem::size_of;

use calamine::{Cell, Data};

use super::compound::{u16_at, u32_at, Container};

/// What calamine would hold in memory once it opened the workbook: sheets' sparse cells,
/// dense grids (values and formulas), copied strings and the reserve a DIMENSIONS record asks.
/// A sparse cell, twice: calamine's list of them grows by doubling, so up to half its capacity
/// is headroom.
const CELL: u64 = 2 * size_of::<Cell<Data>>() as u64;
const GRID_CELL: u64 = (size_of::<Data>() + size_of::<String>()) as u64;
/// The most UTF-8 bytes one character of a string record can become: encoding_rs sniffs a
/// byte-order mark in what calamine decodes, and two bytes read as UTF-8 can each become
/// U+FFFD (3 bytes).
const CHAR: u64 = 6;
/// The most characters one byte of a formula's tokens can print as (a 4-byte PtgAttrSpace
/// inserts up to 255 spaces; a 9-byte number prints up to ~330 digits).
const FORMULA_CHARS_PER_BYTE: u64 = 64;

/// Refuses an `.xls` that calamine could not open within `budget` bytes, or whose structure
/// would make it loop or index past its own parts.
///
/// # Errors
/// Why the workbook is refused, naming no path.
pub(super) fn check(file: &[u8], budget: u64) -> Result<(), String> {
    let stream = Container::open(file)?.workbook()?;
    let cost = workbook_cost(&stream)?;
    if cost > budget {
        return Err(format!(
            "reading this xls whole would take about {} MiB, above the {} MiB dat allows for a workbook \
             read whole (16 × whole_workbook_limit_mib); save it as xlsx, which is streamed",
            cost >> 20,
            budget >> 20
        ));
    }
    Ok(())
}

/// A BIFF record and the CONTINUE records after it (calamine's `RecordIter`).
struct Record<'s> {
    typ: u16,
    data: &'s [u8],
    cont: Vec<&'s [u8]>,
}

/// The records from the start of `stream`, until one is cut short.
fn records(mut stream: &[u8]) -> impl Iterator<Item = Result<Record<'_>, String>> {
    std::iter::from_fn(move || {
        if stream.is_empty() {
            return None;
        }
        let cut = || Some(Err("the xls workbook stream ends inside a record".to_owned()));
        let (Some(typ), Some(len)) = (u16_at(stream, 0), u16_at(stream, 2)) else { return cut() };
        let Some(data) = stream.get(4..4 + len as usize) else { return cut() };
        stream = &stream[4 + len as usize..];
        let mut cont = Vec::new();
        while stream.len() > 4 && u16_at(stream, 0) == Some(0x003C) {
            let len = u16_at(stream, 2).unwrap_or(0) as usize;
            let Some(more) = stream.get(4..4 + len) else { return cut() };
            cont.push(more);
            stream = &stream[4 + len..];
        }
        Some(Ok(Record { typ, data, cont }))
    })
}

/// What calamine allocates for the workbook in `stream`: the stream itself, the shared strings,
/// and each sheet's cells.
pub(super) fn workbook_cost(stream: &[u8]) -> Result<u64, String> {
    let mut sheets = Vec::new();
    let mut strings: Vec<u64> = Vec::new();
    let mut longest_name = 0u64;
    // Defined names' record lengths: each becomes `sheet!formula` text.
    let mut names = Vec::new();
    for record in records(stream) {
        let record = record?;
        match record.typ {
            0x0085 => {
                let pos = u32_at(record.data, 0).filter(|_| record.data.len() >= 6);
                sheets.push(pos.ok_or("the xls file has a damaged sheet record")? as usize);
                longest_name = longest_name.max(CHAR * u64::from(record.data.get(6).copied().unwrap_or(0)));
            }
            0x0018 => {
                longest_name = longest_name.max(CHAR * u64::from(record.data.get(3).copied().unwrap_or(0)));
                names.push(record.data.len() as u64);
            }
            0x00FC => strings = shared_string_sizes(record)?,
            0x000A => break,
            _ => {}
        }
    }
    let mut cost = stream.len() as u64 + strings.iter().map(|s| s + 24).sum::<u64>();
    for len in names {
        cost = cost.saturating_add(longest_name + 64 + len.saturating_mul(FORMULA_CHARS_PER_BYTE));
    }
    for pos in sheets {
        let sheet = stream.get(pos..).ok_or("the xls file places a sheet past the end of its workbook stream")?;
        cost = cost.saturating_add(sheet_cost(sheet, &strings, longest_name)?);
    }
    Ok(cost)
}

/// Moves `record` on to its next CONTINUE record, if any (calamine's `continue_record`).
fn next_continue(record: &mut Record<'_>) -> bool {
    if record.cont.is_empty() {
        return false;
    }
    record.data = record.cont.remove(0);
    true
}

/// The decoded size (at most 3 UTF-8 bytes a character) of each shared string, walked as
/// calamine's `parse_sst` reads them (characters run on into CONTINUE records, each starting
/// with its own flags byte).
fn shared_string_sizes(mut record: Record<'_>) -> Result<Vec<u64>, String> {
    let damaged = || "the xls file's shared strings are damaged".to_owned();
    let mut sizes = Vec::new();
    record.data = record.data.get(8..).ok_or_else(damaged)?;
    while !record.data.is_empty() || next_continue(&mut record) {
        if record.data.is_empty() {
            sizes.push(0);
            continue;
        }
        let (cch, flags) =
            (u16_at(record.data, 0).ok_or_else(damaged)? as usize, record.data.get(2).copied().ok_or_else(damaged)?);
        let mut at = 3;
        let runs = if flags & 0x8 != 0 {
            at += 2;
            u16_at(record.data, 3).ok_or_else(damaged)? as usize
        } else {
            0
        };
        let ext = if flags & 0x4 != 0 {
            let v = u32_at(record.data, at).ok_or_else(damaged)? as i32 as isize as usize;
            at += 4;
            v
        } else {
            0
        };
        record.data = record.data.get(at..).ok_or_else(damaged)?;
        let (mut left, mut wide) = (cch, flags & 0x1 != 0);
        while left > 0 {
            let width = if wide { 2 } else { 1 };
            let took = left.min(record.data.len() / width);
            record.data = &record.data[took * width..];
            left -= took;
            if left > 0 {
                if !next_continue(&mut record) {
                    return Err(damaged());
                }
                wide = record.data.first().ok_or_else(damaged)? & 0x1 != 0;
                record.data = &record.data[1..];
            }
        }
        let mut skip = runs.saturating_mul(4).saturating_add(ext);
        while skip > 0 {
            if record.data.is_empty() && !next_continue(&mut record) {
                return Err(damaged());
            }
            let took = skip.min(record.data.len());
            record.data = &record.data[took..];
            skip -= took;
        }
        sizes.push(CHAR * cch as u64);
    }
    Ok(sizes)
}

/// What calamine allocates for one sheet: its sparse cells, the dense grids of their bounding
/// box (values and formulas), copied strings and formula texts, and DIMENSIONS' reserve.
fn sheet_cost(sheet: &[u8], strings: &[u64], longest_name: u64) -> Result<u64, String> {
    let (mut rows, mut cols) = ((u32::MAX, 0u32), (u32::MAX, 0u32));
    let (mut cells, mut bytes, mut reserve) = (0u64, 0u64, 0u64);
    let mut place = |row: u16, col: u32| {
        rows = (rows.0.min(row.into()), rows.1.max(row.into()));
        cols = (cols.0.min(col), cols.1.max(col));
        cells += 1;
    };
    let (mut seen_bof, mut depth) = (false, 0usize);
    // Where a formula's string value (0x0207) goes: the last formula's cell, (0, 0) before one.
    let mut formula_at = (0u16, 0u16);
    // A string record's text: its declared characters are reserved, however short the record.
    let text = |cch: Option<u16>, len: usize| CHAR * u64::from(cch.unwrap_or(0)).max(len as u64);
    for record in records(sheet) {
        let record = record?;
        let data = record.data;
        if depth > 0 {
            match record.typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let at = |i| u16_at(data, i).ok_or("the xls file has a damaged cell record");
        match record.typ {
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            0x0200 => reserve = reserve.max(dimensions(data)?.saturating_mul(CELL)),
            0x0203 | 0x0205 | 0x027E => place(at(0)?, at(2)?.into()),
            0x0204 | 0x00D6 => {
                place(at(0)?, at(2)?.into());
                bytes += text(u16_at(data, 6), data.len());
            }
            0x00FD => {
                place(at(0)?, at(2)?.into());
                let index = u32_at(data, 6).unwrap_or(u32::MAX) as usize;
                bytes += strings.get(index).copied().unwrap_or(0);
            }
            0x00BD if data.len() >= 6 => {
                // As `parse_mul_rk`: a length that does not match the last column fails the
                // sheet (u16 arithmetic, wrapping as calamine's release build does), and the
                // columns count on from the first as u32, past 65,535.
                let (row, first, last) = (at(0)?, at(2)?, at(data.len() - 2)?);
                if data.len() != 6 + 6 * usize::from(last.wrapping_sub(first).wrapping_add(1)) {
                    return Err("the xls file has a damaged cell record".to_owned());
                }
                for i in 0..(data.len() - 6) / 6 {
                    place(row, u32::from(first) + i as u32);
                }
            }
            0x0006 if data.len() >= 20 => {
                formula_at = (at(0)?, at(2)?);
                place(formula_at.0, formula_at.1.into());
                // A token naming a sheet or a name takes at least 5 bytes.
                let per_byte = (longest_name + 24).div_ceil(5).max(FORMULA_CHARS_PER_BYTE);
                bytes += (data.len() as u64 - 20) * per_byte + 64;
            }
            0x0207 => {
                place(formula_at.0, formula_at.1.into());
                bytes += text(u16_at(data, 0), data.len());
            }
            0x000A => break,
            _ => {}
        }
    }
    let grid = if cells == 0 { 0 } else { (u64::from(rows.1 - rows.0) + 1) * (u64::from(cols.1 - cols.0) + 1) };
    Ok(grid.saturating_mul(GRID_CELL).saturating_add(cells * CELL).saturating_add(bytes).saturating_add(reserve))
}

/// The cells a DIMENSIONS record makes calamine reserve, computed as calamine does (its row
/// count wraps when the last row is before the first).
fn dimensions(data: &[u8]) -> Result<u64, String> {
    let damaged = || "the xls file has a damaged DIMENSIONS record".to_owned();
    let (rf, rl, mut cf, cl) = match data.len() {
        10 => (
            u32::from(u16_at(data, 0).ok_or_else(damaged)?),
            u32::from(u16_at(data, 2).ok_or_else(damaged)?),
            u32::from(u16_at(data, 4).ok_or_else(damaged)?),
            u32::from(u16_at(data, 6).ok_or_else(damaged)?),
        ),
        14 | 16 => (
            u32_at(data, 0).ok_or_else(damaged)?,
            u32_at(data, 4).ok_or_else(damaged)?,
            u32::from(u16_at(data, 8).ok_or_else(damaged)?),
            u32::from(u16_at(data, 10).ok_or_else(damaged)?),
        ),
        _ => return Err(damaged()),
    };
    if 0xFF < cf || cl < cf {
        cf = 0;
    }
    let (start, end) = if rl >= 1 && cl >= 1 { ((rf, cf), (rl - 1, cl - 1)) } else { ((rf, cf), (rf, cf)) };
    let rows = u64::from(end.0.wrapping_sub(start.0).wrapping_add(1));
    let cols = u64::from(end.1.wrapping_sub(start.1).wrapping_add(1));
    Ok(rows.saturating_mul(cols))
}

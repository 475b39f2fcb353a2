//! What an `.ods` makes calamine allocate, worked out before calamine opens it. calamine 0.38
//! builds every sheet when it opens the file, and repeats a cell `number-columns-repeated`
//! times and a row `number-rows-repeated` times, copying each value (its caps, 16,384 columns
//! and 100 M cells, still let a 1 KB file ask for gigabytes). `content.xml` is streamed here
//! with the same XML reader and settings, the repeats are counted the way calamine counts them
//! (`read_table`, `read_row`, `get_range`: trailing empty cells and rows cost nothing, empty
//! rows between rows do), and the total is held to the budget.

use std::io::{BufRead, BufReader};
use std::mem::size_of;

use calamine::Data;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// calamine's caps on one sheet.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;
/// A cell in calamine's value and formula lists and grids.
const CELL: u64 = (size_of::<Data>() + size_of::<String>()) as u64;

/// Refuses the `.ods` in `file` whose sheets calamine could not build within `budget` bytes. A file that
/// is not a zip or has no `content.xml` passes: calamine says what is wrong with it.
///
/// # Errors
/// Why the workbook is refused, naming no path.
pub(super) fn check(file: &[u8], budget: u64) -> Result<(), String> {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(file)) else { return Ok(()) };
    let Ok(content) = zip.by_name("content.xml") else { return Ok(()) };
    let cost = content_cost(BufReader::new(content), budget)?;
    if cost > budget {
        return Err(format!(
            "its repeated rows and cells would take about {} MiB or more once read whole, above the {} MiB \
             dat allows for a workbook read whole (16 × whole_workbook_limit_mib); save it as xlsx, which \
             is streamed",
            cost >> 20,
            budget >> 20
        ));
    }
    Ok(())
}

/// One sheet's running count, as calamine builds it.
#[derive(Default)]
struct Sheet {
    /// Rows so far (repeats included, capped as calamine caps them).
    rows: u64,
    /// Cells and bytes in calamine's lists of read cells (one entry per cell, per row read).
    listed: u64,
    /// Rows from the first non-empty row to the last one, and each non-empty row's copied bytes.
    span: u64,
    copied: u64,
    /// Empty rows since the last non-empty row: they count once another non-empty row follows.
    empty_since: u64,
    /// The non-empty columns: first and last.
    columns: Option<(u64, u64)>,
}

impl Sheet {
    /// What calamine holds for the sheet once built: its lists, then its two grids.
    fn cost(&self) -> u64 {
        let width = self.columns.map_or(0, |(first, last)| last + 1 - first);
        // The lists grow by doubling: up to half their capacity is headroom.
        self.listed
            .saturating_mul(2)
            .saturating_add(self.span.saturating_mul(width).saturating_mul(CELL))
            .saturating_add(self.copied)
    }
}

/// A row as calamine reads it: the cells it lists and their bytes.
#[derive(Default)]
struct Row {
    cells: u64,
    bytes: u64,
    first: Option<u64>,
    /// Empty cells not yet listed: calamine lists them only when a value follows.
    empty: u64,
}

fn damaged(e: impl std::fmt::Display) -> String {
    format!("the ods file's content is damaged: {e}")
}

/// Streams `content.xml` and returns what its sheets would take, stopping early once past
/// `budget`.
fn content_cost(xml: impl BufRead, budget: u64) -> Result<u64, String> {
    let mut reader = Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let (mut buf, mut total) = (Vec::new(), 0u64);
    let mut sheet: Option<Sheet> = None;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::Start(e) if e.name().as_ref() == "table:table" && attr(&e, "table:name").is_some() => {
                // A table inside a sheet is read as more rows of that sheet, as calamine does.
                sheet.get_or_insert_with(Sheet::default);
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                let Some(current) = sheet.as_mut() else { continue };
                let repeats = number(&e, "table:number-rows-repeated")?;
                let repeats = repeats.min(MAX_ROWS.saturating_sub(current.rows));
                current.rows = current.rows.saturating_add(repeats);
                let row = read_row(&mut reader)?;
                current.listed =
                    current.listed.saturating_add(row.cells.saturating_mul(CELL).saturating_add(row.bytes));
                if let Some(first) = row.first {
                    let last = row.cells.saturating_sub(1);
                    current.columns = Some(current.columns.map_or((first, last), |(f, l)| (f.min(first), l.max(last))));
                    current.span = current.span.saturating_add(current.empty_since).saturating_add(repeats);
                    current.copied = current.copied.saturating_add(repeats.saturating_mul(row.bytes));
                    current.empty_since = 0;
                } else if current.columns.is_some() {
                    current.empty_since = current.empty_since.saturating_add(repeats);
                }
                if total.saturating_add(current.cost()) > budget {
                    return Ok(total.saturating_add(current.cost()));
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                total = total.saturating_add(sheet.take().map_or(0, |s| s.cost()));
            }
            // calamine reads a sheet until its end tag and would never stop here.
            Event::Eof if sheet.is_some() => return Err(damaged("it ends inside a sheet")),
            Event::Eof => return Ok(total),
            _ => {}
        }
    }
}

/// Reads one row's cells up to its end, as calamine's `read_row` lists them.
fn read_row<R: BufRead>(reader: &mut Reader<R>) -> Result<Row, String> {
    let mut row = Row::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::Start(e) if matches!(e.name().as_ref(), "table:table-cell" | "table:covered-table-cell") => {
                let repeats = number(&e, "table:number-columns-repeated")?;
                let (has_value, mut bytes, string_in_text) = value(&e);
                let name = e.name().as_ref().to_owned();
                bytes = bytes.saturating_add(text_until_end(reader, &name, string_in_text)?);
                // Empty cells before this one are listed now, up to the column cap.
                let empty = row.empty.min(MAX_COLUMNS.saturating_sub(row.cells));
                row.cells += empty;
                row.empty = 0;
                let repeats = repeats.min(MAX_COLUMNS.saturating_sub(row.cells));
                if has_value {
                    row.first.get_or_insert(row.cells);
                    row.cells += repeats;
                    row.bytes = row.bytes.saturating_add(repeats.saturating_mul(bytes));
                } else {
                    row.empty = repeats;
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => return Ok(row),
            Event::Eof => return Err(damaged("a row does not end")),
            // calamine stops at anything else in a row: the workbook does not open.
            other => return Err(damaged(format!("{other:?} in a row"))),
        }
    }
}

/// Whether a cell has a value or formula (calamine's `get_datatype` gives something other than
/// empty), the bytes its attributes copy, and whether its value is its text.
fn value(e: &BytesStart<'_>) -> (bool, u64, bool) {
    let (mut has_value, mut bytes, mut string, mut set) = (false, 0u64, false, false);
    for a in e.attributes().with_checks(false).flatten() {
        let len = a.value.len() as u64;
        match a.key.as_ref() {
            "office:value"
            | "office:string-value"
            | "office:date-value"
            | "office:time-value"
            | "office:boolean-value" => {
                (has_value, set) = (true, true);
                bytes = bytes.saturating_add(len);
            }
            "office:value-type" => string = a.value.as_ref() == "string",
            "table:formula" if len > 0 => {
                has_value = true;
                bytes = bytes.saturating_add(len);
            }
            _ => {}
        }
    }
    // A string cell without a string value takes its text (possibly empty: still a value).
    let string_in_text = string && !set;
    (has_value || string_in_text, bytes, string_in_text)
}

/// Skips to the end of the cell named `name`, returning the bytes of its text (every cell's,
/// as a bound: calamine copies a string cell's text, and an error cell's). A cell whose value
/// is its text ends, as calamine reads it, at the first end of any cell; another at the end of
/// its own element. `<text:s text:c="N"/>` is N spaces.
fn text_until_end<R: BufRead>(reader: &mut Reader<R>, name: &str, value_is_text: bool) -> Result<u64, String> {
    let (mut buf, mut depth, mut bytes) = (Vec::new(), 0usize, 0u64);
    let is_cell = |n: &str| matches!(n, "table:table-cell" | "table:covered-table-cell");
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::End(e) if value_is_text && is_cell(e.name().as_ref()) => return Ok(bytes),
            Event::Start(e) if e.name().as_ref() == "text:s" => {
                let spaces = attr(&e, "text:c").map_or(Some(1), |c| c.parse::<u64>().ok());
                bytes = bytes.saturating_add(spaces.ok_or_else(|| damaged("text:c is not a count"))?);
            }
            Event::Start(e) if e.name().as_ref() == name => depth += 1,
            Event::End(e) if e.name().as_ref() == name => {
                if depth == 0 {
                    return Ok(bytes);
                }
                depth -= 1;
            }
            Event::Text(t) => bytes = bytes.saturating_add(t.len() as u64),
            Event::GeneralRef(r) => bytes = bytes.saturating_add(r.len() as u64 + 2),
            Event::Eof => return Err(damaged("a cell does not end")),
            _ => {}
        }
    }
}

/// A repeat count (1 when absent), as calamine parses it.
fn number(e: &BytesStart<'_>, key: &str) -> Result<u64, String> {
    match attr(e, key) {
        None => Ok(1),
        Some(v) => v.parse::<u64>().ok().ok_or_else(|| damaged(format!("{key} is not a count"))),
    }
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find(|a| a.key.as_ref() == key).map(|a| a.value.into_owned())
}

/// What `content` (the body of `content.xml`) would take (for tests).
#[cfg(test)]
pub(super) fn cost_of_content(content: &str) -> Result<u64, String> {
    content_cost(content.as_bytes(), u64::MAX)
}

/// What one sheet of `rows` (`<table:table-row>` elements) would take (for tests).
#[cfg(test)]
pub(super) fn cost_of(rows: &str) -> Result<u64, String> {
    content_cost(format!(r#"<table:table table:name="t">{rows}</table:table>"#).as_bytes(), u64::MAX)
}

//! Counts an xlsx declares and calamine trusts: it reserves memory for them before reading what
//! they count, and an allocation that fails aborts the process (no panic to catch). They are
//! checked here, before calamine opens the workbook.
//!
//! Guarded here: `<sst uniqueCount>` of the shared strings part (calamine reserves one
//! `String`, 24 bytes, per declared string). `.xls` and `.ods` are built whole by calamine, and
//! what they would take is worked out in `biff` (with `compound`) and `repeats`. xlsx/xlsb
//! sheets: calamine bounds the `<dimension>` reservation itself (100,000 cells), and dat
//! streams their cells and does not call the whole-sheet readers.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The most shared strings a workbook may declare, whatever its size: calamine reserves 24
/// bytes per string up front, and 1 GiB of them is far past what dat reads within its memory
/// budget (such a workbook's strings alone would take more).
const MAX_SHARED_STRINGS: u64 = (1 << 30) / 24;

/// How far deflate can expand: a part's uncompressed size as its zip entry declares it is
/// file-controlled, so the bytes actually stored bound it too.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// The longest start tag of `<sst>` read: a real one is a few hundred bytes.
const MAX_TAG: usize = 64 << 10;

/// Refuses an xlsx/xlsm whose shared strings part declares more strings (`uniqueCount`) than
/// it could hold: each takes at least 4 bytes (`<si>`), and at most [`MAX_SHARED_STRINGS`].
/// A file that is not a zip, or has no such part, passes: calamine says what is wrong with it.
///
/// # Errors
/// Why the workbook is refused, naming no path.
pub(super) fn check_shared_strings(disk: &Path) -> Result<(), String> {
    let Ok(file) = File::open(disk) else { return Ok(()) };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(file)) else { return Ok(()) };
    let parts: Vec<usize> = zip
        .file_names_raw()
        .enumerate()
        .filter(|(_, name)| name.to_ascii_lowercase().ends_with(b"sharedstrings.xml"))
        .map(|(i, _)| i)
        .collect();
    for i in parts {
        let Ok(part) = zip.by_index(i) else { continue };
        let room = part.size().min(part.compressed_size().saturating_mul(MAX_DEFLATE_RATIO)) / 4;
        let limit = room.min(MAX_SHARED_STRINGS);
        let declared = unique_count(BufReader::new(part))?;
        if let Some(count) = declared.filter(|count| *count > limit) {
            return Err(format!(
                "the workbook declares {count} shared strings, more than its shared strings part can \
                 hold or dat can reserve ({limit}); it is damaged or made to exhaust memory"
            ));
        }
    }
    Ok(())
}

/// The `uniqueCount` of the first `sst` start tag (any prefix) in `xml`, skipping comments,
/// CDATA and processing instructions as an XML reader does; `None` without one. A count too
/// large for a `u64` is `u64::MAX`.
///
/// # Errors
/// An `sst` tag longer than [`MAX_TAG`], which no real workbook has.
fn unique_count(xml: impl BufRead) -> Result<Option<u64>, String> {
    let mut bytes = xml.bytes().map_while(Result::ok);
    while let Some(b) = bytes.next() {
        if b != b'<' {
            continue;
        }
        let mut name = Vec::new();
        let mut end = None;
        for b in bytes.by_ref() {
            if b.is_ascii_whitespace() || b == b'>' || b == b'/' || name.len() > MAX_TAG {
                end = Some(b);
                break;
            }
            name.push(b);
            if name == b"!--" || name == b"![CDATA[" || name == b"?" {
                break;
            }
        }
        match name.as_slice() {
            b"!--" => skip_past(&mut bytes, b"-->"),
            b"![CDATA[" => skip_past(&mut bytes, b"]]>"),
            b"?" => skip_past(&mut bytes, b"?>"),
            n if n.rsplit(|b| *b == b':').next() == Some(b"sst".as_slice()) => {
                if end == Some(b'>') {
                    return Ok(None);
                }
                let mut tag = Vec::new();
                let mut quote = None;
                for b in bytes.by_ref() {
                    match (quote, b) {
                        (None, b'>') => break,
                        (None, b'"' | b'\'') => quote = Some(b),
                        (Some(q), b) if b == q => quote = None,
                        _ => {}
                    }
                    tag.push(b);
                    if tag.len() > MAX_TAG {
                        return Err("the shared strings part's <sst> tag is longer than 64 KiB".into());
                    }
                }
                return Ok(attribute(&tag, b"uniqueCount").map(count));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Consumes `bytes` up to and including `end`.
fn skip_past(bytes: &mut impl Iterator<Item = u8>, end: &[u8]) {
    let mut seen = Vec::with_capacity(end.len());
    for b in bytes {
        if seen.len() == end.len() {
            seen.remove(0);
        }
        seen.push(b);
        if seen == end {
            return;
        }
    }
}

/// The value of attribute `name` in a start tag's attribute text (`a="1" b='2'`), read
/// attribute by attribute so that text inside another value is never taken for it; `None` at
/// the first malformed attribute, where calamine's reader stops too.
fn attribute<'t>(tag: &'t [u8], name: &[u8]) -> Option<&'t [u8]> {
    let trim = |s: &'t [u8]| s.get(s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len())..);
    let mut rest = trim(tag)?;
    while !rest.is_empty() {
        let eq = rest.iter().position(|b| *b == b'=')?;
        let key = rest.get(..eq)?.trim_ascii_end();
        let value = trim(rest.get(eq + 1..)?)?;
        let quote = *value.first().filter(|q| matches!(q, b'"' | b'\''))?;
        let inner = value.get(1..)?;
        let close = inner.iter().position(|b| *b == quote)?;
        if key == name {
            return inner.get(..close);
        }
        rest = trim(inner.get(close + 1..)?)?;
    }
    None
}

/// A count's digits as a number, `u64::MAX` when larger; `0` when not a number (calamine
/// then reserves nothing).
fn count(digits: &[u8]) -> u64 {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    digits.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0'))).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(xml: &str) -> Option<u64> {
        unique_count(xml.as_bytes()).unwrap()
    }

    #[test]
    fn the_count_is_read_from_the_real_sst_tag_only() {
        assert_eq!(declared(r#"<?xml version="1.0"?><sst count="3" uniqueCount="2"><si>"#), Some(2));
        assert_eq!(declared(r#"<x:sst xmlns:x="u" uniqueCount = '7'>"#), Some(7));
        assert_eq!(declared(r#"<!-- <sst uniqueCount="1"> --><sst uniqueCount="9">"#), Some(9));
        assert_eq!(declared(r#"<sst a=" uniqueCount='1'" uniqueCount="99999999999999999999999">"#), Some(u64::MAX));
        assert_eq!(declared(r#"<sst a="x>y" uniqueCount="5">"#), Some(5));
        assert_eq!(declared(r#"<sst count="3">"#), None);
        assert_eq!(declared("<sst>"), None);
    }
}

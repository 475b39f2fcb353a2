//! Where a large delimited file can be cut so that its parts are read on several cores: at line
//! ends, when no line end can be inside a quoted field (the file has no quote character at
//! all) and every line end is one a byte search finds (`\n` or `\r\n`, no lone `\r`). One pass
//! over the file (byte searches only) finds the cuts and counts the lines before each; it stops
//! at the first byte that rules splitting out, and that file is read in one go, exactly as
//! before. The pass never feeds the file's fingerprint: the caller hashes a split file on a
//! thread of its own while the ranges are read.

use std::io::Read;

use super::analyse::layout;
use super::decode::TextEncoding;
use super::sample::read_sample;
use crate::split::ByteRange;
use crate::{ReadError, ReadOptions, SourceFile};

/// Bytes read at a time by the pass.
const BLOCK: usize = 1 << 20;

/// The ranges of `file` for `parts` readers, or `None` when it is read in one go.
///
/// # Errors
/// [`ReadError`] when the file cannot be read.
pub(super) fn plan(
    file: &SourceFile<'_>,
    prefer_tab: bool,
    options: &ReadOptions,
    parts: usize,
) -> Result<Option<Vec<ByteRange>>, ReadError> {
    let path = file.path.as_str();
    let size = std::fs::metadata(file.disk).map_err(|e| ReadError::io(path, e))?.len();
    if parts < 2 || file.compression.is_some() || size < options.split_min_bytes.max(1) {
        return Ok(None);
    }
    // Neither the sample nor the pass feeds the fingerprint (see the module's doc).
    let unhashed = SourceFile { fingerprint: None, ..*file };
    let Ok((sample, _)) = read_sample(&unhashed) else { return Ok(None) };
    let Ok(layout) = layout(&sample, prefer_tab, &options.text) else { return Ok(None) };
    // Only encodings in which a `\n` byte is always a line end.
    if !matches!(layout.encoding, TextEncoding::Utf8 | TextEncoding::Utf8Bom | TextEncoding::Windows1252) {
        return Ok(None);
    }
    let quote = layout.dialect.quote.unwrap_or(b'"');
    let targets: Vec<u64> = (1..parts as u64).map(|k| size * k / parts as u64).collect();
    let mut cuts: Vec<(u64, u64)> = Vec::new(); // (offset after a `\n`, the line it starts)
    let mut stream = unhashed.open().map_err(|e| ReadError::io(path, e))?;
    let mut buf = vec![0u8; BLOCK];
    let (mut offset, mut lines, mut after_cr) = (0u64, 0u64, false);
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::io(path, e)),
        };
        let block = buf.get(..n).unwrap_or_default();
        if memchr::memchr(quote, block).is_some() || lone_cr(block, &mut after_cr) {
            return Ok(None);
        }
        for at in memchr::memchr_iter(b'\n', block) {
            lines += 1;
            let next = offset + at as u64 + 1;
            if cuts.len() < targets.len() && targets.get(cuts.len()).is_some_and(|t| next >= *t) {
                cuts.push((next, lines + 1));
            }
        }
        offset += n as u64;
    }
    let data_start = layout.lines_before + u64::from(layout.header);
    if cuts.is_empty() || cuts.iter().any(|(at, line)| *at >= offset || *line <= data_start + 1) {
        return Ok(None);
    }
    cuts.dedup_by_key(|(at, _)| *at);
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut start = (0u64, 1u64);
    for (index, cut) in cuts.iter().chain(std::iter::once(&(offset, 0))).enumerate() {
        ranges.push(ByteRange { index, start: start.0, end: cut.0, first_line: start.1, last: cut.0 == offset });
        start = *cut;
    }
    Ok(Some(ranges))
}

/// Whether `block` has a `\r` that is not followed by `\n` (`after_cr`: the block before ended
/// with `\r`; updated).
fn lone_cr(block: &[u8], after_cr: &mut bool) -> bool {
    if *after_cr && block.first() != Some(&b'\n') {
        return true;
    }
    let lone = memchr::memchr_iter(b'\r', block).any(|at| block.get(at + 1).is_some_and(|b| *b != b'\n'));
    *after_cr = block.last() == Some(&b'\r');
    lone
}

#[cfg(test)]
mod tests {
    use dat_contracts::WorkspacePath;

    use crate::testing::Collected;
    use crate::text::DelimitedAdapter;
    use crate::{Adapter, Fingerprint, ReadOptions, SourceFile};

    /// What a read gave: rows with their line, the rejects' lines, the account.
    type Read = (Vec<(u64, Vec<Option<String>>)>, Vec<u64>, dat_contracts::bundle::RowAccount);

    /// Reads `text` in one go and in `parts` ranges; returns both.
    fn both(text: &str, parts: usize) -> [Read; 2] {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("big.csv");
        std::fs::write(&disk, text).unwrap();
        let path = WorkspacePath::parse("big.csv").unwrap();
        let options = ReadOptions { split_min_bytes: 1, chunk_rows: 7, ..ReadOptions::default() };
        let fingerprint = Fingerprint::default();
        let file = SourceFile { fingerprint: Some(&fingerprint), ..SourceFile::new(&path, &disk, None) };
        let unfed = Fingerprint::default();
        let collect = |sink: &Collected, account| {
            let names: Vec<String> = sink.chunks.first().map(|c| c.names.clone()).unwrap_or_default();
            let rows =
                sink.source_rows().into_iter().enumerate().map(|(i, line)| {
                    (line, names.iter().map(|n| sink.column(n).0.get(i).cloned().flatten()).collect())
                });
            (rows.collect(), sink.rejects.iter().map(|r| r.line).collect(), account)
        };
        let ranges = DelimitedAdapter.split(&file, None, &options, parts).unwrap().expect("split");
        assert_eq!(ranges.len(), parts, "{ranges:?}");
        std::fs::write(&disk, "other content").unwrap();
        let now = unfed.finish(&disk).unwrap();
        assert_eq!(fingerprint.finish(&disk).unwrap(), now, "the pass fed nothing: the file is hashed as it is now");
        std::fs::write(&disk, text).unwrap();
        let unhashed = SourceFile::new(&path, &disk, None);
        let mut split = Collected::default();
        let mut account = dat_contracts::bundle::RowAccount::new("lines", 0);
        for range in &ranges {
            let mut sink = Collected::default();
            let part = DelimitedAdapter.read_range(&unhashed, range, &options, &mut sink).unwrap().accounting.unwrap();
            account.read += part.read;
            part.skipped.iter().for_each(|(k, v)| account.skip(k, *v));
            split.chunks.extend(sink.chunks);
            split.rejects.extend(sink.rejects);
        }
        let mut whole = Collected::default();
        let end = DelimitedAdapter.read(&unhashed, None, &options, &mut whole).unwrap();
        [collect(&whole, end.accounting.unwrap()), collect(&split, account)]
    }

    #[test]
    fn ranges_read_back_exactly_what_one_read_gives() {
        let mut text = String::from("Report 7\nid,name,v\n");
        for i in 0..200 {
            text.push_str(&format!("{i},n{i},{}.5\n", i % 13));
            if i == 80 {
                text.push_str("\n7,extra,1,2\n");
            }
        }
        text.push_str("End of report\n");
        let [whole, split] = both(&text, 3);
        assert_eq!((whole.0.len(), whole.1.len()), (200, 1), "200 rows and one reject");
        assert_eq!(split, whole, "rows with their lines, rejects and the account");
    }

    #[test]
    fn cuts_in_later_blocks_start_at_line_starts_with_their_line_numbers() {
        // 2.6 MB: the cuts fall in the pass's second and third 1 MiB blocks.
        let mut text = String::from("id,v\n");
        let mut i = 0;
        while text.len() < (5 << 19) + 300_000 {
            text.push_str(&format!("{i},{}\n", "x".repeat(i % 37)));
            i += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let (path, disk) = (WorkspacePath::parse("big.csv").unwrap(), dir.path().join("big.csv"));
        std::fs::write(&disk, &text).unwrap();
        let options = ReadOptions { split_min_bytes: 1, ..ReadOptions::default() };
        let file = SourceFile::new(&path, &disk, None);
        let ranges = DelimitedAdapter.split(&file, None, &options, 4).unwrap().unwrap();
        assert_eq!(ranges.len(), 4);
        for (k, range) in ranges.iter().enumerate().skip(1) {
            let start = range.start as usize;
            let target = text.len() * k / 4;
            let before = &text.as_bytes()[..start];
            assert_eq!(before.last(), Some(&b'\n'), "range {k} starts a line");
            assert!(start >= target && !text.as_bytes()[target.saturating_sub(1)..start - 1].contains(&b'\n'));
            let lines = before.iter().filter(|b| **b == b'\n').count() as u64;
            assert_eq!(range.first_line, lines + 1, "range {k}");
        }
    }

    #[test]
    fn a_file_with_quotes_or_lone_carriage_returns_is_read_in_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = WorkspacePath::parse("q.csv").unwrap();
        let options = ReadOptions { split_min_bytes: 1, ..ReadOptions::default() };
        for text in ["a,b\n1,\"x\ny\"\n2,z\n3,w\n", "a,b\r1,2\r3,4\r5,6\r"] {
            let disk = dir.path().join("q.csv");
            std::fs::write(&disk, text).unwrap();
            let file = SourceFile::new(&path, &disk, None);
            assert_eq!(DelimitedAdapter.split(&file, None, &options, 2).unwrap(), None, "{text:?}");
        }
    }
}

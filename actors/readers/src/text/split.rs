//! Where a large delimited file can be cut so that its parts are read on several cores: at line
//! ends, when no line end can be inside a quoted field (the file has no quote character at
//! all) and every line end is one a byte search finds (`\n` or `\r\n`, no lone `\r`). One pass
//! over the file (byte searches only, each of `parts` threads over its share) finds the cuts and
//! counts the lines before each; a byte that rules splitting out ends it, and that file is read
//! in one go, exactly as before. The pass never feeds the file's fingerprint: the caller hashes
//! a split file on a thread of its own while the ranges are read (or trusts discovery's).

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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
    scanning: Scanning<'_>,
) -> Result<Option<Vec<ByteRange>>, ReadError> {
    let path = file.path.as_str();
    let meta = std::fs::metadata(file.disk).map_err(|e| ReadError::io(path, e))?;
    let size = meta.len();
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
    let key = ScanKey { disk: file.disk.to_path_buf(), version: FileVersion::of(&meta), quote, parts };
    let shares = match scanning.memo.get(&key) {
        Some(shares) => shares,
        None => {
            // Decided before reading: a write during the pass must find the stamp unsettled.
            let remember = crate::stamp::settled(key.version.stamp);
            let shares =
                scan_shares(file.disk, size, quote, parts, scanning.threads).map_err(|e| ReadError::io(path, e))?;
            if remember {
                scanning.memo.put(key, shares.clone());
            }
            shares
        }
    };
    // None: a quote, a lone `\r`, or the file changed size.
    let Some(shares) = shares else { return Ok(None) };
    // Each cut: after the first line end at or past its target (a share's start); its first
    // line is one past the line ends before the cut.
    let (mut cuts, mut lines_before) = (Vec::<(u64, u64)>::new(), 0u64);
    for (k, share) in shares.iter().enumerate() {
        if k > 0 {
            let Some((at, lines_to)) = first_line_end(&shares, k) else { break };
            cuts.push((at + 1, lines_before + lines_to + 1));
        }
        lines_before += share.line_ends;
    }
    let data_start = layout.lines_before + u64::from(layout.header);
    if cuts.is_empty() || cuts.iter().any(|(at, line)| *at >= size || *line <= data_start + 1) {
        return Ok(None);
    }
    cuts.dedup_by_key(|(at, _)| *at);
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut start = (0u64, 1u64);
    for (index, cut) in cuts.iter().chain(std::iter::once(&(size, 0))).enumerate() {
        ranges.push(ByteRange { index, start: start.0, end: cut.0, first_line: start.1, last: cut.0 == size });
        start = *cut;
    }
    Ok(Some(ranges))
}

/// The pass over a file of `size` bytes in `parts` shares on `threads` threads (each over a
/// run of shares), `None` when a share rules splitting out. Parse runs one thread per share (on
/// one core W1's 439 MB took 0.1 s while the other core waited); discovery's warm-up runs one,
/// beside its hashing. A quote or lone `\r` found by one thread stops the others at their
/// next block: a quoted file is given up after a block or so, not after a share each.
fn scan_shares(
    disk: &std::path::Path,
    size: u64,
    quote: u8,
    parts: usize,
    threads: usize,
) -> std::io::Result<Option<Vec<Scan>>> {
    let starts: Vec<u64> = (0..=parts as u64).map(|k| size * k / parts as u64).collect();
    let shares: Vec<(u64, u64)> = starts.windows(2).map(|w| (w[0], w[1])).collect();
    let ruled_out = AtomicBool::new(false);
    let per_thread = shares.len().div_ceil(threads.clamp(1, parts.max(1))).max(1);
    let scans: Vec<std::io::Result<Option<Scan>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .chunks(per_thread)
            .map(|run| {
                let ruled_out = &ruled_out;
                scope.spawn(move || {
                    let mut scans = Vec::with_capacity(run.len());
                    for &(from, to) in run {
                        let scanned = scan(disk, from, to, size, quote, ruled_out);
                        let stop = !matches!(scanned, Ok(Some(_)));
                        scans.push(scanned);
                        if stop {
                            ruled_out.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                    scans
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec![Err(std::io::Error::other("panicked"))]))
            .collect()
    });
    let scans: Vec<Option<Scan>> = scans.into_iter().collect::<Result<_, _>>()?;
    // A run cut short by a share that ruled splitting out holds fewer scans than shares.
    Ok(scans.into_iter().collect::<Option<Vec<Scan>>>().filter(|s| s.len() == parts))
}

/// How a plan's pass runs: the memo it looks in first, and on how many threads.
#[derive(Clone, Copy)]
pub(super) struct Scanning<'m> {
    pub(super) memo: &'m ScanMemo,
    pub(super) threads: usize,
}

/// The passes over large files, remembered by file version (the last [`ScanMemo::KEPT`]): a
/// file asked to be planned twice, by discovery's warm-up and then by parse, is scanned once.
/// A file written to in between has another version (its change stamp moved), so it is
/// scanned again; a pass over a file whose stamp had not settled is not remembered (a write in
/// the same tick of the file system's clock would keep the stamp, see [`crate::stamp`]).
#[derive(Default)]
pub(crate) struct ScanMemo {
    kept: Mutex<VecDeque<(ScanKey, Option<Vec<Scan>>)>>,
    /// Plans answered from memory (what the tests check).
    hits: std::sync::atomic::AtomicUsize,
}

impl ScanMemo {
    /// Files remembered: a few large files at once is what a folder being parsed holds.
    const KEPT: usize = 8;

    fn get(&self, key: &ScanKey) -> Option<Option<Vec<Scan>>> {
        let kept = self.kept.lock().ok()?;
        let found = kept.iter().find(|(k, _)| k == key).map(|(_, shares)| shares.clone());
        self.hits.fetch_add(usize::from(found.is_some()), Ordering::Relaxed);
        found
    }

    fn put(&self, key: ScanKey, shares: Option<Vec<Scan>>) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.retain(|(k, _)| k != &key);
            if kept.len() >= Self::KEPT {
                kept.pop_front();
            }
            kept.push_back((key, shares));
        }
    }
}

/// Which file, in which version, scanned for which quote in how many shares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ScanKey {
    disk: PathBuf,
    version: FileVersion,
    quote: u8,
    parts: usize,
}

/// A file's version: its size and change stamp ([`crate::stamp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileVersion {
    size: u64,
    stamp: i128,
}

impl FileVersion {
    fn of(meta: &std::fs::Metadata) -> Self {
        FileVersion { size: meta.len(), stamp: crate::stamp::change_stamp(meta) }
    }
}

/// What the pass found in one share of the file, `[from, to)`.
#[derive(Debug, Clone)]
struct Scan {
    from: u64,
    /// Line ends (`\n`) in the share.
    line_ends: u64,
    /// The first line end in the share, if any.
    first: Option<u64>,
    /// Whether the byte before the share is a line end.
    after_line_end: bool,
}

/// Scans `[from, to)` of a file of `size` bytes: its line ends, and `None` when a `quote` or a
/// `\r` not followed by `\n` rules splitting out (or the file is shorter than `size`, or
/// another share was `ruled_out`).
fn scan(
    disk: &std::path::Path,
    from: u64,
    to: u64,
    size: u64,
    quote: u8,
    ruled_out: &AtomicBool,
) -> std::io::Result<Option<Scan>> {
    use std::io::{Seek, SeekFrom};
    // One byte before the share (is it a line end?) and one after (does a `\r` end the share?).
    let read_from = from.saturating_sub(1);
    let read_to = (to + 1).min(size);
    let mut disk = std::fs::File::open(disk)?;
    disk.seek(SeekFrom::Start(read_from))?;
    let mut buf = vec![0u8; BLOCK];
    let mut share = Scan { from, line_ends: 0, first: None, after_line_end: false };
    let (mut at, mut after_cr) = (read_from, false);
    while at < read_to {
        if ruled_out.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let want = usize::try_from(read_to - at).unwrap_or(BLOCK).min(BLOCK);
        let Some(block) = buf.get_mut(..want) else { break };
        let n = match disk.read(block) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            read => read?,
        };
        if n == 0 {
            return Ok(None); // shorter than when it was measured
        }
        let block = block.get(..n).unwrap_or_default();
        // The part of the block inside the share: line ends and quotes count there only.
        let lo = usize::try_from(from.saturating_sub(at)).unwrap_or(n).min(n);
        let hi = usize::try_from(to.saturating_sub(at)).unwrap_or(n).min(n);
        if at < from {
            share.after_line_end = block.first() == Some(&b'\n');
        }
        let inside = block.get(lo..hi).unwrap_or_default();
        if memchr::memchr(quote, inside).is_some() || lone_cr(block.get(lo..).unwrap_or_default(), &mut after_cr) {
            return Ok(None);
        }
        if share.first.is_none() {
            share.first = memchr::memchr(b'\n', inside).map(|i| at + (lo + i) as u64);
        }
        share.line_ends += memchr::memchr_iter(b'\n', inside).count() as u64;
        at += n as u64;
    }
    Ok(Some(share))
}

/// Where share `k` is cut: the first line end at or past the byte before it (a share that
/// starts a line is cut at its start), searched from share `k` on; with the line ends from the
/// share's start through that one.
fn first_line_end(shares: &[Scan], k: usize) -> Option<(u64, u64)> {
    let share = shares.get(k)?;
    if share.after_line_end {
        return Some((share.from.checked_sub(1)?, 0));
    }
    let mut lines_to = 0;
    for later in shares.get(k..)? {
        if let Some(first) = later.first {
            return Some((first, lines_to + 1));
        }
        lines_to += later.line_ends;
    }
    None
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
    use std::sync::atomic::Ordering;

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
        let ranges = DelimitedAdapter::default().split(&file, None, &options, parts).unwrap().expect("split");
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
            let part = DelimitedAdapter::default()
                .read_range(&unhashed, range, &options, &mut sink)
                .unwrap()
                .accounting
                .unwrap();
            account.read += part.read;
            part.skipped.iter().for_each(|(k, v)| account.skip(k, *v));
            split.chunks.extend(sink.chunks);
            split.rejects.extend(sink.rejects);
        }
        let mut whole = Collected::default();
        let end = DelimitedAdapter::default().read(&unhashed, None, &options, &mut whole).unwrap();
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
        let ranges = DelimitedAdapter::default().split(&file, None, &options, 4).unwrap().unwrap();
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

    /// The cuts (start, first line) the pass must give for `text` in `parts`, found the plain
    /// way: after the first `\n` at or past each target less one, numbered by the `\n` before.
    fn expected_cuts(text: &[u8], parts: usize) -> Option<Vec<(u64, u64)>> {
        let lone_cr = text.iter().enumerate().any(|(i, b)| *b == b'\r' && text.get(i + 1).is_some_and(|n| *n != b'\n'));
        if text.contains(&b'"') || lone_cr {
            return None;
        }
        let mut cuts: Vec<(u64, u64)> = Vec::new();
        for k in 1..parts {
            let target = text.len() * k / parts;
            let Some(p) = (target.saturating_sub(1)..text.len()).find(|i| text[*i] == b'\n') else { break };
            let line = text[..=p].iter().filter(|b| **b == b'\n').count() as u64 + 1;
            cuts.push((p as u64 + 1, line));
        }
        if cuts.is_empty() || cuts.iter().any(|(at, line)| *at >= text.len() as u64 || *line <= 2) {
            return None;
        }
        cuts.dedup_by_key(|(at, _)| *at);
        Some(cuts)
    }

    #[test]
    fn the_pass_on_every_core_cuts_where_one_plain_pass_would() {
        let rows: String = (0..3000).map(|i| format!("{i},{}\n", "v".repeat(i % 23))).collect();
        let mut texts: Vec<Vec<u8>> = vec![format!("a,b\n{rows}").into_bytes()];
        // A line longer than a share, a `\r\n` and a lone `\r` astride a share's start, a line
        // end just before a share's start, a quote only in the last share.
        let long = format!("a,b\n1,2\n{}\n{rows}", "w".repeat(40_000)).into_bytes();
        texts.push(long);
        for (k, parts, insert) in [(1, 2, &b"\r\n"[..]), (1, 3, b"\rx"), (2, 4, b"\n"), (3, 4, b"x")] {
            let mut text = format!("a,b\n{rows}").into_bytes();
            let at = text.len() * k / parts - 1;
            text.splice(at..at + insert.len(), insert.iter().copied());
            texts.push(text);
        }
        let mut quoted = format!("a,b\n{rows}").into_bytes();
        let last = quoted.len() - 10;
        quoted[last] = b'"';
        texts.push(quoted);
        let dir = tempfile::tempdir().unwrap();
        let (path, disk) = (WorkspacePath::parse("t.csv").unwrap(), dir.path().join("t.csv"));
        let options = ReadOptions { split_min_bytes: 1, ..ReadOptions::default() };
        for (n, text) in texts.iter().enumerate() {
            std::fs::write(&disk, text).unwrap();
            for parts in 2..=5 {
                let file = SourceFile::new(&path, &disk, None);
                let ranges = DelimitedAdapter::default().split(&file, None, &options, parts).unwrap();
                let cuts = ranges.map(|r| r.iter().skip(1).map(|r| (r.start, r.first_line)).collect::<Vec<_>>());
                assert_eq!(cuts, expected_cuts(text, parts), "text {n}, {parts} parts");
            }
        }
    }

    /// A split prepared ahead (discovery's warm-up) is the split parse gets, without a second
    /// pass; once the file is written again, the pass is made again.
    #[test]
    fn a_prepared_split_is_kept_until_the_file_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("big.csv");
        let rows = (0..400).map(|i| format!("{i},{}\n", i * 7));
        let text: String = std::iter::once("id,v\n".to_owned()).chain(rows).collect();
        std::fs::write(&disk, &text).unwrap();
        // A stamp settles 2 s after the write that set it: only then is a pass remembered.
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        let path = WorkspacePath::parse("big.csv").unwrap();
        let file = SourceFile::new(&path, &disk, None);
        let options = ReadOptions { split_min_bytes: 1, ..ReadOptions::default() };
        let adapter = DelimitedAdapter::default();
        adapter.prepare_split(&file, &options, 4);
        let fresh = DelimitedAdapter::default().split(&file, None, &options, 4).unwrap();
        assert_eq!(fresh.as_ref().map(Vec::len), Some(4));
        assert_eq!(adapter.split(&file, None, &options, 4).unwrap(), fresh, "the prepared split is the split");
        assert_eq!(adapter.scans.hits.load(Ordering::Relaxed), 1, "answered without a second pass");
        // Written again, with a quote now: another version, scanned again, read in one go.
        std::fs::write(&disk, text.replacen("\n200,", "\n\"200\",", 1)).unwrap();
        assert_eq!(adapter.split(&file, None, &options, 4).unwrap(), None, "the file as it is now");
        assert_eq!(adapter.split(&file, None, &options, 4).unwrap(), None);
        assert_eq!(adapter.scans.hits.load(Ordering::Relaxed), 1, "a file written just now is scanned each time");
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
            assert_eq!(DelimitedAdapter::default().split(&file, None, &options, 2).unwrap(), None, "{text:?}");
        }
    }
}

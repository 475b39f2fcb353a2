//! One pass over a plain line: where it ends, where its fields end, and whether it holds a quote
//! character or a carriage return (other than the one of a `\r\n`), eight bytes at a time.
//!
//! A line of a typical measurement file is under a hundred bytes with a field every eight or so:
//! three `memchr` scans per line (its end, quotes and carriage returns, then each delimiter)
//! spent more on starting each scan than on the bytes. One pass over 64-bit words, each byte
//! compared with the four bytes of interest at once (an exact zero-byte test), finds all of it.

/// Each byte of a word set to `byte`.
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

const LOW7: u64 = splat(0x7F);

/// The high bit of each byte of `word` equal to the byte `splat` repeats, and no other bit.
/// Exact (no carry crosses a byte): `(x & 0x7F) + 0x7F` sets a byte's high bit iff its low
/// seven bits are not all zero, `| x` adds its own high bit, so a byte left clear is zero in `x`.
fn equal(word: u64, splat: u64) -> u64 {
    let x = word ^ splat;
    !((x & LOW7).wrapping_add(LOW7) | x | LOW7)
}

/// The index of the byte whose high bit is the lowest set bit of `mask` (not zero).
fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// What [`scan`] found at the start of a region.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A plain line: its length without its line end (`\n` or `\r\n`), the bytes it takes with
    /// it, and how many fields it has (their ends are the first ones in `ends`).
    Plain { len: usize, taken: usize, fields: usize },
    /// A quote character or a lone `\r` before the line end, or no line end within the region
    /// or `cap` bytes: the tokenizer reads it.
    Other,
}

/// Field ends of the line being scanned: the first `max` kept, all counted.
struct Ends<'a> {
    ends: &'a mut Vec<usize>,
    fields: usize,
    max: usize,
}

impl Ends<'_> {
    fn push(&mut self, end: usize) {
        if self.fields < self.max {
            match self.ends.get_mut(self.fields) {
                Some(slot) => *slot = end,
                None => self.ends.push(end),
            }
        }
        self.fields += 1;
    }
}

/// Scans the line at the start of `region`, splitting it at `delimiter`: its fields' ends
/// (relative to its start) go to the front of `ends`, which grows as needed up to `max_fields`
/// (the ends of further fields are counted, not kept: such a line is a reject).
pub(super) fn scan(
    region: &[u8],
    delimiter: u8,
    quote: u8,
    cap: usize,
    ends: &mut Vec<usize>,
    max_fields: usize,
) -> Line {
    let (newlines, splits_at, quotes, crs_at) = (splat(b'\n'), splat(delimiter), splat(quote), splat(b'\r'));
    let mut out = Ends { ends, fields: 0, max: max_fields };
    // The one `\r` allowed: just before the `\n`.
    let mut carriage = None;
    let searched = region.get(..cap).unwrap_or(region);
    let mut words = searched.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let word = u64::from_le_bytes(std::array::from_fn(|i| word[i]));
        let newline = equal(word, newlines);
        // The bytes before the line end, when it is in this word.
        let before = if newline == 0 { u64::MAX } else { (newline & newline.wrapping_neg()) - 1 };
        if equal(word, quotes) & before != 0 {
            return Line::Other;
        }
        let crs = equal(word, crs_at) & before;
        if crs != 0 {
            // A second one (here or in an earlier word) is never just before the `\n`.
            if carriage.is_some() {
                return Line::Other;
            }
            carriage = Some(at + first(crs));
        }
        let mut splits = equal(word, splits_at) & before;
        while splits != 0 {
            out.push(at + first(splits));
            splits &= splits - 1;
        }
        if newline != 0 {
            return finish(at + first(newline), carriage, out);
        }
        at += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        let i = at + i;
        if b == b'\n' {
            return finish(i, carriage, out);
        } else if b == b'\r' {
            if carriage.is_some() {
                return Line::Other;
            }
            carriage = Some(i);
        } else if b == quote {
            return Line::Other;
        } else if b == delimiter {
            out.push(i);
        }
    }
    Line::Other
}

/// The line whose `\n` is at `newline`, with a `\r` at `carriage` if any.
fn finish(newline: usize, carriage: Option<usize>, mut out: Ends<'_>) -> Line {
    let len = match carriage {
        None => newline,
        Some(at) if at + 1 == newline => at,
        Some(_) => return Line::Other,
    };
    out.push(len);
    Line::Plain { len, taken: newline + 1, fields: out.fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the three `memchr` scans it replaces gave.
    fn reference(region: &[u8], delimiter: u8, quote: u8, cap: usize) -> Option<(usize, usize, Vec<usize>)> {
        let newline = memchr::memchr(b'\n', region)?;
        let line = region.get(..newline)?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if newline + 1 > cap || memchr::memchr2(quote, b'\r', line).is_some() {
            return None;
        }
        let ends = memchr::memchr_iter(delimiter, line).chain(std::iter::once(line.len())).collect();
        Some((line.len(), newline + 1, ends))
    }

    fn scanned(region: &[u8], delimiter: u8, quote: u8, cap: usize) -> Option<(usize, usize, Vec<usize>)> {
        let mut ends = vec![99; 3];
        match scan(region, delimiter, quote, cap, &mut ends, usize::MAX) {
            Line::Plain { len, taken, fields } => Some((len, taken, ends[..fields].to_vec())),
            Line::Other => None,
        }
    }

    #[test]
    fn every_line_is_split_as_the_memchr_scans_split_it() {
        let alphabet = [b'a', b'7', b',', b';', b'"', b'\r', b'\n', b' ', 0x80, 0xFF, 0x7F, 0x2B];
        let mut next = crate::testing::random(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200_000 {
            let len = (next() % 40) as usize;
            let region: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let cap = (next() % 45) as usize;
            for (delimiter, quote) in [(b',', b'"'), (b';', b'"'), (b'\t', b'\'')] {
                assert_eq!(
                    scanned(&region, delimiter, quote, cap),
                    reference(&region, delimiter, quote, cap),
                    "{:?} cap {cap}",
                    String::from_utf8_lossy(&region)
                );
            }
        }
    }

    #[test]
    fn a_measurement_line_and_its_crlf_twin() {
        let line = b"0,LOT32723,3,26,30.288,148.8311,48.0976,CDSEM-03,2025-03-17,2025-03-17T16:31:48\nnext";
        let expected = reference(line, b',', b'"', 1 << 20);
        assert_eq!(scanned(line, b',', b'"', 1 << 20), expected);
        assert_eq!(expected.as_ref().map(|(_, _, ends)| ends.len()), Some(10));
        let crlf = b"a,b\r\nc";
        assert_eq!(scanned(crlf, b',', b'"', 64), Some((3, 5, vec![1, 3])));
        assert_eq!(scanned(b"a\rb,c\n", b',', b'"', 64), None, "a lone carriage return");
        assert_eq!(scanned(b"a,\"b\"\n", b',', b'"', 64), None, "a quote");
        assert_eq!(scanned(b"a,b", b',', b'"', 64), None, "no line end yet");
    }

    #[test]
    fn fields_past_the_limit_are_counted_not_kept() {
        let mut ends = Vec::new();
        let line = format!("{}\n", ",".repeat(10_000));
        let scanned = scan(line.as_bytes(), b',', b'"', 1 << 20, &mut ends, 3);
        assert_eq!(scanned, Line::Plain { len: 10_000, taken: 10_001, fields: 10_001 });
        assert_eq!(ends, [0, 1, 2]);
    }
}

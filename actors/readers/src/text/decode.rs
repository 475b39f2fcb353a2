//! Which encoding a text file is in, and turning its first bytes into a `String`. Invalid UTF-8
//! is read as Windows-1252 so that every byte stays a character (SPEC §6: never silently nulled).

use encoding_rs::{CoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// The encodings the probe tells apart, with the names recorded in `Sniff.encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextEncoding {
    /// UTF-8 without a byte order mark.
    Utf8,
    /// UTF-8 with the `EF BB BF` mark.
    Utf8Bom,
    /// UTF-16 little endian (with the `FF FE` mark, or recognised by its zero high bytes).
    Utf16Le,
    /// UTF-16 big endian (with the `FE FF` mark, or recognised by its zero high bytes).
    Utf16Be,
    /// The fallback for bytes that are not UTF-8: every byte decodes to some character.
    Windows1252,
}

impl TextEncoding {
    /// The name recorded in the sniff result.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf8Bom => "utf-8-bom",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }

    /// The `encoding_rs` codec.
    pub(super) fn codec(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => UTF_8,
            TextEncoding::Utf16Le => UTF_16LE,
            TextEncoding::Utf16Be => UTF_16BE,
            TextEncoding::Windows1252 => WINDOWS_1252,
        }
    }

    /// Bytes of byte order mark at the start of the file (skipped before decoding).
    pub(super) fn bom_len(self, raw: &[u8]) -> usize {
        let bom: &[u8] = match self {
            TextEncoding::Utf8Bom => &[0xEF, 0xBB, 0xBF],
            TextEncoding::Utf16Le => &[0xFF, 0xFE],
            TextEncoding::Utf16Be => &[0xFE, 0xFF],
            TextEncoding::Utf8 | TextEncoding::Windows1252 => &[],
        };
        if raw.starts_with(bom) {
            bom.len()
        } else {
            0
        }
    }
}

/// How many leading bytes the UTF-16 guess looks at.
const UTF16_GUESS_BYTES: usize = 4096;

/// Picks the encoding of a file from its first bytes.
///
/// Order: a byte order mark wins; then BOM-less UTF-16, recognised when at least 70% of the
/// code units have a zero high byte and almost none (≤ 10%) a zero low byte (ASCII-heavy text
/// such as CSV); then UTF-8 when the bytes are valid UTF-8; otherwise Windows-1252. The bytes
/// may be a prefix of the file, so a multi-byte character cut at their end is not held against
/// UTF-8 (if the file really ends there, [`decode`] turns the stub into U+FFFD).
pub(super) fn detect(raw: &[u8]) -> TextEncoding {
    if raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return TextEncoding::Utf8Bom;
    }
    if raw.starts_with(&[0xFF, 0xFE]) {
        return TextEncoding::Utf16Le;
    }
    if raw.starts_with(&[0xFE, 0xFF]) {
        return TextEncoding::Utf16Be;
    }
    if let Some(utf16) = guess_utf16(raw) {
        return utf16;
    }
    match std::str::from_utf8(raw) {
        Ok(_) => TextEncoding::Utf8,
        // `error_len() == None`: the bytes end inside a character, everything before is valid.
        Err(e) if e.error_len().is_none() => TextEncoding::Utf8,
        Err(_) => TextEncoding::Windows1252,
    }
}

/// BOM-less UTF-16, from where the zero bytes sit in the first code units.
fn guess_utf16(raw: &[u8]) -> Option<TextEncoding> {
    let head = raw.get(..raw.len().min(UTF16_GUESS_BYTES))?;
    let units = head.len() / 2;
    if units < 2 {
        return None;
    }
    let (mut even_zero, mut odd_zero) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        if let [a, b] = pair {
            even_zero += usize::from(*a == 0);
            odd_zero += usize::from(*b == 0);
        }
    }
    let mostly = |n: usize| n * 10 >= units * 7;
    let rarely = |n: usize| n * 10 <= units;
    if mostly(odd_zero) && rarely(even_zero) {
        Some(TextEncoding::Utf16Le)
    } else if mostly(even_zero) && rarely(odd_zero) {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// Text decoded from the sample.
pub(super) struct Decoded {
    /// The characters, byte order mark removed.
    pub(super) text: String,
    /// Whether some bytes were malformed for the encoding and became U+FFFD.
    pub(super) replaced: bool,
}

/// Decodes the sample (BOM removed). When `complete` is false the sample is a prefix of the
/// file, so a character cut at its end is left out instead of becoming U+FFFD.
pub(super) fn decode(raw: &[u8], encoding: TextEncoding, complete: bool) -> Decoded {
    let body = raw.get(encoding.bom_len(raw)..).unwrap_or_default();
    let mut decoder = encoding.codec().new_decoder_without_bom_handling();
    let mut text = String::new();
    let mut replaced = false;
    let mut rest = body;
    loop {
        let room = decoder.max_utf8_buffer_length(rest.len()).unwrap_or(rest.len().saturating_mul(3)).max(16);
        text.reserve(room);
        let (result, read, had_errors) = decoder.decode_to_string(rest, &mut text, complete);
        replaced |= had_errors;
        rest = rest.get(read..).unwrap_or_default();
        if result == CoderResult::InputEmpty {
            return Decoded { text, replaced };
        }
    }
}

/// Share of control characters (NUL and other C0/C1 controls except tab, newline, carriage
/// return and form feed) above which the "text" is taken for binary data: 1%. Real CSV has
/// none; random bytes read as Windows-1252 have about 11%.
const MAX_CONTROL_PERCENT: usize = 1;

/// How many bytes of `b` match: counted in runs of 255 into a byte (the loop the compiler
/// turns into byte-wide vector adds), then summed.
fn count_bytes(b: &[u8], matches: impl Fn(u8) -> bool) -> usize {
    b.chunks(255).map(|run| usize::from(run.iter().fold(0u8, |n, &x| n + u8::from(matches(x))))).sum()
}

/// Whether decoded text is really binary data (many NULs or other control characters).
///
/// Counted on the UTF-8 bytes (a loop the compiler vectorizes): characters are the bytes that
/// start one, controls the C0 bytes and DEL, and the C1 controls (U+0080 to U+009F, `C2 80` to
/// `C2 9F`): the characters `char::is_control` names.
pub(super) fn looks_binary(text: &str) -> bool {
    let b = text.as_bytes();
    let chars = count_bytes(b, |x| !(0x80..0xC0).contains(&x));
    let below_space = count_bytes(b, |x| x < 0x20);
    let allowed: usize = [b'\t', b'\n', b'\r', 0x0c].iter().map(|&c| memchr::memchr_iter(c, b).count()).sum();
    let c0 = below_space - allowed + memchr::memchr_iter(0x7F, b).count();
    let c1 = memchr::memchr_iter(0xC2, b).filter(|&i| b.get(i + 1).is_some_and(|n| (0x80..0xA0).contains(n))).count();
    (c0 + c1) * 100 > chars * MAX_CONTROL_PERCENT
}

#[cfg(test)]
mod tests {
    #[test]
    fn controls_are_counted_as_char_is_control_counts_them() {
        let by_chars = |text: &str| {
            let chars = text.chars().count();
            let controls = text.chars().filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')).count();
            controls * 100 > chars * super::MAX_CONTROL_PERCENT
        };
        let mut many = "abcdefghij".repeat(20);
        for text in ["a,b\n1,2\n", "\0\0x", "é\u{85}\u{9f}\u{a0}abc", "x\u{7f}", "\u{80}", "plain text, é and ü"] {
            assert_eq!(super::looks_binary(text), by_chars(text), "{text:?}");
        }
        for extra in ["\u{85}", "\u{85}\u{85}", "\u{9f}"] {
            many.push_str(extra);
            assert_eq!(super::looks_binary(&many), by_chars(&many), "{many:?}");
        }
    }
}

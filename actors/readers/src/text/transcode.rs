//! A reader that turns a byte stream in any sniffed encoding into UTF-8 as it goes, so a file
//! of any encoding and size reaches the record reader without being loaded. Every malformed
//! sequence becomes U+FFFD and is counted, so the read can say how many (never silently).

use std::io::{self, Read};
use std::sync::atomic::Ordering;

use encoding_rs::{Decoder, DecoderResult};

use super::decode::TextEncoding;
use crate::source::ByteCount;

/// Bytes read from the source per refill, and the size of the decoded buffer. As large as the
/// buffered reader this used to read through, which it replaces (a copy less).
const CHUNK: usize = 256 * 1024;

/// A caller's buffer at least this long is decoded into directly.
const DIRECT: usize = 16 * 1024;

/// The UTF-8 bytes of U+FFFD, written for each malformed sequence.
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

/// UTF-8 from `inner`, decoded with the sniffed encoding. The byte order mark must already be
/// skipped.
pub(super) struct Utf8Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    /// Start of the unread part of `input`.
    input_pos: usize,
    output: Vec<u8>,
    /// Start and end of the part of `output` not yet handed out.
    output_pos: usize,
    output_end: usize,
    /// The source hit its end and the decoder was flushed: `decode_to_utf8` must not be called
    /// again (encoding_rs panics on a finished decoder).
    finished: bool,
    /// Malformed sequences replaced so far.
    replaced: ByteCount,
}

impl<R: Read> Utf8Reader<R> {
    /// Decodes `inner` with `encoding`; `replaced` counts the malformed sequences.
    pub(super) fn new(inner: R, encoding: TextEncoding, replaced: ByteCount) -> Self {
        Utf8Reader {
            inner,
            decoder: encoding.codec().new_decoder_without_bom_handling(),
            input: Vec::with_capacity(CHUNK),
            input_pos: 0,
            output: vec![0; CHUNK],
            output_pos: 0,
            output_end: 0,
            finished: false,
            replaced,
        }
    }

    /// Decodes more into `output`; false when nothing is left.
    fn refill(&mut self) -> io::Result<bool> {
        let mut output = std::mem::take(&mut self.output);
        let decoded = self.decode(&mut output);
        self.output = output;
        self.output_pos = 0;
        self.output_end = decoded?;
        Ok(self.output_end > 0)
    }

    /// Decodes more into `dst` (longer than a U+FFFD); the bytes written, 0 when nothing is left.
    fn decode(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let mut end = 0;
        while !self.finished && end == 0 {
            let mut last = false;
            if self.input_pos >= self.input.len() {
                self.input.resize(CHUNK, 0);
                let n = match self.inner.read(&mut self.input) {
                    Ok(n) => n,
                    Err(e) => {
                        // Nothing was read: a caller that retries (after `Interrupted`) must
                        // not find the zeros of the resize as input.
                        self.input.clear();
                        return Err(e);
                    }
                };
                self.input.truncate(n);
                self.input_pos = 0;
                last = n == 0;
            }
            // Room for the U+FFFD of a malformed sequence is kept free at the end.
            let room = dst.len().saturating_sub(REPLACEMENT.len());
            let src = self.input.get(self.input_pos..).unwrap_or_default();
            let out = dst.get_mut(..room).unwrap_or_default();
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(src, out, last);
            self.input_pos += read;
            end = written;
            match result {
                DecoderResult::InputEmpty => self.finished = last,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(..) => {
                    self.replaced.fetch_add(1, Ordering::Relaxed);
                    if let Some(slot) = dst.get_mut(written..written + REPLACEMENT.len()) {
                        slot.copy_from_slice(REPLACEMENT);
                        end += REPLACEMENT.len();
                    }
                }
            }
        }
        Ok(end)
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.output_pos >= self.output_end {
            // A large enough buffer is decoded into directly: a copy less of every byte (the
            // record reader asks for hundreds of KiB at a time).
            if buf.len() >= DIRECT {
                return self.decode(buf);
            }
            if !self.refill()? {
                return Ok(0);
            }
        }
        let pending = self.output.get(self.output_pos..self.output_end).unwrap_or_default();
        let n = pending.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), pending.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.output_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], encoding: TextEncoding) -> (String, u64) {
        let replaced = ByteCount::default();
        let mut out = String::new();
        Utf8Reader::new(bytes, encoding, replaced.clone()).read_to_string(&mut out).unwrap();
        (out, replaced.load(Ordering::Relaxed))
    }

    #[test]
    fn malformed_sequences_become_u_fffd_and_are_counted() {
        assert_eq!(decode(b"a\xffb\xfe", TextEncoding::Utf8), ("a\u{fffd}b\u{fffd}".to_owned(), 2));
        assert_eq!(decode("é".as_bytes(), TextEncoding::Utf8), ("é".to_owned(), 0));
        assert_eq!(decode(b"caf\xe9", TextEncoding::Windows1252), ("café".to_owned(), 0));
    }

    /// Read with buffers large enough to be decoded into directly, and with small ones.
    #[test]
    fn malformed_sequences_are_replaced_whatever_the_reader_asks_for() {
        let mut bytes = Vec::new();
        for i in 0..2_000 {
            bytes.extend_from_slice(format!("row {i},é,").as_bytes());
            bytes.extend_from_slice(if i % 7 == 0 { b"\xff\n" } else { b"ok\n" });
        }
        let expected = String::from_utf8_lossy(&bytes).into_owned();
        for size in [DIRECT, 100_000, 7] {
            let replaced = ByteCount::default();
            let mut reader = Utf8Reader::new(&bytes[..], TextEncoding::Utf8, replaced.clone());
            let (mut out, mut buf) = (Vec::new(), vec![0; size]);
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected, "buffers of {size}");
            assert_eq!(replaced.load(Ordering::Relaxed), 286, "buffers of {size}");
        }
    }

    /// A source whose first read is interrupted (a signal), as `Read` allows.
    struct InterruptedOnce<'a> {
        bytes: &'a [u8],
        interrupted: bool,
    }

    impl Read for InterruptedOnce<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.bytes.read(buf)
        }
    }

    #[test]
    fn an_interrupted_read_is_retried_without_inventing_bytes() {
        let source = InterruptedOnce { bytes: b"a,b\n1,2\n", interrupted: false };
        let mut out = String::new();
        Utf8Reader::new(source, TextEncoding::Utf8, ByteCount::default()).read_to_string(&mut out).unwrap();
        assert_eq!(out, "a,b\n1,2\n");
    }

    #[test]
    fn long_input_decodes_across_buffers() {
        let text = "é,1\n".repeat(50_000);
        assert_eq!(decode(text.as_bytes(), TextEncoding::Utf8), (text, 0));
    }
}

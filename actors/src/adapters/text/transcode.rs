//! A reader that turns a byte stream in any sniffed encoding into UTF-8 as it goes, so the
//! preview can hand a file of any encoding and size to the CSV parser without loading it.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder};

use super::decode::TextEncoding;

/// Bytes read from the source per refill, and the size of the decoded buffer.
const CHUNK: usize = 16 * 1024;

/// UTF-8 from `inner`, decoded with the sniffed encoding (malformed bytes become U+FFFD).
/// The byte order mark must already be skipped.
pub(super) struct Utf8Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    /// Start of the unread part of `input`.
    input_pos: usize,
    output: Vec<u8>,
    /// Start of the part of `output` not yet handed out.
    output_pos: usize,
    /// The source hit its end and the decoder was flushed: `decode_to_utf8` must not be called
    /// again (encoding_rs panics on a finished decoder).
    finished: bool,
}

impl<R: Read> Utf8Reader<R> {
    /// Decodes `inner` with `encoding`.
    pub(super) fn new(inner: R, encoding: TextEncoding) -> Self {
        Utf8Reader {
            inner,
            decoder: encoding.codec().new_decoder_without_bom_handling(),
            input: Vec::with_capacity(CHUNK),
            input_pos: 0,
            output: vec![0; CHUNK],
            output_pos: CHUNK,
            finished: false,
        }
    }

    /// Decodes more into `output`; false when nothing is left.
    fn refill(&mut self) -> io::Result<bool> {
        while !self.finished {
            let mut last = false;
            if self.input_pos >= self.input.len() {
                self.input.resize(CHUNK, 0);
                let n = self.inner.read(&mut self.input)?;
                self.input.truncate(n);
                self.input_pos = 0;
                last = n == 0;
            }
            let src = self.input.get(self.input_pos..).unwrap_or_default();
            let (result, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.output, last);
            self.input_pos += read;
            self.finished = last && result == CoderResult::InputEmpty;
            self.output_pos = CHUNK - written;
            // Move the decoded bytes to the end of the buffer, where `read` takes them from.
            self.output.copy_within(..written, self.output_pos);
            if written > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.output_pos >= CHUNK && !self.refill()? {
            return Ok(0);
        }
        let pending = self.output.get(self.output_pos..).unwrap_or_default();
        let n = pending.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), pending.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.output_pos += n;
        Ok(n)
    }
}

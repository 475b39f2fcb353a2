//! Every record of a delimited text file, for parse: read with the probe's own sniff (encoding,
//! delimiter, quote, header) so that parse reads the file the way the probe described it.

use std::io::{Cursor, Read};

use super::analyse::analyse;
use super::sample::{read_sample, SampleError};
use super::transcode::Utf8Reader;
use crate::adapters::{AdapterError, SourceFile};

/// A text table opened for reading.
pub(crate) struct TextRecords {
    /// Column names in file order (made unique), as the probe reports them.
    pub(crate) columns: Vec<String>,
    /// A reader positioned at the first data record (the header, if any, already read).
    pub(crate) reader: csv::Reader<Box<dyn Read>>,
}

/// Opens `file` for reading all its records; `None` for a file without any bytes.
///
/// # Errors
/// [`AdapterError`] when the file cannot be read or is not text.
pub(crate) fn open_records(file: &SourceFile<'_>, prefer_tab: bool) -> Result<Option<TextRecords>, AdapterError> {
    let path = file.path.as_str();
    let format = |message: String| AdapterError::Format { path: path.to_owned(), message };
    let (sample, rest) = read_sample(file).map_err(|e| match e {
        SampleError::Io(source) => AdapterError::Io { path: path.to_owned(), source },
        compressed @ SampleError::Compressed(..) => format(compressed.reason()),
    })?;
    if sample.raw.is_empty() {
        return Ok(None);
    }
    let analysis = analyse(&sample, prefer_tab).map_err(format)?;
    let mut raw = Cursor::new(sample.raw);
    raw.set_position(analysis.encoding.bom_len(raw.get_ref()) as u64);
    let text: Box<dyn Read> = Box::new(Utf8Reader::new(raw.chain(rest), analysis.encoding));
    let mut reader = analysis.dialect.reader(text);
    if analysis.header {
        let mut header = csv::StringRecord::new();
        reader.read_record(&mut header).map_err(|e| format(format!("cannot read the header: {e}")))?;
    }
    Ok(Some(TextRecords { columns: analysis.columns.into_iter().map(|c| c.name).collect(), reader }))
}

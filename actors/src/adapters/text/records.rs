//! Every record of a delimited text file, for parse and the preview: read with the probe's own
//! sniff (encoding, delimiter, quote, header) so that both read the file the way the probe
//! described it.

use std::io::{Cursor, Read};

use dat_contracts::ColumnInfo;

use super::analyse::analyse;
use super::sample::{read_sample, SampleError};
use super::transcode::Utf8Reader;
use crate::adapters::{AdapterError, SourceFile};

/// A text table opened for reading.
pub(crate) struct TextRecords {
    /// Columns in file order (names made unique), typed from the sample, as the probe reports them.
    pub(crate) columns: Vec<ColumnInfo>,
    /// Data rows, exact or estimated from the sample.
    pub(crate) rows_estimate: u64,
    /// A reader positioned at the first data record (the header, if any, already read).
    pub(crate) reader: csv::Reader<Box<dyn Read + Send>>,
}

impl TextRecords {
    /// The column names in file order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// The error of a file that is not readable text, naming the file.
pub(crate) fn format_error(file: &SourceFile<'_>, message: String) -> AdapterError {
    AdapterError::Format { path: file.path.as_str().to_owned(), message }
}

/// Opens `file` for reading all its records; `None` for a file without any bytes.
///
/// # Errors
/// [`AdapterError`] when the file cannot be read or is not text.
pub(crate) fn open_records(file: &SourceFile<'_>, prefer_tab: bool) -> Result<Option<TextRecords>, AdapterError> {
    let (sample, rest) = read_sample(file).map_err(|e| match e {
        SampleError::Io(source) => AdapterError::Io { path: file.path.as_str().to_owned(), source },
        compressed @ SampleError::Compressed(..) => format_error(file, compressed.reason()),
    })?;
    if sample.raw.is_empty() {
        return Ok(None);
    }
    let analysis = analyse(&sample, prefer_tab).map_err(|e| format_error(file, e))?;
    let mut raw = Cursor::new(sample.raw);
    raw.set_position(analysis.encoding.bom_len(raw.get_ref()) as u64);
    let text: Box<dyn Read + Send> = Box::new(Utf8Reader::new(raw.chain(rest), analysis.encoding));
    let mut reader = analysis.dialect.reader(text);
    if analysis.header {
        let mut header = csv::StringRecord::new();
        reader.read_record(&mut header).map_err(|e| format_error(file, format!("cannot read the header: {e}")))?;
    }
    Ok(Some(TextRecords { columns: analysis.columns, rows_estimate: analysis.rows, reader }))
}

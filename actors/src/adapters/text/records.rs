//! Every record of a delimited text file, for parse and the preview: read with the probe's own
//! sniff (encoding, delimiter, quote, header) so that both read the file the way the probe
//! described it.

use std::io::{Cursor, Read};

use dat_contracts::ColumnInfo;

use super::analyse::{analyse, layout, Layout};
use super::sample::{read_sample, Sample, SampleError};
use super::transcode::Utf8Reader;
use crate::adapters::{AdapterError, SourceFile};

/// A text table opened for reading.
pub(crate) struct TextRecords {
    /// Column names in file order (made unique), as the probe reports them.
    pub(crate) names: Vec<String>,
    /// A reader positioned at the first data record (the header, if any, already read).
    pub(crate) reader: csv::Reader<Box<dyn Read + Send>>,
}

/// What the probe's analysis of the sample adds, for the preview.
pub(crate) struct SampleTypes {
    /// Columns in file order, typed from the sample.
    pub(crate) columns: Vec<ColumnInfo>,
    /// Data rows, exact or estimated from the sample.
    pub(crate) rows_estimate: u64,
}

/// The error of a file that is not readable text, naming the file.
pub(crate) fn format_error(file: &SourceFile<'_>, message: String) -> AdapterError {
    AdapterError::Format { path: file.path.as_str().to_owned(), message }
}

/// Opens `file` for reading all its records, sniffing only its layout (parse types every cell
/// itself); `None` for a file without any bytes.
///
/// # Errors
/// [`AdapterError`] when the file cannot be read or is not text.
pub(crate) fn open_records(file: &SourceFile<'_>, prefer_tab: bool) -> Result<Option<TextRecords>, AdapterError> {
    open(file, |sample| layout(sample, prefer_tab).map(|l| (l, ()))).map(|opened| opened.map(|(records, ())| records))
}

/// Like [`open_records`], with the column types and row estimate of the probe's analysis.
///
/// # Errors
/// [`AdapterError`] when the file cannot be read or is not text.
pub(crate) fn open_typed_records(
    file: &SourceFile<'_>,
    prefer_tab: bool,
) -> Result<Option<(TextRecords, SampleTypes)>, AdapterError> {
    open(file, |sample| {
        let analysis = analyse(sample, prefer_tab)?;
        Ok((analysis.layout, SampleTypes { columns: analysis.columns, rows_estimate: analysis.rows }))
    })
}

/// Reads the sample, has `describe` read it, and opens the records it describes.
fn open<T>(
    file: &SourceFile<'_>,
    describe: impl FnOnce(&Sample) -> Result<(Layout, T), String>,
) -> Result<Option<(TextRecords, T)>, AdapterError> {
    let (sample, rest) = read_sample(file).map_err(|e| match e {
        SampleError::Io(source) => AdapterError::Io { path: file.path.as_str().to_owned(), source },
        compressed @ SampleError::Compressed(..) => format_error(file, compressed.reason()),
    })?;
    if sample.raw.is_empty() {
        return Ok(None);
    }
    let (layout, described) = describe(&sample).map_err(|e| format_error(file, e))?;
    let mut raw = Cursor::new(sample.raw);
    raw.set_position(layout.encoding.bom_len(raw.get_ref()) as u64);
    let text: Box<dyn Read + Send> = Box::new(Utf8Reader::new(raw.chain(rest), layout.encoding));
    let mut reader = layout.dialect.reader(text);
    if layout.header {
        let mut header = csv::StringRecord::new();
        reader.read_record(&mut header).map_err(|e| format_error(file, format!("cannot read the header: {e}")))?;
    }
    Ok(Some((TextRecords { names: layout.names, reader }, described)))
}

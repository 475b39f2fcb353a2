//! Delimited text (CSV/TSV/TXT, optionally gzip/zstd): the probe reads only the first 256 KiB of
//! the decompressed stream, sniffs encoding, delimiter, quote and header there, infers column
//! types and estimates the row count of the rest (SPEC §6).
//!
//! # Layout
//! - `sample`: reads the first 256 KiB and counts the on-disk bytes it cost.
//! - `decode`: encoding detection (BOM, UTF-16, UTF-8, Windows-1252) and decoding.
//! - `transcode`: streaming decoding to UTF-8 for the preview.
//! - `sniff`: delimiter and quote.
//! - `header`: header detection and unique column names.
//! - `layout`: title and footer lines, and the number format.
//! - `analyse`: the whole probe result from a sample (types by [`crate::typing`]).
//! - `records`: every record of a file or of one of its ranges, opened with the probe's sniff.
//! - `tokenizer`: records of UTF-8 text, bounded by the record cap and the field limit;
//!   `plain`: lines without a quote split where they lie.
//! - `read`: records into chunks and rejects.
//! - `split`: where a large file can be cut to be read on several cores (the passes that find
//!   it remembered per file version).

mod analyse;
mod decode;
mod header;
mod layout;
mod plain;
mod read;
mod records;
mod sample;
mod sniff;
mod split;
mod tokenizer;
mod transcode;

#[cfg(test)]
mod tests;

use dat_contracts::{Sniff, TableProbe, TableStatus};

use crate::sink::{ReadEnd, ReadError, Sink};
use crate::{Adapter, ByteRange, Compression, ReadOptions, SourceFile};
use analyse::analyse;
use sample::read_sample;
use sniff::delimiter_name;
use split::Scanning;

/// CSV, TSV and TXT files, plain or gzip/zstd-compressed.
#[derive(Default)]
pub struct DelimitedAdapter {
    /// The passes over large files that found where they can be cut, by file version: a plan
    /// prepared early (discovery asks for one on the core its hashing leaves idle) is not
    /// scanned again when the file is read.
    scans: split::ScanMemo,
}

impl Adapter for DelimitedAdapter {
    fn id(&self) -> &'static str {
        "csv"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["csv", "tsv", "txt"]
    }
    fn compressible(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "Delimited text (, tab ; |), sniffed encoding, delimiter, quote and header"
    }

    /// One table per file. A 0-byte file is `empty` without a sniff (there is nothing to sniff);
    /// corruption of a compressed stream past the sample is found by parse, not here.
    fn probe(&self, file: &SourceFile<'_>, options: &ReadOptions) -> Vec<TableProbe> {
        vec![probe_table(self.id(), file, options)]
    }

    fn read(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        if let Some(table) = table {
            return Err(ReadError::NoSuchTable { path: file.path.to_string(), table: table.to_owned() });
        }
        read::read(file, prefers_tab(file), options, sink)
    }

    fn split(
        &self,
        file: &SourceFile<'_>,
        table: Option<&str>,
        options: &ReadOptions,
        parts: usize,
    ) -> Result<Option<Vec<ByteRange>>, ReadError> {
        if table.is_some() {
            return Ok(None);
        }
        split::plan(file, prefers_tab(file), options, parts, Scanning { memo: &self.scans, threads: parts })
    }

    fn prepare_split(&self, file: &SourceFile<'_>, options: &ReadOptions, parts: usize) {
        let _ = split::plan(file, prefers_tab(file), options, parts, Scanning { memo: &self.scans, threads: 1 });
    }

    fn read_range(
        &self,
        file: &SourceFile<'_>,
        range: &ByteRange,
        options: &ReadOptions,
        sink: &mut dyn Sink,
    ) -> Result<ReadEnd, ReadError> {
        read::read_range(file, range, prefers_tab(file), options, sink)
    }
}

/// The probe of the file's one table.
fn probe_table(adapter: &str, file: &SourceFile<'_>, options: &ReadOptions) -> TableProbe {
    let path = file.path.as_str();
    let sample = match read_sample(file) {
        Ok((sample, _)) => sample,
        Err(e) => return TableProbe::failed(path, adapter, TableStatus::Error, e.reason()),
    };
    let empty = TableProbe {
        table_id: path.to_owned(),
        file: path.to_owned(),
        sheet: None,
        adapter: adapter.to_owned(),
        status: TableStatus::Empty,
        columns: vec![],
        row_estimate: Some(0),
        row_count_exact: true,
        sniff: None,
        warnings: vec![],
        error: None,
    };
    if sample.raw.is_empty() {
        return empty;
    }
    match analyse(&sample, prefers_tab(file), &options.text) {
        Err(reason) => TableProbe::failed(path, adapter, TableStatus::Error, reason),
        Ok(found) => TableProbe {
            status: found.status,
            columns: found.columns,
            row_estimate: Some(found.rows),
            row_count_exact: found.exact,
            sniff: Some(Sniff {
                encoding: found.layout.encoding.as_str().to_owned(),
                delimiter: delimiter_name(found.layout.dialect.delimiter),
                quote: found.layout.dialect.quote.map(|q| char::from(q).to_string()),
                header: found.layout.header,
                compression: file.compression.map(|c| c.as_str().to_owned()),
                number: found.layout.number,
                title: found.layout.title,
                footer: found.footer,
                overridden: options.text.overridden.clone(),
            }),
            warnings: found.warnings,
            ..empty
        },
    }
}

/// Whether the file is named `.tsv` (before any `.gz`/`.zst`): tab wins ties.
fn prefers_tab(file: &SourceFile<'_>) -> bool {
    let lower = file.path.as_str().to_ascii_lowercase();
    Compression::strip(&lower).0.ends_with(".tsv")
}

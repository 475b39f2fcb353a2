//! The limits every reader works within. Each buffer that file content can grow has one here,
//! so that no file, whatever its size or shape, can take more memory than these allow.

use std::collections::BTreeMap;

use dat_contracts::text_layout::DateOrder;
use serde::{Deserialize, Serialize};

/// How tables are read: chunk sizes and the limits that keep memory bounded.
///
/// The defaults keep `dat run` under 200 MiB of peak memory on any input (SPEC §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// Rows per chunk handed to the sink (SPEC §7 default: 50,000).
    pub chunk_rows: usize,
    /// Bytes of cell text per chunk: a chunk is handed over when it holds this much, whatever
    /// its row count, so wide or long rows never make a chunk large.
    pub chunk_bytes: usize,
    /// The longest record (a delimited row, a JSON Lines line, a JSON array element, a sheet
    /// row) a reader keeps. A longer one is a reject naming where it began; reading resumes
    /// after it (for delimited text: at the line after the one it began on).
    pub record_cap: usize,
    /// Decompressed bytes a compressed file may yield; `None` (the default): no limit, since
    /// chunking already bounds memory. A file past it is an `error` table.
    pub decompressed_limit: Option<u64>,
    /// The most columns a table may have (Excel's own limit): a record that would add more (a
    /// sheet cell further right, a JSON key beyond them) is a reject, so that no file can make a
    /// chunk of millions of columns.
    pub max_columns: usize,
    /// The largest `.xls` or `.ods` file read: calamine reads those whole, so a bigger one is
    /// an `error` table saying so (xlsx/xlsm/xlsb are streamed and have no such limit).
    pub whole_workbook_limit: u64,
    /// Files at least this large may be read in byte ranges on several cores (see
    /// [`crate::split`]).
    pub split_min_bytes: u64,
    /// What is already decided about a delimited text file's layout (by the user, or by the
    /// probe for parse to follow); the rest is sniffed.
    pub text: TextHints,
}

/// Decisions about a delimited text file that the sniffer does not make again: what the user
/// set in the table_availability lock body, and what table availability decided, which preview
/// and parse follow so that all three read a file alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextHints {
    /// The field delimiter table availability found: parse and preview split as it did, and
    /// skip sniffing each file again.
    pub delimiter: Option<u8>,
    /// The quote character with it: `Some(None)` for unquoted fields.
    pub quote: Option<Option<u8>>,
    /// The decimal separator.
    pub decimal: Option<char>,
    /// The thousands separator: `Some(None)` for none.
    pub thousands: Option<Option<char>>,
    /// Lines before the header (or first data row), set aside as the file's title.
    pub lines_before: Option<u64>,
    /// Whether the first row after them is a header.
    pub header: Option<bool>,
    /// The day/month order of the folder's `d/m/yyyy` date columns, by normalised column name
    /// ([`dat_contracts::text_layout::column_key`]). Absent: such dates are sampled for the
    /// decision (probe) or stay text (parse).
    pub date_orders: Option<BTreeMap<String, DateOrder>>,
    /// Which fields a user set (recorded in the sniff result).
    pub overridden: Vec<String>,
}

impl ReadOptions {
    /// The default chunk size in rows.
    pub const CHUNK_ROWS: usize = 50_000;
    /// The default record cap: 16 MiB.
    pub const RECORD_CAP: usize = 16 << 20;
    /// The default limit for workbooks read whole: 16 MiB on disk.
    pub const WHOLE_WORKBOOK_LIMIT: u64 = 16 << 20;

    /// These options with another chunk size (at least one row).
    pub fn with_chunk_rows(self, chunk_rows: usize) -> Self {
        ReadOptions { chunk_rows: chunk_rows.max(1), ..self }
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_rows: Self::CHUNK_ROWS,
            chunk_bytes: 16 << 20,
            record_cap: Self::RECORD_CAP,
            decompressed_limit: None,
            max_columns: 16_384,
            whole_workbook_limit: Self::WHOLE_WORKBOOK_LIMIT,
            split_min_bytes: crate::split::MIN_SPLIT_BYTES,
            text: TextHints::default(),
        }
    }
}

//! Reading one large table on several cores: an adapter that can cut a file into byte ranges
//! that each start at a record boundary ([`crate::Adapter::split`]) reads each range on its own
//! ([`crate::Adapter::read_range`]); the caller keeps the ranges' rows in range order, so row
//! order and `_source_row` are exactly what one sequential read gives.

/// One range of a file, a whole number of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Its place among the file's ranges, from 0.
    pub index: usize,
    /// First byte (0 for the first range, which also holds any title and the header).
    pub start: u64,
    /// Byte just past its last record.
    pub end: u64,
    /// The line its first byte is on, from 1.
    pub first_line: u64,
    /// Whether it ends the file (only the last range can have footer lines).
    pub last: bool,
}

/// Files smaller than this are read in one go: splitting costs a pass over the file.
pub const MIN_SPLIT_BYTES: u64 = 64 << 20;

/// Ranges a large file is cut into when more than one core reads it: more ranges than cores, so
/// that a core whose range read faster takes the next one instead of sitting idle until the
/// slowest is done (W1, one range per core: 0.15–0.4 s of one core idle; 16 ranges: the last
/// one, 27 MB, read alone for 0.1–0.15 s; 32: half that, both cores busy 92.0% of W1's wall
/// instead of 91.1%, medians of 8 alternating runs); the same number on any machine, so that
/// the parts, and with them the dataset's row groups and bytes, do not depend on the core count.
pub const RANGES: usize = 32;

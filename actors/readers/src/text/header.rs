//! Whether the first row of delimited text is a header, and the column names that follow from
//! it: unique and non-empty, with a warning for each name that had to change.

use std::collections::HashSet;

use csv::StringRecord;
use dat_contracts::ColumnType;

use crate::typing::{unique_names, CellRules, TypeTally};

/// Decides whether `first` is a header, looking at up to the `rest` rows that follow it, their
/// cells typed by the file's `rules`.
///
/// Each column whose later cells share a type other than string votes: *header* when its first
/// cell is text (or another type) where the rest are numbers, bools or dates, *data* when the
/// first cell has the column's type (an int in a float column counts as data); an empty first
/// cell does not vote. The first row is a header when header votes are at least as many as
/// data votes and there is at least one. Without any vote (all columns text, or a single row)
/// it is a header when every cell is non-empty text and the names are unique; a file of text
/// only without a header is therefore taken to have one, which cannot be told apart.
pub(super) fn is_header(first: &StringRecord, rest: &[&StringRecord], rules: &CellRules) -> bool {
    let cell_type = |cell: &str| rules.cell_type(cell);
    let (mut header_votes, mut data_votes) = (0usize, 0usize);
    for (i, cell) in first.iter().enumerate() {
        let mut tally = TypeTally::default();
        for row in rest {
            tally.observe(row.get(i).map_or(ColumnType::Null, cell_type));
        }
        let dtype = tally.info("").dtype;
        if matches!(dtype, ColumnType::String | ColumnType::Null) {
            continue;
        }
        match cell_type(cell) {
            ColumnType::Null => {}
            ColumnType::Int if dtype == ColumnType::Float => data_votes += 1,
            ColumnType::Date if dtype == ColumnType::Datetime => data_votes += 1,
            first if first == dtype => data_votes += 1,
            _ => header_votes += 1,
        }
    }
    if header_votes > 0 || data_votes > 0 {
        return header_votes > 0 && header_votes >= data_votes;
    }
    let mut seen = HashSet::new();
    first.iter().all(|cell| cell_type(cell) == ColumnType::String && seen.insert(cell.trim()))
}

/// Column names: the header cells (trimmed) made unique by the rules all adapters share
/// (`column_N` for an empty name, `x_2` for a second `x`), or `column_1`, `column_2`, … for
/// `width` columns without a header. Each changed name adds a warning.
pub(super) fn column_names(header: Option<&StringRecord>, width: usize) -> (Vec<String>, Vec<String>) {
    let Some(header) = header else {
        return ((1..=width).map(|n| format!("column_{n}")).collect(), vec![]);
    };
    let (names, mut warnings) = unique_names(header.iter().map(str::to_owned));
    for (i, (cell, name)) in header.iter().zip(&names).enumerate() {
        if cell.trim().is_empty() {
            warnings.push(format!("column {} has no name in the header; it is called `{name}`", i + 1));
        }
    }
    (names, warnings)
}

//! How the text of a file is to be read where formats differ by country and instrument: the
//! number format (decimal and thousands separators), the order of day and month in dates, the
//! overrides a user gives per file in the table_availability lock body, and the normalised
//! column name that matches drifting headers across files (SPEC §11).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The separators a file writes its numbers with. The default is the one every program reads:
/// `.` for decimals and no thousands separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NumberFormat {
    /// `.` or `,`.
    pub decimal: char,
    /// `,`, `.`, a space (also U+00A0 and U+202F), `'`, or none.
    pub thousands: Option<char>,
}

impl Default for NumberFormat {
    fn default() -> Self {
        NumberFormat { decimal: '.', thousands: None }
    }
}

impl NumberFormat {
    /// Decimal separators dat reads.
    pub const DECIMALS: [char; 2] = ['.', ','];
    /// Thousands separators dat reads.
    pub const THOUSANDS: [char; 6] = [',', '.', ' ', '\u{a0}', '\u{202f}', '\''];

    /// Whether this is the plain format (`.` decimals, no grouping).
    pub fn is_plain(&self) -> bool {
        *self == NumberFormat::default()
    }

    /// A format from its separators, refused when they are not separators dat reads or are the
    /// same character.
    ///
    /// # Errors
    /// What is wrong, for the user.
    pub fn new(decimal: char, thousands: Option<char>) -> Result<Self, String> {
        if !Self::DECIMALS.contains(&decimal) {
            return Err(format!("decimal must be `.` or `,`, got `{decimal}`"));
        }
        if let Some(t) = thousands {
            if !Self::THOUSANDS.contains(&t) {
                return Err(format!("thousands must be one of `,` `.` `'` a space or \"\", got `{t}`"));
            }
            if t == decimal {
                return Err(format!("decimal and thousands cannot both be `{t}`"));
            }
        }
        Ok(NumberFormat { decimal, thousands })
    }
}

/// Which of the first two parts of a `d/m/yyyy`-style date is the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// `13/04/2025` is 13 April.
    DayFirst,
    /// `04/13/2025` is 13 April.
    MonthFirst,
}

/// A cell that showed something about a column, by where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellAt {
    /// The table (a file, or `file#sheet`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub table: String,
    /// Line (or row) of the cell, from 1.
    pub line: u64,
    /// The cell as written.
    pub value: String,
}

/// What the `d/m/yyyy`-style dates of a column's sample say about their order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateEvidence {
    /// The first value only a day-first order reads (`13/04/2025`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_first: Option<CellAt>,
    /// The first value only a month-first order reads (`04/13/2025`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month_first: Option<CellAt>,
    /// Values either order reads (`03/04/2025`).
    pub ambiguous: u64,
    /// Whether the dates are written with dots (`03.04.2025`), which is day-first by convention.
    pub dotted: bool,
}

impl DateEvidence {
    /// Adds `other`'s evidence (a later file's) to this one; the first example of each kind stays.
    pub fn merge(&mut self, other: &DateEvidence) {
        if self.day_first.is_none() {
            self.day_first.clone_from(&other.day_first);
        }
        if self.month_first.is_none() {
            self.month_first.clone_from(&other.month_first);
        }
        self.ambiguous += other.ambiguous;
        self.dotted |= other.dotted;
    }

    /// The order these dates are read in, or why they stay text.
    ///
    /// A value only one order can read settles it; values of both kinds contradict each other
    /// and keep the column's text; dotted dates are day-first by convention (`DD.MM.YYYY`);
    /// otherwise every value reads either way and the text is kept rather than guessed.
    ///
    /// # Errors
    /// Why the dates stay text.
    pub fn decide(&self) -> Result<(DateOrder, String), String> {
        let at = |c: &CellAt| format!("`{}` line {} is `{}`", c.table, c.line, c.value);
        match (&self.day_first, &self.month_first) {
            (Some(d), Some(m)) => Err(format!("dates kept as text: {} (day first) but {} (month first)", at(d), at(m))),
            (Some(d), None) => Ok((DateOrder::DayFirst, format!("day-first because {}", at(d)))),
            (None, Some(m)) => Ok((DateOrder::MonthFirst, format!("month-first because {}", at(m)))),
            (None, None) if self.dotted => {
                Ok((DateOrder::DayFirst, "day-first: dates written with dots (DD.MM.YYYY)".to_owned()))
            }
            (None, None) => Err(format!(
                "dates kept as text: none of the {} values has a day above 12, so day-first and \
                 month-first read them differently; set the order with a value that settles it",
                self.ambiguous
            )),
        }
    }
}

/// The day/month order of each of a folder's date columns (by [`column_key`]) from every
/// table's evidence, `(table, column, evidence)`: the order and why, or why the dates stay text.
pub fn decide_date_orders<'a>(
    columns: impl IntoIterator<Item = (&'a str, &'a str, &'a DateEvidence)>,
) -> BTreeMap<String, Result<(DateOrder, String), String>> {
    let mut merged: BTreeMap<String, DateEvidence> = BTreeMap::new();
    for (table, name, evidence) in columns {
        let mut evidence = evidence.clone();
        for at in [&mut evidence.day_first, &mut evidence.month_first].into_iter().flatten() {
            at.table = table.to_owned();
        }
        merged.entry(column_key(name)).or_default().merge(&evidence);
    }
    merged.into_iter().map(|(key, evidence)| (key, evidence.decide())).collect()
}

/// What a user says about how one file (or the files a glob matches) is laid out, overriding
/// the sniffer: `{"decimal": ",", "thousands": ".", "header_row": 3, "skip_rows": 2}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadOverride {
    /// `.` or `,`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<char>,
    /// A thousands separator, or `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands: Option<String>,
    /// The line (from 1) the header is on; the lines above it are kept as the file's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// Lines to set aside (as title) before the header, or the first data row without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_rows: Option<u64>,
}

impl ReadOverride {
    /// Checks the values.
    ///
    /// # Errors
    /// What is wrong, for the user.
    pub fn validate(&self) -> Result<(), String> {
        let decimal = self.decimal.unwrap_or('.');
        NumberFormat::new(decimal, self.thousands_sep()?.flatten()).map(|_| ())?;
        if self.header_row == Some(0) {
            return Err("header_row counts lines from 1".to_owned());
        }
        Ok(())
    }

    /// The thousands separator asked for: `None` when not given, `Some(None)` for `""`.
    ///
    /// # Errors
    /// More than one character.
    pub fn thousands_sep(&self) -> Result<Option<Option<char>>, String> {
        let Some(text) = &self.thousands else { return Ok(None) };
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (None, _) => Ok(Some(None)),
            (Some(c), None) => Ok(Some(Some(c))),
            _ => Err(format!("thousands must be one character or \"\", got `{text}`")),
        }
    }

    /// The lines before the header (or the first data row): `header_row - 1`, else `skip_rows`.
    pub fn lines_before(&self) -> Option<u64> {
        self.header_row.map(|h| h.saturating_sub(1)).or(self.skip_rows)
    }
}

/// The name columns are matched by across files: case, surrounding spaces and a byte order mark
/// ignored, and every run of inner spaces, underscores and hyphens the same. `Lot ID`, `lot_id`
/// and ` LOT-ID` are all `lot_id`.
pub fn column_key(name: &str) -> String {
    let name = name.trim_start_matches('\u{feff}').trim();
    let mut key = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_whitespace() || c == '_' || c == '-' {
            gap = true;
            continue;
        }
        if gap && !key.is_empty() {
            key.push('_');
        }
        gap = false;
        key.extend(c.to_lowercase());
    }
    key
}

/// The columns dat adds to every row of a dataset: where the row comes from. No table column
/// takes these names in a dataset (see [`ColumnMatcher::for_dataset`]).
pub const SOURCE_COLUMNS: [&str; 3] = ["_source_file", "_source_table", "_source_row"];

/// One column renamed on its way into the dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderMapping {
    /// The table (file) it comes from.
    pub table: String,
    /// Its name in that file.
    pub original: String,
    /// Its name in the dataset.
    pub output: String,
}

/// Matches the columns of tables, one table after another (in path order), by [`column_key`]:
/// a column takes the spelling of the first table that had its key. The second column of one
/// table with the same key stays a column of its own, named `<name>_2` (`_3`…), and matches the
/// second such column of other tables; a name already taken gets a further `_2`.
#[derive(Debug, Default)]
pub struct ColumnMatcher {
    /// (key, occurrence within its table) → output name.
    names: BTreeMap<(String, usize), String>,
    /// Output names given.
    taken: BTreeSet<String>,
    /// Every column whose output name differs from its own.
    mappings: Vec<HeaderMapping>,
}

impl ColumnMatcher {
    /// A matcher for a dataset's columns: a table column named like one of the
    /// [`SOURCE_COLUMNS`] (a dataset dat wrote, read again) is renamed `<name>_2` like any
    /// name already taken, and the rename recorded; two columns of one name would make a
    /// dataset no reader can open.
    pub fn for_dataset() -> Self {
        ColumnMatcher { taken: SOURCE_COLUMNS.iter().map(|n| (*n).to_owned()).collect(), ..Self::default() }
    }

    /// The output names of `table`'s columns, in their order.
    pub fn match_table<'a>(&mut self, table: &str, columns: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut out = Vec::new();
        for original in columns {
            let key = column_key(original);
            let n = *seen.entry(key.clone()).and_modify(|n| *n += 1).or_insert(1);
            let output = match self.names.get(&(key.clone(), n)) {
                Some(name) => name.clone(),
                None => {
                    let base = match n {
                        1 => original.trim_start_matches('\u{feff}').trim().to_owned(),
                        _ => format!("{}_{n}", self.names.get(&(key.clone(), 1)).map_or(original, String::as_str)),
                    };
                    let mut name = base.clone();
                    let mut extra = 2;
                    while self.taken.contains(&name) {
                        name = format!("{base}_{extra}");
                        extra += 1;
                    }
                    self.taken.insert(name.clone());
                    self.names.insert((key, n), name.clone());
                    name
                }
            };
            if output != original {
                self.mappings.push(HeaderMapping {
                    table: table.to_owned(),
                    original: original.to_owned(),
                    output: output.clone(),
                });
            }
            out.push(output);
        }
        out
    }

    /// Every rename so far, in table and column order.
    pub fn mappings(&self) -> &[HeaderMapping] {
        &self.mappings
    }

    /// The renames, taken.
    pub fn into_mappings(self) -> Vec<HeaderMapping> {
        self.mappings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drifting_headers_share_one_key() {
        for name in ["Lot ID", "lot_id", " LOT-ID", "\u{feff}Lot  ID", "lot__-id "] {
            assert_eq!(column_key(name), "lot_id", "{name:?}");
        }
        assert_eq!(column_key("Temp (°C)"), "temp_(°c)");
        assert_ne!(column_key("lotid"), column_key("lot id"));
    }

    fn at(line: u64, value: &str) -> Option<CellAt> {
        Some(CellAt { table: "b.csv".into(), line, value: value.into() })
    }

    #[test]
    fn a_day_above_12_settles_the_order_and_a_contradiction_keeps_text() {
        let mut e = DateEvidence { ambiguous: 3, ..DateEvidence::default() };
        assert!(e.decide().unwrap_err().contains("none of the 3 values"));
        e.merge(&DateEvidence { day_first: at(2, "13/04/2025"), ..DateEvidence::default() });
        assert_eq!(
            e.decide().unwrap(),
            (DateOrder::DayFirst, "day-first because `b.csv` line 2 is `13/04/2025`".into())
        );
        e.merge(&DateEvidence { month_first: at(9, "04/13/2025"), ..DateEvidence::default() });
        let why = e.decide().unwrap_err();
        assert!(why.contains("`13/04/2025`") && why.contains("`04/13/2025`"), "{why}");
        let dotted = DateEvidence { dotted: true, ambiguous: 1, ..DateEvidence::default() };
        assert_eq!(dotted.decide().unwrap().0, DateOrder::DayFirst);
    }

    #[test]
    fn columns_match_by_key_taking_the_first_spelling_and_repeats_stay_apart() {
        let mut m = ColumnMatcher::default();
        assert_eq!(m.match_table("a.csv", ["Lot ID", "value"]), ["Lot ID", "value"]);
        assert_eq!(m.match_table("b.csv", ["lot_id", "Value", "LOT-ID"]), ["Lot ID", "value", "Lot ID_2"]);
        assert_eq!(
            m.match_table("c.csv", [" LOT-ID", "Lot ID_2"]),
            ["Lot ID", "Lot ID_2_2"],
            "a literal name taken is not merged"
        );
        let renames: Vec<(&str, &str, &str)> =
            m.mappings().iter().map(|h| (h.table.as_str(), h.original.as_str(), h.output.as_str())).collect();
        assert_eq!(
            renames,
            [
                ("b.csv", "lot_id", "Lot ID"),
                ("b.csv", "Value", "value"),
                ("b.csv", "LOT-ID", "Lot ID_2"),
                ("c.csv", " LOT-ID", "Lot ID"),
                ("c.csv", "Lot ID_2", "Lot ID_2_2")
            ]
        );
    }

    #[test]
    fn a_dataset_gives_no_column_the_name_of_a_source_column() {
        let mut m = ColumnMatcher::for_dataset();
        assert_eq!(
            m.match_table("a.csv", ["_source_row", "v", "_source_file"]),
            ["_source_row_2", "v", "_source_file_2"]
        );
        assert_eq!(m.match_table("b.csv", ["_Source_Row"]), ["_source_row_2"], "matched by key, as any column");
        assert_eq!(m.mappings().len(), 3);
    }

    #[test]
    fn overrides_are_checked() {
        let ok = ReadOverride { decimal: Some(','), thousands: Some(".".into()), ..ReadOverride::default() };
        assert!(ok.validate().is_ok());
        let same = ReadOverride { decimal: Some(','), thousands: Some(",".into()), ..ReadOverride::default() };
        assert!(same.validate().is_err());
        let none = ReadOverride { thousands: Some(String::new()), ..ReadOverride::default() };
        assert_eq!(none.thousands_sep(), Ok(Some(None)));
        assert!(ReadOverride { decimal: Some(';'), ..ReadOverride::default() }.validate().is_err());
        assert_eq!(
            ReadOverride { header_row: Some(3), skip_rows: Some(1), ..ReadOverride::default() }.lines_before(),
            Some(2)
        );
    }
}

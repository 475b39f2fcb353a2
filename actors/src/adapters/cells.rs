//! How a column's type is inferred from the cells the probe reads, shared by the workbook and
//! JSON adapters so both narrow a column the same way.

use dat_contracts::{ColumnInfo, ColumnType};

/// The running type of one column, widened cell by cell.
///
/// Rules (the probe's, recorded here): a null or absent cell only makes the column nullable;
/// int and float widen to float; date and datetime widen to datetime; any other mix is string,
/// the one type every value can be read as. A column that only ever held nulls is `null`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TypeTally {
    seen: Option<ColumnType>,
    nullable: bool,
}

impl TypeTally {
    /// Widens the column with one cell's type; `ColumnType::Null` marks it nullable.
    pub(crate) fn observe(&mut self, cell: ColumnType) {
        if cell == ColumnType::Null {
            self.nullable = true;
            return;
        }
        self.seen = Some(match self.seen {
            None => cell,
            Some(current) => widen(current, cell),
        });
    }

    /// Whether the column is already text, which no further cell can change.
    pub(crate) fn is_string(&self) -> bool {
        self.seen == Some(ColumnType::String)
    }

    /// Marks the column nullable (a row lacked it, or a cell could not be read as a value).
    pub(crate) fn mark_null(&mut self) {
        self.nullable = true;
    }

    /// The column as the probe reports it.
    pub(crate) fn info(&self, name: impl Into<String>) -> ColumnInfo {
        ColumnInfo { name: name.into(), dtype: self.seen.unwrap_or(ColumnType::Null), nullable: self.nullable }
    }
}

/// The narrowest type that holds values of both types.
pub(crate) fn widen(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::{Date, Datetime, Float, Int, Null, String};
    match (a, b) {
        (a, b) if a == b => a,
        (Null, other) | (other, Null) => other,
        (Int, Float) | (Float, Int) => Float,
        (Date, Datetime) | (Datetime, Date) => Datetime,
        _ => String,
    }
}

/// Gives every column a usable, unique name: a blank name becomes `column_<n>` (1-based
/// position) and a repeated one gets `_2`, `_3`… Returns the names and one warning per rename
/// of a repeated name (blank names are expected and not warned about).
pub(crate) fn unique_names(raw: impl IntoIterator<Item = String>) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    for (i, name) in raw.into_iter().enumerate() {
        let trimmed = name.trim();
        let base = if trimmed.is_empty() { format!("column_{}", i + 1) } else { trimmed.to_owned() };
        let mut candidate = base.clone();
        let mut n = 2;
        while names.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        if candidate != base {
            warnings.push(format!("column name `{base}` is repeated; column {} is named `{candidate}`", i + 1));
        }
        names.push(candidate);
    }
    (names, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(cells: &[ColumnType]) -> ColumnInfo {
        let mut t = TypeTally::default();
        cells.iter().for_each(|c| t.observe(*c));
        t.info("c")
    }

    #[test]
    fn ints_and_floats_widen_to_float_and_nulls_make_nullable() {
        let info = tally(&[ColumnType::Int, ColumnType::Null, ColumnType::Float]);
        assert_eq!((info.dtype, info.nullable), (ColumnType::Float, true));
    }

    #[test]
    fn dates_widen_to_datetime_and_other_mixes_to_string() {
        assert_eq!(tally(&[ColumnType::Date, ColumnType::Datetime]).dtype, ColumnType::Datetime);
        assert_eq!(tally(&[ColumnType::Int, ColumnType::Bool]).dtype, ColumnType::String);
        assert_eq!(tally(&[ColumnType::Null]).dtype, ColumnType::Null);
    }

    #[test]
    fn blank_and_repeated_names_are_made_unique() {
        let (names, warnings) = unique_names(["a".into(), "".into(), "a".into(), "a".into()]);
        assert_eq!(names, ["a", "column_2", "a_2", "a_3"]);
        assert_eq!(warnings.len(), 2);
    }
}

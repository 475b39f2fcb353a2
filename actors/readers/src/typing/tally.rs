//! A column's type, widened cell by cell and table by table, and unique column names: the
//! rules every adapter, the probe and parse share.

use std::collections::{HashMap, HashSet};

use dat_contracts::{ColumnInfo, ColumnType};

/// The running type of one column, widened cell by cell.
///
/// Rules (the probe's, recorded here): a null or absent cell only makes the column nullable;
/// int and float widen to float; date and datetime widen to datetime; any other mix is string,
/// the one type every value can be read as. A column that only ever held nulls is `null`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeTally {
    seen: Option<ColumnType>,
    nullable: bool,
}

impl TypeTally {
    /// Widens the column with one cell's type; `ColumnType::Null` marks it nullable.
    pub fn observe(&mut self, cell: ColumnType) {
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
    pub fn is_string(&self) -> bool {
        self.seen == Some(ColumnType::String)
    }

    /// Marks the column nullable (a row lacked it, or a cell could not be read as a value).
    pub fn mark_null(&mut self) {
        self.nullable = true;
    }

    /// The column's type so far (`null` when only nulls were seen).
    pub fn column_type(&self) -> ColumnType {
        self.seen.unwrap_or(ColumnType::Null)
    }

    /// The column as the probe reports it.
    pub fn info(&self, name: impl Into<String>) -> ColumnInfo {
        ColumnInfo::new(name, self.column_type(), self.nullable)
    }
}

/// The narrowest type that holds values of both types.
pub fn widen(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::{Date, Datetime, Decimal, Float, Int, Null, String};
    match (a, b) {
        (a, b) if a == b => a,
        (Null, other) | (other, Null) => other,
        (Int, Float) | (Float, Int) => Float,
        (Date, Datetime) | (Datetime, Date) => Datetime,
        (Decimal { precision, scale }, Int) | (Int, Decimal { precision, scale }) => {
            decimal_union((precision, scale), INT_AS_DECIMAL)
        }
        (Decimal { precision: p1, scale: s1 }, Decimal { precision: p2, scale: s2 }) => {
            decimal_union((p1, s1), (p2, s2))
        }
        _ => String,
    }
}

/// The decimal an i64 always fits: 19 digits, none after the point.
const INT_AS_DECIMAL: (u8, u8) = (19, 0);

/// The decimal holding both: the most digits before the point and after it, or string when
/// that passes 38 digits (text keeps every value exactly, a float would not).
fn decimal_union((p1, s1): (u8, u8), (p2, s2): (u8, u8)) -> ColumnType {
    let scale = s1.max(s2);
    let whole = (p1 - s1.min(p1)).max(p2 - s2.min(p2));
    let precision = whole.saturating_add(scale);
    if precision > ColumnType::MAX_DECIMAL_PRECISION {
        ColumnType::String
    } else {
        ColumnType::Decimal { precision: precision.max(1), scale }
    }
}

/// Gives every column a usable, unique name: a blank name becomes `column_<n>` (1-based
/// position) and a repeated one gets `_2`, `_3`… Returns the names and one warning per rename
/// of a repeated name (blank names are expected and not warned about).
pub fn unique_names(raw: impl IntoIterator<Item = String>) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    // Names taken so far, and per repeated base the suffix to try next: the search for the
    // smallest free `_n` (from 2) starts where the last one for that base ended, since every
    // `_n` below it is still taken (names are only ever added). A header of thousands of equal
    // names is then named in linear time instead of searching all names for every suffix.
    let mut taken: HashSet<String> = HashSet::new();
    let mut next_suffix: HashMap<String, u64> = HashMap::new();
    for (i, name) in raw.into_iter().enumerate() {
        let trimmed = name.trim();
        let base = if trimmed.is_empty() { format!("column_{}", i + 1) } else { trimmed.to_owned() };
        let mut candidate = base.clone();
        if taken.contains(&candidate) {
            let n = next_suffix.entry(base.clone()).or_insert(2);
            candidate = format!("{base}_{n}");
            while taken.contains(&candidate) {
                *n += 1;
                candidate = format!("{base}_{n}");
            }
            *n += 1;
            warnings.push(format!("column name `{base}` is repeated; column {} is named `{candidate}`", i + 1));
        }
        taken.insert(candidate.clone());
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

    /// The rule as first written: for each name, the smallest free `_n` from 2, searched
    /// through all the names so far.
    fn searched_names(raw: &[String]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (i, name) in raw.iter().enumerate() {
            let trimmed = name.trim();
            let base = if trimmed.is_empty() { format!("column_{}", i + 1) } else { trimmed.to_owned() };
            let (mut candidate, mut n) = (base.clone(), 2);
            while names.contains(&candidate) {
                candidate = format!("{base}_{n}");
                n += 1;
            }
            names.push(candidate);
        }
        names
    }

    #[test]
    fn names_are_the_ones_the_plain_search_gives() {
        let pool = ["a", "a_2", "a_3", "a_2_2", "", " a ", "column_2", "column_3", "column_3_2", "b", "a_1", "a_02"];
        let mut next = crate::testing::random(0x2545_F491_4F6C_DD1D);
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let raw: Vec<String> = (0..len).map(|_| pool[(next() % pool.len() as u64) as usize].to_owned()).collect();
            let (names, warnings) = unique_names(raw.clone());
            assert_eq!(names, searched_names(&raw), "{raw:?}");
            let bases = raw.iter().enumerate().map(|(i, r)| match r.trim() {
                "" => format!("column_{}", i + 1),
                trimmed => trimmed.to_owned(),
            });
            assert_eq!(warnings.len(), bases.zip(&names).filter(|(b, n)| b != *n).count(), "{raw:?}");
        }
    }

    #[test]
    fn twenty_thousand_repeated_names_are_named_at_once() {
        let (sender, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(unique_names(vec!["x".to_owned(); 20_000])));
        // The search through all names so far took hours here; a hash lookup takes milliseconds.
        let (names, warnings) = received.recv_timeout(std::time::Duration::from_secs(30)).expect("named in time");
        assert_eq!(names.len(), 20_000);
        assert_eq!((names[0].as_str(), names[1].as_str(), names[19_999].as_str()), ("x", "x_2", "x_20000"));
        assert_eq!(warnings.len(), 19_999);
    }

    #[test]
    fn decimals_widen_to_hold_both_or_become_text() {
        let d = |precision, scale| ColumnType::Decimal { precision, scale };
        assert_eq!(widen(d(10, 2), d(12, 4)), d(12, 4));
        assert_eq!(widen(d(10, 2), d(5, 0)), d(10, 2));
        assert_eq!(widen(d(10, 2), ColumnType::Int), d(21, 2), "an int needs 19 digits");
        assert_eq!(widen(d(38, 25), ColumnType::Int), ColumnType::String, "19 + 25 digits do not fit");
        assert_eq!(widen(d(10, 2), ColumnType::Float), ColumnType::String, "no silent rounding");
    }
}

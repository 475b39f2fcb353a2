//! The dataset's columns: the tables' columns united by their normalised name (`Lot ID`,
//! `lot_id` and ` LOT-ID` are one column, spelled as the first file in path order spells it), in
//! order of first appearance, each with the narrowest type every table fits (the shared widening
//! rules) and the reason for it (the value that forced it).

use std::collections::BTreeMap;

use dat_contracts::bundle::{ColumnDecision, Widening};
use dat_contracts::text_layout::{column_key, ColumnMatcher, HeaderMapping, NumberFormat};
use dat_contracts::ColumnType;
use dat_readers::typing::widen;

use super::assemble::Parsed;
use super::checkpoint::FirstCell;

/// The dataset's columns and where each table's columns go in it.
pub(crate) struct United {
    /// Columns (without the source columns), in order of first appearance, each with the
    /// narrowest type every table fits.
    pub(crate) columns: Vec<(String, ColumnType)>,
    /// The widenings, naming the table that forced each.
    pub(crate) widenings: Vec<Widening>,
    /// Per table (in the order given): dataset column → the table's own column.
    pub(crate) sources: Vec<BTreeMap<String, String>>,
    /// Every column whose dataset name differs from its name in its table.
    pub(crate) mappings: Vec<HeaderMapping>,
    /// Every column's type with its reason.
    pub(crate) decisions: Vec<ColumnDecision>,
}

/// Unites the tables' columns: matched by their normalised name (the spelling of the first
/// table in path order wins, see [`ColumnMatcher`]), types widened by the shared rules, each
/// type given its reason. `date_reasons` (by normalised name) are the folder's day/month
/// decisions from table availability.
pub(crate) fn unite(tables: &[&Parsed<'_>], date_reasons: &BTreeMap<String, String>) -> United {
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by(|&a, &b| tables[a].table.table_id.cmp(&tables[b].table.table_id));
    let mut matcher = ColumnMatcher::for_dataset();
    let mut columns: Vec<(String, ColumnType)> = Vec::new();
    let mut widenings = Vec::new();
    let mut sources = vec![BTreeMap::new(); tables.len()];
    // Per dataset column, the first cells of each type, by table in path order, and the first
    // table whose numbers are written in a local format.
    let mut firsts: BTreeMap<String, Vec<(&str, &FirstCell)>> = BTreeMap::new();
    let mut formats: BTreeMap<String, (&str, NumberFormat)> = BTreeMap::new();
    for index in order {
        let parsed = tables[index];
        let c = &parsed.checkpoint;
        let outputs = matcher.match_table(&parsed.table.table_id, c.columns.iter().map(|(n, _)| n.as_str()));
        for ((own, dtype), name) in c.columns.iter().zip(outputs) {
            let seen = firsts.entry(name.clone()).or_default();
            seen.extend(c.firsts.get(own).into_iter().flatten().map(|f| (parsed.table.table_id.as_str(), f)));
            if let Some(rules) = c.rules.get(own).filter(|r| !r.number.is_plain()) {
                formats.entry(name.clone()).or_insert((parsed.table.table_id.as_str(), rules.number));
            }
            sources[index].insert(name.clone(), own.clone());
            match columns.iter_mut().find(|(n, _)| *n == name) {
                None => columns.push((name, *dtype)),
                Some((_, known)) => {
                    let wider = widen(*known, *dtype);
                    if wider != *known && *known != ColumnType::Null {
                        widenings.push(Widening {
                            column: name,
                            from: *known,
                            to: wider,
                            file: parsed.table.table_id.clone(),
                        });
                    }
                    *known = wider;
                }
            }
        }
    }
    for (_, dtype) in &mut columns {
        if *dtype == ColumnType::Null {
            *dtype = ColumnType::String; // only nulls seen: stored as text
        }
    }
    let decisions = columns
        .iter()
        .map(|(name, dtype)| {
            let mut why = reason(*dtype, firsts.get(name).map_or(&[][..], Vec::as_slice));
            if let Some(dates) = date_reasons.get(&column_key(name)) {
                why = format!("{why}; {dates}");
            }
            let numeric = matches!(dtype, ColumnType::Int | ColumnType::Float);
            if let Some((table, format)) = formats.get(name).filter(|_| numeric) {
                let thousands = format.thousands.map_or("none".to_owned(), |t| format!("`{t}`"));
                why = format!(
                    "{why}; numbers read with decimal `{}` and thousands {thousands}, as decided for `{table}`",
                    format.decimal
                );
            }
            ColumnDecision { name: name.clone(), dtype: *dtype, reason: why }
        })
        .collect();
    United { columns, widenings, sources, mappings: matcher.into_mappings(), decisions }
}

/// Why a column has its type: the first value of that type where values of other types came
/// too ("string because `b.csv` line 7 is `0870A`"), or what every value is.
fn reason(dtype: ColumnType, firsts: &[(&str, &FirstCell)]) -> String {
    let mixed = firsts.iter().any(|(_, f)| f.dtype != dtype);
    match firsts.iter().find(|(_, f)| f.dtype == dtype) {
        Some((table, f)) if mixed => format!("{dtype} because `{table}` line {} is `{}`", f.line, f.value),
        None if dtype == ColumnType::String => {
            "string: no value was read as anything else (only nulls, or text by the source's own types)".to_owned()
        }
        _ => format!("{dtype}: every value read is {dtype}"),
    }
}

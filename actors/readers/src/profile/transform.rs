//! After a strategy: `column_transforms` (rename, unit_convert, uppercase, lowercase, strip,
//! round; into `target`, else in place) and the `stable_columns` check (`warn` makes the table
//! partial with a warning, `error` fails it, `ignore` does nothing).

use dat_contracts::profile::{ColumnTransform, TableSpec};
use dat_contracts::ColumnType;

use super::budget::text_len;
use super::frame::{Frame, Value};
use crate::typing::{as_f64, float_text};

/// Applies the transforms in order; returns counted warnings (cells a numeric transform could
/// not read as a number, kept as they were).
///
/// # Errors
/// A transform would take the table past its budget (a new column, the texts it copies or
/// lengthens): the table fails, naming the transform.
pub(super) fn apply(frame: &mut Frame, transforms: &[ColumnTransform]) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for t in transforms {
        let Some(source) = frame.names.iter().position(|n| *n == t.source) else {
            warnings.push(format!("column_transforms: no column `{}` to {}", t.source, t.transform));
            continue;
        };
        if t.transform == "rename" {
            if let Some(target) = &t.target {
                frame.names[source] = target.clone();
            }
            continue;
        }
        let past = |e: String| format!("column_transforms: {} of `{}`: {e}", t.transform, t.source);
        let into = t.target.as_deref().unwrap_or(&t.source);
        // A copy into another column holds the source's texts twice.
        let copied = if into == t.source { 0 } else { frame.rows.iter().map(|row| text_len(&row[source])).sum() };
        let target = frame.transform_target(into, copied).map_err(past)?;
        let (mut unread, mut replaced, mut written) = (0usize, 0usize, 0usize);
        for row in &mut frame.rows {
            let value = row[source].clone();
            replaced += text_len(&row[target]);
            row[target] = match t.transform.as_str() {
                "uppercase" => text(value, str::to_uppercase),
                "lowercase" => text(value, str::to_lowercase),
                "strip" => text(value, |s| s.trim().to_owned()),
                "unit_convert" | "round" => match number(&value) {
                    Some(v) => Some((ColumnType::Float, float_text(numeric(t, v)))),
                    None => {
                        unread += usize::from(value.is_some());
                        value
                    }
                },
                _ => value,
            };
            written += text_len(&row[target]);
        }
        frame.retext(replaced, written).map_err(past)?;
        if unread > 0 {
            warnings.push(format!(
                "column_transforms: {unread} value(s) of `{}` are not numbers; {} left them as they were",
                t.source, t.transform
            ));
        }
    }
    Ok(warnings)
}

fn text(value: Value, f: impl Fn(&str) -> String) -> Value {
    value.map(|(kind, t)| if kind == ColumnType::String { (kind, f(&t)) } else { (kind, t) })
}

fn number(value: &Value) -> Option<f64> {
    value.as_ref().and_then(|(_, t)| as_f64(t))
}

/// unit_convert multiplies by `factor`; round keeps `decimals` decimals.
fn numeric(t: &ColumnTransform, v: f64) -> f64 {
    match t.transform.as_str() {
        "unit_convert" => v * t.args.get("factor").and_then(serde_json::Value::as_f64).unwrap_or(1.0),
        _ => {
            let decimals = t.args.get("decimals").and_then(serde_json::Value::as_i64).unwrap_or(0).clamp(0, 15);
            let scale = 10f64.powi(decimals as i32);
            (v * scale).round() / scale
        }
    }
}

/// Checks the table's columns against its stable columns: whether the table is partial and
/// the warning saying why.
///
/// # Errors
/// The reason, when the mode is `error` and the columns differ.
pub(super) fn stable_columns(frame: &Frame, table: &TableSpec) -> Result<(bool, Option<String>), String> {
    let mode = table.stable_columns_mode.as_deref().unwrap_or("warn");
    if mode == "ignore" || table.stable_columns.is_empty() || frame.rows.is_empty() {
        return Ok((false, None));
    }
    let missing: Vec<&str> =
        table.stable_columns.iter().filter(|c| !frame.names.contains(c)).map(String::as_str).collect();
    let extra: Vec<&str> = if table.stable_columns_subset.unwrap_or(true) {
        vec![]
    } else {
        frame.names.iter().filter(|n| !table.stable_columns.contains(n)).map(String::as_str).collect()
    };
    if missing.is_empty() && extra.is_empty() {
        return Ok((false, None));
    }
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!("stable column(s) missing: {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        why.push(format!("column(s) beyond the stable columns: {}", extra.join(", ")));
    }
    let why = why.join("; ");
    if mode == "error" {
        return Err(format!("table `{}`: {why}", table.id));
    }
    Ok((true, Some(why)))
}

#[cfg(test)]
mod tests {
    use super::super::budget::{Budget, MAX_CELLS};
    use super::*;

    fn transform(source: &str, transform: &str, target: Option<&str>) -> ColumnTransform {
        serde_json::from_value(serde_json::json!({"source": source, "transform": transform, "target": target})).unwrap()
    }

    #[test]
    fn a_transform_that_would_pass_the_tables_budget_fails_it() {
        // 14 cells (and 448 bytes) left: 4 rows × 2 columns fit, and one more column (4 × 3,
        // the texts copied) still does.
        let mut frame = Frame::within(vec!["a".into(), "b".into()], Budget::TABLE.less(MAX_CELLS - 14, 0));
        for i in 0..4 {
            let row = vec![Some((ColumnType::String, format!("x{i}"))), None];
            frame.push_row(i + 1, row).unwrap();
        }
        let warnings = apply(&mut frame, &[transform("a", "uppercase", Some("c"))]).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(frame.rows[3][2], Some((ColumnType::String, "X3".to_owned())));
        // A fourth column would be 16 cells: the table fails, naming the transform.
        let error = apply(&mut frame, &[transform("a", "lowercase", Some("d"))]).unwrap_err();
        assert!(error.starts_with("column_transforms: lowercase of `a`: the table would hold 4 × 4 cells"), "{error}");
        assert_eq!(frame.names.len(), 3, "nothing was added");
        // In place, no column is added.
        apply(&mut frame, &[transform("c", "lowercase", None)]).unwrap();
    }
}

//! Reading the first rows of a dataset's data file, whatever its format, without reading the
//! rest: a Parquet slice, the first csv records, the first JSON lines (dat writes a json array
//! one row per line), the first rows of the xlsx's first sheet through calamine's cell reader.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use calamine::{Reader, Xlsx};
use dat_contracts::bundle::DatasetManifest;
use dat_contracts::ColumnType;
use polars::prelude::*;
use serde_json::{Map, Value};

use super::DatasetPreview;
use crate::stages::export::cells::{self, DatasetRows};
use crate::stages::export::xlsx_value;

/// The first `rows` rows of `path`, read as `manifest.format`.
///
/// # Errors
/// Why the file cannot be read (naming no absolute path).
pub(super) fn read(path: &Path, manifest: &DatasetManifest, rows: usize) -> Result<DatasetPreview, String> {
    match manifest.format.as_str() {
        "parquet" => parquet(path, rows).map_err(|e| e.to_string()),
        "csv" => delimited(path, b',', rows),
        "tsv" => delimited(path, b'\t', rows),
        "jsonl" | "json" => json_lines(path, manifest, rows),
        "xlsx" => xlsx(path, manifest, rows),
        other => Err(format!("unknown format `{other}`")),
    }
}

fn parquet(path: &Path, rows: usize) -> PolarsResult<DatasetPreview> {
    let df = ParquetReader::new(File::open(path)?).with_slice(Some((0, rows))).finish()?;
    let columns = cells::normalize(&df)?;
    let mut walk = DatasetRows::new(&columns)?;
    let mut row = Vec::new();
    let mut out = Vec::with_capacity(df.height());
    while walk.next_into(&mut row) {
        out.push(row.iter().map(|c| c.to_json()).collect());
    }
    Ok(DatasetPreview { columns: df.get_column_names().into_iter().map(|n| n.to_string()).collect(), rows: out })
}

fn delimited(path: &Path, delimiter: u8, rows: usize) -> Result<DatasetPreview, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(File::open(path).map_err(|e| e.to_string())?);
    let columns: Vec<String> = reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_owned).collect();
    let mut out = Vec::new();
    for record in reader.records().take(rows) {
        let record = record.map_err(|e| e.to_string())?;
        out.push(
            (0..columns.len())
                .map(|i| match record.get(i) {
                    None | Some("") => Value::Null,
                    Some(text) => Value::from(text),
                })
                .collect(),
        );
    }
    Ok(DatasetPreview { columns, rows: out })
}

/// jsonl, and json as dat writes it: `[`, one row object per line (with a trailing `,` but the
/// last), `]`.
fn json_lines(path: &Path, manifest: &DatasetManifest, rows: usize) -> Result<DatasetPreview, String> {
    let mut columns: Vec<String> = manifest.columns.iter().map(|c| c.name.clone()).collect();
    let mut out = Vec::new();
    for line in BufReader::new(File::open(path).map_err(|e| e.to_string())?).lines() {
        if out.len() >= rows {
            break;
        }
        let line = line.map_err(|e| e.to_string())?;
        let line = line.trim().trim_end_matches(',');
        if line.is_empty() || line == "[" || line == "]" || line == "[]" {
            continue;
        }
        let object: Map<String, Value> =
            serde_json::from_str(line).map_err(|e| format!("line {} is not a row object: {e}", out.len() + 1))?;
        if columns.is_empty() {
            columns = object.keys().cloned().collect();
        }
        out.push(columns.iter().map(|c| object.get(c).cloned().unwrap_or(Value::Null)).collect());
    }
    Ok(DatasetPreview { columns, rows: out })
}

fn xlsx(path: &Path, manifest: &DatasetManifest, rows: usize) -> Result<DatasetPreview, String> {
    let mut workbook: Xlsx<_> = calamine::open_workbook(path).map_err(|e: calamine::XlsxError| e.to_string())?;
    let Some(first) = workbook.sheet_names().first().cloned() else {
        return Ok(DatasetPreview { columns: Vec::new(), rows: Vec::new() });
    };
    let types: Vec<ColumnType> = manifest.columns.iter().map(|c| c.dtype).collect();
    let mut reader = workbook.worksheet_cells_reader(&first).map_err(|e| e.to_string())?;
    let mut columns: Vec<String> = Vec::new();
    // Rows whose values are all null have no cells in the sheet: start from rows of nulls.
    let wanted = rows.min(usize::try_from(manifest.row_count).unwrap_or(usize::MAX));
    let mut out: Vec<Vec<Value>> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(|e| e.to_string())? {
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize, col as usize);
        if row > wanted {
            break;
        }
        if row == 0 {
            if columns.len() <= col {
                columns.resize(col + 1, String::new());
            }
            columns[col] =
                xlsx_value(cell.get_value(), ColumnType::String).as_str().map(str::to_owned).unwrap_or_default();
            continue;
        }
        if out.is_empty() {
            out = vec![vec![Value::Null; columns.len()]; wanted];
        }
        if let Some(slot) = out.get_mut(row - 1).and_then(|r| r.get_mut(col)) {
            *slot = xlsx_value(cell.get_value(), types.get(col).copied().unwrap_or(ColumnType::String));
        }
    }
    if out.is_empty() {
        out = vec![vec![Value::Null; columns.len()]; wanted];
    }
    Ok(DatasetPreview { columns, rows: out })
}

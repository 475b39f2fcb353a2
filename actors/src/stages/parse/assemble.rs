//! Assembling the dataset from the tables' checkpoints: columns united by name in order of first
//! appearance, each with the narrowest type every table fits (int → float → string, date →
//! datetime → string; the table that forced a widening is named in the report), nulls where a
//! table lacks a column, and `_source_file`, `_source_table`, `_source_row` on every row.
//! Parts are read and written one at a time, so memory stays bounded by one chunk.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use dat_contracts::artifacts::SelectedTable;
use dat_contracts::bundle::{DatasetColumn, PrepTable, Widening};
use dat_contracts::ColumnType;
use polars::prelude::*;

use super::checkpoint::{part_file, TableCheckpoint};
use super::chunk::polars_type;
use crate::adapters::cells::widen;

/// The source columns every row carries.
pub(crate) const SOURCE_COLUMNS: [&str; 3] = ["_source_file", "_source_table", "_source_row"];

/// A table ready to go in: where its checkpoint is and what it holds.
pub(crate) struct Parsed<'a> {
    pub(crate) table: &'a SelectedTable,
    pub(crate) dir: std::path::PathBuf,
    pub(crate) checkpoint: TableCheckpoint,
}

/// The dataset's columns (without the source columns) and the widenings that made them.
pub(crate) fn unite(tables: &[Parsed<'_>]) -> (Vec<(String, ColumnType)>, Vec<Widening>) {
    let mut columns: Vec<(String, ColumnType)> = Vec::new();
    let mut widenings = Vec::new();
    for parsed in tables {
        for (name, dtype) in &parsed.checkpoint.columns {
            match columns.iter_mut().find(|(n, _)| n == name) {
                None => columns.push((name.clone(), *dtype)),
                Some((_, known)) => {
                    let wider = widen(*known, *dtype);
                    if wider != *known && *known != ColumnType::Null {
                        widenings.push(Widening {
                            column: name.clone(),
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
    (columns, widenings)
}

/// The dataset's schema, source columns last.
pub(crate) fn schema(columns: &[(String, ColumnType)]) -> Schema {
    let mut schema: Schema =
        columns.iter().map(|(name, dtype)| Field::new(name.as_str().into(), polars_type(*dtype))).collect();
    schema.with_column(SOURCE_COLUMNS[0].into(), DataType::String);
    schema.with_column(SOURCE_COLUMNS[1].into(), DataType::String);
    schema.with_column(SOURCE_COLUMNS[2].into(), DataType::Int64);
    schema
}

/// One part of a table, brought to the dataset's columns and types, with its source columns.
fn conform(
    part: DataFrame,
    columns: &[(String, ColumnType)],
    table: &SelectedTable,
    first_row: u64,
) -> PolarsResult<DataFrame> {
    let height = part.height();
    let mut out: Vec<Column> = Vec::with_capacity(columns.len() + 3);
    for (name, dtype) in columns {
        let target = polars_type(*dtype);
        let column = match part.column(name) {
            Ok(column) => column.cast(&target)?,
            Err(_) => Column::full_null(name.as_str().into(), height, &target),
        };
        out.push(column);
    }
    let source_table = table.sheet.clone().unwrap_or_else(|| table.table_id.clone());
    out.push(Column::new_scalar(SOURCE_COLUMNS[0].into(), Scalar::from(PlSmallStr::from(table.file.as_str())), height));
    out.push(Column::new_scalar(
        SOURCE_COLUMNS[1].into(),
        Scalar::from(PlSmallStr::from(source_table.as_str())),
        height,
    ));
    let rows: Vec<i64> = (0..height as i64).map(|i| first_row as i64 + i + 1).collect();
    out.push(Series::new(SOURCE_COLUMNS[2].into(), rows).into());
    DataFrame::new(height, out)
}

/// Writes `dataset.parquet` (to a temporary name, renamed when complete); returns its rows.
/// A second thread reads and conforms the next part while this one encodes the last, one part
/// ahead at most, so memory stays bounded by a few chunks.
///
/// # Errors
/// A polars or I/O error: the stage fails, nothing half-written is left under the final name.
pub(crate) fn write_dataset(
    tables: &[Parsed<'_>],
    columns: &[(String, ColumnType)],
    path: &Path,
    should_stop: &(dyn Fn() -> bool + Sync),
) -> PolarsResult<Option<u64>> {
    let tmp = path.with_extension("parquet.tmp");
    let written = std::thread::scope(|scope| {
        let (parts, received) = std::sync::mpsc::sync_channel::<PolarsResult<DataFrame>>(1);
        scope.spawn(move || {
            for parsed in tables {
                let mut first_row = 0u64;
                for index in 0..parsed.checkpoint.parts.len() {
                    let part = fs::File::open(part_file(&parsed.dir, index))
                        .map_err(PolarsError::from)
                        .and_then(|file| ParquetReader::new(file).finish())
                        .and_then(|part| {
                            let height = part.height() as u64;
                            let conformed = conform(part, columns, parsed.table, first_row);
                            first_row += height;
                            conformed
                        });
                    let failed = part.is_err();
                    if parts.send(part).is_err() || failed || should_stop() {
                        return;
                    }
                }
            }
        });
        write_parts(&tmp, columns, received, should_stop)
    });
    match written {
        Ok(Some(rows)) => {
            fs::rename(&tmp, path)?;
            Ok(Some(rows))
        }
        other => {
            let _ = fs::remove_file(&tmp);
            other
        }
    }
}

/// Writes the conformed parts as they arrive; `None` when asked to stop.
fn write_parts(
    tmp: &Path,
    columns: &[(String, ColumnType)],
    parts: std::sync::mpsc::Receiver<PolarsResult<DataFrame>>,
    should_stop: &dyn Fn() -> bool,
) -> PolarsResult<Option<u64>> {
    let mut writer = ParquetWriter::new(fs::File::create(tmp)?).batched(&schema(columns))?;
    let mut rows = 0u64;
    for part in parts {
        if should_stop() {
            return Ok(None);
        }
        let part = part?;
        rows += part.height() as u64;
        writer.write_batch(&part)?;
    }
    if should_stop() {
        return Ok(None);
    }
    writer.finish()?;
    Ok(Some(rows))
}

/// Writes `rejects.parquet`: file, line, reason of every rejected row, in table order.
///
/// # Errors
/// A polars or I/O error.
pub(crate) fn write_rejects(tables: &[Parsed<'_>], path: &Path) -> PolarsResult<u64> {
    let (mut files, mut lines, mut reasons) = (Vec::new(), Vec::new(), Vec::new());
    for parsed in tables {
        for reject in &parsed.checkpoint.rejects {
            files.push(parsed.table.table_id.clone());
            lines.push(reject.line as i64);
            reasons.push(reject.reason.clone());
        }
    }
    let height = files.len();
    let mut frame = DataFrame::new(
        height,
        vec![
            Series::new("file".into(), files).into(),
            Series::new("line".into(), lines).into(),
            Series::new("reason".into(), reasons).into(),
        ],
    )?;
    let tmp = path.with_extension("parquet.tmp");
    ParquetWriter::new(fs::File::create(&tmp)?).finish(&mut frame)?;
    fs::rename(&tmp, path)?;
    Ok(height as u64)
}

/// The dataset's columns as the manifest lists them.
pub(crate) fn dataset_columns(columns: &[(String, ColumnType)], tables: &[Parsed<'_>]) -> Vec<DatasetColumn> {
    let total: u64 = tables.iter().map(|t| t.checkpoint.rows).sum();
    let mut out: Vec<DatasetColumn> = columns
        .iter()
        .map(|(name, dtype)| {
            let present: u64 = tables
                .iter()
                .filter(|t| t.checkpoint.columns.iter().any(|(n, _)| n == name))
                .map(|t| t.checkpoint.rows - t.checkpoint.nulls.get(name).copied().unwrap_or(0))
                .sum();
            DatasetColumn { name: name.clone(), dtype: *dtype, nullable: present < total }
        })
        .collect();
    out.push(DatasetColumn { name: SOURCE_COLUMNS[0].into(), dtype: ColumnType::String, nullable: false });
    out.push(DatasetColumn { name: SOURCE_COLUMNS[1].into(), dtype: ColumnType::String, nullable: false });
    out.push(DatasetColumn { name: SOURCE_COLUMNS[2].into(), dtype: ColumnType::Int, nullable: false });
    out
}

/// The report entry of a parsed table.
pub(crate) fn report_entry(parsed: &Parsed<'_>, widenings: &[Widening]) -> PrepTable {
    let c = &parsed.checkpoint;
    PrepTable {
        table_id: c.table_id.clone(),
        status: "parsed".into(),
        rows: c.rows,
        columns: c.columns.iter().map(|(n, _)| n.clone()).collect(),
        nulls: c.nulls.clone(),
        rejects: c.rejects.len() as u64,
        widenings: widenings.iter().filter(|w| w.file == c.table_id).cloned().collect(),
        warnings: c.rejects.iter().take(10).map(|r| format!("line {}: {}", r.line, r.reason)).collect(),
    }
}

/// The report entry of a table that could not be read.
pub(crate) fn failed_entry(table_id: &str, reason: String) -> PrepTable {
    PrepTable {
        table_id: table_id.to_owned(),
        status: "failed".into(),
        rows: 0,
        columns: vec![],
        nulls: BTreeMap::new(),
        rejects: 0,
        widenings: vec![],
        warnings: vec![reason],
    }
}

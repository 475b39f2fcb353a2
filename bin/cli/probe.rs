//! `dat probe FILE…`: the probe result of each file's tables, as a table or one JSON object per
//! table (`--json`). Files are read in parallel, one thread per core. Exits 1 when a table is
//! `error` or `missing`, so scripts can stop on unreadable input.

use std::path::{Path, PathBuf};

use anyhow::bail;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use dat_actors::readers::{probe_file, AdapterRegistry, ReadOptions, SourceFile};
use dat_contracts::{TableProbe, TableStatus, WorkspacePath};

/// The name a file is shown under: its path as given when relative, else its file name
/// (nothing absolute is printed).
fn display_path(file: &Path) -> WorkspacePath {
    let as_given = file.to_string_lossy();
    WorkspacePath::parse(&as_given).unwrap_or_else(|_| {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        WorkspacePath::parse(&name).unwrap_or_else(|_| WorkspacePath::root())
    })
}

fn probe_one(adapters: &AdapterRegistry, file: &Path) -> Vec<TableProbe> {
    let path = display_path(file);
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match adapters.for_name(&name) {
        Some((adapter, compression)) => {
            probe_file(adapter.as_ref(), &SourceFile::new(&path, file, compression), &ReadOptions::default())
        }
        None => vec![TableProbe::failed(
            path.as_str(),
            "none",
            TableStatus::Error,
            "no adapter reads this file type (see GET /api/dat/adapters)",
        )],
    }
}

/// Runs the command.
///
/// # Errors
/// When a table is `error` or `missing` (after printing every result).
pub fn probe(files: &[PathBuf], json: bool) -> anyhow::Result<()> {
    let adapters = AdapterRegistry::default();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = files.len().div_ceil(threads).max(1);
    let tables: Vec<TableProbe> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let adapters = &adapters;
                scope.spawn(move || part.iter().flat_map(|f| probe_one(adapters, f)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    if json {
        for table in &tables {
            println!("{}", serde_json::to_string(table)?);
        }
    } else {
        print_table(&tables);
    }
    let bad = tables.iter().filter(|t| matches!(t.status, TableStatus::Error | TableStatus::Missing)).count();
    if bad > 0 {
        bail!("{bad} table(s) could not be read");
    }
    Ok(())
}

fn print_table(tables: &[TableProbe]) {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_header(vec!["TABLE", "ADAPTER", "STATUS", "ROWS", "COLUMNS", "SNIFF", "NOTES"]);
    for p in tables {
        let rows = match (p.row_estimate, p.row_count_exact) {
            (Some(n), true) => n.to_string(),
            (Some(n), false) => format!("~{n}"),
            (None, _) => "-".into(),
        };
        let sniff = p.sniff.as_ref().map_or_else(
            || "-".to_owned(),
            |s| {
                let delimiter = if s.delimiter == "\t" { "\\t" } else { s.delimiter.as_str() };
                let header = if s.header { "header" } else { "no header" };
                format!("{} '{delimiter}' {header}", s.encoding)
            },
        );
        let status =
            serde_json::to_value(p.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let notes = p.error.iter().chain(&p.warnings).cloned().collect::<Vec<_>>().join("; ");
        t.add_row(vec![p.table_id.clone(), p.adapter.clone(), status, rows, p.columns.len().to_string(), sniff, notes]);
    }
    println!("{t}");
}

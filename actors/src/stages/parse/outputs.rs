//! The files a profile adds to the parse bundle (SPEC §10): one per profile table (its rows from
//! every file, united by column name) under `tables/`, and one per output (its member tables
//! united by column name, with the file's context values as columns where the output says
//! `include_context`) under `outputs/`.

use std::collections::BTreeMap;
use std::path::Path;

use dat_contracts::artifacts::ContextArtifact;
use dat_contracts::bundle::{parse_files, ProfileFile};
use dat_contracts::profile::Profile;
use dat_contracts::ColumnType;
use serde_json::Value;

use super::assemble::{self, Parsed};
use super::outcome::io_error;
use super::recall::Reread;
use super::Watch;
use crate::stages::StageError;

/// Writes every table and output file; returns them by id (`None` when asked to stop).
///
/// # Errors
/// [`StageError::Io`] when a file cannot be written.
pub(super) fn write(
    profile: &Profile,
    parsed: &[Parsed<'_>],
    context: Option<&ContextArtifact>,
    bundle: &Path,
    watch: &Watch<'_>,
    (lineage, reread): (&str, &Reread<'_>),
) -> Result<Option<BTreeMap<String, ProfileFile>>, StageError> {
    let mut files = BTreeMap::new();
    let no_constants = |_: &Parsed<'_>| vec![];
    for (_, table) in profile.spec.tables() {
        let members: Vec<&Parsed<'_>> =
            parsed.iter().filter(|p| p.table.sheet.as_deref() == Some(table.id.as_str())).collect();
        let file = format!("{}/{}.parquet", parse_files::TABLES, table.id);
        let Some(written) = write_one("table", &members, &[], &file, (bundle, lineage, reread), watch, &no_constants)?
        else {
            return Ok(None);
        };
        files.insert(table.id.clone(), written);
    }
    for output in profile.spec.outputs() {
        let in_output = |p: &&Parsed<'_>| {
            let id = p.table.sheet.as_deref().unwrap_or_default();
            output.from_tables.iter().any(|t| t == id)
                && output.from_level.as_deref().is_none_or(|level| profile.spec.table(level, id).is_some())
        };
        let members: Vec<&Parsed<'_>> = parsed.iter().filter(in_output).collect();
        let keys: Vec<String> = if output.include_context { context_keys(&members, context) } else { vec![] };
        let values = |p: &Parsed<'_>| -> Vec<(String, Option<String>)> {
            let file = context.and_then(|c| c.of(&p.table.file));
            keys.iter()
                .map(|k| {
                    let value = file.and_then(|f| f.values.iter().find(|v| &v.key == k)).map(|v| text(&v.value));
                    (k.clone(), value)
                })
                .collect()
        };
        let file = format!("{}/{}.parquet", parse_files::OUTPUTS, output.id);
        let Some(written) = write_one("output", &members, &keys, &file, (bundle, lineage, reread), watch, &values)?
        else {
            return Ok(None);
        };
        files.insert(output.id.clone(), written);
    }
    Ok(Some(files))
}

/// The context keys of the members' files, in first-seen order.
fn context_keys(members: &[&Parsed<'_>], context: Option<&ContextArtifact>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for member in members {
        for value in context.and_then(|c| c.of(&member.table.file)).map(|f| f.values.as_slice()).unwrap_or_default() {
            if !keys.contains(&value.key) {
                keys.push(value.key.clone());
            }
        }
    }
    keys
}

/// A context value as a cell's text: strings as they are, other values as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn write_one(
    kind: &str,
    members: &[&Parsed<'_>],
    context_keys: &[String],
    file: &str,
    (bundle, lineage, reread): (&Path, &str, &Reread<'_>),
    watch: &Watch<'_>,
    constants: assemble::Constants<'_>,
) -> Result<Option<ProfileFile>, StageError> {
    let mut united = assemble::unite(members, &BTreeMap::new());
    let columns = &mut united.columns;
    // Context columns come first, as text; a table column of the same name keeps the table's
    // values (in every member: the context's value fills no table's column).
    let added: Vec<String> = context_keys.iter().filter(|k| !columns.iter().any(|(n, _)| n == *k)).cloned().collect();
    columns.splice(0..0, added.iter().map(|k| (k.clone(), ColumnType::String)));
    let context_values = |p: &Parsed<'_>| {
        let mut values = constants(p);
        values.retain(|(key, _)| added.contains(key));
        values
    };
    let path = bundle.join(file);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(&path, e))?;
    }
    let Some((written, _)) = assemble::write_dataset(members, &united, &path, watch, &context_values, reread, lineage)
        .map_err(|e| io_error(&path, e))?
    else {
        return Ok(None);
    };
    Ok(Some(ProfileFile {
        kind: kind.to_owned(),
        file: file.to_owned(),
        columns: super::outcome::dataset_columns(&united, members),
        rows: written.rows,
        sha256: Some(written.sha256),
    }))
}

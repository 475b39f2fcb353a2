//! The lock body of each stage (SPEC §11), parsed once at the edge into a typed [`LockRequest`].
//! Unknown fields are refused so that a typo never silently falls back to a default.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::stage::Stage;
use crate::text_layout::ReadOverride;
use crate::workspace_path::{PathOutsideWorkspace, WorkspacePath};

/// Default and maximum of `preview.rows` (SPEC §2: at most 100 rows per table).
pub const MAX_PREVIEW_ROWS: u64 = 100;
/// Default `parse.chunk_rows` (SPEC §7).
pub const DEFAULT_CHUNK_ROWS: u64 = 50_000;

/// A lock body that cannot be used. HTTP 400; the message says which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Wrong shape: unknown field, wrong type, missing required field.
    #[error("invalid {stage} lock body: {message}")]
    Invalid {
        /// The stage being locked.
        stage: Stage,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A path that leaves the workspace (`path_outside_workspace`).
    #[error(transparent)]
    PathOutside(#[from] PathOutsideWorkspace),
}

/// Output formats of the export stage (SPEC §8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Apache Parquet (the default: lossless types).
    #[default]
    Parquet,
    /// Comma-separated text.
    Csv,
    /// Tab-separated text.
    Tsv,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Excel workbook, split into sheets above Excel's row limit.
    Xlsx,
}

/// A typed lock body. Paths are already checked to be inside the workspace.
#[derive(Debug, Clone, PartialEq)]
pub enum LockRequest {
    /// Scan `root` for files.
    Discovery {
        /// Folder to scan, workspace-relative.
        root: WorkspacePath,
        /// Descend into sub-folders (default true).
        recursive: bool,
        /// Glob patterns a file must match (empty: all). Sorted: order does not matter.
        include: Vec<String>,
        /// Glob patterns that exclude a file. Sorted.
        exclude: Vec<String>,
    },
    /// Choose files; `None` means every supported discovered file.
    Selection {
        /// Chosen files, sorted and deduplicated.
        files: Option<Vec<WorkspacePath>>,
    },
    /// Attach context.
    Context {
        /// Extraction profile to use.
        profile_id: Option<String>,
        /// Levels to aggregate by, in the user's order (it is meaningful).
        aggregation_levels: Vec<String>,
        /// Context values given by the user.
        values: Map<String, Value>,
    },
    /// Probe every table of the selected files.
    TableAvailability {
        /// How files are laid out where the sniffer should not decide, by path or glob.
        read_options: BTreeMap<String, ReadOverride>,
    },
    /// Choose tables; `None` means every available/partial table.
    TableSelection {
        /// Chosen table ids (`path` or `path#sheet`), sorted and deduplicated.
        tables: Option<Vec<String>>,
    },
    /// Sample rows.
    Preview {
        /// Rows per table, 1..=100.
        rows: u64,
    },
    /// Parse into one dataset.
    Parse {
        /// Rows per streamed chunk for large files.
        chunk_rows: u64,
    },
    /// Export the dataset.
    Export {
        /// Output format.
        format: ExportFormat,
        /// Dataset name.
        name: Option<String>,
        /// Dataset description.
        description: Option<String>,
        /// With a profile: the output to export (default: the profile's first output).
        output: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoveryBody {
    root: String,
    #[serde(default = "yes")]
    recursive: bool,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectionBody {
    files: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextBody {
    profile_id: Option<String>,
    #[serde(default)]
    aggregation_levels: Vec<String>,
    #[serde(default)]
    values: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityBody {
    #[serde(default)]
    read_options: BTreeMap<String, ReadOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSelectionBody {
    tables: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    rows: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseBody {
    chunk_rows: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    #[serde(default)]
    format: ExportFormat,
    name: Option<String>,
    description: Option<String>,
    output: Option<String>,
}

fn body<T: DeserializeOwned>(stage: Stage, value: Value) -> Result<T, InputError> {
    // A missing body (`null`) is the same as `{}`: every field has a default or is reported missing.
    let value = if value.is_null() { Value::Object(Map::new()) } else { value };
    serde_json::from_value(value).map_err(|e| InputError::Invalid { stage, message: e.to_string() })
}

fn sorted_unique(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

/// Checks the path part of a table id (`path` or `path#sheet`) and normalizes it.
fn table_id(id: &str) -> Result<String, PathOutsideWorkspace> {
    match id.split_once('#') {
        Some((path, sheet)) => Ok(format!("{}#{sheet}", WorkspacePath::parse(path)?)),
        None => Ok(WorkspacePath::parse(id)?.to_string()),
    }
}

fn in_range(stage: Stage, field: &str, value: u64, max: u64) -> Result<u64, InputError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(InputError::Invalid { stage, message: format!("{field} must be between 1 and {max}, got {value}") })
    }
}

impl LockRequest {
    /// Parses the JSON lock body of `stage` (`null` counts as `{}`).
    ///
    /// # Errors
    /// [`InputError::Invalid`] for a wrong shape or range, [`InputError::PathOutside`] for a path
    /// that leaves the workspace.
    pub fn parse(stage: Stage, value: Value) -> Result<Self, InputError> {
        Ok(match stage {
            Stage::Discovery => {
                let b: DiscoveryBody = body(stage, value)?;
                LockRequest::Discovery {
                    root: WorkspacePath::parse(&b.root)?,
                    recursive: b.recursive,
                    include: sorted_unique(b.include),
                    exclude: sorted_unique(b.exclude),
                }
            }
            Stage::Selection => {
                let b: SelectionBody = body(stage, value)?;
                let files = match b.files {
                    Some(files) => {
                        let mut paths = files.iter().map(|f| WorkspacePath::parse(f)).collect::<Result<Vec<_>, _>>()?;
                        paths.sort();
                        paths.dedup();
                        Some(paths)
                    }
                    None => None,
                };
                LockRequest::Selection { files }
            }
            Stage::Context => {
                let b: ContextBody = body(stage, value)?;
                LockRequest::Context {
                    profile_id: b.profile_id,
                    aggregation_levels: b.aggregation_levels,
                    values: b.values,
                }
            }
            Stage::TableAvailability => {
                let b: AvailabilityBody = body(stage, value)?;
                for (glob, read) in &b.read_options {
                    read.validate()
                        .map_err(|e| InputError::Invalid { stage, message: format!("read_options `{glob}`: {e}") })?;
                }
                LockRequest::TableAvailability { read_options: b.read_options }
            }
            Stage::TableSelection => {
                let b: TableSelectionBody = body(stage, value)?;
                let tables = match b.tables {
                    Some(ids) => Some(sorted_unique(ids.iter().map(|t| table_id(t)).collect::<Result<_, _>>()?)),
                    None => None,
                };
                LockRequest::TableSelection { tables }
            }
            Stage::Preview => {
                let b: PreviewBody = body(stage, value)?;
                LockRequest::Preview {
                    rows: in_range(stage, "rows", b.rows.unwrap_or(MAX_PREVIEW_ROWS), MAX_PREVIEW_ROWS)?,
                }
            }
            Stage::Parse => {
                let b: ParseBody = body(stage, value)?;
                let chunk_rows = in_range(stage, "chunk_rows", b.chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS), 10_000_000)?;
                LockRequest::Parse { chunk_rows }
            }
            Stage::Export => {
                let b: ExportBody = body(stage, value)?;
                LockRequest::Export { format: b.format, name: b.name, description: b.description, output: b.output }
            }
        })
    }

    /// The stage this request locks.
    pub fn stage(&self) -> Stage {
        match self {
            LockRequest::Discovery { .. } => Stage::Discovery,
            LockRequest::Selection { .. } => Stage::Selection,
            LockRequest::Context { .. } => Stage::Context,
            LockRequest::TableAvailability { .. } => Stage::TableAvailability,
            LockRequest::TableSelection { .. } => Stage::TableSelection,
            LockRequest::Preview { .. } => Stage::Preview,
            LockRequest::Parse { .. } => Stage::Parse,
            LockRequest::Export { .. } => Stage::Export,
        }
    }

    /// The user's part of the stage inputs, with defaults filled in, as hashed into the stage ID.
    /// Upstream stage IDs (and, for discovery, the files found) are added by the caller.
    pub fn user_inputs(&self) -> Map<String, Value> {
        let value = match self {
            LockRequest::Discovery { root, recursive, include, exclude } => serde_json::json!({
                "root": root, "recursive": recursive, "include": include, "exclude": exclude,
            }),
            LockRequest::Selection { files } => serde_json::json!({ "files": files }),
            LockRequest::Context { profile_id, aggregation_levels, values } => serde_json::json!({
                "profile_id": profile_id, "aggregation_levels": aggregation_levels, "values": values,
            }),
            // Only present when given, so runs without overrides keep their IDs.
            LockRequest::TableAvailability { read_options } if read_options.is_empty() => serde_json::json!({}),
            LockRequest::TableAvailability { read_options } => serde_json::json!({ "read_options": read_options }),
            LockRequest::TableSelection { tables } => serde_json::json!({ "tables": tables }),
            LockRequest::Preview { rows } => serde_json::json!({ "rows": rows }),
            LockRequest::Parse { chunk_rows } => serde_json::json!({ "chunk_rows": chunk_rows }),
            LockRequest::Export { format, name, description, output } => {
                let mut inputs = serde_json::json!({ "format": format, "name": name, "description": description });
                // Only present when given, so exports without a profile keep their IDs.
                if let Some(output) = output {
                    inputs["output"] = Value::String(output.clone());
                }
                inputs
            }
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(), // every arm above builds an object
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discovery_needs_root_and_fills_defaults() {
        let req = LockRequest::parse(Stage::Discovery, json!({"root": "./data/", "exclude": ["b", "a"]})).unwrap();
        assert_eq!(
            Value::Object(req.user_inputs()),
            json!({"root": "data", "recursive": true, "include": [], "exclude": ["a", "b"]})
        );
        assert!(matches!(LockRequest::parse(Stage::Discovery, json!({})), Err(InputError::Invalid { .. })));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = LockRequest::parse(Stage::Preview, json!({"rowz": 5})).unwrap_err();
        assert!(matches!(&err, InputError::Invalid { stage: Stage::Preview, message } if message.contains("rowz")));
    }

    #[test]
    fn paths_must_stay_inside_the_workspace() {
        for (stage, body) in [
            (Stage::Discovery, json!({"root": "/etc"})),
            (Stage::Selection, json!({"files": ["data/../../x.csv"]})),
            (Stage::TableSelection, json!({"tables": ["/abs.xlsx#Sheet1"]})),
        ] {
            assert!(matches!(LockRequest::parse(stage, body), Err(InputError::PathOutside(_))), "{stage}");
        }
    }

    #[test]
    fn selection_is_sorted_so_order_does_not_change_the_id() {
        let a = LockRequest::parse(Stage::Selection, json!({"files": ["b.csv", "a.csv"]})).unwrap();
        let b = LockRequest::parse(Stage::Selection, json!({"files": ["a.csv", "./b.csv", "a.csv"]})).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn null_body_means_defaults_and_ranges_are_checked() {
        assert_eq!(LockRequest::parse(Stage::Parse, Value::Null).unwrap(), LockRequest::Parse { chunk_rows: 50_000 });
        assert!(LockRequest::parse(Stage::Preview, json!({"rows": 0})).is_err());
        assert!(LockRequest::parse(Stage::Preview, json!({"rows": 101})).is_err());
        assert!(LockRequest::parse(Stage::Export, json!({"format": "xml"})).is_err());
    }
}

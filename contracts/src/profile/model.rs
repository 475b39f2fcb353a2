//! The extraction profile format as the original tool defined it (SPEC §10), read from YAML or
//! JSON. Every section of the reference profile is a field here; each object also keeps the
//! keys the format does not know (`extra`), which validation reports as warnings and which stay
//! in the stored profile. Names and ops stay strings so that validation can report a bad one by
//! its path instead of the whole profile failing to parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Keys an object of the format does not know.
pub type Extra = Map<String, Value>;

/// A whole profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileSpec {
    /// Version of the profile format.
    pub schema_version: Option<Value>,
    /// Version of this profile (the author's number).
    pub version: Option<Value>,
    /// Identity and description.
    pub meta: Meta,
    /// Which files the profile reads.
    pub datasource: Datasource,
    /// Population options (kept as given; hints for a user interface).
    pub population: Option<Value>,
    /// Where context values come from.
    pub context_defaults: ContextDefaults,
    /// Context read from the content of each file.
    pub contexts: Vec<ContextSpec>,
    /// Levels of tables.
    pub levels: Vec<Level>,
    /// Null tokens, numeric coercion, units.
    pub normalization: Normalization,
    /// Outputs: tables concatenated into files of the parse bundle.
    pub outputs: Outputs,
    /// Presentation hints at the top level (also accepted inside `outputs`).
    pub ui: Option<Value>,
    /// What users may change, and the limits of filters and regexes.
    pub overrides: Option<Overrides>,
    /// Limits enforced before extraction.
    pub governance: Option<Governance>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `meta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// `^[a-z0-9][a-z0-9-]*[a-z0-9]$`; when absent the id comes from the content hash.
    pub profile_id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Who made it.
    pub created_by: Option<String>,
    /// When it was made (not part of the content hash).
    pub created_at: Option<Value>,
    /// When it was changed (not part of the content hash).
    pub modified_at: Option<Value>,
    /// The author's revision number.
    pub revision: Option<Value>,
    /// A hash the author may record (not part of the content hash).
    pub hash: Option<Value>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `datasource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Datasource {
    /// Its id.
    pub id: Option<String>,
    /// Its label.
    pub label: Option<String>,
    /// The file format (`json`, …).
    pub format: Option<String>,
    /// Which files match; none ⇒ every file.
    pub filters: Option<FilterNode>,
    /// Reader options (kept as given).
    pub options: Option<Value>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A filter node: a group of nodes or one predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FilterNode {
    /// `AND`, `OR` or `NOT` (NOT negates its first child).
    Group {
        /// `AND`, `OR`, `NOT`.
        op: String,
        /// The nodes.
        #[serde(default)]
        children: Vec<FilterNode>,
        /// Keys the format does not know.
        #[serde(flatten)]
        extra: Extra,
    },
    /// One test on a file.
    Predicate {
        /// `filename`, `extension`, `path`, `full_path`, `size`, `modified_date`.
        field: String,
        /// `equals`, `not_equals`, `contains`, `startswith`, `endswith`, `matches`, `gt`, `gte`,
        /// `lt`, `lte`, `in`, `not_in`.
        op: String,
        /// The operand.
        #[serde(default)]
        value: Option<Value>,
        /// The operands of `in` / `not_in`.
        #[serde(default)]
        values: Option<Vec<Value>>,
        /// `insensitive` (the default) or `sensitive`.
        #[serde(default)]
        case: Option<String>,
        /// Keys the format does not know.
        #[serde(flatten)]
        extra: Extra,
    },
}

/// `context_defaults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextDefaults {
    /// Fallback values.
    pub defaults: Map<String, Value>,
    /// Values found in file names and paths.
    pub regex_patterns: Vec<RegexPattern>,
    /// Values read from the content.
    pub content_patterns: Vec<ContentPattern>,
    /// The keys a user's context lock may set.
    pub allow_user_override: Vec<String>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A context value found by a regex with a named group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegexPattern {
    /// The context key (and the group's name).
    pub field: String,
    /// The regex (searched, not anchored).
    pub pattern: String,
    /// `filename` (default), `path` or `full_path`.
    pub scope: Option<String>,
    /// Whether a file without a match is a problem.
    pub required: bool,
    /// `parse_date`, `uppercase`, `lowercase` or `strip`.
    pub transform: Option<String>,
    /// What it finds.
    pub description: Option<String>,
    /// An example.
    pub example: Option<String>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A context value read from the content by JSONPath.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentPattern {
    /// The context key.
    pub field: String,
    /// JSONPath; the first match is used.
    pub path: String,
    /// Whether a file without a match is a problem.
    pub required: bool,
    /// The value when nothing matches.
    pub default: Option<Value>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A context read from the content: `key_map` values at `level` (`run`: once per file;
/// `image`: once per element of a list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextSpec {
    /// Its name (levels refer to it by `apply_context`).
    pub name: String,
    /// `run` or `image`.
    pub level: Option<String>,
    /// JSONPaths of the objects it reads.
    pub paths: Vec<String>,
    /// Context key → JSONPath (from the document for `run`, from each element for `image`).
    pub key_map: BTreeMap<String, String>,
    /// Keys that identify a context.
    pub primary_keys: Vec<String>,
    /// Time fields (kept as given).
    pub time_fields: Option<Value>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A level of tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Level {
    /// `run`, `image`, …
    pub name: String,
    /// The context its tables carry.
    pub apply_context: Option<String>,
    /// Its tables.
    pub tables: Vec<TableSpec>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A table to extract from each file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableSpec {
    /// Unique within its level.
    pub id: String,
    /// Label.
    pub label: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// How its rows are found.
    pub select: Select,
    /// Columns it should always have.
    pub stable_columns: Vec<String>,
    /// `warn` (default), `error` or `ignore`.
    pub stable_columns_mode: Option<String>,
    /// Whether the stable columns may be a subset of the columns (else exactly them).
    pub stable_columns_subset: Option<bool>,
    /// Transforms after extraction.
    pub column_transforms: Vec<ColumnTransform>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `select`: a strategy and its selectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Select {
    /// `flat_object`, `headers_data`, `array_of_objects`, `unpivot`, `join`.
    pub strategy: String,
    /// JSONPath; `$` or empty is the whole document; the first match is used.
    pub path: Option<String>,
    /// headers_data: the key of the header list.
    pub headers_key: Option<String>,
    /// headers_data: the key of the rows.
    pub data_key: Option<String>,
    /// Repeat the extraction for each element of a list.
    pub repeat_over: Option<RepeatOver>,
    /// array_of_objects: the keys kept.
    pub fields: Option<Vec<String>>,
    /// flat_object: flatten nested objects into `parent<sep>child`.
    pub flatten_nested: Option<bool>,
    /// Separator for flattened keys (`_`).
    pub flatten_separator: Option<String>,
    /// headers_data: name columns `col_<i>` when there is no header list.
    pub infer_headers: Option<bool>,
    /// headers_data: names when there is no header list.
    pub default_headers: Option<Vec<String>>,
    /// unpivot: the columns kept.
    pub id_vars: Option<Vec<String>>,
    /// unpivot: the columns melted.
    pub value_vars: Option<Vec<String>>,
    /// unpivot: name of the variable column (`variable`).
    pub var_name: Option<String>,
    /// unpivot: name of the value column (`value`).
    pub value_name: Option<String>,
    /// join: the left side.
    pub left: Option<JoinSide>,
    /// join: the right side.
    pub right: Option<JoinSide>,
    /// join: `left` (default), `right`, `inner`, `outer`.
    pub how: Option<String>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `repeat_over`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepeatOver {
    /// JSONPath of the list.
    pub path: String,
    /// The placeholder bound to each index (`{<as>}` in `select.path`).
    #[serde(rename = "as")]
    pub as_name: String,
    /// Column → JSONPath read from each element and added to its rows.
    pub inject_fields: BTreeMap<String, String>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One side of a join.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JoinSide {
    /// JSONPath of its list of objects.
    pub path: String,
    /// Its key column.
    pub key: String,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A column transform.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnTransform {
    /// The column read.
    pub source: String,
    /// The column written (default: `source`).
    pub target: Option<String>,
    /// `rename`, `unit_convert`, `uppercase`, `lowercase`, `strip`, `round`.
    pub transform: String,
    /// `factor` for unit_convert, `decimals` for round.
    pub args: Map<String, Value>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `normalization`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Normalization {
    /// Cells equal to one of these are null.
    pub nan_values: Vec<String>,
    /// A string value that reads as a number is typed by the typing rules.
    pub numeric_coercion: bool,
    /// `preserve` (kept as given).
    pub units_policy: Option<String>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `outputs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outputs {
    /// Outputs written by default.
    pub defaults: Vec<OutputSpec>,
    /// More outputs.
    pub long_form_optional: Vec<OutputSpec>,
    /// Presentation hints.
    pub ui: Option<Value>,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One output: member tables concatenated by column name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputSpec {
    /// Its id (the export's `output`).
    pub id: String,
    /// The level its tables come from.
    pub from_level: Option<String>,
    /// The tables.
    pub from_tables: Vec<String>,
    /// Whether the file's context values are added as columns.
    pub include_context: bool,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `overrides`: what a user may change, and limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    /// Limits of filters and regexes, anywhere in the overrides (`overrides.limits` or
    /// `overrides.discovery.limits`).
    pub limits: Option<FilterLimits>,
    /// Discovery overrides (its `limits` are read too).
    pub discovery: Option<Value>,
    /// Keys the format does not know (kept).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Limits on filters and regexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterLimits {
    /// Predicates in the whole filter tree.
    pub max_total_predicates: Option<u64>,
    /// Nesting depth of the filter tree.
    pub max_depth: Option<u64>,
    /// Length of any regex.
    pub max_regex_length: Option<u64>,
}

/// `governance`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Governance {
    /// Limits enforced before extraction.
    pub limits: GovernanceLimits,
    /// Keys the format does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `governance.limits`: checked before extraction, each with a message naming it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GovernanceLimits {
    /// Files a run may select.
    pub max_files_per_run: Option<u64>,
    /// Size of any one file.
    pub max_file_size_mb: Option<u64>,
    /// Size of all files.
    pub max_total_size_gb: Option<u64>,
    /// Rows of any output.
    pub max_rows_output: Option<u64>,
    /// Tables selected per level.
    pub max_tables_per_level: Option<u64>,
    /// Columns of any table.
    pub max_columns_per_table: Option<u64>,
}

impl ProfileSpec {
    /// The table `id` of level `level`.
    pub fn table(&self, level: &str, id: &str) -> Option<&TableSpec> {
        self.levels.iter().filter(|l| l.name == level).flat_map(|l| &l.tables).find(|t| t.id == id)
    }

    /// Every (level, table) in profile order.
    pub fn tables(&self) -> impl Iterator<Item = (&Level, &TableSpec)> {
        self.levels.iter().flat_map(|l| l.tables.iter().map(move |t| (l, t)))
    }

    /// Every output, defaults first.
    pub fn outputs(&self) -> impl Iterator<Item = &OutputSpec> {
        self.outputs.defaults.iter().chain(&self.outputs.long_form_optional)
    }

    /// The context named `name`.
    pub fn context(&self, name: &str) -> Option<&ContextSpec> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The filter limits wherever the profile gives them.
    pub fn filter_limits(&self) -> FilterLimits {
        let overrides = self.overrides.as_ref();
        let direct = overrides.and_then(|o| o.limits.clone());
        let nested = overrides
            .and_then(|o| o.discovery.as_ref())
            .and_then(|d| d.get("limits"))
            .and_then(|l| serde_json::from_value::<FilterLimits>(l.clone()).ok());
        direct.or(nested).unwrap_or_default()
    }
}

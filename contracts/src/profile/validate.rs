//! Validation of a profile: every problem, each with its path in the profile
//! (`levels[0].tables[2].select.path`), so a user fixes them all at once; and warnings, chiefly
//! keys the format does not know (kept in the stored profile).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::identity::is_valid_id;
use super::json_path::{placeholders, substitute, JsonPath};
use super::model::*;

/// One problem (or warning) at a path of the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where, e.g. `levels[0].tables[2].select.path` (empty: the whole profile).
    pub path: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { path: path.into(), message: message.into() }
    }
}

/// What validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Problems: the profile is refused while there is any.
    pub problems: Vec<Problem>,
    /// Remarks that do not refuse it (unknown keys are kept and named here).
    pub warnings: Vec<Problem>,
}

/// The strategies of `select.strategy`.
pub const STRATEGIES: [&str; 5] = ["flat_object", "headers_data", "array_of_objects", "unpivot", "join"];
const FILTER_FIELDS: [&str; 6] = ["filename", "extension", "path", "full_path", "size", "modified_date"];
const FILTER_OPS: [&str; 12] =
    ["equals", "not_equals", "contains", "startswith", "endswith", "matches", "gt", "gte", "lt", "lte", "in", "not_in"];
const TRANSFORMS: [&str; 6] = ["rename", "unit_convert", "uppercase", "lowercase", "strip", "round"];

/// Checks every rule of the format.
pub fn validate(spec: &ProfileSpec) -> Validation {
    let mut v = Validator::default();
    v.unknown("", &spec.extra);
    v.unknown("meta", &spec.meta.extra);
    if let Some(id) = &spec.meta.profile_id {
        if !is_valid_id(id) {
            v.problem(
                "meta.profile_id",
                format!("`{id}` is not an id: lower-case letters, digits and `-`, not at either end"),
            );
        }
    }
    v.unknown("datasource", &spec.datasource.extra);
    let limits = spec.filter_limits();
    if let Some(filters) = &spec.datasource.filters {
        let (mut predicates, mut depth) = (0, 0);
        v.filter("datasource.filters", filters, 1, &mut predicates, &mut depth, &limits);
        if let Some(max) = limits.max_total_predicates.filter(|&m| predicates > m) {
            v.problem(
                "datasource.filters",
                format!("{predicates} predicates, more than overrides.limits.max_total_predicates ({max})"),
            );
        }
        if let Some(max) = limits.max_depth.filter(|&m| depth > m) {
            v.problem(
                "datasource.filters",
                format!("nested {depth} deep, more than overrides.limits.max_depth ({max})"),
            );
        }
    }
    v.context_defaults(&spec.context_defaults, &limits);
    let contexts: BTreeSet<&str> = spec.contexts.iter().map(|c| c.name.as_str()).collect();
    for (i, context) in spec.contexts.iter().enumerate() {
        let at = format!("contexts[{i}]");
        v.unknown(&at, &context.extra);
        if context.name.is_empty() {
            v.problem(format!("{at}.name"), "a context needs a name");
        }
        for (j, path) in context.paths.iter().enumerate() {
            v.json_path(&format!("{at}.paths[{j}]"), path);
        }
        for (key, path) in &context.key_map {
            v.json_path(&format!("{at}.key_map.{key}"), path);
        }
    }
    v.levels(spec, &contexts);
    v.outputs(spec);
    v.unknown("normalization", &spec.normalization.extra);
    v.unknown("outputs", &spec.outputs.extra);
    Validation { problems: v.problems, warnings: v.warnings }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Validator {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn unknown(&mut self, at: &str, extra: &Extra) {
        for key in extra.keys() {
            let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            self.warnings.push(Problem::new(path, "not a key of the profile format; kept as given"));
        }
    }

    fn json_path(&mut self, at: &str, path: &str) {
        let mut bound = path.to_owned();
        for name in placeholders(path) {
            bound = substitute(&bound, name, 0);
        }
        if let Err(e) = JsonPath::parse(&bound) {
            self.problem(at, format!("`{path}` is not a JSONPath: {e}"));
        }
    }

    fn regex(&mut self, at: &str, pattern: &str, limits: &FilterLimits) -> Option<regex::Regex> {
        if let Some(max) = limits.max_regex_length.filter(|&m| pattern.len() as u64 > m) {
            self.problem(
                at,
                format!(
                    "the regex is {} characters, more than overrides.limits.max_regex_length ({max})",
                    pattern.len()
                ),
            );
        }
        match regex::Regex::new(pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                self.problem(at, format!("`{pattern}` is not a regex: {e}"));
                None
            }
        }
    }

    fn filter(
        &mut self,
        at: &str,
        node: &FilterNode,
        level: u64,
        predicates: &mut u64,
        depth: &mut u64,
        limits: &FilterLimits,
    ) {
        *depth = (*depth).max(level);
        match node {
            FilterNode::Group { op, children, extra } => {
                self.unknown(at, extra);
                if !["AND", "OR", "NOT"].contains(&op.to_ascii_uppercase().as_str()) {
                    self.problem(format!("{at}.op"), format!("`{op}` is not a group op: AND, OR or NOT"));
                }
                if children.is_empty() {
                    self.problem(format!("{at}.children"), "a group needs at least one child");
                }
                for (i, child) in children.iter().enumerate() {
                    self.filter(&format!("{at}.children[{i}]"), child, level + 1, predicates, depth, limits);
                }
            }
            FilterNode::Predicate { field, op, value, values, case, extra } => {
                *predicates += 1;
                self.unknown(at, extra);
                if !FILTER_FIELDS.contains(&field.as_str()) {
                    self.problem(
                        format!("{at}.field"),
                        format!("`{field}` is not a filter field: {}", FILTER_FIELDS.join(", ")),
                    );
                }
                if !FILTER_OPS.contains(&op.as_str()) {
                    self.problem(format!("{at}.op"), format!("`{op}` is not a filter op: {}", FILTER_OPS.join(", ")));
                }
                let listed = matches!(op.as_str(), "in" | "not_in");
                if listed && values.is_none() {
                    self.problem(format!("{at}.values"), format!("`{op}` needs `values`, a list"));
                }
                if !listed && value.is_none() {
                    self.problem(format!("{at}.value"), format!("`{op}` needs a `value`"));
                }
                if op == "matches" {
                    if let Some(pattern) = value.as_ref().and_then(Value::as_str) {
                        self.regex(&format!("{at}.value"), pattern, limits);
                    }
                }
                if let Some(case) = case.as_deref().filter(|c| !["sensitive", "insensitive"].contains(c)) {
                    self.problem(format!("{at}.case"), format!("`{case}` is not a case: sensitive or insensitive"));
                }
            }
        }
    }

    fn context_defaults(&mut self, defaults: &ContextDefaults, limits: &FilterLimits) {
        self.unknown("context_defaults", &defaults.extra);
        for (i, pattern) in defaults.regex_patterns.iter().enumerate() {
            let at = format!("context_defaults.regex_patterns[{i}]");
            self.unknown(&at, &pattern.extra);
            if let Some(re) = self.regex(&format!("{at}.pattern"), &pattern.pattern, limits) {
                if !re.capture_names().flatten().any(|n| n == pattern.field) {
                    self.problem(
                        format!("{at}.pattern"),
                        format!(
                            "the regex names no group `{}`: write (?P<{}>…) around the value",
                            pattern.field, pattern.field
                        ),
                    );
                }
            }
            if let Some(scope) = pattern.scope.as_deref().filter(|s| !["filename", "path", "full_path"].contains(s)) {
                self.problem(format!("{at}.scope"), format!("`{scope}` is not a scope: filename, path or full_path"));
            }
            let transforms = ["parse_date", "uppercase", "lowercase", "strip"];
            if let Some(t) = pattern.transform.as_deref().filter(|t| !transforms.contains(t)) {
                self.problem(format!("{at}.transform"), format!("`{t}` is not a transform: {}", transforms.join(", ")));
            }
        }
        for (i, pattern) in defaults.content_patterns.iter().enumerate() {
            let at = format!("context_defaults.content_patterns[{i}]");
            self.unknown(&at, &pattern.extra);
            self.json_path(&format!("{at}.path"), &pattern.path);
        }
    }

    fn levels(&mut self, spec: &ProfileSpec, contexts: &BTreeSet<&str>) {
        // A table is named `<file>#<table id>`, so an id names one table across all levels.
        let mut everywhere: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
        for (l, level) in spec.levels.iter().enumerate() {
            for (t, table) in level.tables.iter().enumerate() {
                match everywhere.get(table.id.as_str()) {
                    Some(first) if *first != level.name => self.problem(
                        format!("levels[{l}].tables[{t}].id"),
                        format!(
                            "`{}` is also a table of level `{first}`; tables are named `<file>#<table id>`",
                            table.id
                        ),
                    ),
                    _ => {
                        everywhere.insert(table.id.as_str(), level.name.as_str());
                    }
                }
            }
        }
        for (l, level) in spec.levels.iter().enumerate() {
            let at = format!("levels[{l}]");
            self.unknown(&at, &level.extra);
            if let Some(context) = level.apply_context.as_deref().filter(|c| !contexts.contains(c)) {
                self.problem(format!("{at}.apply_context"), format!("no context is named `{context}`"));
            }
            let mut ids = BTreeSet::new();
            for (t, table) in level.tables.iter().enumerate() {
                let at = format!("{at}.tables[{t}]");
                self.unknown(&at, &table.extra);
                if table.id.is_empty() {
                    self.problem(format!("{at}.id"), "a table needs an id");
                } else if !ids.insert(table.id.as_str()) {
                    self.problem(
                        format!("{at}.id"),
                        format!("`{}` is already a table of level `{}`", table.id, level.name),
                    );
                }
                self.select(&format!("{at}.select"), &table.select);
                if let Some(mode) =
                    table.stable_columns_mode.as_deref().filter(|m| !["warn", "error", "ignore"].contains(m))
                {
                    self.problem(
                        format!("{at}.stable_columns_mode"),
                        format!("`{mode}` is not a mode: warn, error or ignore"),
                    );
                }
                for (i, transform) in table.column_transforms.iter().enumerate() {
                    self.transform(&format!("{at}.column_transforms[{i}]"), transform);
                }
            }
        }
    }

    fn select(&mut self, at: &str, select: &Select) {
        self.unknown(at, &select.extra);
        if !STRATEGIES.contains(&select.strategy.as_str()) {
            self.problem(
                format!("{at}.strategy"),
                format!("`{}` is not a strategy: {}", select.strategy, STRATEGIES.join(", ")),
            );
        }
        let bound: Vec<&str> = select.repeat_over.iter().map(|r| r.as_name.as_str()).collect();
        if let Some(path) = &select.path {
            self.json_path(&format!("{at}.path"), path);
            for name in placeholders(path).into_iter().filter(|n| !bound.contains(n)) {
                self.problem(format!("{at}.path"), format!("`{{{name}}}` is bound by no repeat_over (`as: {name}`)"));
            }
        }
        if let Some(repeat) = &select.repeat_over {
            self.unknown(&format!("{at}.repeat_over"), &repeat.extra);
            self.json_path(&format!("{at}.repeat_over.path"), &repeat.path);
            if repeat.as_name.is_empty() {
                self.problem(format!("{at}.repeat_over.as"), "repeat_over needs `as`, the placeholder it binds");
            }
            for (column, path) in &repeat.inject_fields {
                self.json_path(&format!("{at}.repeat_over.inject_fields.{column}"), path);
            }
        }
        match select.strategy.as_str() {
            "headers_data" if select.data_key.is_none() => {
                self.problem(format!("{at}.data_key"), "headers_data needs `data_key`, the key of the rows")
            }
            "headers_data"
                if select.headers_key.is_none()
                    && !select.infer_headers.unwrap_or(false)
                    && select.default_headers.is_none() =>
            {
                self.problem(
                    format!("{at}.headers_key"),
                    "headers_data needs `headers_key`, `infer_headers: true` or `default_headers`",
                )
            }
            "unpivot" if select.value_vars.as_ref().is_none_or(Vec::is_empty) => {
                self.problem(format!("{at}.value_vars"), "unpivot needs `value_vars`, the columns it melts")
            }
            "join" => {
                for (side, value) in [("left", &select.left), ("right", &select.right)] {
                    match value {
                        None => {
                            self.problem(format!("{at}.{side}"), format!("join needs `{side}` with a path and a key"))
                        }
                        Some(s) => {
                            self.json_path(&format!("{at}.{side}.path"), &s.path);
                            if s.key.is_empty() {
                                self.problem(format!("{at}.{side}.key"), "a join side needs a key");
                            }
                        }
                    }
                }
                if let Some(how) = select.how.as_deref().filter(|h| !["left", "right", "inner", "outer"].contains(h)) {
                    self.problem(format!("{at}.how"), format!("`{how}` is not a join: left, right, inner or outer"));
                }
            }
            _ => {}
        }
    }

    fn transform(&mut self, at: &str, transform: &ColumnTransform) {
        self.unknown(at, &transform.extra);
        if !TRANSFORMS.contains(&transform.transform.as_str()) {
            self.problem(
                format!("{at}.transform"),
                format!("`{}` is not a transform: {}", transform.transform, TRANSFORMS.join(", ")),
            );
        }
        if transform.source.is_empty() {
            self.problem(format!("{at}.source"), "a transform needs a source column");
        }
        match transform.transform.as_str() {
            "unit_convert" if !transform.args.get("factor").is_some_and(Value::is_number) => {
                self.problem(format!("{at}.args.factor"), "unit_convert needs a number `factor`")
            }
            "round" if transform.args.get("decimals").is_none_or(|d| d.as_u64().is_none()) => {
                self.problem(format!("{at}.args.decimals"), "round needs a whole number of `decimals`")
            }
            "rename" if transform.target.is_none() => {
                self.problem(format!("{at}.target"), "rename needs a `target` name")
            }
            _ => {}
        }
    }

    fn outputs(&mut self, spec: &ProfileSpec) {
        let mut ids = BTreeSet::new();
        let groups = [
            ("outputs.defaults", &spec.outputs.defaults),
            ("outputs.long_form_optional", &spec.outputs.long_form_optional),
        ];
        for (group, outputs) in groups {
            for (i, output) in outputs.iter().enumerate() {
                let at = format!("{group}[{i}]");
                self.unknown(&at, &output.extra);
                if !ids.insert(output.id.as_str()) {
                    self.problem(format!("{at}.id"), format!("`{}` is already an output", output.id));
                }
                for (t, table) in output.from_tables.iter().enumerate() {
                    let known = match &output.from_level {
                        Some(level) => spec.table(level, table).is_some(),
                        None => spec.tables().any(|(_, t)| t.id == *table),
                    };
                    if !known {
                        let level = output.from_level.as_deref().map_or(String::new(), |l| format!(" in level `{l}`"));
                        self.problem(format!("{at}.from_tables[{t}]"), format!("no table `{table}`{level}"));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(v: Value) -> Vec<String> {
        let spec: ProfileSpec = serde_json::from_value(v).unwrap();
        validate(&spec).problems.into_iter().map(|p| format!("{}: {}", p.path, p.message)).collect()
    }

    #[test]
    fn every_problem_is_listed_by_its_path() {
        let found = problems(json!({
            "meta": {"profile_id": "Bad_Id"},
            "context_defaults": {"regex_patterns": [{"field": "lot", "pattern": "(LOT[0-9]+)"}]},
            "levels": [{"name": "run", "tables": [
                {"id": "t", "select": {"strategy": "flat_object", "path": "$.a["}},
                {"id": "t", "select": {"strategy": "explode"}}
            ]}],
            "outputs": {"defaults": [{"id": "o", "from_tables": ["nope"]}]}
        }));
        let paths: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "meta.profile_id",
                "context_defaults.regex_patterns[0].pattern",
                "levels[0].tables[0].select.path",
                "levels[0].tables[1].id",
                "levels[0].tables[1].select.strategy",
                "outputs.defaults[0].from_tables[0]"
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn unbound_placeholders_and_filter_limits_are_problems() {
        let found = problems(json!({
            "datasource": {"filters": {"type": "group", "op": "AND", "children": [
                {"type": "predicate", "field": "filename", "op": "matches", "value": "[a-z]{1,40}"},
                {"type": "predicate", "field": "name", "op": "has", "value": "x"}
            ]}},
            "overrides": {"discovery": {"limits": {"max_total_predicates": 1, "max_regex_length": 5}}},
            "levels": [{"name": "run", "tables": [{"id": "t", "select": {"strategy": "headers_data", "path": "$.x[{i}]", "data_key": "d", "headers_key": "h"}}]}]
        }));
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found.iter().any(|p| p.contains("max_regex_length")));
        assert!(found.iter().any(|p| p.contains("max_total_predicates")));
        assert!(found.iter().any(|p| p.starts_with("levels[0].tables[0].select.path") && p.contains("{i}")));
    }

    #[test]
    fn unknown_keys_are_warnings_not_problems() {
        let spec: ProfileSpec = serde_json::from_value(json!({"meta": {"owner": "x"}, "extra_section": 1})).unwrap();
        let v = validate(&spec);
        assert!(v.problems.is_empty());
        let paths: Vec<&str> = v.warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(paths, ["extra_section", "meta.owner"]);
    }
}

//! Context values per file (SPEC §10), each with where it came from. Later sources win:
//! `context_defaults.defaults` < `regex_patterns` on the file's name or path < values read from
//! the content (`content_patterns`, and the `key_map` of `run` contexts) < the user's values,
//! which only keys in `allow_user_override` may take.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::filter::FileFacts;
use super::model::{ProfileSpec, RegexPattern};

/// Where a context value came from, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextSource {
    /// `context_defaults.defaults`.
    Default,
    /// A regex on the file name or path.
    Regex,
    /// The file's content.
    Content,
    /// The context lock's `values`.
    User,
}

/// One context value of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextValue {
    /// The key (`lot_id`).
    pub key: String,
    /// The value.
    pub value: Value,
    /// Where it came from.
    pub source: ContextSource,
}

/// The values defaults and regexes give `file`, and the required regexes that found nothing.
pub fn file_context(spec: &ProfileSpec, file: &FileFacts) -> (Vec<ContextValue>, Vec<String>) {
    let mut values: Vec<ContextValue> = spec
        .context_defaults
        .defaults
        .iter()
        .map(|(key, value)| ContextValue { key: key.clone(), value: value.clone(), source: ContextSource::Default })
        .collect();
    let mut missing = Vec::new();
    for pattern in &spec.context_defaults.regex_patterns {
        match regex_value(pattern, file) {
            Some(value) => merge_context(
                &mut values,
                vec![ContextValue { key: pattern.field.clone(), value, source: ContextSource::Regex }],
            ),
            None if pattern.required => missing.push(format!(
                "required context `{}` not found in the {} `{}` (pattern `{}`)",
                pattern.field,
                pattern.scope.as_deref().unwrap_or("filename"),
                scope(pattern, file),
                pattern.pattern
            )),
            None => {}
        }
    }
    (values, missing)
}

fn scope<'f>(pattern: &RegexPattern, file: &'f FileFacts) -> &'f str {
    match pattern.scope.as_deref() {
        Some("path") => &file.path,
        Some("full_path") => &file.full_path,
        _ => &file.filename,
    }
}

/// The named group `field` of the first match of the pattern, transformed.
fn regex_value(pattern: &RegexPattern, file: &FileFacts) -> Option<Value> {
    let re = regex::Regex::new(&pattern.pattern).ok()?;
    let captures = re.captures(scope(pattern, file))?;
    let found = captures.name(&pattern.field).or_else(|| captures.get(1))?.as_str();
    let text = match pattern.transform.as_deref() {
        Some("uppercase") => found.to_uppercase(),
        Some("lowercase") => found.to_lowercase(),
        Some("strip") => found.trim().to_owned(),
        Some("parse_date") => parse_date(found).unwrap_or_else(|| found.to_owned()),
        _ => found.to_owned(),
    };
    Some(Value::String(text))
}

/// `YYYYMMDD`, `YYYY-MM-DD`, `YYYY_MM_DD` or `YYYY.MM.DD` as ISO `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 || text.len() > 10 {
        return None;
    }
    let (y, m, d) = (&digits[..4], &digits[4..6], &digits[6..]);
    let (month, day): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| format!("{y}-{m}-{d}"))
}

/// Adds `later` to `values`: a key already there takes the later value (and its source).
pub fn merge_context(values: &mut Vec<ContextValue>, later: Vec<ContextValue>) {
    for value in later {
        match values.iter_mut().find(|v| v.key == value.key) {
            Some(known) if known.source <= value.source => *known = value,
            Some(_) => {}
            None => values.push(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> ProfileSpec {
        serde_json::from_value(json!({
            "context_defaults": {
                "defaults": {"jobname": "Unknown", "lot_id": "none"},
                "regex_patterns": [
                    {"field": "lot_id", "pattern": "(?P<lot_id>LOT[A-Z0-9]{6,10})", "required": true},
                    {"field": "day", "pattern": "(?P<day>[0-9]{8})", "transform": "parse_date"},
                    {"field": "site", "pattern": "(?P<site>SITE[0-9]{2})", "required": true},
                    {"field": "area", "pattern": "(?P<area>fab[0-9])", "scope": "path", "transform": "uppercase"}
                ]
            }
        }))
        .unwrap()
    }

    #[test]
    fn regexes_beat_defaults_and_required_misses_are_named() {
        let file = FileFacts::new("fab2/LOTABC12345_W01_20251227.json", 1, String::new());
        let (values, missing) = file_context(&spec(), &file);
        let get = |k: &str| values.iter().find(|v| v.key == k).map(|v| (v.value.clone(), v.source));
        assert_eq!(get("lot_id"), Some((json!("LOTABC12345"), ContextSource::Regex)));
        assert_eq!(get("jobname"), Some((json!("Unknown"), ContextSource::Default)));
        assert_eq!(get("day").unwrap().0, json!("2025-12-27"));
        assert_eq!(get("area").unwrap().0, json!("FAB2"));
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("`site`"), "{missing:?}");
    }

    #[test]
    fn later_sources_win_and_earlier_ones_never_overwrite() {
        let mut values =
            vec![ContextValue { key: "k".into(), value: json!("content"), source: ContextSource::Content }];
        merge_context(
            &mut values,
            vec![ContextValue { key: "k".into(), value: json!("regex"), source: ContextSource::Regex }],
        );
        assert_eq!(values[0].value, json!("content"));
        merge_context(
            &mut values,
            vec![ContextValue { key: "k".into(), value: json!("user"), source: ContextSource::User }],
        );
        assert_eq!((values[0].value.clone(), values[0].source), (json!("user"), ContextSource::User));
    }
}

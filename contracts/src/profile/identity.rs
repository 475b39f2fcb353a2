//! A profile's identity. Its content hash is sha256 of the canonical JSON (SPEC §3's form) of
//! the parsed profile without `meta.hash`, `meta.created_at` and `meta.modified_at`, so the same
//! profile written as YAML or JSON, with keys in any order, has one hash on every machine. Its
//! id is `meta.profile_id` when that is a valid id, else `profile_` + the first 8 hex digits of
//! the content hash. An update keeps the id and changes the hash: a new version.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::ProfileSpec;
use super::validate::{validate, Problem, Validation};
use crate::canonical_json;

/// A profile id: `^[a-z0-9][a-z0-9-]*[a-z0-9]$` (or `profile_<8 hex>` when derived).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileId(String);

impl ProfileId {
    /// Parses an id a user gives (`meta.profile_id`, or a derived `profile_<hex>`).
    ///
    /// # Errors
    /// The id as given, when it does not have the form.
    pub fn parse(id: &str) -> Result<ProfileId, String> {
        if is_valid_id(id) || is_derived_id(id) {
            Ok(ProfileId(id.to_owned()))
        } else {
            Err(id.to_owned())
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `id` has the form of `meta.profile_id`.
pub(super) fn is_valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    b.len() >= 2 && b.first().is_some_and(ok) && b.last().is_some_and(ok) && b.iter().all(|c| ok(c) || *c == b'-')
}

fn is_derived_id(id: &str) -> bool {
    id.strip_prefix("profile_").is_some_and(|h| h.len() == 8 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A valid profile: its content, id and content hash, and the warnings validation gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The id.
    pub id: ProfileId,
    /// sha256 (lowercase hex) of the canonical content without the volatile meta keys.
    pub content_hash: String,
    /// The profile as parsed, every key kept (unknown ones included).
    pub content: Value,
    /// The typed view of `content`.
    pub spec: ProfileSpec,
    /// Unknown keys and other remarks, by path.
    pub warnings: Vec<Problem>,
}

/// Why a profile was refused: every problem, by path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid profile: {}", .problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("; "))]
pub struct ProfileError {
    /// Each problem with its path in the profile.
    pub problems: Vec<Problem>,
}

impl Profile {
    /// Reads a profile from YAML or JSON text (JSON is YAML, so one parser reads both).
    ///
    /// # Errors
    /// [`ProfileError`] listing every problem: a syntax error, or each rule the profile breaks.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let content: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ProfileError { problems: vec![Problem::new("", format!("not YAML or JSON: {e}"))] })?;
        Profile::from_value(content)
    }

    /// Reads a profile from its JSON value.
    ///
    /// # Errors
    /// [`ProfileError`] listing every problem.
    pub fn from_value(content: Value) -> Result<Profile, ProfileError> {
        if !content.is_object() {
            return Err(ProfileError { problems: vec![Problem::new("", "a profile is a mapping of sections")] });
        }
        let spec: ProfileSpec = serde_path_to_error::deserialize(content.clone()).map_err(|e| ProfileError {
            problems: vec![Problem::new(e.path().to_string().trim_start_matches('.'), e.inner().to_string())],
        })?;
        let Validation { problems, warnings } = validate(&spec);
        if !problems.is_empty() {
            return Err(ProfileError { problems });
        }
        let content_hash = content_hash(&content);
        let id = match spec.meta.profile_id.as_deref() {
            Some(id) => ProfileId(id.to_owned()),
            None => ProfileId(format!("profile_{}", content_hash.get(..8).unwrap_or_default())),
        };
        Ok(Profile { id, content_hash, content, spec, warnings })
    }
}

/// sha256 of the canonical JSON of `content` without `meta.hash`, `meta.created_at`,
/// `meta.modified_at`.
pub fn content_hash(content: &Value) -> String {
    let mut hashed = content.clone();
    if let Some(meta) = hashed.get_mut("meta").and_then(Value::as_object_mut) {
        for volatile in ["hash", "created_at", "modified_at"] {
            meta.remove(volatile);
        }
    }
    Sha256::digest(canonical_json::to_string(&hashed).as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_form() {
        for good in ["cdsem-metrology-v1", "a1", "profile_0a1b2c3d"] {
            assert!(ProfileId::parse(good).is_ok(), "{good}");
        }
        for bad in ["-a", "a-", "A1", "a", "a_b", "profile_xyz", ""] {
            assert!(ProfileId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_content_hash_ignores_key_order_format_and_volatile_meta() {
        let yaml = "meta:\n  profile_id: p-1\n  created_at: '2025-01-01'\nlevels: []\n";
        let json = r#"{"levels": [], "meta": {"modified_at": "x", "profile_id": "p-1"}}"#;
        let a = Profile::parse(yaml).unwrap();
        let b = Profile::parse(json).unwrap();
        assert_eq!(a.content_hash, b.content_hash);
        assert_eq!(a.id.as_str(), "p-1");
        let c = Profile::parse("meta:\n  profile_id: p-1\n  title: other\n").unwrap();
        assert_ne!(a.content_hash, c.content_hash, "a real change is a new version");
    }

    #[test]
    fn without_an_id_the_id_comes_from_the_hash() {
        let p = Profile::parse("meta:\n  title: t\n").unwrap();
        assert_eq!(p.id.as_str(), format!("profile_{}", &p.content_hash[..8]));
    }
}

#[cfg(test)]
mod reference {
    use super::*;

    #[test]
    fn the_reference_profile_loads_and_validates_without_problems() {
        // The checkout the test runs in (cargo sets it at run time): a cached build may have been
        // compiled in another one.
        let path = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../shared/fixtures/cdsem/cdsem_metrology_profile.yaml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("the reference profile is missing ({}): {e}; it lives in ../shared/fixtures", path.display())
        });
        let profile = Profile::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(profile.id.as_str(), "cdsem-metrology-v1");
        assert_eq!(profile.spec.tables().count(), 21);
        assert_eq!(profile.spec.outputs().count(), 7);
        let unknown: Vec<&str> = profile.warnings.iter().map(|w| w.path.as_str()).collect();
        assert!(unknown.is_empty(), "every key of the reference profile is part of the format: {unknown:?}");
    }
}

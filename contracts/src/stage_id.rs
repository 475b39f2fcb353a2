//! Content-addressed stage IDs: `"<stage>_" + hex(sha256(canonical_json(inputs ∪ {"_seed": 42})))[0..8]`.
//! Same inputs give the same ID on any machine, which makes re-locks idempotent.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical_json;
use crate::stage::Stage;

/// The seed every stage ID is computed with (SPEC §3).
pub const SEED: u64 = 42;

/// The ID of a locked stage, e.g. `discovery_c3ce5b83`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StageId(String);

/// A string that is not `<stage>_<8 lowercase hex>`. Stored data with one is corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a stage id (expected <stage>_<8 hex digits>)")]
pub struct InvalidStageId(pub String);

impl StageId {
    /// Computes the ID of `stage` locked with `inputs` (an object of the stage's full inputs).
    pub fn compute(stage: Stage, inputs: &Map<String, Value>) -> StageId {
        StageId(format!("{}_{}", stage.as_str(), content_hash(inputs, SEED)))
    }

    /// Parses a stored ID.
    ///
    /// # Errors
    /// [`InvalidStageId`] when the prefix is not a stage or the suffix is not 8 hex digits.
    pub fn parse(s: &str) -> Result<StageId, InvalidStageId> {
        let invalid = || InvalidStageId(s.to_owned());
        let (prefix, hash) = s.rsplit_once('_').ok_or_else(invalid)?;
        prefix.parse::<Stage>().map_err(|_| invalid())?;
        let hex = hash.len() == 8 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hex {
            Ok(StageId(s.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stage this ID belongs to.
    pub fn stage(&self) -> Stage {
        let prefix = self.0.rsplit_once('_').map_or("", |(p, _)| p);
        // Invariant: both constructors guarantee the prefix is a stage name.
        prefix.parse().unwrap_or(Stage::Discovery)
    }
}

/// The first 8 hex digits of `sha256(canonical_json(inputs ∪ {"_seed": seed}))`.
pub fn content_hash(inputs: &Map<String, Value>, seed: u64) -> String {
    let mut seeded = inputs.clone();
    seeded.insert("_seed".to_owned(), Value::from(seed));
    let canonical = canonical_json::to_string(&Value::Object(seeded));
    let digest = Sha256::digest(canonical.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for StageId {
    type Error = InvalidStageId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        StageId::parse(&s)
    }
}

impl From<StageId> for String {
    fn from(id: StageId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    /// The nine vectors of SPEC §3, produced by the earlier Python implementation.
    #[test]
    fn spec_vectors_hold() {
        let staged = [
            (Stage::Selection, json!({"source_paths": null, "recursive": true}), "selection_945d6933"),
            (Stage::Discovery, json!({"root_path": "data"}), "discovery_c3ce5b83"),
            (Stage::TableSelection, json!({"tables": {"profile": ["run_summary"]}}), "table_selection_1ae0708c"),
            (Stage::Context, json!({"profile_id": null, "aggregation_levels": []}), "context_aa8da3a2"),
        ];
        for (stage, inputs, id) in staged {
            assert_eq!(StageId::compute(stage, &obj(inputs)).as_str(), id);
        }
        let bare = [
            (json!({}), 42, "8eb13c80"),
            (json!({"name": "é"}), 42, "7498a91f"),
            (json!({"x": 1}), 42, "6518ec7b"),
            (json!({"x": 1.0}), 42, "a68052aa"),
            (json!({"x": 1}), 7, "2dcc37a8"),
        ];
        for (inputs, seed, hash) in bare {
            assert_eq!(content_hash(&obj(inputs), seed), hash);
        }
    }

    #[test]
    fn parse_accepts_only_well_formed_ids() {
        let id = StageId::parse("table_selection_1ae0708c").unwrap();
        assert_eq!(id.stage(), Stage::TableSelection);
        for bad in ["selection_945D6933", "selection_945d693", "nostage_945d6933", "945d6933"] {
            assert!(StageId::parse(bad).is_err(), "{bad}");
        }
    }
}

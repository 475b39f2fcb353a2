//! The identity of a run: a UUIDv7, so that sorting IDs sorts runs by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A run's ID. Always a version-7 UUID, whose leading bits are its creation time in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(Uuid);

/// A string that is not a UUIDv7. Callers answer 404 (no run can have that ID).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a run id (expected a UUIDv7)")]
pub struct InvalidRunId(pub String);

impl RunId {
    /// The stream profile events live in (SPEC §10: a stream of their own, not a run): the
    /// version-7 UUID of time zero, which no run can have, listed with no runs.
    pub const PROFILES: RunId = RunId(Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000));

    /// Whether this is the profiles stream rather than a run.
    pub fn is_profiles(&self) -> bool {
        *self == Self::PROFILES
    }

    /// Wraps a UUID that the caller generated (the clock and randomness live outside this crate).
    ///
    /// # Errors
    /// [`InvalidRunId`] when the UUID is not version 7.
    pub fn from_uuid(uuid: Uuid) -> Result<Self, InvalidRunId> {
        if uuid.get_version_num() == 7 {
            Ok(RunId(uuid))
        } else {
            Err(InvalidRunId(uuid.to_string()))
        }
    }

    /// The 16 big-endian bytes; they sort like the IDs themselves (used as store keys).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Rebuilds an ID from store key bytes.
    ///
    /// # Errors
    /// [`InvalidRunId`] when the bytes are not a UUIDv7.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self, InvalidRunId> {
        Self::from_uuid(Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

impl FromStr for RunId {
    type Err = InvalidRunId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uuid = Uuid::parse_str(s).map_err(|_| InvalidRunId(s.to_owned()))?;
        Self::from_uuid(uuid)
    }
}

impl TryFrom<String> for RunId {
    type Error = InvalidRunId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_v7() {
        let v7 = "01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e";
        assert_eq!(v7.parse::<RunId>().unwrap().to_string(), v7);
        assert!("01936f0e-7b7a-4cc1-8a55-3f1a2b3c4d5e".parse::<RunId>().is_err());
        assert!("not-a-uuid".parse::<RunId>().is_err());
    }
}

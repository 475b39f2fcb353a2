//! The eight stages of a run, in pipeline order. Their snake_case names are the wire format in
//! URLs, events and stage IDs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One stage of a run. The declaration order is the pipeline order (`Ord` follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan a workspace folder for files.
    Discovery,
    /// Choose files among the discovered ones.
    Selection,
    /// Attach context values (profile, aggregation levels, lot/wafer...). Optional.
    Context,
    /// Probe every table of the selected files.
    TableAvailability,
    /// Choose tables among the probed ones.
    TableSelection,
    /// Sample rows of the selected tables. Optional.
    Preview,
    /// Read all selected tables into one dataset (runs in the background).
    Parse,
    /// Write the dataset in a chosen format and register it (runs in the background).
    Export,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 8] = [
        Stage::Discovery,
        Stage::Selection,
        Stage::Context,
        Stage::TableAvailability,
        Stage::TableSelection,
        Stage::Preview,
        Stage::Parse,
        Stage::Export,
    ];

    /// The wire name, e.g. `table_availability`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Discovery => "discovery",
            Stage::Selection => "selection",
            Stage::Context => "context",
            Stage::TableAvailability => "table_availability",
            Stage::TableSelection => "table_selection",
            Stage::Preview => "preview",
            Stage::Parse => "parse",
            Stage::Export => "export",
        }
    }

    /// Whether the stage's work runs in the background after the lock is acknowledged, so that
    /// it is locked first and completed later by a `StageCompleted` event.
    pub fn runs_in_background(self) -> bool {
        matches!(self, Stage::Parse | Stage::Export)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage name that is not one of the eight. Callers answer 400 and list the valid names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage `{0}`: expected one of discovery, selection, context, table_availability, table_selection, preview, parse, export")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == s).ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for stage in Stage::ALL {
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.as_str()));
            assert_eq!(stage.as_str().parse::<Stage>().unwrap(), stage);
        }
        assert_eq!("Parse".parse::<Stage>(), Err(UnknownStage("Parse".into())));
    }
}

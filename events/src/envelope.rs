//! The envelope every event travels in: `{event_id, run_id, seq, at, schema_version, type, data}`.
//! [`RawEnvelope`] is the stored/wire form with `data` untyped, so that old schema versions can
//! be upcast before they are interpreted; [`Envelope`] is the typed form the fold works on.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use dat_contracts::RunId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::event::RunEvent;
use crate::upcast::{upcast, UpcastError, CURRENT_SCHEMA_VERSION};

/// Position of an event in its run's log: 1, 2, … with no gaps. `Seq(0)` is "before the first".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// The seq after this one.
    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A UTC instant with whole seconds, written as RFC 3339 with `Z` (e.g. `2026-11-26T16:38:51Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Truncates `at` to whole seconds.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Timestamp(Utc.timestamp_opt(at.timestamp(), 0).single().unwrap_or(at))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.timestamp()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let at = DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)?;
        Ok(Timestamp::from_datetime(at.with_timezone(&Utc)))
    }
}

/// An event as stored in the log and published on NATS, `data` not yet interpreted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEnvelope {
    /// `<run_id>:<seq>`, unique across all runs (the NATS message id).
    pub event_id: String,
    /// The run.
    pub run_id: RunId,
    /// Position in the run's log.
    pub seq: Seq,
    /// When the event was appended.
    pub at: Timestamp,
    /// Version of `data`'s shape for this `type`.
    pub schema_version: u32,
    /// The event type, e.g. `StageLocked`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's fields.
    pub data: Value,
}

/// A typed event with its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The run.
    pub run_id: RunId,
    /// Position in the run's log.
    pub seq: Seq,
    /// When the event was appended.
    pub at: Timestamp,
    /// The fact itself.
    pub event: RunEvent,
}

/// A stored event that cannot be read: the log is damaged or from a newer dat.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not an envelope at all.
    #[error("stored event is not a valid envelope: {0}")]
    Malformed(#[from] serde_json::Error),
    /// The schema version cannot be brought to the current one.
    #[error(transparent)]
    Upcast(#[from] UpcastError),
}

impl Envelope {
    /// Wraps a new event for appending at `seq`, stamped with the current schema version.
    pub fn new(run_id: RunId, seq: Seq, at: Timestamp, event: RunEvent) -> Self {
        Envelope { run_id, seq, at, event }
    }

    /// `<run_id>:<seq>`.
    pub fn event_id(&self) -> String {
        format!("{}:{}", self.run_id, self.seq)
    }

    /// The stored form.
    pub fn to_raw(&self) -> RawEnvelope {
        let tagged = serde_json::to_value(&self.event).unwrap_or(Value::Null);
        // Invariant: `RunEvent` always serializes adjacently tagged, as `{type, data}`.
        let data = tagged.get("data").cloned().unwrap_or_else(|| Value::Object(Default::default()));
        RawEnvelope {
            event_id: self.event_id(),
            run_id: self.run_id,
            seq: self.seq,
            at: self.at,
            schema_version: CURRENT_SCHEMA_VERSION,
            event_type: self.event.type_name().to_owned(),
            data,
        }
    }

    /// Interprets a stored envelope, upcasting older schema versions first.
    ///
    /// # Errors
    /// [`DecodeError`] when the envelope cannot be upcast or its data does not fit its type.
    pub fn from_raw(raw: RawEnvelope) -> Result<Self, DecodeError> {
        let raw = upcast(raw)?;
        let event = serde_json::from_value(serde_json::json!({"type": raw.event_type, "data": raw.data}))?;
        Ok(Envelope { run_id: raw.run_id, seq: raw.seq, at: raw.at, event })
    }

    /// Decodes stored bytes (JSON of a [`RawEnvelope`]).
    ///
    /// # Errors
    /// [`DecodeError`] as for [`Envelope::from_raw`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_raw(serde_json::from_slice(bytes)?)
    }
}

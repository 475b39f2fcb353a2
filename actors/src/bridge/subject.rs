//! Subject names: `dat.events.<run_id>.<type_snake_case>` (`dat.events.profiles.<type>` for
//! the profiles stream) and `dat.progress.<run_id>`.

use dat_contracts::RunId;

/// The JetStream stream every event goes to.
pub const STREAM: &str = "DAT_EVENTS";
/// The subjects the stream captures.
pub const EVENTS_WILDCARD: &str = "dat.events.>";

/// The subject of one event. `event_type` comes from the stored log, so anything that is not
/// ASCII alphanumeric becomes `_`: a damaged type can never produce a wildcard or an extra
/// subject token.
pub fn event_subject(run: RunId, event_type: &str) -> String {
    if run.is_profiles() {
        return format!("dat.events.profiles.{}", snake_case(event_type));
    }
    format!("dat.events.{run}.{}", snake_case(event_type))
}

/// The subjects of one run's events (`dat events tail --run`).
pub fn run_events_filter(run: RunId) -> String {
    format!("dat.events.{run}.>")
}

/// The core NATS subject of a run's live progress.
pub fn progress_subject(run: RunId) -> String {
    format!("dat.progress.{run}")
}

/// `StageLocked` → `stage_locked`.
pub fn snake_case(event_type: &str) -> String {
    let mut out = String::with_capacity(event_type.len() + 4);
    for (i, c) in event_type.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_become_snake_case_tokens() {
        assert_eq!(snake_case("StageLocked"), "stage_locked");
        assert_eq!(snake_case("RunCreated"), "run_created");
        assert_eq!(snake_case("CleanupPerformed"), "cleanup_performed");
        assert_eq!(snake_case("a.b*>"), "a_b__");
        assert_eq!(snake_case(""), "unknown");
    }

    #[test]
    fn subjects_name_the_run() {
        let run: RunId = "01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e".parse().unwrap();
        assert_eq!(event_subject(run, "Cascaded"), "dat.events.01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e.cascaded");
        assert_eq!(progress_subject(run), "dat.progress.01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e");
    }
}

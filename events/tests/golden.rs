//! Golden logs: event logs written by earlier versions of dat must keep replaying to the same
//! state. `v1_run.jsonl` was written by the first schema version through the real daemon; it
//! holds every event type of that version. Never edit these files: add new ones.

use dat_events::{replay, Envelope, RawEnvelope, RunView};

fn load(jsonl: &str) -> Vec<Envelope> {
    jsonl
        .lines()
        .map(|line| {
            let raw: RawEnvelope = serde_json::from_str(line).expect("a stored envelope");
            Envelope::from_raw(raw).expect("upcast and decode")
        })
        .collect()
}

#[test]
fn v1_log_replays_to_its_recorded_state() {
    let events = load(include_str!("golden/v1_run.jsonl"));
    let expected: RunView = serde_json::from_str(include_str!("golden/v1_run.view.json")).expect("golden view");
    let run = expected.run_id;

    let before_delete = replay(run, &events[..events.len() - 1]);
    assert_eq!(RunView::from(&before_delete), expected);
    assert!(!replay(run, &events).exists(), "the last event deletes the run");

    let types: std::collections::BTreeSet<_> = events.iter().map(|e| e.event.type_name()).collect();
    for t in ["RunCreated", "StageLocked", "StageUnlocked", "Cascaded", "StageSkipped", "StageCompleted", "RunDeleted"]
    {
        assert!(types.contains(t), "golden log lacks {t}");
    }
}

#[test]
fn events_from_a_newer_schema_are_refused_not_guessed() {
    let line = include_str!("golden/v1_run.jsonl").lines().next().expect("a line");
    let mut raw: RawEnvelope = serde_json::from_str(line).expect("envelope");
    raw.schema_version = dat_events::CURRENT_SCHEMA_VERSION + 1;
    let err = Envelope::from_raw(raw).expect_err("newer schema");
    assert!(err.to_string().contains("upgrade dat"), "{err}");
}

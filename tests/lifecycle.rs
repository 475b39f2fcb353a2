//! A run driven through its stages over HTTP: gates, skips, cascades, idempotent re-locks,
//! artifacts, background stages, listing and deletion.

use serde_json::Value;

use crate::support::Daemon;

fn state(view: &Value, stage: &str) -> (String, bool) {
    let s = &view["stages"][stage];
    (s["state"].as_str().unwrap_or_default().to_owned(), s["completed"].as_bool().unwrap_or(false))
}

#[test]
fn a_run_walks_all_stages_with_gates_skips_and_cascades() {
    let d = Daemon::start();
    let run = d.create_run();
    let view = d.run(&run);
    assert_eq!(view["current_stage"], "discovery");
    assert_eq!(view["name"], "test run");
    assert_eq!(view["stages"].as_object().unwrap().len(), 8);

    // Gates: nothing but discovery can lock first.
    let (status, err) = d.stage(&run, "selection", "lock", "{}");
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "gate_not_met");
    assert_eq!(err["error"]["details"]["needs"], "discovery");

    let view = d.lock(&run, "discovery", r#"{"root": "data"}"#);
    let discovery_id = view["stages"]["discovery"]["stage_id"].as_str().unwrap().to_owned();
    assert!(discovery_id.starts_with("discovery_") && discovery_id.len() == "discovery_".len() + 8);
    d.lock(&run, "selection", "{}");
    let view = d.stage(&run, "context", "skip", "").1;
    assert_eq!(view["stages"]["context"]["skipped"], true);
    let (status, err) = d.stage(&run, "table_availability", "skip", "");
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("stage_not_optional")));
    d.lock(&run, "table_availability", "{}");
    d.lock(&run, "table_selection", "{}");
    d.stage(&run, "preview", "skip", "");

    // Parse runs in the background: locked at once, not completed; it completes by itself.
    let view = d.lock(&run, "parse", r#"{"chunk_rows": 1000}"#);
    assert_eq!(view["stages"]["parse"]["completed"], false);
    let view = d.wait_completed(&run, "parse");
    assert_eq!(state(&view, "parse"), ("locked".into(), true));
    d.lock(&run, "export", r#"{"format": "csv", "name": "lot 42"}"#);
    let view = d.wait_completed(&run, "export");
    assert_eq!(view["current_stage"], Value::Null, "every stage done");

    // Unlocking table_availability cascades to table_selection, preview, parse, export.
    let view = d.stage(&run, "table_availability", "unlock", "").1;
    for stage in ["table_availability", "table_selection", "preview", "parse", "export"] {
        assert_eq!(state(&view, stage).0, "unlocked", "{stage}");
    }
    for stage in ["discovery", "selection", "context"] {
        assert_eq!(state(&view, stage).0, "locked", "{stage}");
    }
    let events = d.audit(&run);
    let cascaded = events.iter().rev().find(|e| e["type"] == "Cascaded").expect("a Cascaded event");
    assert_eq!(cascaded["data"]["trigger"], "table_availability");
    assert_eq!(cascaded["data"]["targets"], serde_json::json!(["table_selection", "preview", "parse", "export"]));

    // Re-lock with the same inputs: same ID, artifact reused, not rewritten.
    let before = events.len();
    let view = d.lock(&run, "table_availability", "{}");
    let events = d.audit(&run);
    assert_eq!(events.len(), before + 1);
    assert_eq!(events.last().unwrap()["data"]["reused"], true);
    let again = d.lock(&run, "table_availability", "{}");
    assert_eq!(again, view, "idempotent");
    assert_eq!(d.audit(&run).len(), before + 1, "no new event for an identical re-lock");
}

#[test]
fn relocking_discovery_with_other_inputs_changes_its_id_and_unlocks_downstream() {
    let d = Daemon::start();
    let run = d.create_run();
    let first = d.lock(&run, "discovery", r#"{"root": "data"}"#)["stages"]["discovery"]["stage_id"].clone();
    d.lock(&run, "selection", "{}");
    let view = d.lock(&run, "discovery", r#"{"root": "data", "recursive": false}"#);
    assert_ne!(view["stages"]["discovery"]["stage_id"], first);
    assert_eq!(view["stages"]["selection"]["state"], "unlocked");
    // Back to the first inputs: the first ID again.
    let view = d.lock(&run, "discovery", r#"{"root": "./data/"}"#);
    assert_eq!(view["stages"]["discovery"]["stage_id"], first);
}

#[test]
fn stage_ids_are_the_same_across_runs_and_chain_upstream() {
    let d = Daemon::start();
    let (a, b) = (d.create_run(), d.create_run());
    for run in [&a, &b] {
        d.lock(run, "discovery", r#"{"root": "data"}"#);
        d.lock(run, "selection", r#"{"files": ["data/b.csv", "data/a.csv"]}"#);
    }
    let (va, vb) = (d.run(&a), d.run(&b));
    assert_eq!(va["stages"]["selection"]["stage_id"], vb["stages"]["selection"]["stage_id"]);
    let artifact = d.get(&format!("/api/dat/runs/{a}/stages/selection/artifact")).1;
    assert_eq!(artifact["inputs"]["discovery_id"], va["stages"]["discovery"]["stage_id"]);
    assert_eq!(artifact["inputs"]["files"], serde_json::json!(["data/a.csv", "data/b.csv"]));
    assert!(artifact["artifact"].as_str().unwrap().starts_with(&format!("runs/{a}/selection_")));
    assert!(d.dirs.data_dir.join(artifact["artifact"].as_str().unwrap()).join("inputs.json").is_file());
    let (status, err) = d.get(&format!("/api/dat/runs/{a}/stages/parse/artifact"));
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("artifact_not_found")));
}

#[test]
fn runs_are_listed_newest_first_and_deleted_runs_disappear() {
    let d = Daemon::start();
    let (first, second) = (d.create_run(), d.create_run());
    let list = d.get("/api/dat/runs").1;
    let ids: Vec<&str> = list["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()]);
    let page = d.get(&format!("/api/dat/runs?limit=1&before={second}")).1;
    assert_eq!(page["runs"][0]["run_id"], first.as_str());
    assert_eq!(page["runs"].as_array().unwrap().len(), 1);

    let (status, _) = d.request("DELETE", &format!("/api/dat/runs/{first}"), None, None);
    assert_eq!(status, 204);
    assert_eq!(d.get(&format!("/api/dat/runs/{first}")).0, 404);
    let list = d.get("/api/dat/runs").1;
    assert_eq!(list["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn stage_status_route_and_openapi_document() {
    let d = Daemon::start();
    let run = d.create_run();
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    let (status, record) = d.get(&format!("/api/dat/runs/{run}/stages/discovery"));
    assert_eq!(status, 200);
    for field in [
        "stage",
        "state",
        "stage_id",
        "completed",
        "skipped",
        "running",
        "cancelled",
        "locked_at",
        "unlocked_at",
        "completed_at",
        "error",
    ] {
        assert!(record.get(field).is_some(), "status record lacks {field}");
    }
    let api = d.get("/api/dat/openapi.json").1;
    let paths = api["paths"].as_object().expect("paths");
    for path in
        ["/api/dat/runs", "/api/dat/runs/{run_id}", "/api/dat/runs/{run_id}/stages/{stage}/lock", "/api/dat/health"]
    {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
}

#[test]
fn a_custom_stage_graph_changes_the_gates() {
    let dirs = crate::support::Dirs::new();
    let graph = dirs.workspace.join("graph.toml");
    // Context needs only discovery here (the default needs selection).
    std::fs::write(&graph, "[gating_rules.context]\nrequires_locked = [\"discovery\"]\n").unwrap();
    let custom = Daemon::start_with(dirs, &["--stage-graph", graph.to_str().unwrap()]);
    let default = Daemon::start();
    for d in [&custom, &default] {
        let run = d.create_run();
        d.lock(&run, "discovery", r#"{"root": "data"}"#);
        let (status, body) = d.stage(&run, "context", "lock", "{}");
        let expected = if std::ptr::eq(d, &custom) { 200 } else { 400 };
        assert_eq!(status, expected, "{body}");
    }
}

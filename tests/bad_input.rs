//! Bad input gets a clear error in the one error shape and changes nothing.

use serde_json::Value;

use crate::support::{dat, Daemon, Dirs};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

#[test]
fn unknown_runs_stages_and_routes() {
    let d = Daemon::start();
    let run = d.create_run();
    let (status, body) = d.get("/api/dat/runs/01936f0e-7b7a-7cc1-8a55-3f1a2b3c4d5e");
    assert_eq!((status, code(&body)), (404, "run_not_found"));
    assert!(body["error"]["message"].as_str().is_some());
    assert_eq!(d.get("/api/dat/runs/not-a-uuid").0, 404);
    let (status, body) = d.stage(&run, "parsing", "lock", "{}");
    assert_eq!((status, code(&body)), (400, "unknown_stage"));
    let (status, body) = d.get("/api/dat/nothing-here");
    assert_eq!((status, code(&body)), (404, "route_not_found"));
}

#[test]
fn malformed_and_unexpected_bodies() {
    let d = Daemon::start();
    let run = d.create_run();
    let (status, body) = d.stage(&run, "discovery", "lock", r#"{"root": "data""#);
    assert_eq!((status, code(&body)), (400, "invalid_json"));
    assert!(body["error"]["details"].is_object());
    let (status, body) = d.stage(&run, "discovery", "lock", r#"{"root": "data", "recursve": false}"#);
    assert_eq!((status, code(&body)), (400, "invalid_input"));
    assert!(body["error"]["message"].as_str().unwrap().contains("recursve"));
    let (status, body) = d.stage(&run, "discovery", "lock", "{}");
    assert_eq!((status, code(&body)), (400, "invalid_input"), "root is required");
    let big = format!(r#"{{"files": ["{}"]}}"#, "x".repeat(2 * 1024 * 1024));
    let (status, body) = d.stage(&run, "selection", "lock", &big);
    assert_eq!((status, code(&body)), (413, "payload_too_large"));
    assert_eq!(d.audit(&run).len(), 1, "nothing but RunCreated was appended");
}

#[test]
fn paths_outside_the_workspace_are_refused() {
    let d = Daemon::start();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), d.dirs.workspace.join("escape")).unwrap();
    let run = d.create_run();
    for root in ["/etc", "../", "data/../../x", "escape"] {
        let (status, body) = d.stage(&run, "discovery", "lock", &format!(r#"{{"root": "{root}"}}"#));
        assert_eq!((status, code(&body)), (400, "path_outside_workspace"), "{root}");
    }
    let (status, body) = d.stage(&run, "discovery", "lock", r#"{"root": "no/such/folder"}"#);
    assert_eq!((status, code(&body)), (400, "path_not_found"));
    d.lock(&run, "discovery", r#"{"root": "data"}"#);
    let (status, body) = d.stage(&run, "selection", "lock", r#"{"files": ["/etc/passwd"]}"#);
    assert_eq!((status, code(&body)), (400, "path_outside_workspace"));
    let events = d.audit(&run);
    assert!(
        events.iter().all(|e| !e.to_string().contains(d.dirs.workspace.to_str().unwrap())),
        "no absolute path in events"
    );
}

#[test]
fn token_protects_every_route_but_health() {
    let dirs = Dirs::new();
    let token_file = dirs.workspace.join("token");
    std::fs::write(&token_file, "s3cret\n").unwrap();
    let d = Daemon::start_with(dirs, &["--token-file", token_file.to_str().unwrap()]);
    assert_eq!(d.get("/api/dat/health").0, 200);
    let (status, body) = d.get("/api/dat/runs");
    assert_eq!((status, code(&body)), (401, "unauthorized"));
    assert_eq!(d.request("GET", "/api/dat/runs", None, Some("wrong")).0, 401);
    assert_eq!(d.request("GET", "/api/dat/runs", None, Some("s3cret")).0, 200);
    assert_eq!(d.request("POST", "/api/dat/runs", Some("{}"), Some("s3cret")).0, 201);
}

#[test]
fn bad_stage_graph_files_stop_startup_with_exit_code_2() {
    let dirs = Dirs::new();
    let cases = [
        (
            "cycle.json",
            r#"{"gating_rules": {"selection": {"requires_locked": ["parse"]}, "parse": {"requires_locked": ["selection"]}}}"#,
            "cycle",
        ),
        ("unknown.toml", "[gating_rules.selektion]\nrequires_locked = [\"discovery\"]\n", "selektion"),
        ("broken.json", "{not json", "not valid JSON"),
        ("self.json", r#"{"gating_rules": {"parse": {"requires_locked": ["parse"]}}}"#, "gated on itself"),
    ];
    for (name, text, expected) in cases {
        let path = dirs.workspace.join(name);
        std::fs::write(&path, text).unwrap();
        let out = dat(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--workspace",
            dirs.workspace.to_str().unwrap(),
            "--data-dir",
            dirs.data_dir.to_str().unwrap(),
            "--stage-graph",
            path.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains(name), "{name}: {stderr}");
    }
}

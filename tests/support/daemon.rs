//! `Daemon`: starts `dat serve --bind 127.0.0.1:0` on a temp workspace and data dir, waits for
//! its address line, offers one helper per endpoint, and stops it (SIGTERM, then wait) on drop.
//! Set `DAT_TEST_LOG=1` to see the daemon's logs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A workspace and a data dir that outlive daemon restarts.
#[derive(Clone)]
pub struct Dirs {
    _tmp: Arc<tempfile::TempDir>,
    pub workspace: PathBuf,
    pub data_dir: PathBuf,
}

impl Dirs {
    /// A workspace holding `data/a.csv` and `data/b.csv`, and an empty data dir.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let workspace = tmp.path().join("workspace");
        std::fs::create_dir_all(workspace.join("data")).expect("workspace");
        std::fs::write(workspace.join("data/a.csv"), "x,y\n1,2\n").expect("a.csv");
        std::fs::write(workspace.join("data/b.csv"), "x,z\n3,4\n").expect("b.csv");
        let data_dir = tmp.path().join("data-dir");
        Dirs { _tmp: Arc::new(tmp), workspace, data_dir }
    }
}

impl Dirs {
    /// The same workspace with another data dir (kept alive with these dirs).
    pub fn with_data_dir(&self, data_dir: &Path) -> Dirs {
        Dirs { _tmp: self._tmp.clone(), workspace: self.workspace.clone(), data_dir: data_dir.to_path_buf() }
    }
}

/// Runs the `dat` CLI to completion.
pub fn dat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dat")).args(args).output().expect("run dat")
}

/// A running daemon.
pub struct Daemon {
    child: Option<Child>,
    pub url: String,
    pub dirs: Dirs,
}

impl Daemon {
    /// Starts a daemon on fresh dirs.
    pub fn start() -> Self {
        Self::start_with(Dirs::new(), &[])
    }

    /// Starts a daemon on `dirs` with extra flags.
    pub fn start_with(dirs: Dirs, extra: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dat"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--workspace"])
            .arg(&dirs.workspace)
            .arg("--data-dir")
            .arg(&dirs.data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("DAT_TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() });
        let mut child = cmd.spawn().expect("spawn dat serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("dat listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("daemon did not print its address within 30 s");
            }
        };
        Daemon { child: Some(child), url, dirs }
    }

    /// The daemon's process id (the same after `dat` re-executed itself).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL: no shutdown, no flush beyond what was acknowledged.
    pub fn kill(mut self) -> Dirs {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
        self.dirs.clone()
    }

    /// SIGTERM and wait for a clean exit; returns the exit status code.
    pub fn stop(mut self) -> (Option<i32>, Dirs) {
        let code = self.terminate();
        (code, self.dirs.clone())
    }

    fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = i32::try_from(child.id()).expect("pid");
        send_sigterm(pid);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("daemon did not stop within 20 s of SIGTERM");
    }

    /// A request; returns status and JSON body (`Value::Null` when empty).
    pub fn request(&self, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}{path}", self.url));
        if let Some(token) = token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        let result = match body {
            Some(body) => req.set("Content-Type", "application/json").send_string(body),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let text = response.into_string().expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") })
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, None, None)
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.request("POST", path, Some(body), None)
    }

    /// Creates a run and returns its id.
    pub fn create_run(&self) -> String {
        let (status, body) = self.post("/api/dat/runs", r#"{"name": "test run"}"#);
        assert_eq!(status, 201, "{body}");
        body["run_id"].as_str().expect("run_id").to_owned()
    }

    /// `POST /runs/{run}/stages/{stage}/{action}` with `body`.
    pub fn stage(&self, run: &str, stage: &str, action: &str, body: &str) -> (u16, Value) {
        self.post(&format!("/api/dat/runs/{run}/stages/{stage}/{action}"), body)
    }

    /// Locks a stage and asserts it worked.
    pub fn lock(&self, run: &str, stage: &str, body: &str) -> Value {
        let (status, view) = self.stage(run, stage, "lock", body);
        assert_eq!(status, 200, "lock {stage}: {view}");
        view
    }

    /// Waits until `stage` has completed (its background work done) and returns the run.
    pub fn wait_completed(&self, run: &str, stage: &str) -> Value {
        wait_for(60, || {
            let view = self.run(run);
            let status = &view["stages"][stage];
            assert!(status["error"].is_null(), "{stage} failed: {}", status["error"]);
            (status["completed"] == true).then_some(view)
        })
    }

    /// The run resource.
    pub fn run(&self, run: &str) -> Value {
        let (status, view) = self.get(&format!("/api/dat/runs/{run}"));
        assert_eq!(status, 200, "{view}");
        view
    }

    /// The audit log's envelopes.
    pub fn audit(&self, run: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/dat/runs/{run}/events"));
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().expect("events").clone()
    }

    /// The data dir as a CLI argument.
    pub fn data_dir(&self) -> &Path {
        &self.dirs.data_dir
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.terminate();
        }
    }
}

fn send_sigterm(pid: i32) {
    // `kill -TERM` through the system tool keeps the tests free of unsafe code.
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

/// Polls `f` until it returns `Some`, failing after `secs` seconds.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not met within {secs} s");
        std::thread::sleep(Duration::from_millis(25));
    }
}

//! Where inspection commands get events: straight from the data dir's log when no daemon holds
//! it, otherwise from the daemon that does (found through its `daemon.json`, or `--server`).
//! Either way the commands fold the same events with the same code, so offline and online
//! answers cannot differ.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use dat_contracts::RunId;
use dat_events::{RawEnvelope, Seq};
use dat_store::{Durability, EventLog, OpenError, SledLog};
use serde_json::Value;

use crate::cli::SourceArgs;
use crate::daemon::{log_dir, DAEMON_FILE};

/// An event source.
pub enum Source {
    /// The log itself, opened read-write but only read.
    Local(Box<SledLog>),
    /// A running daemon.
    Server {
        /// Base URL.
        url: String,
        /// Bearer token, if needed.
        token: Option<String>,
    },
}

impl Source {
    /// Opens the source `args` point to.
    ///
    /// # Errors
    /// When the data dir has no log, or cannot be opened and no daemon announces itself.
    pub fn open(args: &SourceArgs) -> anyhow::Result<Self> {
        let token = match &args.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read token file {}", path.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        if let Some(url) = &args.server {
            return Ok(Source::Server { url: url.trim_end_matches('/').to_owned(), token });
        }
        let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from(".dat"));
        let dir = log_dir(&data_dir);
        if !dir.exists() {
            bail!("no dat data in {} (pass --data-dir, or --server for a daemon)", data_dir.display());
        }
        match SledLog::open(&dir, Durability::Flush) {
            Ok(log) => Ok(Source::Local(Box::new(log))),
            Err(OpenError::Locked { .. }) => {
                let url = daemon_url(&data_dir).ok_or_else(|| {
                    anyhow!("{} is in use by another dat process; stop it or pass --server URL", data_dir.display())
                })?;
                eprintln!("note: a dat daemon at {url} holds {}; asking it", data_dir.display());
                Ok(Source::Server { url, token })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every run id, newest first (deleted runs included; folding tells them apart).
    ///
    /// # Errors
    /// When the log or the daemon cannot be read.
    pub fn run_ids(&self) -> anyhow::Result<Vec<RunId>> {
        match self {
            Source::Local(log) => Ok(log.list_runs()?),
            Source::Server { .. } => {
                let body = self.get("/api/dat/runs?limit=1000000")?;
                let runs = body.get("runs").and_then(Value::as_array).cloned().unwrap_or_default();
                runs.iter()
                    .filter_map(|r| r.get("run_id").and_then(Value::as_str))
                    .map(|id| id.parse().map_err(anyhow::Error::from))
                    .collect()
            }
        }
    }

    /// All events of `run`, as stored.
    ///
    /// # Errors
    /// When the run is unknown, or the log or daemon cannot be read.
    pub fn events(&self, run: RunId) -> anyhow::Result<Vec<RawEnvelope>> {
        let events = match self {
            Source::Local(log) => log.read_raw(run, Seq(0))?,
            Source::Server { .. } => {
                let body = self.get(&format!("/api/dat/runs/{run}/events"))?;
                serde_json::from_value(body.get("events").cloned().unwrap_or(Value::Null))
                    .context("the daemon sent events in an unexpected shape")?
            }
        };
        if events.is_empty() {
            bail!("run {run} not found");
        }
        Ok(events)
    }

    /// The profiles stream, as stored (`dat audit --profiles`).
    ///
    /// # Errors
    /// When the log or daemon cannot be read.
    pub fn profile_events(&self) -> anyhow::Result<Vec<RawEnvelope>> {
        Ok(match self {
            Source::Local(log) => log.read_raw(RunId::PROFILES, Seq(0))?,
            Source::Server { .. } => {
                let body = self.get("/api/dat/profiles/events")?;
                serde_json::from_value(body.get("events").cloned().unwrap_or(Value::Null))
                    .context("the daemon sent events in an unexpected shape")?
            }
        })
    }

    fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.request("GET", path, None)
    }

    /// Sends `method path` (with a text body) to the daemon; its JSON answer (`null` for none).
    ///
    /// # Errors
    /// When this is not a server source, the daemon cannot be reached, or it answers an error.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<Value> {
        let Source::Server { url, token } = self else { bail!("not a server source") };
        let mut request = ureq::request(method, &format!("{url}{path}"));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        let sent = match body {
            Some(body) => request.send_string(body),
            None => request.call(),
        };
        match sent {
            Ok(response) if response.status() == 204 => Ok(Value::Null),
            Ok(response) => Ok(response.into_json()?),
            Err(ureq::Error::Status(code, response)) => {
                let body: Value = response.into_json().unwrap_or(Value::Null);
                let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message");
                let problems = body.pointer("/error/details/problems").and_then(Value::as_array).map(|ps| {
                    ps.iter()
                        .map(|p| {
                            format!(
                                "\n  {}: {}",
                                p["path"].as_str().unwrap_or_default(),
                                p["message"].as_str().unwrap_or_default()
                            )
                        })
                        .collect::<String>()
                });
                bail!("daemon at {url} answered {code}: {message}{}", problems.unwrap_or_default())
            }
            Err(e) => Err(anyhow!(e).context(format!("cannot reach the daemon at {url}"))),
        }
    }
}

fn daemon_url(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(DAEMON_FILE)).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value.get("url")?.as_str().map(str::to_owned)
}

//! The profiles dat knows (SPEC §10): those of the profiles directory (`--profiles-dir`, loaded
//! at start, read-only) and the users' (created, updated and deleted through the API, each change
//! a `ProfileCreated`/`ProfileUpdated`/`ProfileDeleted` event in the profiles stream of the log,
//! which is replayed at start). Every version a profile ever had stays findable by its content
//! hash (from the log, the directory, or the run that brought it), so a run made with a version
//! is replayed and re-run with that version whatever the profile became.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dat_contracts::profile::{Problem, Profile, ProfileError};
use dat_contracts::RunId;
use dat_events::{Envelope, RunEvent, Seq, Timestamp};
use dat_store::{AppendError, EventLog, LogReadError};
use serde::Serialize;
use serde_json::Value;

use crate::bridge::AppendSignal;

/// Where a profile comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    /// The profiles directory: read-only through the API.
    Directory,
    /// Created through the API (or the CLI): its changes are events.
    User,
}

/// A profile as the catalog lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSummary {
    /// Its id.
    pub profile_id: String,
    /// `meta.title`.
    pub title: Option<String>,
    /// The current version.
    pub content_hash: String,
    /// Where it comes from.
    pub source: ProfileSource,
    /// Its tables, `level.table`.
    pub tables: usize,
}

/// Why a profile request failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileCatalogError {
    /// The profile is invalid: HTTP 400 `invalid_profile` with every problem by path.
    #[error(transparent)]
    Invalid(#[from] ProfileError),
    /// No such profile (or version): HTTP 404.
    #[error("no profile `{0}`")]
    NotFound(String),
    /// A profile with this id exists: HTTP 409; update it instead.
    #[error("a profile `{0}` exists already; PUT /api/dat/profiles/{0} to change it")]
    Exists(String),
    /// The profile comes from the profiles directory: HTTP 409; change the file instead.
    #[error("profile `{0}` comes from the profiles directory and is read-only; change its file")]
    ReadOnly(String),
    /// The body's `meta.profile_id` is not the id of the route: HTTP 400.
    #[error("the profile's meta.profile_id `{found}` is not `{id}`")]
    IdMismatch {
        /// The route's id.
        id: String,
        /// The body's.
        found: String,
    },
    /// The log could not be written: HTTP 500 (409 on a concurrent change).
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The log could not be read: HTTP 500.
    #[error(transparent)]
    Read(#[from] LogReadError),
}

/// Why the profiles could not be loaded at start (exit 2 with the message).
#[derive(Debug, thiserror::Error)]
#[error("profile {file}: {reason}")]
pub struct ProfileLoadError {
    /// The file (or `the log`).
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

struct State {
    /// Current profiles by id.
    current: BTreeMap<String, (Arc<Profile>, ProfileSource)>,
    /// Every version seen, by content hash.
    versions: BTreeMap<String, Arc<Profile>>,
    /// The profiles stream's last seq (the expected seq of the next append).
    last_seq: Seq,
}

/// The catalog. One writer (it holds a lock while appending).
pub struct ProfileCatalog {
    log: Arc<dyn EventLog>,
    state: Mutex<State>,
    appended: Option<AppendSignal>,
    /// `<data dir>/profiles`: every version that is not in the log (a directory profile, a
    /// `--profile FILE`), as `<content hash>.json`, so runs made with it find it after a restart
    /// even when its file changed.
    versions_dir: std::path::PathBuf,
}

impl ProfileCatalog {
    /// Loads the versions kept in `data_dir`, the profiles of `dir` (every `.yaml`, `.yml` and
    /// `.json` file), and replays the profiles stream of `log`.
    ///
    /// # Errors
    /// [`ProfileLoadError`] naming a file that is not a valid profile (every problem), two files
    /// with one id, or a log that cannot be read.
    pub fn open(log: Arc<dyn EventLog>, data_dir: &Path, dir: Option<&Path>) -> Result<Self, ProfileLoadError> {
        let mut state = State { current: BTreeMap::new(), versions: BTreeMap::new(), last_seq: Seq(0) };
        let versions_dir = data_dir.join("profiles");
        for kept in std::fs::read_dir(&versions_dir).into_iter().flatten().filter_map(Result::ok) {
            // A kept version that no longer reads (damaged, or a stricter dat) is skipped: it
            // only matters to a run made with it, which then says so.
            let text = std::fs::read_to_string(kept.path()).unwrap_or_default();
            if let Ok(profile) = Profile::parse(&text) {
                state.versions.insert(profile.content_hash.clone(), Arc::new(profile));
            }
        }
        if let Some(dir) = dir {
            let unreadable =
                |e: std::io::Error| ProfileLoadError { file: dir.display().to_string(), reason: e.to_string() };
            let mut files: Vec<_> =
                std::fs::read_dir(dir).map_err(unreadable)?.filter_map(Result::ok).map(|e| e.path()).collect();
            files.sort();
            for file in files {
                let ext = file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
                if !matches!(ext.as_str(), "yaml" | "yml" | "json") {
                    continue;
                }
                let name = file.display().to_string();
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| ProfileLoadError { file: name.clone(), reason: e.to_string() })?;
                let profile = Profile::parse(&text)
                    .map_err(|e| ProfileLoadError { file: name.clone(), reason: e.to_string() })?;
                let id = profile.id.to_string();
                if state.current.contains_key(&id) {
                    return Err(ProfileLoadError { file: name, reason: format!("a second profile with id `{id}`") });
                }
                keep(&versions_dir, &profile);
                let profile = Arc::new(profile);
                state.versions.insert(profile.content_hash.clone(), profile.clone());
                state.current.insert(id, (profile, ProfileSource::Directory));
            }
        }
        let events = log
            .read(RunId::PROFILES, Seq(0))
            .map_err(|e| ProfileLoadError { file: "the event log".into(), reason: e.to_string() })?;
        for envelope in &events {
            state.last_seq = envelope.seq;
            match &envelope.event {
                RunEvent::ProfileCreated { profile_id, content, .. }
                | RunEvent::ProfileUpdated { profile_id, content, .. } => {
                    // Stored content was valid when it was appended; one that no longer
                    // validates (a stricter dat) stays out of the catalog, with a log line.
                    match Profile::from_value(content.clone()) {
                        Ok(profile) => {
                            let profile = Arc::new(profile);
                            state.versions.insert(profile.content_hash.clone(), profile.clone());
                            state.current.insert(profile_id.clone(), (profile, ProfileSource::User));
                        }
                        Err(e) => tracing::warn!(profile_id, error = %e, "a stored profile no longer validates"),
                    }
                }
                RunEvent::ProfileDeleted { profile_id } => {
                    state.current.remove(profile_id);
                }
                _ => {}
            }
        }
        Ok(ProfileCatalog { log, state: Mutex::new(state), appended: None, versions_dir })
    }

    /// Tells the NATS bridge about each append (as run actors do).
    pub fn with_append_signal(mut self, signal: AppendSignal) -> Self {
        self.appended = Some(signal);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-changed (each change is one
        // insert), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every current profile, by id.
    pub fn list(&self) -> Vec<ProfileSummary> {
        self.state()
            .current
            .iter()
            .map(|(id, (p, source))| ProfileSummary {
                profile_id: id.clone(),
                title: p.spec.meta.title.clone(),
                content_hash: p.content_hash.clone(),
                source: *source,
                tables: p.spec.tables().count(),
            })
            .collect()
    }

    /// The current version of `id`.
    ///
    /// # Errors
    /// [`ProfileCatalogError::NotFound`].
    pub fn get(&self, id: &str) -> Result<(Arc<Profile>, ProfileSource), ProfileCatalogError> {
        self.state().current.get(id).cloned().ok_or_else(|| ProfileCatalogError::NotFound(id.to_owned()))
    }

    /// The version with `content_hash` (any profile, current or not).
    pub fn version(&self, content_hash: &str) -> Option<Arc<Profile>> {
        self.state().versions.get(content_hash).cloned()
    }

    /// The version of the profile `run` was created with (`None` without a profile).
    ///
    /// # Errors
    /// [`ProfileCatalogError::NotFound`] when this dat does not know that version.
    pub fn of_run(&self, run: &dat_events::RunState) -> Result<Option<Arc<Profile>>, ProfileCatalogError> {
        match (&run.profile_id, &run.profile_hash) {
            (Some(id), Some(hash)) => self
                .version(hash)
                .map(Some)
                .ok_or_else(|| ProfileCatalogError::NotFound(format!("{id} (version {hash})"))),
            _ => Ok(None),
        }
    }

    /// Remembers a version that came from elsewhere (`dat run --profile FILE`), so that runs
    /// made with it find it again.
    pub fn remember(&self, profile: Profile) -> Arc<Profile> {
        keep(&self.versions_dir, &profile);
        let profile = Arc::new(profile);
        self.state().versions.entry(profile.content_hash.clone()).or_insert(profile).clone()
    }

    /// Creates a profile from YAML or JSON text.
    ///
    /// # Errors
    /// [`ProfileCatalogError::Invalid`] with every problem, [`ProfileCatalogError::Exists`], or
    /// an append failure. Nothing is stored unless it succeeds.
    pub fn create(&self, text: &str) -> Result<Arc<Profile>, ProfileCatalogError> {
        let profile = Profile::parse(text)?;
        let id = profile.id.to_string();
        let mut state = self.state();
        if state.current.contains_key(&id) {
            return Err(ProfileCatalogError::Exists(id));
        }
        let event = RunEvent::ProfileCreated {
            profile_id: id.clone(),
            content_hash: profile.content_hash.clone(),
            content: profile.content.clone(),
        };
        self.append(&mut state, event)?;
        let profile = Arc::new(profile);
        state.versions.insert(profile.content_hash.clone(), profile.clone());
        state.current.insert(id, (profile.clone(), ProfileSource::User));
        Ok(profile)
    }

    /// Makes `text` the new version of user profile `id` (its `meta.profile_id`, when given,
    /// must be `id`).
    ///
    /// # Errors
    /// [`ProfileCatalogError`]: invalid, not found, read-only, id mismatch, or an append failure.
    pub fn update(&self, id: &str, text: &str) -> Result<Arc<Profile>, ProfileCatalogError> {
        let mut content: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ProfileError { problems: vec![Problem::new("", format!("not YAML or JSON: {e}"))] })?;
        match content.pointer("/meta/profile_id").and_then(Value::as_str) {
            Some(found) if found != id => {
                return Err(ProfileCatalogError::IdMismatch { id: id.to_owned(), found: found.to_owned() })
            }
            Some(_) => {}
            None => {
                if let Some(object) = content.as_object_mut() {
                    let meta = object.entry("meta").or_insert_with(|| Value::Object(Default::default()));
                    if let Some(meta) = meta.as_object_mut() {
                        meta.insert("profile_id".into(), Value::String(id.to_owned()));
                    }
                }
            }
        }
        let profile = Profile::from_value(content)?;
        let mut state = self.state();
        match state.current.get(id) {
            None => return Err(ProfileCatalogError::NotFound(id.to_owned())),
            Some((_, ProfileSource::Directory)) => return Err(ProfileCatalogError::ReadOnly(id.to_owned())),
            Some((current, _)) if current.content_hash == profile.content_hash => return Ok(current.clone()),
            Some(_) => {}
        }
        let event = RunEvent::ProfileUpdated {
            profile_id: id.to_owned(),
            content_hash: profile.content_hash.clone(),
            content: profile.content.clone(),
        };
        self.append(&mut state, event)?;
        let profile = Arc::new(profile);
        state.versions.insert(profile.content_hash.clone(), profile.clone());
        state.current.insert(id.to_owned(), (profile.clone(), ProfileSource::User));
        Ok(profile)
    }

    /// Deletes user profile `id`; its versions stay for the runs made with them.
    ///
    /// # Errors
    /// [`ProfileCatalogError`]: not found, read-only, or an append failure.
    pub fn delete(&self, id: &str) -> Result<(), ProfileCatalogError> {
        let mut state = self.state();
        match state.current.get(id) {
            None => return Err(ProfileCatalogError::NotFound(id.to_owned())),
            Some((_, ProfileSource::Directory)) => return Err(ProfileCatalogError::ReadOnly(id.to_owned())),
            Some(_) => {}
        }
        self.append(&mut state, RunEvent::ProfileDeleted { profile_id: id.to_owned() })?;
        state.current.remove(id);
        Ok(())
    }

    /// The profiles stream, as stored (the audit of `dat audit --profiles`).
    ///
    /// # Errors
    /// [`LogReadError`] when the log cannot be read.
    pub fn events(&self) -> Result<Vec<dat_events::RawEnvelope>, LogReadError> {
        self.log.read_raw(RunId::PROFILES, Seq(0))
    }

    fn append(&self, state: &mut State, event: RunEvent) -> Result<(), AppendError> {
        let seq = state.last_seq.next();
        let envelope = Envelope::new(RunId::PROFILES, seq, Timestamp::from_datetime(chrono::Utc::now()), event);
        self.log.append(RunId::PROFILES, state.last_seq, &[envelope])?;
        state.last_seq = seq;
        if let Some(signal) = &self.appended {
            signal.appended(1);
        }
        Ok(())
    }
}

/// Writes a version to the versions folder (best effort: the log keeps user versions anyway,
/// and a version that cannot be kept is logged).
fn keep(dir: &Path, profile: &Profile) {
    let path = dir.join(format!("{}.json", profile.content_hash));
    if path.exists() {
        return;
    }
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| serde_json::to_vec_pretty(&profile.content).map_err(std::io::Error::other))
        .and_then(|bytes| std::fs::write(&path, bytes));
    if let Err(error) = written {
        tracing::warn!(profile_id = %profile.id, %error, "cannot keep a profile version in the data dir");
    }
}

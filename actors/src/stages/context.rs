//! Context: each selected file's context values, each with where it came from (SPEC §10):
//! `context_defaults.defaults` < regexes on the file's name and path < the content
//! (`content_patterns` and the `key_map` of `run` contexts) < the user's `values`, which only
//! keys in `allow_user_override` may take (others are refused with 400 naming them). Without a
//! profile the user's values apply to every file as given.

use dat_contracts::artifacts::{ContextArtifact, DiscoveryArtifact, FileContext, SelectionArtifact};
use dat_contracts::profile::{file_context, merge_context, ContextSource, ContextValue, FileFacts};
use dat_contracts::{LockRequest, Stage};
use dat_readers::profile::ProfileAdapter;
use dat_readers::{Compression, ReadOptions, SourceFile};
use serde_json::{Map, Value};

use crate::stages::{to_content, StageContext, StageError, StageExecutor};

/// The context executor.
pub struct ResolveContext {
    /// Limits of reading a file's content.
    pub options: ReadOptions,
}

/// A context lock body's fields.
struct Body<'r> {
    profile_id: Option<&'r str>,
    aggregation_levels: &'r [String],
    values: &'r Map<String, Value>,
}

fn request(request: &LockRequest) -> Result<Body<'_>, StageError> {
    match request {
        LockRequest::Context { profile_id, aggregation_levels, values } => {
            Ok(Body { profile_id: profile_id.as_deref(), aggregation_levels, values })
        }
        _ => Err(StageError::Invalid("context needs a context request".into())),
    }
}

impl StageExecutor for ResolveContext {
    /// Refuses a profile other than the run's and user values the profile does not allow; the
    /// run's profile version enters the ID.
    fn content_inputs(&self, ctx: &StageContext<'_>, lock: &LockRequest) -> Result<Map<String, Value>, StageError> {
        let Body { profile_id, values, .. } = request(lock)?;
        if let Some(wanted) = profile_id {
            let run = ctx.run.profile_id.as_deref();
            if run != Some(wanted) {
                return Err(StageError::Invalid(format!(
                    "the run was created with profile {}, not `{wanted}`; create a run with that profile",
                    run.map_or_else(|| "none".to_owned(), |r| format!("`{r}`"))
                )));
            }
        }
        if let Some(profile) = ctx.profile {
            let allowed = &profile.spec.context_defaults.allow_user_override;
            let refused: Vec<&str> = values.keys().filter(|k| !allowed.contains(k)).map(String::as_str).collect();
            if !refused.is_empty() {
                return Err(StageError::Invalid(format!(
                    "the profile does not let users set {} (context_defaults.allow_user_override lists {})",
                    refused.join(", "),
                    if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") }
                )));
            }
        }
        Ok(ctx.profile_inputs())
    }

    fn produce(&self, ctx: &StageContext<'_>, lock: &LockRequest, _: &Map<String, Value>) -> Result<Value, StageError> {
        let Body { aggregation_levels, values, .. } = request(lock)?;
        // The selected files; a stage graph that gates context on discovery alone gets every
        // supported file discovery found.
        let selection: SelectionArtifact = match ctx.upstream(Stage::Selection) {
            Ok(selection) => selection,
            Err(_) => {
                let found: DiscoveryArtifact = ctx.upstream(Stage::Discovery)?;
                SelectionArtifact { files: found.files.into_iter().filter(|f| f.supported).collect() }
            }
        };
        let user: Vec<ContextValue> = values
            .iter()
            .map(|(key, value)| ContextValue { key: key.clone(), value: value.clone(), source: ContextSource::User })
            .collect();
        let adapter = ctx.profile.map(|p| ProfileAdapter::new(std::sync::Arc::new(p.clone())));
        let mut files = Vec::new();
        for file in &selection.files {
            let (mut found, mut missing) = (Vec::new(), Vec::new());
            if let (Some(profile), Some(adapter)) = (ctx.profile, &adapter) {
                let disk = ctx.workspace.resolve(&file.path)?;
                let modified = std::fs::metadata(&disk)
                    .and_then(|m| m.modified())
                    .map(|t| {
                        chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    })
                    .unwrap_or_default();
                (found, missing) =
                    file_context(&profile.spec, &FileFacts::new(file.path.as_str(), file.size, modified));
                if profile.spec.datasource.format.as_deref().is_none_or(|f| Some(f) == file.adapter.as_deref()) {
                    let lower = file.path.as_str().to_ascii_lowercase();
                    let (_, compression) = Compression::strip(&lower);
                    match adapter.content_context(&SourceFile::new(&file.path, &disk, compression), &self.options) {
                        Ok((content, lacking)) => {
                            merge_context(&mut found, content);
                            missing.extend(lacking);
                        }
                        Err(e) => missing.push(format!("the content cannot be read: {e}")),
                    }
                }
            }
            merge_context(&mut found, user.clone());
            files.push(FileContext { file: file.path.clone(), values: found, missing });
        }
        Ok(to_content(&ContextArtifact {
            profile_id: ctx.run.profile_id.clone(),
            aggregation_levels: aggregation_levels.to_vec(),
            files,
        }))
    }
}

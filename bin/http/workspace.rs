//! `GET /api/dat/workspace?path=`: the folders and files under a workspace-relative path, for
//! choosing a discovery root (the console). Paths are confined to the workspace (SPEC §4): an
//! absolute path, `..` that escapes, or a symlink out is a 400 `path_outside_workspace`. Hidden
//! entries (dot-names, the data dir among them when it lives in the workspace) are left out, as
//! discovery leaves them out.

use actix_web::{get, web, HttpResponse};
use dat_actors::Workspace;
use dat_contracts::WorkspacePath;
use serde::Deserialize;
use serde_json::json;

use crate::http::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceQuery {
    path: Option<String>,
}

/// Folders and files under `path` (default: the workspace root), sorted by name.
#[utoipa::path(
    tag = "daemon",
    params(("path" = Option<String>, Query, description = "Workspace-relative folder")),
    responses((status = 200, description = "`{path, folders: [name], files: [{name, size}]}`", body = serde_json::Value), (status = 400, description = "Outside the workspace or not a folder"))
)]
#[get("/api/dat/workspace")]
pub async fn list_workspace(
    workspace: web::Data<Workspace>,
    query: web::Query<WorkspaceQuery>,
) -> Result<HttpResponse, ApiError> {
    let raw = query.into_inner().path.unwrap_or_default();
    let path = if raw.is_empty() || raw == "." { WorkspacePath::root() } else { WorkspacePath::parse(&raw)? };
    let listed = web::block(move || -> Result<serde_json::Value, ApiError> {
        let dir = workspace.resolve(&path)?;
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            ApiError::bad_request(
                "path_not_found",
                format!("`{}` is not a folder of the workspace: {e}", path.as_str()),
            )
        })?;
        let (mut folders, mut files) = (Vec::new(), Vec::new());
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            // Symlinks are followed only while they stay inside the workspace.
            let Ok(inside) = path.join(&name).map_err(ApiError::from).and_then(|p| Ok(workspace.resolve(&p)?)) else {
                continue;
            };
            match std::fs::metadata(&inside) {
                Ok(meta) if meta.is_dir() => folders.push(name),
                Ok(meta) => files.push(json!({ "name": name, "size": meta.len() })),
                Err(_) => {}
            }
        }
        folders.sort();
        files.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Ok(json!({ "path": path.as_str(), "folders": folders, "files": files }))
    })
    .await??;
    Ok(HttpResponse::Ok().json(listed))
}

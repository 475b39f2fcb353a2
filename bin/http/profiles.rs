//! Profile routes (SPEC §10, §11): list, create, get, update, delete, validate (with a sample
//! file: the tables it would extract and their rows), and a profile's tables. A body is the
//! profile as JSON or YAML.

use std::sync::Arc;

use actix_web::web::{self, Bytes};
use actix_web::{delete, get, post, put, HttpResponse};
use dat_actors::profiles::{ProfileCatalog, ProfileCatalogError, ProfileSource};
use dat_actors::readers::profile::sample_tables;
use dat_actors::Workspace;
use dat_contracts::profile::Profile;
use dat_contracts::WorkspacePath;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::body::json_body;
use crate::http::ApiError;

fn text(body: Result<Bytes, actix_web::Error>) -> Result<String, ApiError> {
    let bytes = body.map_err(|e| ApiError::bad_request("invalid_body", e))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("invalid_body", "the profile is not UTF-8 text"))
}

/// A profile as the routes return it.
fn resource(profile: &Profile, source: Option<ProfileSource>) -> Value {
    json!({
        "profile_id": profile.id,
        "content_hash": profile.content_hash,
        "source": source,
        "warnings": profile.warnings,
        "profile": profile.content,
    })
}

/// List the profiles: `{"profiles": [{profile_id, title, content_hash, source, tables}]}`.
#[utoipa::path(tag = "profiles", responses((status = 200, description = "The profiles", body = serde_json::Value)))]
#[get("/api/dat/profiles")]
pub async fn list_profiles(catalog: web::Data<Arc<ProfileCatalog>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "profiles": catalog.list() }))
}

/// The profiles stream: every `ProfileCreated`, `ProfileUpdated`, `ProfileDeleted`, as stored.
#[utoipa::path(tag = "profiles", responses((status = 200, description = "`{\"events\": [envelope…]}`", body = serde_json::Value)))]
#[get("/api/dat/profiles/events")]
pub async fn profile_events(catalog: web::Data<Arc<ProfileCatalog>>) -> Result<HttpResponse, ApiError> {
    let catalog = catalog.get_ref().clone();
    let events = web::block(move || catalog.events()).await?.map_err(ProfileCatalogError::Read)?;
    Ok(HttpResponse::Ok().json(json!({ "events": events })))
}

/// Create a profile from its YAML or JSON: 201 with its id and content hash; 400
/// `invalid_profile` listing every problem by path (nothing is stored); 409 when the id exists.
#[utoipa::path(
    tag = "profiles",
    request_body(content = String, description = "The profile, YAML or JSON"),
    responses((status = 201, description = "Created", body = serde_json::Value), (status = 400, description = "invalid_profile"), (status = 409, description = "profile_exists"))
)]
#[post("/api/dat/profiles")]
pub async fn create_profile(
    catalog: web::Data<Arc<ProfileCatalog>>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let text = text(body)?;
    let catalog = catalog.get_ref().clone();
    let profile = web::block(move || catalog.create(&text)).await??;
    tracing::info!(profile_id = %profile.id, content_hash = %profile.content_hash, "profile created");
    Ok(HttpResponse::Created().json(resource(&profile, Some(ProfileSource::User))))
}

/// Check a profile without storing it (an upload the console validates): `{valid, problems:
/// [{path, message}], warnings, profile_id, content_hash}`; always 200, the answer says whether
/// it is valid.
#[utoipa::path(
    tag = "profiles",
    request_body(content = String, description = "The profile, YAML or JSON"),
    responses((status = 200, description = "Whether it is valid, and every problem by path", body = serde_json::Value))
)]
#[post("/api/dat/profiles/check")]
pub async fn check_profile(body: Result<Bytes, actix_web::Error>) -> Result<HttpResponse, ApiError> {
    let text = text(body)?;
    Ok(HttpResponse::Ok().json(match dat_contracts::profile::Profile::parse(&text) {
        Ok(p) => json!({ "valid": true, "problems": [], "warnings": p.warnings, "profile_id": p.id, "content_hash": p.content_hash }),
        Err(e) => json!({ "valid": false, "problems": e.problems, "warnings": [] }),
    }))
}

/// A profile's current version.
#[utoipa::path(tag = "profiles", responses((status = 200, description = "The profile", body = serde_json::Value), (status = 404, description = "profile_not_found")))]
#[get("/api/dat/profiles/{id}")]
pub async fn get_profile(
    catalog: web::Data<Arc<ProfileCatalog>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (profile, source) = catalog.get(&id)?;
    Ok(HttpResponse::Ok().json(resource(&profile, Some(source))))
}

/// A new version of a user profile (same id, new content hash).
#[utoipa::path(
    tag = "profiles",
    request_body(content = String, description = "The profile, YAML or JSON"),
    responses((status = 200, description = "Updated", body = serde_json::Value), (status = 400, description = "invalid_profile"), (status = 404, description = "profile_not_found"), (status = 409, description = "profile_read_only"))
)]
#[put("/api/dat/profiles/{id}")]
pub async fn update_profile(
    catalog: web::Data<Arc<ProfileCatalog>>,
    id: web::Path<String>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let text = text(body)?;
    let catalog = catalog.get_ref().clone();
    let id = id.into_inner();
    let profile = web::block(move || catalog.update(&id, &text)).await??;
    tracing::info!(profile_id = %profile.id, content_hash = %profile.content_hash, "profile updated");
    Ok(HttpResponse::Ok().json(resource(&profile, Some(ProfileSource::User))))
}

/// Delete a user profile (runs made with it keep their version).
#[utoipa::path(tag = "profiles", responses((status = 204, description = "Deleted"), (status = 404, description = "profile_not_found"), (status = 409, description = "profile_read_only")))]
#[delete("/api/dat/profiles/{id}")]
pub async fn delete_profile(
    catalog: web::Data<Arc<ProfileCatalog>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = catalog.get_ref().clone();
    let id = id.into_inner();
    web::block(move || catalog.delete(&id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    sample_path: Option<String>,
}

/// Validate a profile: its problems (none for a stored one) and warnings; with
/// `{"sample_path": "<workspace-relative file>"}` also which tables it would extract from that
/// file, with their rows.
#[utoipa::path(
    tag = "profiles",
    request_body(content = serde_json::Value, description = "`{}` or `{\"sample_path\": \"data/a.json\"}`"),
    responses((status = 200, description = "`{valid, problems, warnings, tables?}`", body = serde_json::Value), (status = 404, description = "profile_not_found"))
)]
#[post("/api/dat/profiles/{id}/validate")]
pub async fn validate_profile(
    catalog: web::Data<Arc<ProfileCatalog>>,
    workspace: web::Data<Workspace>,
    id: web::Path<String>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body: ValidateBody = json_body(body)?;
    let (profile, _) = catalog.get(&id)?;
    let mut out = json!({ "valid": true, "problems": [], "warnings": profile.warnings });
    if let Some(sample) = body.sample_path {
        let path = WorkspacePath::parse(&sample).map_err(|e| ApiError::bad_request("path_outside_workspace", e))?;
        let disk = workspace.resolve(&path).map_err(|e| ApiError::bad_request("path_not_found", e))?;
        let bytes =
            web::block(move || std::fs::read(disk)).await?.map_err(|e| ApiError::bad_request("path_unreadable", e))?;
        let tables = sample_tables(&profile, &bytes).map_err(|e| ApiError::bad_request("invalid_sample", e))?;
        out["tables"] = tables
            .into_iter()
            .map(|(table, rows)| match rows {
                Ok(rows) => json!({ "table": table, "rows": rows }),
                Err(error) => json!({ "table": table, "error": error }),
            })
            .collect();
    }
    Ok(HttpResponse::Ok().json(out))
}

/// A profile's tables by level, its outputs and its presentation hints.
#[utoipa::path(tag = "profiles", responses((status = 200, description = "`{tables: [{level, id, label, description, strategy}], outputs, ui}`", body = serde_json::Value), (status = 404, description = "profile_not_found")))]
#[get("/api/dat/profiles/{id}/tables")]
pub async fn profile_tables(
    catalog: web::Data<Arc<ProfileCatalog>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (profile, _) = catalog.get(&id)?;
    let spec = &profile.spec;
    let tables: Vec<Value> = spec
        .tables()
        .map(|(level, t)| {
            json!({ "level": level.name, "id": t.id, "label": t.label, "description": t.description, "strategy": t.select.strategy })
        })
        .collect();
    let outputs: Vec<Value> = spec
        .outputs()
        .map(|o| json!({ "id": o.id, "from_level": o.from_level, "from_tables": o.from_tables, "include_context": o.include_context }))
        .collect();
    let ui = spec.outputs.ui.clone().or_else(|| spec.ui.clone());
    Ok(HttpResponse::Ok().json(json!({ "profile_id": profile.id, "tables": tables, "outputs": outputs, "ui": ui })))
}

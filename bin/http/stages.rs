//! Stage routes: status, lock (with the stage's body), unlock, skip, complete and artifact.

use actix_web::web::{self, Bytes};
use actix_web::{get, post, HttpResponse};
use dat_actors::Registry;
use dat_contracts::{LockRequest, RunId, Stage};

use crate::http::body::json_value;
use crate::http::runs::run_id;
use crate::http::ApiError;

fn parse(path: &(String, String)) -> Result<(RunId, Stage), ApiError> {
    Ok((run_id(&path.0)?, path.1.parse()?))
}

/// The status record of one stage.
#[utoipa::path(
    tag = "stages",
    params(("run_id" = String, Path, description = "Run id"), ("stage" = String, Path, description = "Stage name, e.g. table_selection")),
    responses((status = 200, description = "Status record", body = serde_json::Value), (status = 400, description = "Unknown stage"), (status = 404, description = "Unknown run"))
)]
#[get("/api/dat/runs/{run_id}/stages/{stage}")]
pub async fn stage_status(
    registry: web::Data<Registry>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (run, stage) = parse(&path)?;
    let view = registry.get(run).await?;
    let status =
        view.stages.get(&stage).ok_or_else(|| ApiError::from(dat_events::Rejection::StageNotInGraph { stage }))?;
    Ok(HttpResponse::Ok().json(status))
}

/// Lock a stage with its body (SPEC §11 lock bodies; unknown fields are refused).
#[utoipa::path(
    tag = "stages",
    params(("run_id" = String, Path, description = "Run id"), ("stage" = String, Path, description = "Stage name")),
    request_body(content = serde_json::Value, description = "Stage-specific body, e.g. `{\"root\": \"data\"}` for discovery"),
    responses(
        (status = 200, description = "The run resource after the lock", body = serde_json::Value),
        (status = 400, description = "Bad body, gate not met, path outside workspace"),
        (status = 404, description = "Unknown run"),
        (status = 409, description = "Stage id collision"),
        (status = 413, description = "Body too large"),
    )
)]
#[post("/api/dat/runs/{run_id}/stages/{stage}/lock")]
pub async fn lock_stage(
    registry: web::Data<Registry>,
    path: web::Path<(String, String)>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (run, stage) = parse(&path)?;
    let request = LockRequest::parse(stage, json_value(body)?)?;
    let view = registry.lock(run, request).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Unlock a stage and the stages its unlock cascades to. Unlocking an unlocked stage is a no-op.
#[utoipa::path(
    tag = "stages",
    params(("run_id" = String, Path, description = "Run id"), ("stage" = String, Path, description = "Stage name")),
    responses((status = 200, description = "The run resource", body = serde_json::Value), (status = 404, description = "Unknown run"))
)]
#[post("/api/dat/runs/{run_id}/stages/{stage}/unlock")]
pub async fn unlock_stage(
    registry: web::Data<Registry>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (run, stage) = parse(&path)?;
    Ok(HttpResponse::Ok().json(registry.unlock(run, stage).await?))
}

/// Skip an optional stage (400 `stage_not_optional` for required ones).
#[utoipa::path(
    tag = "stages",
    params(("run_id" = String, Path, description = "Run id"), ("stage" = String, Path, description = "Stage name")),
    responses((status = 200, description = "The run resource", body = serde_json::Value), (status = 400, description = "Required stage or gate not met"))
)]
#[post("/api/dat/runs/{run_id}/stages/{stage}/skip")]
pub async fn skip_stage(
    registry: web::Data<Registry>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (run, stage) = parse(&path)?;
    Ok(HttpResponse::Ok().json(registry.skip(run, stage).await?))
}

/// Mark a locked stage's work completed (for background stages finished elsewhere).
#[utoipa::path(
    tag = "stages",
    params(("run_id" = String, Path, description = "Run id"), ("stage" = String, Path, description = "Stage name")),
    responses((status = 200, description = "The run resource", body = serde_json::Value), (status = 409, description = "Stage not locked"))
)]
#[post("/api/dat/runs/{run_id}/stages/{stage}/complete")]
pub async fn complete_stage(
    registry: web::Data<Registry>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (run, stage) = parse(&path)?;
    Ok(HttpResponse::Ok().json(registry.complete(run, stage).await?))
}

/// The artifact of a locked stage: `{stage, stage_id, artifact, inputs, content}`.
#[utoipa::path(
    tag = "stages",
    params(("run_id" = String, Path, description = "Run id"), ("stage" = String, Path, description = "Stage name")),
    responses((status = 200, description = "The artifact", body = serde_json::Value), (status = 404, description = "Not locked or skipped"))
)]
#[get("/api/dat/runs/{run_id}/stages/{stage}/artifact")]
pub async fn stage_artifact(
    registry: web::Data<Registry>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (run, stage) = parse(&path)?;
    Ok(HttpResponse::Ok().json(registry.artifact(run, stage).await?))
}

//! Run routes: create, list, get, delete, and the audit log of a run.

use actix_web::web::{self, Bytes};
use actix_web::{delete, get, post, HttpResponse};
use dat_actors::cleanup::CleanupTarget;
use dat_actors::{Registry, RunFilter};
use dat_contracts::RunId;
use dat_events::Seq;
use serde::Deserialize;
use serde_json::json;

use crate::http::body::json_body;
use crate::http::ApiError;

/// Parses a run ID from the path; an ID that cannot exist is a 404 like an unknown one.
pub fn run_id(raw: &str) -> Result<RunId, ApiError> {
    raw.parse().map_err(|_| ApiError::run_not_found(raw))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRunBody {
    name: Option<String>,
    profile_id: Option<String>,
}

/// Create a run: `{name?, profile_id?}`.
#[utoipa::path(
    tag = "runs",
    request_body(content = serde_json::Value, description = "`{\"name\": \"lot 42\", \"profile_id\": null}` (both optional)"),
    responses((status = 201, description = "The run resource", body = serde_json::Value), (status = 400, description = "Bad body"))
)]
#[post("/api/dat/runs")]
pub async fn create_run(
    registry: web::Data<Registry>,
    catalog: web::Data<std::sync::Arc<dat_actors::profiles::ProfileCatalog>>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body: CreateRunBody = json_body(body)?;
    // The run records the profile's current version: later updates do not change it.
    let profile = match body.profile_id {
        Some(id) => {
            let (profile, _) = catalog.get(&id)?;
            Some((id, profile.content_hash.clone()))
        }
        None => None,
    };
    let view = registry.create(body.name, profile).await?;
    tracing::info!(run_id = %view.run_id, "run created");
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
    before: Option<String>,
}

/// List runs, newest first: `?status=open|running|completed&limit=50&before=<run_id>`.
#[utoipa::path(
    tag = "runs",
    params(
        ("status" = Option<String>, Query, description = "open, running or completed"),
        ("limit" = Option<usize>, Query, description = "At most this many (default 50)"),
        ("before" = Option<String>, Query, description = "Only runs created before this run id (paging)"),
    ),
    responses((status = 200, description = "`{\"runs\": [run resource…]}`", body = serde_json::Value))
)]
#[get("/api/dat/runs")]
pub async fn list_runs(
    registry: web::Data<Registry>,
    query: Result<web::Query<ListQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let query = query.map_err(|e| {
        ApiError::new(actix_web::http::StatusCode::BAD_REQUEST, "invalid_input", format!("bad query: {e}"))
    })?;
    let before = match &query.before {
        Some(raw) => Some(
            raw.parse::<RunId>()
                .map_err(|e| ApiError::new(actix_web::http::StatusCode::BAD_REQUEST, "invalid_input", e.to_string()))?,
        ),
        None => None,
    };
    let filter = RunFilter { status: query.status.clone(), limit: query.limit, before };
    let runs = registry.list(filter).await?;
    Ok(HttpResponse::Ok().json(json!({ "runs": runs })))
}

/// The run resource.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id (UUIDv7)")),
    responses((status = 200, description = "The run resource", body = serde_json::Value), (status = 404, description = "Unknown run"))
)]
#[get("/api/dat/runs/{run_id}")]
pub async fn get_run(
    registry: web::Data<Registry>,
    path: web::Path<String>,
    query: web::Query<AtSeq>,
) -> Result<HttpResponse, ApiError> {
    let run = run_id(&path)?;
    let view = match query.at_seq {
        Some(seq) => registry.view_at(run, Seq(seq)).await?,
        None => registry.get(run).await?,
    };
    Ok(HttpResponse::Ok().json(view))
}

/// `?at_seq=N`: the run as of its `N`th event (what `dat replay --until N` shows).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtSeq {
    at_seq: Option<u64>,
}

/// Every new event of the run as server-sent events (`event: envelope`, `data:` the envelope),
/// from after `?after=` (default: from now on); a comment every 15 s keeps the connection open.
/// The console refreshes a run page from it, without reloading.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id"), ("after" = Option<u64>, Query, description = "Send the events after this seq first")),
    responses((status = 200, description = "text/event-stream of envelopes"), (status = 404, description = "Unknown run"))
)]
#[get("/api/dat/runs/{run_id}/events/stream")]
pub async fn run_event_stream(
    registry: web::Data<Registry>,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let run = run_id(&path)?;
    let last = match query.after {
        Some(after) => after,
        None => registry.events(run, Seq(0)).await?.last().map_or(0, |e| e.seq.0),
    };
    let registry = registry.into_inner();
    // The log is read again a few times a second: a run's events are few, and the read is cheap.
    let stream = futures_util::stream::unfold((registry, last, 0u32), move |(registry, last, idle)| async move {
        let frame = match registry.events(run, Seq(last)).await {
            Ok(events) if !events.is_empty() => {
                let next = events.last().map_or(last, |e| e.seq.0);
                let frames: String = events
                    .iter()
                    .map(|e| format!("event: envelope\ndata: {}\n\n", serde_json::to_string(e).unwrap_or_default()))
                    .collect();
                return Some((Ok::<_, actix_web::Error>(web::Bytes::from(frames)), (registry, next, 0)));
            }
            Ok(_) if idle >= KEEP_ALIVE_POLLS => web::Bytes::from_static(b": keep-alive\n\n"),
            Ok(_) => web::Bytes::new(),
            Err(_) => return None,
        };
        let idle = if frame.is_empty() { idle + 1 } else { 0 };
        tokio::time::sleep(std::time::Duration::from_millis(POLL_MS)).await;
        Some((Ok(frame), (registry, last, idle)))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(stream))
}

/// How often the event stream looks for new events.
const POLL_MS: u64 = 200;
/// Polls without news before a keep-alive comment (15 s).
const KEEP_ALIVE_POLLS: u32 = 75;

/// Delete a run: it is no longer listed or served; its log and artifacts stay for audit.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Unknown run"))
)]
#[delete("/api/dat/runs/{run_id}")]
pub async fn delete_run(registry: web::Data<Registry>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    registry.delete(run_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    after: Option<u64>,
}

/// The audit log: the run's events with seq greater than `after`, as stored.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id"), ("after" = Option<u64>, Query, description = "Only events after this seq")),
    responses((status = 200, description = "`{\"run_id\", \"events\": [envelope…]}`", body = serde_json::Value), (status = 404, description = "Unknown run"))
)]
#[get("/api/dat/runs/{run_id}/events")]
pub async fn run_events(
    registry: web::Data<Registry>,
    path: web::Path<String>,
    query: Result<web::Query<EventsQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let run = run_id(&path)?;
    let after = query
        .map_err(|e| {
            ApiError::new(actix_web::http::StatusCode::BAD_REQUEST, "invalid_input", format!("bad query: {e}"))
        })?
        .after
        .unwrap_or(0);
    let events = registry.events(run, Seq(after)).await?;
    Ok(HttpResponse::Ok().json(json!({ "run_id": run, "events": events })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: Option<String>,
    by: Option<String>,
}

/// Ask the run's running stages (parse, export) to stop at their next table or chunk boundary.
/// The stage becomes unlocked with `cancelled: true` once it has stopped; finished tables stay
/// checkpointed, so locking again with the same inputs resumes.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id")),
    request_body(content = serde_json::Value, description = "`{\"reason\": \"…\", \"by\": \"…\"}` (both optional)"),
    responses((status = 202, description = "The run resource; the stage stops shortly", body = serde_json::Value), (status = 409, description = "Nothing is running"))
)]
#[post("/api/dat/runs/{run_id}/cancel")]
pub async fn cancel_run(
    registry: web::Data<Registry>,
    path: web::Path<String>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body: CancelBody = json_body(body)?;
    let view = registry.cancel(run_id(&path)?, body.reason, body.by).await?;
    Ok(HttpResponse::Accepted().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupBody {
    #[serde(default)]
    targets: Vec<CleanupTarget>,
    #[serde(default = "yes")]
    dry_run: bool,
}

fn yes() -> bool {
    true
}

/// List (`dry_run`, the default) or delete the run's files a cleanup takes: `targets` of
/// `unreferenced` (artifacts of locks the run no longer has), `temporary` (leftovers of stopped
/// work), `checkpoints` (of a completed parse) (these three when none is given), `run` (every
/// artifact; 409 while work runs) and `datasets` (exported from the run). What a locked stage
/// or an exported dataset refers to stays unless `run` or `datasets` is named. Applied, the
/// run's log gets a `CleanupPerformed` event listing what went.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id")),
    request_body(content = serde_json::Value, description = "`{\"targets\": [\"unreferenced\"], \"dry_run\": true}` (both optional)"),
    responses((status = 200, description = "`{dry_run, targets, items: [{path, bytes, target}], bytes}`", body = serde_json::Value), (status = 409, description = "The whole run while its work runs"))
)]
#[post("/api/dat/runs/{run_id}/cleanup")]
pub async fn cleanup_run(
    registry: web::Data<Registry>,
    path: web::Path<String>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body: CleanupBody = json_body(body)?;
    let report = registry.cleanup(run_id(&path)?, body.targets, body.dry_run, None).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GcBody {
    #[serde(default = "yes")]
    dry_run: bool,
    /// Only what was last changed longer ago than this many seconds.
    older_than_seconds: Option<u64>,
}

/// Housekeeping of the whole data dir (`dat gc`): every run's default cleanup, and every
/// artifact of deleted runs; listed (`dry_run`, the default) or applied (each run's log gets
/// its `CleanupPerformed`). Exported datasets are never touched.
#[utoipa::path(
    tag = "runs",
    request_body(content = serde_json::Value, description = "`{\"dry_run\": true, \"older_than_seconds\": 2592000}` (both optional)"),
    responses((status = 200, description = "`{dry_run, runs: [{run_id, items, bytes}], bytes}`", body = serde_json::Value))
)]
#[post("/api/dat/gc")]
pub async fn gc(
    registry: web::Data<Registry>,
    body: Result<Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body: GcBody = json_body(body)?;
    let older_than = body.older_than_seconds.map(std::time::Duration::from_secs);
    let report = registry.gc(body.dry_run, older_than).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Live progress of the run's background work as server-sent events: one `progress` event per
/// update (`{run_id, stage, tables_done, tables_total, rows, bytes, percent}`), a comment line
/// every 15 s to keep the connection open. Progress is not logged; a client that connects late
/// sees updates from then on.
#[utoipa::path(
    tag = "runs",
    params(("run_id" = String, Path, description = "Run id")),
    responses((status = 200, description = "text/event-stream of progress events"), (status = 404, description = "Unknown run"))
)]
#[get("/api/dat/runs/{run_id}/progress")]
pub async fn run_progress(registry: web::Data<Registry>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let run = run_id(&path)?;
    registry.get(run).await?;
    let updates = registry.progress();
    let stream = futures_util::stream::unfold(updates, move |mut updates| async move {
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(15), updates.recv()).await;
            let frame = match next {
                Err(_) => ": keep-alive\n\n".to_owned(),
                Ok(Ok(progress)) if progress.run_id == run => {
                    format!("event: progress\ndata: {}\n\n", serde_json::to_string(&progress).unwrap_or_default())
                }
                Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
            };
            return Some((Ok::<_, actix_web::Error>(web::Bytes::from(frame)), updates));
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(stream))
}

//! `GET /api/dat/health`: liveness for probes; never needs a token.

use actix_web::{get, HttpResponse};
use serde_json::json;

/// Daemon health.
#[utoipa::path(tag = "daemon", responses((status = 200, description = "The daemon is up", body = serde_json::Value)))]
#[get("/api/dat/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "nats": "disabled" }))
}

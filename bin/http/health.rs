//! `GET /api/dat/health`: liveness for probes; never needs a token. Also says whether the other
//! routes need one (`token_required`, so the console asks before a call fails), whether the NATS
//! bridge is connected and how many events it has not yet had acknowledged (`nats_lag`, `null`
//! when the bridge is disabled).

use actix_web::{get, web, HttpResponse};
use dat_actors::bridge::BridgeStatus;
use serde_json::json;

use crate::config::Token;

/// Daemon health.
#[utoipa::path(tag = "daemon", responses((status = 200, description = "The daemon is up; nats is connected, disconnected or disabled", body = serde_json::Value)))]
#[get("/api/dat/health")]
pub async fn health(nats: web::Data<BridgeStatus>, token: web::Data<Option<Token>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "token_required": token.is_some(),
        "nats": nats.state().as_str(),
        "nats_lag": nats.lag(),
    }))
}

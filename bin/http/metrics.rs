//! `GET /api/dat/metrics`: the daemon's metrics in Prometheus text format (behind the token
//! when one is set), and the middleware that counts every request by route and status.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, HttpResponse};
use dat_actors::bridge::BridgeStatus;
use dat_actors::metrics::{Metrics, RequestLabels, StateLabel};
use dat_actors::registry::run_status;
use dat_actors::workers::ProbePool;
use dat_actors::{Registry, RunFilter};

use crate::http::ApiError;

/// What a scrape reads besides the counters: the probe pool and the NATS bridge.
pub struct Scrape {
    pub metrics: Arc<Metrics>,
    pub pool: ProbePool,
    pub nats: BridgeStatus,
}

/// The metrics, Prometheus text format 0.0.4.
#[utoipa::path(tag = "daemon", responses((status = 200, description = "Prometheus text format", body = String)))]
#[get("/api/dat/metrics")]
pub async fn metrics(scrape: web::Data<Scrape>, registry: web::Data<Registry>) -> Result<HttpResponse, ApiError> {
    let m = &scrape.metrics;
    let runs = registry.list(RunFilter { limit: Some(usize::MAX), ..RunFilter::default() }).await?;
    for state in ["open", "running", "completed"] {
        let count = runs.iter().filter(|r| run_status(r) == state).count();
        m.runs.get_or_create(&StateLabel { state: state.to_owned() }).set(count as i64);
    }
    m.nats_lag.set(scrape.nats.lag().unwrap_or(0) as i64);
    let errors = scrape.nats.publish_errors();
    m.nats_publish_errors.inc_by(errors.saturating_sub(m.nats_publish_errors.get()));
    m.probe_queue_depth.set(scrape.pool.queue_depth() as i64);
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(m.encode()))
}

/// Middleware body: counts each request under its route pattern (not its path, so that run ids
/// do not make a series each) and its status.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let scrape = req.app_data::<web::Data<Scrape>>().cloned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await?.map_into_boxed_body();
    if let Some(scrape) = scrape {
        let labels = RequestLabels { route, status: response.status().as_u16().to_string() };
        scrape.metrics.http_requests.get_or_create(&labels).inc();
    }
    Ok(response)
}

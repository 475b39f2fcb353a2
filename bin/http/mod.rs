//! The HTTP API of SPEC §11 on actix-web. One file per resource; the OpenAPI document is
//! collected from the route definitions by utoipa and served at `/api/dat/openapi.json`.

mod adapters;
pub mod auth;
pub mod body;
pub mod console;
mod datasets;
pub mod error;
mod health;
pub mod metrics;
mod profiles;
mod runs;
mod stages;
mod workspace;

use actix_web::{web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

pub use error::ApiError;

/// Every documented route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::health)
        .service(metrics::metrics)
        .service(adapters::list_adapters)
        .service(runs::create_run)
        .service(runs::list_runs)
        .service(runs::get_run)
        .service(runs::delete_run)
        .service(runs::run_events)
        .service(runs::cancel_run)
        .service(runs::cleanup_run)
        .service(runs::gc)
        .service(runs::run_progress)
        .service(runs::run_event_stream)
        .service(workspace::list_workspace)
        .service(datasets::dataset_data)
        .service(stages::stage_status)
        .service(stages::lock_stage)
        .service(stages::unlock_stage)
        .service(stages::skip_stage)
        .service(stages::complete_stage)
        .service(stages::stage_artifact)
        .service(datasets::list_datasets)
        .service(datasets::get_dataset)
        .service(datasets::preview_dataset)
        .service(datasets::dataset_lineage)
        .service(profiles::list_profiles)
        .service(profiles::profile_events)
        .service(profiles::check_profile)
        .service(profiles::create_profile)
        .service(profiles::get_profile)
        .service(profiles::update_profile)
        .service(profiles::delete_profile)
        .service(profiles::validate_profile)
        .service(profiles::profile_tables);
}

/// Serves the OpenAPI document held in app data.
pub async fn openapi_json(api: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(api.get_ref())
}

/// Any route that does not exist: the one error shape, 404.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "route_not_found",
        "no such route; see /api/dat/openapi.json",
    ))
}

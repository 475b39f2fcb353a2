//! Dataset routes: the catalogue of exported datasets (`/api/datasets`, outside `/api/dat`
//! because datasets outlive the runs that made them): list, manifest, preview and lineage.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use dat_actors::datasets::{DatasetError, Datasets, DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS};
use serde::Deserialize;
use serde_json::json;

use crate::http::ApiError;

/// A catalogue error in the one error shape: an unknown id is a 404 `dataset_not_found`; an
/// unreadable data file is a 500 whose cause goes to the log only.
fn api_error(e: DatasetError) -> ApiError {
    match e {
        DatasetError::NotFound(id) => {
            ApiError::new(StatusCode::NOT_FOUND, "dataset_not_found", format!("dataset {id} not found"))
                .with_details(json!({ "dataset_id": id }))
        }
        DatasetError::Unreadable { .. } => {
            tracing::error!(error = %e, "dataset unreadable");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the daemon log has the cause")
        }
    }
}

/// The catalogue work reads files: keep it off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    web::block(work).await.map_err(|e| {
        tracing::error!(error = %e, "dataset task failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the daemon log has the cause")
    })
}

/// List datasets, newest first.
#[utoipa::path(
    tag = "datasets",
    responses((status = 200, description = "`{\"datasets\": [manifest…]}`", body = serde_json::Value))
)]
#[get("/api/datasets")]
pub async fn list_datasets(datasets: web::Data<Datasets>) -> Result<HttpResponse, ApiError> {
    let all = blocking(move || datasets.list()).await?;
    Ok(HttpResponse::Ok().json(json!({ "datasets": all })))
}

/// A dataset's manifest (SPEC §8).
#[utoipa::path(
    tag = "datasets",
    params(("id" = String, Path, description = "Dataset id, e.g. `ds_1a2b3c4d`")),
    responses(
        (status = 200, description = "The manifest", body = serde_json::Value),
        (status = 404, description = "Unknown dataset")
    )
)]
#[get("/api/datasets/{id}")]
pub async fn get_dataset(datasets: web::Data<Datasets>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let found = blocking({
        let id = id.clone();
        move || datasets.get(&id)
    })
    .await?;
    let manifest = found.ok_or_else(|| api_error(DatasetError::NotFound(id)))?;
    Ok(HttpResponse::Ok().json(manifest))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    rows: Option<usize>,
}

/// The first rows of a dataset's data file: `{columns, rows}`.
#[utoipa::path(
    tag = "datasets",
    params(
        ("id" = String, Path, description = "Dataset id"),
        ("rows" = Option<usize>, Query, description = "Rows, 1..=1000 (default 20)"),
    ),
    responses(
        (status = 200, description = "`{\"columns\": [..], \"rows\": [[..]..]}`", body = serde_json::Value),
        (status = 400, description = "Bad `rows`"),
        (status = 404, description = "Unknown dataset")
    )
)]
#[get("/api/datasets/{id}/preview")]
pub async fn preview_dataset(
    datasets: web::Data<Datasets>,
    path: web::Path<String>,
    query: Result<web::Query<PreviewQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let query =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", format!("bad query: {e}")))?;
    let rows = query.rows.unwrap_or(DEFAULT_PREVIEW_ROWS);
    if !(1..=MAX_PREVIEW_ROWS).contains(&rows) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            format!("rows must be between 1 and {MAX_PREVIEW_ROWS}, got {rows}"),
        ));
    }
    let id = path.into_inner();
    let preview = blocking(move || datasets.preview(&id, rows)).await?.map_err(api_error)?;
    Ok(HttpResponse::Ok().json(preview))
}

/// Where a dataset came from: run, stage IDs, source files, parent datasets.
#[utoipa::path(
    tag = "datasets",
    params(("id" = String, Path, description = "Dataset id")),
    responses(
        (status = 200, description = "`{dataset_id, run_id, stage_ids, source_files, parent_dataset_ids}`",
            body = serde_json::Value),
        (status = 404, description = "Unknown dataset")
    )
)]
#[get("/api/datasets/{id}/lineage")]
pub async fn dataset_lineage(datasets: web::Data<Datasets>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let lineage = blocking(move || datasets.lineage(&id)).await?.map_err(api_error)?;
    Ok(HttpResponse::Ok().json(lineage))
}

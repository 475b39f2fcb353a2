//! Dataset routes: the catalogue of exported datasets (`/api/datasets`, outside `/api/dat`
//! because datasets outlive the runs that made them): list, manifest, preview and lineage.
//! Catalogue work reads files, so it runs on the blocking pool, off the async workers.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use dat_actors::datasets::{DatasetError, Datasets, DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS};
use serde::Deserialize;
use serde_json::json;

use crate::http::ApiError;

/// List datasets, newest first.
#[utoipa::path(
    tag = "datasets",
    responses((status = 200, description = "`{\"datasets\": [manifest…]}`", body = serde_json::Value))
)]
#[get("/api/datasets")]
pub async fn list_datasets(datasets: web::Data<Datasets>) -> Result<HttpResponse, ApiError> {
    let all = web::block(move || datasets.list()).await?;
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
    let found = web::block({
        let id = id.clone();
        move || datasets.get(&id)
    })
    .await?;
    let manifest = found.ok_or(DatasetError::NotFound(id))?;
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
    let preview = web::block(move || datasets.preview(&id, rows)).await??;
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
    let lineage = web::block(move || datasets.lineage(&id)).await??;
    Ok(HttpResponse::Ok().json(lineage))
}

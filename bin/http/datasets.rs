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

/// The dataset's data file, streamed, with its content type and a file name (`<name>.<ext>`) to
/// save it under.
#[utoipa::path(
    tag = "datasets",
    params(("id" = String, Path, description = "Dataset id")),
    responses((status = 200, description = "The data file"), (status = 404, description = "Unknown dataset"))
)]
#[get("/api/datasets/{id}/data")]
pub async fn dataset_data(datasets: web::Data<Datasets>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (file, manifest) = web::block(move || datasets.data_path(&id)).await??;
    let opened = web::block({
        let file = file.clone();
        move || std::fs::File::open(file)
    })
    .await?
    .map_err(|e| {
        ApiError::internal(&DatasetError::Unreadable { dataset_id: manifest.dataset_id.clone(), reason: e.to_string() })
    })?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("bin").to_owned();
    let content_type = match ext.as_str() {
        "parquet" => "application/vnd.apache.parquet",
        "csv" => "text/csv; charset=utf-8",
        "tsv" => "text/tab-separated-values; charset=utf-8",
        "json" => "application/json",
        "jsonl" => "application/x-ndjson",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    };
    let stem: String = manifest
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let stem = if stem.trim_matches('_').is_empty() { manifest.dataset_id.clone() } else { stem };
    // Read in pieces on the blocking pool: a dataset can be larger than memory.
    let chunks = futures_util::stream::unfold(Some(opened), |file| async move {
        let mut file = file?;
        let read = web::block(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 256 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok::<_, actix_web::Error>(web::Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
            Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{stem}.{ext}\"")))
        .streaming(chunks))
}

//! `GET /api/dat/adapters`: the file formats dat reads.

use actix_web::{get, web, HttpResponse};
use dat_actors::readers::AdapterRegistry;
use serde_json::json;

/// Every adapter with its extensions and whether compressed variants are read.
#[utoipa::path(tag = "daemon", responses((status = 200, description = "`{\"adapters\": [{id, extensions, compression, description}]}`", body = serde_json::Value)))]
#[get("/api/dat/adapters")]
pub async fn list_adapters(adapters: web::Data<AdapterRegistry>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "adapters": adapters.list() }))
}

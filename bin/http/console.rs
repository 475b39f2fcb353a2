//! The browser console: `GET /` and its assets under `/console/`, embedded in the binary (no
//! CDN, no build step: plain HTML, CSS and two JavaScript modules written here). They need no
//! token; the console asks for one when the API answers 401 and sends it in a header.

use actix_web::{get, web, HttpResponse};

const INDEX: &str = include_str!("../console/index.html");
const APP: &str = include_str!("../console/app.js");
const API: &str = include_str!("../console/api.js");
const STYLE: &str = include_str!("../console/style.css");

/// The console's page.
#[get("/")]
pub async fn index() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(INDEX)
}

/// The console's script and style sheet.
#[get("/console/{file}")]
pub async fn asset(file: web::Path<String>) -> HttpResponse {
    match file.as_str() {
        "app.js" => HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(APP),
        "api.js" => HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(API),
        "style.css" => HttpResponse::Ok().content_type("text/css; charset=utf-8").body(STYLE),
        _ => HttpResponse::NotFound().finish(),
    }
}

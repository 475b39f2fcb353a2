//! Optional bearer-token check: with a token configured, every route except health needs
//! `Authorization: Bearer <token>`; otherwise 401 in the one error shape.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use crate::config::Token;
use crate::http::ApiError;

/// The health route stays open so that probes need no secret, and so do the console's page and
/// assets (they hold no data; the console asks for the token itself).
fn is_open(path: &str) -> bool {
    path == "/api/dat/health" || path == "/" || path.starts_with("/console/") || path == "/favicon.ico"
}

/// Middleware body (see `actix_web::middleware::from_fn`).
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let token = req.app_data::<web::Data<Option<Token>>>().and_then(|t| t.get_ref().clone());
    let allowed = match &token {
        None => true,
        Some(token) => {
            is_open(req.path())
                || req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .is_some_and(|given| token.matches(given.trim()))
        }
    };
    if allowed {
        Ok(next.call(req).await?.map_into_boxed_body())
    } else {
        let error = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong bearer token");
        Ok(req.into_response(error.error_response()))
    }
}

//! Request bodies: read under the configured size limit, parsed as JSON with errors in the one
//! error shape (413 `payload_too_large`, 400 `invalid_json`, 400 `invalid_input`). An empty
//! body counts as `{}` so that every field's default applies.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::ApiError;

/// The raw JSON value of a body.
///
/// # Errors
/// 413 when over the limit, 400 when not JSON.
pub fn json_value(body: Result<Bytes, actix_web::Error>) -> Result<Value, ApiError> {
    let bytes = body.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body is larger than the limit")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", format!("request body cannot be read: {e}"))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&bytes).map_err(ApiError::invalid_json)
}

/// A typed body.
///
/// # Errors
/// As [`json_value`], plus 400 `invalid_input` when the JSON has the wrong shape.
pub fn json_body<T: DeserializeOwned>(body: Result<Bytes, actix_web::Error>) -> Result<T, ApiError> {
    serde_json::from_value(json_value(body)?)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", format!("invalid request body: {e}")))
}

//! Error handlers for actix-web's extractors, so payload, path and query failures come out as the same
//! problem documents as our own errors instead of the framework's plain-text bodies.

use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::{ApiError, ErrorCode};
use crate::types::ids::Rejection;

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req| json_error(error).into())
}

pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// A malformed path id (`crate::types::ids`) is answered with its own rejection (a 400, or a 404 for ids
/// that merely cannot exist); any other path failure is a 400 `invalid-path-parameter`.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _req| {
        let detail = match error {
            PathError::Deserialize(cause) => {
                let message = cause.to_string();
                if let Some(rejection) = Rejection::find(&message) {
                    return ApiError::new(rejection.code)
                        .with_detail(rejection.detail)
                        .into();
                }
                format!("The path is not valid: {message}")
            }
            _ => "The path is not valid.".to_owned(),
        };
        ApiError::new(ErrorCode::InvalidPathParameter)
            .with_detail(detail)
            .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| {
        let QueryPayloadError::Deserialize(cause) = error else {
            return ApiError::new(ErrorCode::InvalidQueryParameter).into();
        };
        ApiError::new(ErrorCode::InvalidQueryParameter)
            .with_detail(format!("The query string is not valid: {cause}"))
            .into()
    })
}

fn json_error(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => too_large(limit),
        JsonPayloadError::ContentType => ApiError::new(ErrorCode::UnsupportedMediaType)
            .with_detail("Send the body as `Content-Type: application/json`."),
        JsonPayloadError::Deserialize(cause) if cause.is_data() => {
            // Well-formed JSON of the wrong shape: a missing field, a wrong type, an unknown enum value.
            ApiError::new(ErrorCode::ValidationFailed).with_detail(cause.to_string())
        }
        JsonPayloadError::Deserialize(cause) => {
            ApiError::new(ErrorCode::MalformedJson).with_detail(cause.to_string())
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            ApiError::new(ErrorCode::PayloadTooLarge)
        }
        JsonPayloadError::Payload(cause) => ApiError::new(ErrorCode::BadRequest)
            .with_detail(format!("The request body could not be read: {cause}")),
        other => ApiError::internal(anyhow::anyhow!("json payload: {other}")),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge)
        .with_detail(format!("The body must not exceed {limit} bytes."))
}

/// Answers every path no route matched.
pub async fn default_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound).with_detail("No resource exists at this path."))
}

/// Answers a known path called with a method it does not support, with the `Allow` header RFC 9110 requires:
/// the methods the OpenAPI document gives the route's template (a test keeps the two in step).
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let mut response = ApiError::new(ErrorCode::MethodNotAllowed).error_response();
    let allowed = req
        .match_pattern()
        .map(|pattern| allowed_methods(&pattern))
        .unwrap_or_default();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The documented methods of each path template, read once from the OpenAPI document. Routes outside the
/// document (the document itself, the docs page) are GET only.
fn allowed_methods(pattern: &str) -> Vec<&'static str> {
    static METHODS: OnceLock<HashMap<String, Vec<&'static str>>> = OnceLock::new();
    let methods = METHODS.get_or_init(|| {
        crate::openapi::document()
            .paths
            .paths
            .iter()
            .map(|(path, item)| (path.clone(), crate::openapi::methods(item)))
            .collect()
    });
    methods.get(pattern).cloned().unwrap_or_else(|| vec!["GET"])
}

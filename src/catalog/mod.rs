//! The catalog context (to be filled in).

use actix_web::web;
use utoipa::OpenApi;

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi()]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(_cfg: &mut web::ServiceConfig) {}

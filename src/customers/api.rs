//! `GET /me` and `PATCH /me` (to be filled in).

use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn routes(_cfg: &mut web::ServiceConfig) {}

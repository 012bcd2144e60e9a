//! The OpenAPI document, generated from the handlers' annotations. `docs/openapi.json` is its committed copy.

use utoipa::OpenApi;

use crate::errors::{ErrorCode, FieldError, Problem};
use crate::health;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concierge API",
        description = "Backend-for-frontend of the customer portal, clienteling back end and CRM engine. \
                       Every error is an RFC 9457 problem document (`application/problem+json`)."
    ),
    paths(health::live, health::ready, crate::routes::metrics, crate::routes::problem_type),
    components(schemas(Problem, FieldError, ErrorCode)),
    tags((name = "operations", description = "Health, readiness, metrics and API description"))
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn to_pretty_json() -> anyhow::Result<String> {
    Ok(document().to_pretty_json()?)
}

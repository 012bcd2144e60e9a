//! Operational routes on the public listener: the API description, the docs page and the problem types.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_swagger_ui::{Config as SwaggerConfig, serve as serve_swagger_asset};

use crate::errors::{ApiError, ErrorCode};
use crate::http::{docs_headers, resource};

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The rendered OpenAPI document, computed once at startup.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// Mounted at the root.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // `/metrics` is not here: it has a listener of its own (`observability::metrics_server`).
    cfg.service(resource(OPENAPI_PATH).route(web::get().to(openapi_json)))
        .service(resource("/problems/{slug}").route(web::get().to(problem_type)))
        .service(resource("/docs").route(web::get().to(docs_redirect)))
        .service(
            web::scope("/docs")
                .wrap(docs_headers())
                .route("/{tail:.*}", web::get().to(docs_asset)),
        );
}

async fn openapi_json(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/json")
        .body(document.0.as_str().to_owned())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemTypeDescription {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub code: ErrorCode,
    pub status: u16,
    pub title: String,
}

#[utoipa::path(
    get,
    path = "/problems/{slug}",
    tag = "operations",
    params(("slug" = String, Path, description = "The last segment of a problem `type`")),
    responses(
        (status = 200, description = "What this problem type means", body = ProblemTypeDescription),
        (status = 404, description = "No such problem type", body = crate::errors::Problem,
         content_type = "application/problem+json")
    )
)]
pub async fn problem_type(slug: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::from_slug(&slug)
        .ok_or_else(|| ApiError::not_found().with_detail("No problem type has this name."))?;
    let spec = code.spec();
    Ok(HttpResponse::Ok().json(ProblemTypeDescription {
        type_uri: code.type_uri(),
        code,
        status: spec.status.as_u16(),
        title: spec.title.to_owned(),
    }))
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// Serves the Swagger UI assets compiled into the binary; the page loads nothing from elsewhere.
async fn docs_asset(
    tail: web::Path<String>,
    config: web::Data<SwaggerConfig<'static>>,
) -> Result<HttpResponse, ApiError> {
    let file = serve_swagger_asset(&tail, config.into_inner())
        .map_err(|error| ApiError::internal(anyhow::anyhow!("swagger ui: {error}")))?
        .ok_or_else(ApiError::not_found)?;
    let mut response = HttpResponse::Ok();
    if file.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response
        .content_type(file.content_type)
        .body(file.bytes.to_vec()))
}

/// "Try it out" sends real requests with the reader's credentials from the docs page: useful against a
/// development or test server, never offered against production.
pub fn swagger_config(try_it_out: bool) -> SwaggerConfig<'static> {
    SwaggerConfig::new([OPENAPI_PATH])
        .validator_url("none")
        .try_it_out_enabled(try_it_out)
        .supported_submit_methods(if try_it_out {
            vec![
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
        } else {
            Vec::new()
        })
}

//! Operational routes: metrics, the API description, the docs page and the problem types.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_swagger_ui::{Config as SwaggerConfig, serve as serve_swagger_asset};

use crate::errors::{ApiError, ErrorCode};
use crate::http::{docs_headers, resource};
use crate::state::AppState;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The rendered OpenAPI document, computed once at startup.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// Mounted at the root.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").route(web::get().to(metrics)))
        .service(resource(OPENAPI_PATH).route(web::get().to(openapi_json)))
        .service(resource("/problems/{slug}").route(web::get().to(problem_type)))
        .service(resource("/docs").route(web::get().to(docs_redirect)))
        .service(
            web::scope("/docs")
                .wrap(docs_headers())
                .route("/{tail:.*}", web::get().to(docs_asset)),
        );
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain"))
)]
pub async fn metrics(
    state: web::Data<AppState>,
    handle: web::Data<PrometheusHandle>,
) -> HttpResponse {
    let pool = &state.db;
    let idle = pool.num_idle() as f64;
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(pool.size()) - idle);
    metrics::gauge!("db_pool_connections", "state" => "max")
        .set(f64::from(pool.options().get_max_connections()));
    state.cache.record_pool_metrics();
    // Queue figures need the database; a scrape still answers (with the last values) when it is down.
    let refresh = async {
        crate::jobs::record_queue_depth(pool).await?;
        crate::outbox::record_pending_gauge(pool).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), refresh).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(error = %format!("{error:#}"), "metrics: queue figures unavailable")
        }
        Err(_) => tracing::debug!("metrics: queue figures timed out"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
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

pub fn swagger_config() -> SwaggerConfig<'static> {
    SwaggerConfig::new([OPENAPI_PATH])
        .validator_url("none")
        .try_it_out_enabled(true)
}

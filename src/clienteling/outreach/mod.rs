//! Outreach (issue 16): an advisor's message to one client — an outreach template rendered for the client
//! and the advisor, or free text on a 1:1 channel — sent through the CRM's one send path after the client's
//! consent for the channel and purpose `outreach`, and logged as an interaction (`product_share` with SKUs).
//!
//! Published: [`routes`], [`ApiDoc`].

pub mod model;
mod repo;
mod routes;
mod templates;

use actix_web::web;
use utoipa::OpenApi;

use crate::http::resource;

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::send_outreach,
        routes::preview_outreach,
        templates::list_outreach_templates
    ),
    components(schemas(
        model::OutreachRequest,
        model::OutreachSent,
        model::PreviewRequest,
        model::Preview,
        templates::OutreachTemplate,
        templates::OutreachTemplates,
    )),
    tags((name = "clienteling", description = "The client advisors' client book"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1` with the rest of clienteling.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/brands/{brand}/clienteling/clients/{id}/outreach";
    cfg.service(
        resource("/brands/{brand}/clienteling/outreach/templates")
            .route(web::get().to(templates::list_outreach_templates)),
    )
    .service(resource(BASE).route(web::post().to(routes::send_outreach)))
    .service(resource(&format!("{BASE}/preview")).route(web::post().to(routes::preview_outreach)));
}

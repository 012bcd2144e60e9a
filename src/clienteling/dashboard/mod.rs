//! The advisor's dashboard (issue 16): `GET …/clienteling/dashboard?period=`. An advisor sees their own
//! figures; a manager (or admin) those of their stores with a per-advisor breakdown. Each figure is one
//! statement grouped by advisor and in total ([`repo`]); the CRM's figures (lifetime value, purchases) come
//! through `crm::purchases`, never from its tables.
//!
//! Published: [`routes`], [`ApiDoc`].

pub mod model;
mod repo;
mod routes;

use actix_web::web;
use utoipa::OpenApi;

use crate::http::resource;

#[derive(OpenApi)]
#[openapi(
    paths(routes::dashboard),
    components(schemas(
        model::Dashboard,
        model::Figures,
        model::Count,
        model::Sales,
        model::AdvisorFigures,
        model::KeepInTouch,
    )),
    tags((name = "clienteling", description = "The client advisors' client book"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1` with the rest of clienteling.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands/{brand}/clienteling/dashboard").route(web::get().to(routes::dashboard)),
    );
}

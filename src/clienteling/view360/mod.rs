//! The client 360° view (issue 16): `GET …/clienteling/clients/{id}/360?fields=…`, what an advisor opens
//! every morning. The seed's 360 service called six services one after the other and always sent everything;
//! here the caller names the parts it wants, every part is fetched at the same time with its own timeout
//! (`[clienteling.view360] part_timeout_ms`), and a part that fails or runs late is `degraded` while the
//! page still answers 200 with the others.
//!
//! The client is checked first (the caller's scope, exactly as `GET …/clients/{id}`: out of reach is 404);
//! only then do the parts start, each on a connection of its own taken from the pool when it needs one and
//! never while holding another (so a page cannot deadlock on a small pool), at most
//! `connections_per_page` at once (so one page never takes the whole pool), and never while waiting on
//! Salesforce. Parts: [`parts::Part`].
//!
//! Published: [`routes`], [`ApiDoc`], [`check_settings`].

mod appointments;
mod crm_parts;
mod gate;
mod header;
mod kpis;
pub mod model;
pub mod parts;
mod repo;
mod routes;
mod salesforce;
mod tasks;
mod timeline;

use actix_web::web;
use utoipa::OpenApi;

use crate::config::{Environment, View360Settings};
use crate::http::resource;
use parts::Part;

#[derive(OpenApi)]
#[openapi(
    paths(routes::client_360),
    components(schemas(
        model::View360,
        model::PartStatus,
        model::DegradedReason,
        model::HeaderPart,
        model::KpisPart,
        model::TimelinePart,
        model::ScoresPart,
        model::ConsentPart,
        model::SalesforcePart,
        model::AppointmentsPart,
        model::TasksPart,
        model::Header,
        model::Advisor,
        model::Kpis,
        model::CategoryCount,
        model::TimelinePage,
        model::TimelineItem,
        model::ConsentEntry,
        model::ConsentData,
        model::SalesforceData,
        model::SalesforceContact,
        model::SalesforceAccount,
        model::SalesforceCase,
        model::UpcomingAppointments,
        model::OpenTasks,
    )),
    tags((name = "clienteling", description = "The client advisors' client book"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1` with the rest of clienteling.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands/{brand}/clienteling/clients/{id}/360")
            .route(web::get().to(routes::client_360)),
    );
}

/// Refuses settings the view cannot run with (called from `Settings::validate`).
pub fn check_settings(
    settings: &View360Settings,
    environment: Environment,
) -> Result<(), (String, String)> {
    let fail = |key: &str, why: &str| Err((format!("clienteling.view360.{key}"), why.to_owned()));
    if !(1..=10_000).contains(&settings.part_timeout_ms) {
        return fail("part_timeout_ms", "must be 1–10000 ms");
    }
    if settings.connections_per_page == 0 {
        return fail("connections_per_page", "must be at least 1");
    }
    if !settings.simulated_latency_ms.is_empty() && environment == Environment::Production {
        return fail(
            "simulated_latency_ms",
            "is for benchmarks only and must be empty in production",
        );
    }
    if let Some(name) = settings
        .simulated_latency_ms
        .keys()
        .find(|name| Part::parse(name).is_none())
    {
        return fail(
            "simulated_latency_ms",
            &format!("`{name}` is not a part of the 360 view"),
        );
    }
    Ok(())
}

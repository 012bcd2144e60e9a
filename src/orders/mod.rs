//! The orders context: a customer orders catalog products; the order is created in Salesforce (Draft,
//! pending review) and recorded locally; once approved in Salesforce, a job provisions it in WHMCS (and
//! Freebit for eSIMs) exactly once, step by step, and the customer follows its status.
//!
//! `domain` holds the provider-agnostic types; `salesforce` the CRM records and mappers; `repo` the tables;
//! `service` places an order; `provision` is the provisioning job and `trigger` the Salesforce event that
//! starts it; `routes` (with `routes::stream`, the SSE status stream, fed by `stream_hub`'s one listener per
//! process) is the HTTP surface.

mod domain;
pub mod erasure;
mod error;
pub mod privacy_export;
mod provision;
mod repo;
mod routes;
mod salesforce;
mod service;
mod stream_hub;
mod trigger;

#[cfg(test)]
mod proptests;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

pub use error::OrderError;
pub use provision::ProvisionOrder;

use crate::catalog::Catalog;
use crate::config::JobSettings;
use crate::http::resource;
use crate::integrations::freebit::FreebitClient;
use crate::integrations::salesforce::SalesforceClient;
use crate::integrations::whmcs::WhmcsClient;
use crate::jobs::Runner;

/// What orders need from the process, built once in `cli::build_state` and reached as `state.orders`: the
/// pool (its tables, the outbox, the provisioning lock), the job settings (the trigger enqueues
/// provisioning), the Salesforce, WHMCS and Freebit clients the order is placed and provisioned with, and
/// the catalog handle (products and the price book).
#[derive(Clone)]
pub struct Orders {
    db: PgPool,
    jobs: JobSettings,
    salesforce: SalesforceClient,
    whmcs: WhmcsClient,
    freebit: FreebitClient,
    catalog: Catalog,
    /// The process's one listener for every order status stream it serves.
    streams: std::sync::Arc<stream_hub::StreamHub>,
}

impl Orders {
    pub fn new(
        db: PgPool,
        jobs: &JobSettings,
        salesforce: SalesforceClient,
        whmcs: WhmcsClient,
        freebit: FreebitClient,
        catalog: Catalog,
    ) -> Self {
        Self {
            streams: stream_hub::StreamHub::new(&db),
            db,
            jobs: jobs.clone(),
            salesforce,
            whmcs,
            freebit,
            catalog,
        }
    }
}

impl Orders {
    fn streams(&self) -> &std::sync::Arc<stream_hub::StreamHub> {
        &self.streams
    }
}

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(routes::create_order, routes::list_orders, routes::get_order, routes::stream::order_events),
    components(schemas(
        domain::CreateOrderRequest,
        domain::RequestedItem,
        domain::Activation,
        domain::ActivationType,
        domain::SimChoice,
        domain::SimType,
        domain::Order,
        domain::OrderItem,
        domain::OrderStatus,
        domain::OrderPage,
        domain::OrderEvent,
        crate::catalog::BillingCycle,
        crate::money::Money,
    )),
    tags((name = "orders", description = "Ordering products and following their provisioning"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/orders")
            .route(web::post().to(routes::create_order))
            .route(web::get().to(routes::list_orders)),
    )
    .service(resource("/orders/{id}").route(web::get().to(routes::get_order)))
    .service(resource("/orders/{id}/events").route(web::get().to(routes::stream::order_events)));
}

/// Registers this context's jobs: provisioning, and the subscriber to the Salesforce event that asks for it.
pub fn jobs(runner: Runner, orders: &Orders) -> anyhow::Result<Runner> {
    let (for_jobs, for_trigger) = (orders.clone(), orders.clone());
    Ok(runner
        .register(move |job, ctx| provision::run(for_jobs.clone(), job, ctx))
        .background(move |shutdown| trigger::subscribe(for_trigger, shutdown)))
}

//! The orders context: a customer orders catalog products; the order is created in Salesforce (Draft,
//! pending review) and recorded locally; once approved in Salesforce, a job provisions it in WHMCS (and
//! Freebit for eSIMs) exactly once, step by step, and the customer follows its status.
//!
//! `domain` holds the provider-agnostic types; `salesforce` the CRM records and mappers; `repo` the tables;
//! `service` places an order; `provision` is the provisioning job and `trigger` the Salesforce event that
//! starts it; `routes` and `stream` (the SSE status stream) are the HTTP surface.

mod domain;
mod error;
mod provision;
mod repo;
mod routes;
mod salesforce;
mod service;
mod stream;
mod trigger;

use actix_web::web;

pub use error::OrderError;
use utoipa::OpenApi;

pub use provision::ProvisionOrder;

use crate::http::resource;
use crate::jobs::Runner;
use crate::state::AppState;

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(routes::create_order, routes::list_orders, routes::get_order, stream::order_events),
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
    .service(resource("/orders/{id}/events").route(web::get().to(stream::order_events)));
}

/// Registers this context's jobs: provisioning, and the subscriber to the Salesforce event that asks for it.
pub fn jobs(runner: Runner, state: &AppState) -> anyhow::Result<Runner> {
    let (orders_state, trigger_state) = (state.clone(), state.clone());
    Ok(runner
        .register(move |job, ctx| provision::run(orders_state.clone(), job, ctx))
        .background(move |shutdown| trigger::subscribe(trigger_state, shutdown)))
}

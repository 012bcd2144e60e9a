//! The orders context: a customer orders catalog products; the order is created in Salesforce (Draft,
//! pending review) and recorded locally; once approved in Salesforce, a job provisions it in WHMCS (and
//! Freebit for eSIMs) exactly once, step by step, and the customer follows its status.
//!
//! `domain` holds the provider-agnostic types; `salesforce` the CRM records and mappers; `repo` the tables;
//! `create` places an order; `routes` is the HTTP surface.

pub mod create;
pub mod domain;
mod error;
pub mod provision;
pub mod repo;
pub mod routes;
pub mod salesforce;
pub mod stream;
pub mod trigger;

use actix_web::web;

pub use error::OrderError;
pub use provision::ProvisionOrder;
use utoipa::OpenApi;

use crate::routes::resource;

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

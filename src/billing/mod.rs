//! The billing context: the customer's invoices, balance and stored pay methods at WHMCS, and paying an
//! invoice (capture with a stored card, or a short-lived payment link), idempotently.
//!
//! `domain` holds the provider-agnostic types; one mapper file per WHMCS resource turns raw payloads into
//! them (`invoices`, `payment_methods`, `payments`); `service` talks to WHMCS for one customer; `routes` is
//! the HTTP surface.

pub mod cursor;
pub mod domain;
pub mod error;
pub mod invoices;
pub mod payment_methods;
pub mod payments;
pub mod routes;
pub mod service;

use actix_web::web;
use utoipa::OpenApi;

use crate::routes::resource;

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_invoices,
        routes::get_invoice,
        routes::summary,
        routes::payment_methods,
        routes::pay_invoice,
    ),
    components(schemas(
        domain::Invoice,
        domain::InvoiceDetail,
        domain::InvoiceLine,
        domain::InvoiceStatus,
        domain::InvoiceFilter,
        domain::Transaction,
        domain::InvoicePage,
        domain::BillingSummary,
        domain::PaymentMethod,
        domain::PaymentMethodType,
        domain::PaymentMethodList,
        domain::PaymentResult,
        domain::PaymentKind,
        domain::PaymentStatus,
        payments::PaymentRequest,
        crate::money::Money,
    )),
    tags((name = "billing", description = "Invoices, balance, stored payment methods and invoice payment"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/billing/invoices").route(web::get().to(routes::list_invoices)))
        .service(resource("/billing/invoices/{id}").route(web::get().to(routes::get_invoice)))
        .service(
            resource("/billing/invoices/{id}/payments").route(web::post().to(routes::pay_invoice)),
        )
        .service(resource("/billing/summary").route(web::get().to(routes::summary)))
        .service(
            resource("/billing/payment-methods").route(web::get().to(routes::payment_methods)),
        );
}

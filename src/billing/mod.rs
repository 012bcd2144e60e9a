//! The billing context: the customer's invoices, balance and stored pay methods at WHMCS, and paying an
//! invoice (capture with a stored card, or a short-lived payment link), idempotently.
//!
//! `domain` holds the provider-agnostic types; `whmcs` turns WHMCS's payloads into them, one mapper per
//! resource (`whmcs/{invoices,pay_methods,payments}.rs`); `service` talks to WHMCS for one customer;
//! `routes` is the HTTP surface; `cursor` signs the invoice list's cursors.

mod cursor;
mod domain;
mod error;
mod routes;
mod service;
mod whmcs;

#[cfg(test)]
mod proptests;

use std::sync::Arc;

use actix_web::web;
use utoipa::OpenApi;

use crate::cache::Cache;
use crate::config::BillingSettings;
use crate::http::resource;
use crate::integrations::whmcs::WhmcsClient;
use crate::jobs::Runner;

/// What billing needs from the process, built once in `cli::build_state` and reached as `state.billing`: its
/// WHMCS client, the cache (client currencies) and the invoice cursor codec.
#[derive(Clone)]
pub struct Billing {
    whmcs: WhmcsClient,
    cache: Cache,
    cursor: Arc<cursor::CursorCodec>,
}

impl Billing {
    pub fn new(settings: &BillingSettings, whmcs: WhmcsClient, cache: Cache) -> Self {
        Self {
            whmcs,
            cache,
            cursor: Arc::new(cursor::CursorCodec::new(&settings.cursor_key)),
        }
    }
}

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
        domain::PaymentRequest,
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

/// Registers this context's jobs: none yet (billing works within requests).
pub fn jobs(runner: Runner, _billing: &Billing) -> anyhow::Result<Runner> {
    Ok(runner)
}

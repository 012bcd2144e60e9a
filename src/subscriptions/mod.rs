//! The subscriptions context: the customer's services at WHMCS and, for SIM services, the line at Freebit
//! (details, this month's data) and its changes (top-up, plan change, suspend, resume), each idempotent and
//! recorded in the `sim_actions` audit trail.
//!
//! `domain` holds the provider-agnostic types; one mapper per provider turns raw payloads into them
//! (`whmcs`: WHMCS service → `Subscription`; `freebit`: Freebit detail + traffic → `SimLine`); `service`
//! talks to the providers for one customer; `repo` writes the trail (the `sim_actions` table); `routes` is
//! the HTTP surface; `plans` is the catalog of plan codes the portal accepts; `top_up` charges a top-up in
//! WHMCS before Freebit adds the data, in a step journal completed by a job.

mod domain;
pub mod erasure;
mod error;
mod freebit;
mod plan_change;
mod plans;
pub mod privacy_export;
mod repo;
mod routes;
mod service;
mod top_up;
mod whmcs;

#[cfg(test)]
mod proptests;

use actix_web::web;
use utoipa::OpenApi;

use sqlx::PgPool;

use crate::cache::Cache;
use crate::config::{JobSettings, SubscriptionSettings};
use crate::http::resource;
use crate::integrations::freebit::FreebitClient;
use crate::integrations::whmcs::WhmcsClient;
use crate::jobs::Runner;

/// The plan codes (and monthly quotas) a plan change accepts.
pub use plans::PLANS;

pub use plan_change::ApplyPlanChange;
pub use top_up::ApplyTopUp;

/// What subscriptions need from the process, built once in `cli::build_state` and reached as
/// `state.subscriptions`: the WHMCS and Freebit clients, the cache (client currencies), the database (the
/// top-up journal) and the settings (top-up price and cap, job attempts).
#[derive(Clone)]
pub struct Subscriptions {
    whmcs: WhmcsClient,
    freebit: FreebitClient,
    cache: Cache,
    db: PgPool,
    settings: SubscriptionSettings,
    jobs: JobSettings,
}

impl Subscriptions {
    pub fn new(
        whmcs: WhmcsClient,
        freebit: FreebitClient,
        cache: Cache,
        db: PgPool,
        settings: SubscriptionSettings,
        jobs: JobSettings,
    ) -> Self {
        Self {
            whmcs,
            freebit,
            cache,
            db,
            settings,
            jobs,
        }
    }
}

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list,
        routes::get,
        routes::sim,
        routes::top_up,
        routes::plan_change,
        routes::suspend,
        routes::resume,
    ),
    components(schemas(
        domain::Subscription,
        domain::SubscriptionStatus,
        domain::BillingCycle,
        domain::SubscriptionList,
        domain::SimLine,
        domain::SimStatus,
        domain::PendingPlanChange,
        domain::DataUsage,
        domain::SimAction,
        domain::SimActionResult,
        domain::SimActionOutcome,
        routes::TopUpRequest,
        routes::PlanChangeRequest,
        crate::money::Money,
    )),
    tags((name = "subscriptions", description = "The customer's subscriptions and SIM lines: data, top-ups, plan changes, suspension"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/subscriptions").route(web::get().to(routes::list)))
        .service(resource("/subscriptions/{id}").route(web::get().to(routes::get)))
        .service(resource("/subscriptions/{id}/sim").route(web::get().to(routes::sim)))
        .service(resource("/subscriptions/{id}/sim/top-ups").route(web::post().to(routes::top_up)))
        .service(
            resource("/subscriptions/{id}/sim/plan-changes")
                .route(web::post().to(routes::plan_change)),
        )
        .service(resource("/subscriptions/{id}/sim/suspend").route(web::post().to(routes::suspend)))
        .service(resource("/subscriptions/{id}/sim/resume").route(web::post().to(routes::resume)));
}

/// Registers this context's jobs: completing paid top-ups and billed plan changes.
pub fn jobs(runner: Runner, subscriptions: &Subscriptions) -> anyhow::Result<Runner> {
    let (for_top_ups, for_plans) = (subscriptions.clone(), subscriptions.clone());
    Ok(runner
        .register(move |job, ctx| top_up::run(for_top_ups.clone(), job, ctx))
        .register(move |job, ctx| plan_change::run(for_plans.clone(), job, ctx)))
}

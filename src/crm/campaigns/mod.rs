//! Campaigns (issue 13 part B, docs/crm/campaigns.md): a template sent to a segment. A draft is launched
//! (`Idempotency-Key`; the template's version pinned), its audience frozen at `send_at` into one recipient
//! row per member (`queued`, or `suppressed` with the send path's reason), then delivered by a job through
//! the one send path ([`crate::crm::messages::send`]) at the campaign's shared throttle, retrying retryable
//! failures up to its limit. Complete only when no recipient is left queued or deferred.

mod delivery;
mod demo;
mod freeze;
pub mod model;
mod person;
mod recipients;
mod repo;
mod routes;
mod routes_actions;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

pub use delivery::{DeliverCampaign, MERGED, RunEnd, deliver, message_key};
pub use demo::{NAME as DEMO_CAMPAIGN, ensure_demo_campaign};
pub use freeze::{FreezeCampaign, Frozen, freeze};
pub use model::{Campaign, Counts, Status};

use crate::config::{CampaignSettings, JobSettings};
use crate::crm::messages::Messages;
use crate::http::resource;
use crate::jobs::Runner;
use crate::state::AppState;

/// What the campaign routes and jobs need: the pool, the send path (its clock and throttle), the job
/// settings (to enqueue) and `[crm.campaigns]`.
#[derive(Clone)]
pub struct Campaigns {
    db: PgPool,
    messages: Messages,
    jobs: JobSettings,
    settings: CampaignSettings,
}

impl Campaigns {
    pub fn new(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            messages: state.messages.clone(),
            jobs: state.settings.jobs.clone(),
            settings: state.settings.crm.campaigns.clone(),
        }
    }

    /// The send path's clock: freeze, leases, back-off and quiet hours all read the same time.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.messages.clock().now()
    }
}

/// Start-up checks of `[crm.campaigns]`: `Err((key, why))`.
pub fn check_settings(settings: &CampaignSettings) -> Result<(), (String, String)> {
    let fail = |key: &str, why: &str| Err((format!("crm.campaigns.{key}"), why.to_owned()));
    if !(settings.max_throttle_per_sec.is_finite() && settings.max_throttle_per_sec >= 0.1) {
        return fail("max_throttle_per_sec", "must be at least 0.1");
    }
    if settings.max_retry_limit > 100 {
        return fail("max_retry_limit", "must be 0–100");
    }
    for (key, value, max) in [
        ("batch_size", settings.batch_size, 10_000),
        ("concurrency", settings.concurrency, 256),
        ("lease_secs", settings.lease_secs, 86_400),
        ("batches_per_run", settings.batches_per_run, 100_000),
    ] {
        if !(1..=max).contains(&value) {
            return fail(key, &format!("must be 1–{max}"));
        }
    }
    if settings.retry_base_ms == 0 || settings.retry_max_ms < settings.retry_base_ms {
        return fail("retry_base_ms", "must be positive and at most retry_max_ms");
    }
    Ok(())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create,
        routes::list,
        routes::get,
        routes::replace,
        routes::delete,
        routes::recipient_page,
        routes_actions::launch,
        routes_actions::pause,
        routes_actions::resume,
        routes_actions::cancel,
    ),
    components(schemas(
        model::Campaign,
        model::Status,
        model::Counts,
        routes::CampaignRequest,
        routes::CampaignList,
        routes::RecipientPage,
        recipients::Recipient,
    ))
)]
pub struct CampaignsDoc;

/// Merges [`CampaignsDoc`] into the CRM's part of the document.
pub struct CampaignsModifier;

impl utoipa::Modify for CampaignsModifier {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(CampaignsDoc::openapi());
    }
}

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/brands/{brand}/crm/campaigns";
    cfg.service(
        resource(base)
            .route(web::post().to(routes::create))
            .route(web::get().to(routes::list)),
    )
    .service(
        resource(&format!("{base}/{{id}}"))
            .route(web::get().to(routes::get))
            .route(web::put().to(routes::replace))
            .route(web::delete().to(routes::delete)),
    )
    .service(
        resource(&format!("{base}/{{id}}/recipients")).route(web::get().to(routes::recipient_page)),
    )
    .service(
        resource(&format!("{base}/{{id}}/launch")).route(web::post().to(routes_actions::launch)),
    )
    .service(resource(&format!("{base}/{{id}}/pause")).route(web::post().to(routes_actions::pause)))
    .service(
        resource(&format!("{base}/{{id}}/resume")).route(web::post().to(routes_actions::resume)),
    )
    .service(
        resource(&format!("{base}/{{id}}/cancel")).route(web::post().to(routes_actions::cancel)),
    );
}

/// The freeze and delivery queues.
pub fn jobs(runner: Runner, state: &AppState) -> Runner {
    let freezer = Campaigns::new(state);
    let deliverer = freezer.clone();
    runner
        .register(move |job, ctx| freeze::run(freezer.clone(), job, ctx))
        .register(move |job, ctx| delivery::run(deliverer.clone(), job, ctx))
}

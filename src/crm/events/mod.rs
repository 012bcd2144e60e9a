//! Events in, activities out: `POST …/crm/events` (batches of checked events applied in one transaction,
//! de-duplicated on the sender's id), the counters every activity keeps up to date, the after-event hooks,
//! the timeline (`GET …/crm/profiles/{id}/activities`), and the portal's own facts fed through the same path
//! ([`PortalFeed`]).

mod apply;
mod coalesce;
mod docs;
mod hooks;
mod portal;
mod routes;
mod schema;
mod timeline;
mod write;

use actix_web::web;
use utoipa::OpenApi;

pub use apply::{EventResult, EventStatus};
pub use coalesce::{Busy, Lanes};
pub use hooks::{AfterEvent, AppliedEvent, Change, HookFailed, Hooks, Touched};
pub use portal::{PortalFeed, TOPICS};
pub use schema::{MAX_BATCH, MAX_PROPERTIES_BYTES};

use crate::http::resource;

/// The body limit of `POST …/crm/events` alone: 1,000 events of ordinary size fit (the server's default
/// limit, `server.body_limit_bytes`, is kept for every other route).
pub const BODY_LIMIT_BYTES: usize = 4 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    paths(routes::ingest, routes::timeline),
    components(schemas(
        routes::BatchResult,
        apply::EventResult,
        apply::EventStatus,
        timeline::Activity,
        timeline::ActivityPage,
        docs::Event,
        docs::Amount,
        docs::PurchaseItem,
        docs::Purchase,
        docs::Booking,
        docs::EventAttended,
        docs::EmailOpened,
        docs::EmailClicked,
        docs::PageView,
        docs::SupportCaseOpened,
        docs::OrderProvisioned,
        docs::InvoicePaid,
    ))
)]
pub struct EventsDoc;

/// Merges [`EventsDoc`] into the CRM's part of the document.
pub struct Doc;

impl utoipa::Modify for Doc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(EventsDoc::openapi());
    }
}

/// The internal sources whose single events share batches (journeys' actions: thousands of enrollments step
/// at once). Clienteling's arrive one at a time from the outbox dispatcher, which holds its transaction
/// meanwhile: a lane would add a hop and no company. The message ledger's outcomes stay direct: a campaign's
/// send rate was the same with them coalesced (144/s) as without (152/s, debug build), and a full lane would
/// cost an outcome's activity that nothing records again.
const COALESCED_SOURCES: &[&str] = &["journeys"];

/// Applies events the CRM's own contexts produce (raw JSON, checked like the API's) in the brand, as
/// `source` (the message ledger's outcomes and receipts, clienteling's interactions): one result per event,
/// in order. An invalid event is `rejected` with its errors (the caller's bug, which it logs); the valid ones
/// beside it are applied all the same. A single event of a [`COALESCED_SOURCES`] source shares a batch with
/// others of its lane (`coalesce.rs`).
pub async fn apply_internal(
    crm: &crate::crm::Crm,
    brand: &crate::brands::Brand,
    raw: &[serde_json::Value],
    source: &str,
) -> anyhow::Result<Vec<EventResult>> {
    let now = chrono::Utc::now();
    let mut checked: Vec<apply::Checked> = raw
        .iter()
        .enumerate()
        .map(|(index, event)| match schema::check(index, event, now) {
            Ok(valid) => apply::Checked::Valid(Box::new(valid)),
            Err(errors) => apply::Checked::Invalid {
                id: event["id"].as_str().map(str::to_owned),
                errors,
            },
        })
        .collect();
    if COALESCED_SOURCES.contains(&source)
        && let [apply::Checked::Valid(_)] = checked.as_slice()
        && let Some(event) = checked.pop()
    {
        return Ok(vec![
            crm.lanes().apply_one(crm, brand, event, source).await?,
        ]);
    }
    apply::apply(crm, brand, checked, source).await
}

pub fn routes_events(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands/{brand}/crm/events")
            .app_data(crate::errors::json_config(BODY_LIMIT_BYTES))
            .route(web::post().to(routes::ingest)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/activities")
            .route(web::get().to(routes::timeline)),
    );
}

/// Checks an event from an internal source (an outbox sink) as the events API checks one.
pub fn check_internal(
    raw: &serde_json::Value,
) -> Result<schema::ValidEvent, Vec<crate::errors::FieldError>> {
    schema::check(0, raw, chrono::Utc::now())
}

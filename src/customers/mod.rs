//! The portal account: a customer's links to their WHMCS client and Salesforce Account/Contact, and their
//! profile (`/me`) merged from both systems.
//!
//! This module is the context's published interface: other contexts read a customer's links through
//! [`links_for`] (or [`require_links`] in a handler), never the `customer_links` table.

mod domain;
mod error;
mod linking;
mod links;
mod routes;
mod salesforce;
mod updates;
mod validation;
mod whmcs;

use actix_web::web;
use sqlx::PgConnection;
use utoipa::OpenApi;
use uuid::Uuid;

pub use error::CustomerError;
pub use links::{CustomerLinks, LinkLookupError, LinkStatus, links_for, require_links};

use crate::config::JobSettings;
use crate::http::resource;
use crate::jobs::Runner;
use crate::state::AppState;

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(routes::get_me, routes::update_me),
    components(schemas(
        domain::Profile, domain::Address, LinkStatus, domain::ProfileUpdate, domain::SystemStatuses,
        domain::SystemUpdateStatus, domain::UpdateStatus, routes::UpdateProfileRequest, routes::AddressInput,
    )),
    tags((name = "customers", description = "The signed-in customer's profile, merged from billing and CRM"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/me")
            .route(web::get().to(routes::get_me))
            .route(web::patch().to(routes::update_me)),
    );
}

/// Registers this context's jobs: linking a new customer, and retrying a profile change.
pub fn jobs(runner: Runner, state: &AppState) -> anyhow::Result<Runner> {
    let linker = linking::Linker {
        pool: state.db.clone(),
        whmcs: state.whmcs.clone(),
        salesforce: state.salesforce.clone(),
    };
    let profile_sync = updates::ProfileSync::from_state(state);
    Ok(runner
        .register(move |job, ctx| {
            let linker = linker.clone();
            async move { linker.run(job, ctx).await }
        })
        .register(move |job, ctx| {
            let sync = profile_sync.clone();
            async move { sync.run(job, ctx).await }
        }))
}

/// Called in the registration transaction: the account exists with its linking job, or neither does.
pub async fn on_registered(
    conn: &mut PgConnection,
    jobs: &JobSettings,
    user_id: Uuid,
) -> anyhow::Result<()> {
    links::create_pending(conn, user_id).await?;
    crate::jobs::enqueue(conn, jobs, &linking::LinkCustomer { user_id }, None).await
}

/// Records a customer's links directly (the seed's demo customer, tests); a link already complete is left
/// as it is.
pub async fn record_links(
    conn: &mut PgConnection,
    links: &CustomerLinks,
) -> Result<(), sqlx::Error> {
    links::record(conn, links).await
}

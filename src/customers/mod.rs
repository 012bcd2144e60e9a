//! The portal account: a customer's links to their WHMCS client and Salesforce Account/Contact, and their
//! profile (`/me`) merged from both systems.
//!
//! This module is the context's published interface: other contexts read a customer's links through
//! [`links_for`] (or [`require_links`] in a handler), never the `customer_links` table.
//!
//! `domain` holds the links and the profile; `repo` the tables (`customer_links`, `profile_updates`);
//! `links` the lookup; `linking` the job linking a new customer; `service` the use cases (a profile change);
//! `sync` writes a profile change to both systems and retries it; `whmcs` and `salesforce` are each system's raw types and mappers; `routes` is the
//! HTTP surface, `validation` its body checks.

mod domain;
pub mod erasure;
mod error;
mod linking;
mod links;
pub mod privacy_export;
mod repo;
mod routes;
mod salesforce;
mod service;
mod sync;
mod validation;
mod whmcs;
mod whmcs_proof;

#[cfg(test)]
mod proptests;

use actix_web::web;
use sqlx::{PgConnection, PgPool};
use utoipa::OpenApi;
use uuid::Uuid;

pub use domain::{CustomerLinks, LinkStatus};
pub use error::CustomerError;
pub use links::{LinkLookupError, links_for, require_links};
pub use whmcs_proof::whmcs_login_proves;

use crate::config::JobSettings;
use crate::http::resource;
use crate::integrations::salesforce::SalesforceClient;
use crate::integrations::whmcs::WhmcsClient;
use crate::jobs::Runner;

/// What the customers context needs from the process, built once in `cli::build_state` and reached as
/// `state.customers`: the pool (its tables, the account it reads from auth), the job settings (a profile
/// change enqueues its retry job), and the WHMCS and Salesforce clients the profile is read from and written
/// to.
#[derive(Clone)]
pub struct Customers {
    db: PgPool,
    jobs: JobSettings,
    whmcs: WhmcsClient,
    salesforce: SalesforceClient,
}

impl Customers {
    pub fn new(
        db: PgPool,
        jobs: &JobSettings,
        whmcs: WhmcsClient,
        salesforce: SalesforceClient,
    ) -> Self {
        Self {
            db,
            jobs: jobs.clone(),
            whmcs,
            salesforce,
        }
    }
}

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(routes::get_me, routes::update_me),
    components(schemas(
        domain::Profile, domain::Address, LinkStatus, domain::ProfileUpdate, domain::SystemStatuses,
        domain::SystemUpdateStatus, domain::UpdateStatus, routes::UpdateProfileRequest, routes::AddressInput,
        domain::UnavailableSource, domain::ProfileSystem, domain::ProfileField, domain::UnavailableReason,
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
pub fn jobs(runner: Runner, customers: &Customers) -> anyhow::Result<Runner> {
    let (for_linking, for_sync) = (customers.clone(), customers.clone());
    Ok(runner
        .register(move |job, ctx| {
            let customers = for_linking.clone();
            async move { linking::run(&customers, job, ctx).await }
        })
        .register(move |job, ctx| {
            let customers = for_sync.clone();
            async move { sync::run(&customers, job, ctx).await }
        }))
}

/// Called in the registration transaction: the customer exists, unverified, and nothing is linked or looked
/// up until they prove control of their email ([`on_verified`]).
pub async fn on_registered(conn: &mut PgConnection, user_id: Uuid) -> anyhow::Result<()> {
    repo::create_unverified(conn, user_id).await?;
    Ok(())
}

/// Called in the verification transaction: linking starts, once. A second call (a replayed or concurrent
/// verification) finds the row past `unverified` and enqueues nothing.
pub async fn on_verified(
    conn: &mut PgConnection,
    jobs: &JobSettings,
    user_id: Uuid,
) -> anyhow::Result<()> {
    if repo::start_linking(conn, user_id).await? {
        crate::jobs::enqueue(conn, jobs, &linking::LinkCustomer { user_id }, None).await?;
    }
    Ok(())
}

/// Records a customer's links (the linking job, the seed's demo customer, tests); a link already complete
/// is left as it is. Completing one records `customer.linked` in the outbox on the same connection (pass a
/// transaction), which the CRM reads to make the customer a profile of the portal brand.
pub async fn record_links(conn: &mut PgConnection, links: &CustomerLinks) -> anyhow::Result<()> {
    if repo::record_links(conn, links).await? {
        crate::outbox::record(
            conn,
            crate::outbox::NewEvent {
                topic: "customer.linked",
                aggregate_type: "customer",
                aggregate_id: links.user_id.to_string(),
                payload: serde_json::json!({
                    "user_id": links.user_id,
                    "whmcs_client_id": links.whmcs_client_id,
                    "salesforce_account_id": links.salesforce_account_id,
                    "salesforce_contact_id": links.salesforce_contact_id,
                }),
            },
        )
        .await?;
    }
    Ok(())
}

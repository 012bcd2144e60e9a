//! The catalog context: the products a customer may order, read from Salesforce (`Product2` with
//! `Portal_Catalog__c = true` and active, priced from the portal's price book), served from a Redis snapshot
//! (see [`snapshot`]), refreshed nightly by [`SyncCatalog`] and on demand by an admin.
//!
//! Reading the catalog needs a signed-in customer: the portal shows it behind the login, and it carries
//! contract prices nobody else needs to scrape.

mod domain;
mod routes;
mod salesforce;
mod snapshot;

#[cfg(test)]
mod proptests;

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

pub use domain::{BillingCycle, CatalogProduct, CatalogSnapshot, SimDetails};
pub use routes::STALE_HEADER;
pub use snapshot::FRESH_KEY;

use crate::cache::Cache;
use crate::config::CatalogSettings;
use crate::errors::ApiError;
use crate::http::resource;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::SalesforceClient;
use crate::jobs::{Job, JobContext, Runner};

/// What the catalog needs from the process, built once in `cli::build_state` and reached as `state.catalog`:
/// the Salesforce client it reads products from, the cache holding the snapshot, and its settings (price
/// book, TTL, sync schedule). Other contexts hold a clone to call [`find_by_sku`].
#[derive(Clone)]
pub struct Catalog {
    salesforce: SalesforceClient,
    cache: Cache,
    settings: CatalogSettings,
}

impl Catalog {
    pub fn new(settings: &CatalogSettings, salesforce: SalesforceClient, cache: Cache) -> Self {
        Self {
            salesforce,
            cache,
            settings: settings.clone(),
        }
    }

    /// The Salesforce price book the catalog's prices come from (orders price their lines from it too).
    pub fn pricebook_name(&self) -> &str {
        &self.settings.pricebook_name
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Salesforce could not be read and no snapshot could stand in for it.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            // Unavailable or rate limited → 503 with Retry-After; an error answer or a malformed one → 502.
            CatalogError::Provider(error) => error.into(),
        }
    }
}

/// The catalog product with this sku, for other contexts (orders keep its WHMCS product id and price).
/// Served like the API serves it: from the cached snapshot, else Salesforce, else the last good snapshot.
/// `Ok(None)` when no active portal product has this sku.
pub async fn find_by_sku(
    catalog: &Catalog,
    sku: &str,
) -> Result<Option<CatalogProduct>, CatalogError> {
    if !crate::types::Sku::is_valid(sku) {
        return Ok(None);
    }
    let served = snapshot::current(catalog).await?;
    Ok(served.snapshot.find(sku).cloned())
}

/// Reads the catalog from Salesforce now and replaces the cached snapshot; on failure the cached snapshot
/// stays.
pub async fn refresh_now(catalog: &Catalog) -> Result<CatalogSnapshot, CatalogError> {
    snapshot::refresh(catalog).await
}

/// The scheduled refresh of the catalog from Salesforce (`catalog.sync_cron`, nightly by default).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncCatalog {
    pub scheduled_for: chrono::DateTime<chrono::Utc>,
}

impl Job for SyncCatalog {
    const QUEUE: &'static str = "concierge.catalog.sync";
}

/// Runs [`SyncCatalog`]. A failure (Salesforce down) is retried with the runner's back-off; the cached
/// snapshot keeps being served meanwhile.
pub async fn run_sync(catalog: Catalog, job: SyncCatalog, ctx: JobContext) -> anyhow::Result<()> {
    let snapshot = refresh_now(&catalog).await?;
    tracing::info!(
        scheduled_for = %job.scheduled_for,
        attempt = ctx.attempt,
        products = snapshot.products.len(),
        "catalog synchronised from Salesforce"
    );
    Ok(())
}

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(routes::list_products, routes::get_product, routes::sync),
    components(schemas(
        routes::ProductView, routes::ProductPage, routes::ProductDetail, routes::SyncResult,
        BillingCycle, SimDetails, crate::money::Money,
    )),
    tags((name = "catalog", description = "Products customers may order, from Salesforce, cached in Redis"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/catalog/products").route(web::get().to(routes::list_products)))
        .service(resource("/catalog/products/{sku}").route(web::get().to(routes::get_product)))
        .service(resource("/admin/catalog/sync").route(web::post().to(routes::sync)));
}

/// Registers this context's jobs: the catalog sync, on its schedule.
pub fn jobs(runner: Runner, catalog: &Catalog) -> anyhow::Result<Runner> {
    let handle = catalog.clone();
    runner
        .register(move |job, ctx| run_sync(handle.clone(), job, ctx))
        .schedule("catalog-sync", &catalog.settings.sync_cron, |tick| {
            SyncCatalog {
                scheduled_for: tick,
            }
        })
}

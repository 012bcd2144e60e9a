//! The brands' product catalogues: Salesforce `Product2` records (the brand's slug in `Brand__c`, the price
//! from the Standard Price Book) synced into `clienteling_products` by a job — nightly through a replica-safe
//! cron for the configured brands, and on demand — and searched there (`search`), never in Salesforce.
//!
//! Published: [`Catalogue`] (the sync's handle), [`products_by_sku`] (what interaction enrichment reads),
//! [`enqueue_sync`] / [`sync_now`] (the seed and tests), the jobs and the routes.

mod enrichment;
mod routes;
mod runs;
mod search;
mod store;
mod sync;
mod wire;

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use enrichment::CatalogueProducts;
pub use routes::{Product, ProductPage};
pub use runs::{Run, Trigger};
pub use store::ProductRow;

use crate::config::{CatalogueSettings, JobSettings};
use crate::http::resource;
use crate::integrations::salesforce::SalesforceClient;
use crate::jobs::{self, Job, JobContext, Runner};

/// What the sync needs, reached as `state.clienteling.catalogue()`.
#[derive(Clone)]
pub struct Catalogue {
    db: PgPool,
    salesforce: SalesforceClient,
    jobs: JobSettings,
    settings: CatalogueSettings,
}

impl Catalogue {
    pub fn new(
        db: PgPool,
        salesforce: SalesforceClient,
        jobs: JobSettings,
        settings: CatalogueSettings,
    ) -> Self {
        Self {
            db,
            salesforce,
            jobs,
            settings,
        }
    }
}

/// One run of one brand's sync.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncCatalogue {
    pub run_id: Uuid,
}

impl Job for SyncCatalogue {
    const QUEUE: &'static str = "concierge.clienteling.catalogue.sync";
}

/// The nightly tick: a run for every configured brand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduledCatalogueSync {
    pub scheduled_for: DateTime<Utc>,
}

impl Job for ScheduledCatalogueSync {
    const QUEUE: &'static str = "concierge.clienteling.catalogue.schedule";
}

/// Opens a run of the brand's sync and enqueues its job, in the caller's transaction; when a run is queued
/// or running already, that one's id (and nothing new is enqueued).
pub async fn enqueue_sync(
    conn: &mut PgConnection,
    settings: &JobSettings,
    brand_id: Uuid,
    brand_slug: &str,
    trigger: Trigger,
    requested_by: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    let (run_id, opened) = runs::open(conn, brand_id, brand_slug, trigger, requested_by).await?;
    if opened {
        jobs::enqueue(conn, settings, &SyncCatalogue { run_id }, None).await?;
    }
    Ok(run_id)
}

/// Runs a brand's sync in this process and answers the finished run (the demo seed; tests).
pub async fn sync_now(
    catalogue: &Catalogue,
    brand_id: Uuid,
    brand_slug: &str,
    trigger: Trigger,
) -> anyhow::Result<Run> {
    let mut conn = catalogue.db.acquire().await?;
    let (run_id, _) = runs::open(&mut conn, brand_id, brand_slug, trigger, None).await?;
    drop(conn);
    let context = JobContext {
        task_id: format!("inline-{run_id}"),
        attempt: 1,
        max_attempts: 1,
    };
    sync::run(catalogue.clone(), SyncCatalogue { run_id }, context).await?;
    let mut conn = catalogue.db.acquire().await?;
    runs::get(&mut conn, brand_id, run_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("catalogue run {run_id} vanished"))
}

/// The brand's products with these SKUs, inactive ones included (an interaction may name a retired product).
pub async fn products_by_sku(
    conn: &mut PgConnection,
    brand_id: Uuid,
    skus: &[String],
) -> Result<Vec<ProductRow>, sqlx::Error> {
    store::by_skus(conn, brand_id, skus).await
}

/// The nightly tick's job: a run (or the live one) for every configured brand.
pub async fn run_schedule(
    catalogue: &Catalogue,
    _job: ScheduledCatalogueSync,
) -> anyhow::Result<()> {
    let mut tx = catalogue.db.begin().await?;
    for slug in &catalogue.settings.brands {
        let Some(brand) = crate::brands::find(&mut *tx, slug).await? else {
            tracing::warn!(brand = %slug, "catalogue sync configured for a brand that does not exist");
            continue;
        };
        enqueue_sync(
            &mut tx,
            &catalogue.jobs,
            brand.id,
            &brand.slug,
            Trigger::Schedule,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub fn jobs(runner: Runner, catalogue: &Catalogue) -> anyhow::Result<Runner> {
    let for_sync = catalogue.clone();
    let for_schedule = catalogue.clone();
    runner
        .register(move |job: SyncCatalogue, ctx| sync::run(for_sync.clone(), job, ctx))
        .register(move |job: ScheduledCatalogueSync, _ctx| {
            let catalogue = for_schedule.clone();
            async move { run_schedule(&catalogue, job).await }
        })
        .schedule(
            "clienteling.catalogue",
            &catalogue.settings.sync_cron,
            |tick| ScheduledCatalogueSync {
                scheduled_for: tick,
            },
        )
}

/// Mounted by `clienteling::routes`, the fixed `sync` paths before `{id}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/brands/{brand}/clienteling/products";
    cfg.service(resource(BASE).route(web::get().to(routes::search_products)))
        .service(resource(&format!("{BASE}/sync")).route(web::post().to(routes::request_sync)))
        .service(resource(&format!("{BASE}/sync/{{run}}")).route(web::get().to(routes::get_sync)))
        .service(resource(&format!("{BASE}/{{id}}")).route(web::get().to(routes::get_product)));
}

/// The OpenAPI paths and schemas, listed in `clienteling::ApiDoc`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        routes::search_products,
        routes::get_product,
        routes::request_sync,
        routes::get_sync
    ),
    components(schemas(routes::Product, routes::ProductPage, runs::Run))
)]
pub struct ApiDoc;

/// The demo seed: syncs the configured brands' catalogues from the sandbox now; when Salesforce cannot be
/// reached, the sync is queued for the job runner instead (the seed never fails for it).
pub async fn seed_demo(
    pool: &PgPool,
    settings: &crate::config::Settings,
) -> anyhow::Result<Vec<String>> {
    let salesforce = SalesforceClient::new(&settings.providers)?;
    let catalogue = Catalogue::new(
        pool.clone(),
        salesforce,
        settings.jobs.clone(),
        settings.clienteling.catalogue.clone(),
    );
    let mut lines = Vec::new();
    for slug in &settings.clienteling.catalogue.brands {
        let Some(brand) = crate::brands::find(pool, slug).await? else {
            continue;
        };
        match sync_now(&catalogue, brand.id, &brand.slug, Trigger::Seed).await {
            Ok(run) => lines.push(format!(
                "synced {slug}'s catalogue: {} products taken in, {} skipped",
                run.created + run.updated + run.unchanged,
                run.skipped
            )),
            Err(error) => {
                let mut tx = pool.begin().await?;
                enqueue_sync(
                    &mut tx,
                    &settings.jobs,
                    brand.id,
                    &brand.slug,
                    Trigger::Seed,
                    None,
                )
                .await?;
                tx.commit().await?;
                lines.push(format!(
                    "{slug}'s catalogue sync queued for the server (Salesforce: {error:#})"
                ));
            }
        }
    }
    Ok(lines)
}

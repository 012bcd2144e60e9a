//! Data-subject requests (SPEC §4.4, privacy): a person's export or erasure, each a request with a legal
//! due date, who asked, and one step per part or system with its status, attempts and receipt. See
//! `docs/privacy.md`.
//!
//! An export gathers one JSON file set per part: each context publishes its own export function, and
//! [`parts::standard`] registers them (a context never reads another's tables). The job
//! ([`export_job`]) assembles one zip, kept in `privacy_archives` until it expires and served through a
//! signed link ([`link`]). An erasure ([`erase_job`]) runs the contexts' erasure functions as steps, in
//! stages, each completed with its system's receipt.
//!
//! Published: the handle [`Privacy`], the part registry ([`Parts`], [`ExportFile`], [`ExportPart`]), what
//! the erasure fan-out records its requests and receipts with ([`create_request`] with [`Kind::Erasure`] and
//! its systems as parts, [`record_receipt`]), the routes, jobs and `ApiDoc`.

pub mod archive;
pub mod erase_job;
pub mod export_job;
pub mod link;
mod model;
pub mod parts;
mod purge;
mod repo;
mod routes;
mod routes_resume;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

pub use model::{Kind, PrivacyRequest, Receipt, Requester};
pub use parts::{ExportFile, ExportPart, Parts, Scope, Subject};
pub use repo::{NewRequest, insert_request as create_request, record_receipt};

use crate::config::{JobSettings, PrivacySettings};
use crate::http::resource;
use crate::jobs::Runner;

/// What privacy requests need from the process, reached as `state.privacy`.
#[derive(Clone)]
pub struct Privacy {
    db: PgPool,
    jobs: JobSettings,
    settings: PrivacySettings,
    parts: Parts,
    links: link::LinkSigner,
    public_url: String,
    eraser: Eraser,
}

/// What the erasure job reaches the other systems with (each through its context's erasure functions).
#[derive(Clone)]
pub struct Eraser {
    pub clienteling: crate::clienteling::Clienteling,
    pub salesforce: crate::integrations::salesforce::SalesforceClient,
    pub whmcs: crate::integrations::whmcs::WhmcsClient,
    pub messaging: crate::integrations::messaging::MessagingClient,
    pub contact_erasure: crate::config::ContactErasure,
}

impl Privacy {
    pub fn new(
        db: PgPool,
        jobs: JobSettings,
        settings: PrivacySettings,
        public_url: &str,
        parts: Parts,
        eraser: Eraser,
    ) -> Self {
        Self {
            links: link::LinkSigner::new(&settings.download_key),
            db,
            jobs,
            settings,
            parts,
            public_url: public_url.trim_end_matches('/').to_owned(),
            eraser,
        }
    }

    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The download link of an archive expiring at `expires_at`.
    pub fn download_url(
        &self,
        request_id: uuid::Uuid,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        format!(
            "{}/api/v1/privacy/downloads/{}",
            self.public_url,
            self.links.sign(request_id, expires_at)
        )
    }
}

/// Registers the export and erasure jobs and the nightly purge of expired archives.
pub fn jobs(runner: Runner, privacy: &Privacy) -> anyhow::Result<Runner> {
    let exporting = privacy.clone();
    let erasing = privacy.clone();
    let purging = privacy.clone();
    runner
        .register(move |job, ctx| export_job::run(exporting.clone(), job, ctx))
        .register(move |job, ctx| erase_job::run(erasing.clone(), job, ctx))
        .register(move |job, ctx| purge::run(purging.clone(), job, ctx))
        .schedule("privacy-purge", &privacy.settings.purge_cron, |tick| {
            purge::PurgeArchives {
                scheduled_for: tick,
            }
        })
}

/// Gives open requests whose job died for good a new one now (tests, operators): how many.
pub async fn restart_stalled_requests(privacy: &Privacy) -> anyhow::Result<u64> {
    purge::restart_stalled(privacy).await
}

/// Runs the purge now (tests, operators): how many archives went.
pub async fn purge_expired_archives(privacy: &Privacy) -> Result<u64, sqlx::Error> {
    repo::purge_expired(&privacy.db).await
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::request_export,
        routes::request_erasure,
        routes::get_request,
        routes_resume::resume_request,
        routes::request_my_export,
        routes::request_my_erasure,
        routes::get_my_request,
        routes::download,
    ),
    components(schemas(
        model::Kind,
        model::Requester,
        model::Receipt,
        model::Step,
        model::Progress,
        model::Download,
        model::PrivacyRequest,
        routes::MyExportRequest,
        routes::MyErasureRequest,
        routes::Archive,
    )),
    tags((name = "privacy", description = "Data-subject requests: exports (and erasures) with a legal due date"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands/{brand}/crm/profiles/{id}/privacy/export")
            .route(web::post().to(routes::request_export)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/privacy/erase")
            .route(web::post().to(routes::request_erasure)),
    )
    .service(
        resource("/brands/{brand}/crm/privacy/requests/{id}")
            .route(web::get().to(routes::get_request)),
    )
    .service(
        resource("/brands/{brand}/crm/privacy/requests/{id}/resume")
            .route(web::post().to(routes_resume::resume_request)),
    )
    .service(resource("/me/privacy/export").route(web::post().to(routes::request_my_export)))
    .service(resource("/me/privacy/erase").route(web::post().to(routes::request_my_erasure)))
    .service(resource("/me/privacy/requests/{id}").route(web::get().to(routes::get_my_request)))
    .service(resource("/privacy/downloads/{token}").route(web::get().to(routes::download)));
}

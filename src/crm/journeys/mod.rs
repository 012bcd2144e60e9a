//! Journeys (issue 13 part C, docs/crm/journeys.md): a trigger (an event with a property filter, or entry
//! into a segment), a graph of steps (wait, condition, send, update_attribute, add_tag, emit), exit rules and
//! a re-entry policy, versioned on publish; enrollments run by the job runner, each step recorded with its
//! outcome, waits as delayed jobs, each action idempotent per enrollment and step.

pub mod definition;
mod demo;
mod engine;
mod person;
mod refs;
pub mod repo;
mod routes;
mod routes_enrollments;
mod trigger;

use std::sync::Arc;

use actix_web::web;
use utoipa::OpenApi;

pub use demo::{NAME as DEMO_JOURNEY, ensure_demo_journey};
pub use engine::{EMITTED, RunEnrollment};
pub use trigger::{EnrollProfile, JourneysHook, Refused, SegmentEntryFeed};

use crate::config::Settings;
use crate::crm::Crm;
use crate::crm::messages::Messages;
use crate::http::resource;
use crate::jobs::Runner;

/// The after-event hook enrolling and exiting profiles (registered by the CRM's handle).
pub fn hook(settings: &Settings) -> Arc<JourneysHook> {
    Arc::new(JourneysHook {
        jobs: settings.jobs.clone(),
    })
}

/// The outbox sink that enrolls profiles entering a segment (chained after the others in `cli`).
pub fn segment_feed(crm: &Crm, settings: &Settings) -> SegmentEntryFeed {
    SegmentEntryFeed {
        db: crm.db().clone(),
        jobs: settings.jobs.clone(),
    }
}

/// The enrollment and run queues.
pub fn jobs(
    runner: Runner,
    crm: &Crm,
    messages: &Messages,
    settings: &Settings,
) -> anyhow::Result<Runner> {
    let engine = engine::Engine {
        crm: crm.clone(),
        messages: messages.clone(),
        jobs: settings.jobs.clone(),
        settings: settings.crm.journeys.clone(),
    };
    let db = crm.db().clone();
    let jobs_settings = settings.jobs.clone();
    Ok(runner
        .register(move |job: EnrollProfile, _ctx| {
            let db = db.clone();
            let jobs_settings = jobs_settings.clone();
            async move {
                let mut tx = db.begin().await?;
                if trigger::enroll(&mut tx, &jobs_settings, &job)
                    .await?
                    .is_ok()
                {
                    tx.commit().await?;
                }
                Ok(())
            }
        })
        .register(move |job: RunEnrollment, ctx| {
            let engine = engine.clone();
            async move { engine.run(job, ctx).await }
        }))
}

/// Enrolls a profile now (tests, the demo and the benchmark; triggers use the job).
pub async fn enroll_now(
    crm: &Crm,
    settings: &Settings,
    job: &EnrollProfile,
) -> anyhow::Result<Result<uuid::Uuid, Refused>> {
    let mut tx = crm.db().begin().await?;
    let outcome = trigger::enroll(&mut tx, &settings.jobs, job).await?;
    tx.commit().await?;
    Ok(outcome)
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create,
        routes::list,
        routes::get,
        routes::replace,
        routes::delete,
        routes::publish,
        routes::pause,
        routes::resume,
        routes_enrollments::list,
        routes_enrollments::get,
        routes_enrollments::dry_run,
    ),
    components(schemas(
        definition::Definition,
        definition::Trigger,
        definition::Exit,
        definition::Reentry,
        definition::Step,
        repo::Journey,
        repo::Enrollment,
        repo::StepRecord,
        routes::JourneyRequest,
        routes::JourneyList,
        routes_enrollments::EnrollmentPage,
        routes_enrollments::EnrollmentDetail,
        routes_enrollments::DryRunRequest,
        routes_enrollments::DryRunStep,
        routes_enrollments::DryRun,
    ))
)]
pub struct JourneysDoc;

/// Merges [`JourneysDoc`] into the CRM's part of the document.
pub struct JourneysModifier;

impl utoipa::Modify for JourneysModifier {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(JourneysDoc::openapi());
    }
}

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/brands/{brand}/crm/journeys";
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
    .service(resource(&format!("{base}/{{id}}/publish")).route(web::post().to(routes::publish)))
    .service(resource(&format!("{base}/{{id}}/pause")).route(web::post().to(routes::pause)))
    .service(resource(&format!("{base}/{{id}}/resume")).route(web::post().to(routes::resume)))
    .service(
        resource(&format!("{base}/{{id}}/enrollments"))
            .route(web::get().to(routes_enrollments::list)),
    )
    .service(
        resource(&format!("{base}/{{id}}/dry-run"))
            .route(web::post().to(routes_enrollments::dry_run)),
    )
    .service(
        resource("/brands/{brand}/crm/enrollments/{id}")
            .route(web::get().to(routes_enrollments::get)),
    );
}

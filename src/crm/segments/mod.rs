//! Segments (issue 12): audiences of a brand's profiles, dynamic (a rule compiled to one SQL statement,
//! kept current by the after-event hook, full refreshes and a schedule for time-based rules) or static
//! (members added by hand), with the history of every entry and exit. See docs/crm/segments.md.

pub mod cli;
pub mod compile;
mod csv_reader;
mod csv_upload;
mod demo;
pub mod hook;
pub mod membership;
pub mod repo;
mod routes;
mod routes_members;
pub mod rule;
pub mod schedule;

use actix_web::web;
use utoipa::OpenApi;

use crate::http::resource;
use crate::jobs::Runner;

pub use demo::{SLUG as DEMO_SEGMENT, ensure_demo_segment};
pub use hook::SegmentsHook;
pub use membership::{Reason, RefreshReport};
pub use schedule::{ReevaluateSegments, reevaluate_time_based, refresh_with_dependents};

/// The live profiles that are members of the brand's segment now, in id order: what another context freezes
/// an audience from (brand events' invitations). A member since merged away is not listed (its survivor is,
/// once the segment has re-evaluated it), so one person appears once. `None` when the brand has no such
/// segment (or it was deleted).
pub async fn current_members(
    conn: &mut sqlx::PgConnection,
    brand_id: uuid::Uuid,
    segment_id: uuid::Uuid,
) -> sqlx::Result<Option<Vec<uuid::Uuid>>> {
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM crm_segments WHERE id = $1 AND brand_id = $2 AND deleted_at IS NULL) AS "exists!""#,
        segment_id,
        brand_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Ok(None);
    }
    let members = sqlx::query_scalar!(
        "SELECT p.id FROM crm_segment_members m
         JOIN crm_profiles p ON p.id = m.profile_id AND p.brand_id = $2 AND p.merged_into IS NULL
         WHERE m.segment_id = $1 AND m.brand_id = $2
         ORDER BY p.id",
        segment_id,
        brand_id
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(members))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create,
        routes::list,
        routes::get,
        routes::patch,
        routes::delete,
        routes::versions,
        routes::preview,
        routes::refresh,
        routes_members::members,
        routes_members::change_members,
        routes_members::history,
        routes_members::profile_segments,
        csv_upload::upload,
    ),
    components(schemas(
        repo::Segment,
        repo::Kind,
        repo::Version,
        routes::SegmentRequest,
        routes::SegmentPatch,
        routes::PreviewRequest,
        routes::Preview,
        routes::SampleProfile,
        routes::SegmentList,
        routes::VersionList,
        routes::RefreshResult,
        membership::RefreshReport,
        membership::Reason,
        routes_members::Member,
        routes_members::MemberPage,
        routes_members::MemberChange,
        routes_members::MemberChangeResult,
        routes_members::HistoryEntry,
        routes_members::HistoryPage,
        routes_members::ProfileSegment,
        routes_members::ProfileSegments,
        csv_upload::Report,
        csv_upload::RowProblem,
        csv_upload::Mode,
    ))
)]
pub struct SegmentsDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/brands/{brand}/crm/segments";
    cfg.service(
        resource(base)
            .route(web::post().to(routes::create))
            .route(web::get().to(routes::list)),
    )
    .service(resource(&format!("{base}/preview")).route(web::post().to(routes::preview)))
    .service(
        resource(&format!("{base}/{{id}}"))
            .route(web::get().to(routes::get))
            .route(web::patch().to(routes::patch))
            .route(web::delete().to(routes::delete)),
    )
    .service(resource(&format!("{base}/{{id}}/versions")).route(web::get().to(routes::versions)))
    .service(resource(&format!("{base}/{{id}}/refresh")).route(web::post().to(routes::refresh)))
    .service(
        resource(&format!("{base}/{{id}}/members"))
            .route(web::get().to(routes_members::members))
            .route(web::post().to(routes_members::change_members)),
    )
    .service(
        resource(&format!("{base}/{{id}}/members/csv"))
            .app_data(crate::errors::payload_config(csv_upload::BODY_LIMIT_BYTES))
            .route(web::post().to(csv_upload::upload)),
    )
    .service(
        resource(&format!("{base}/{{id}}/history")).route(web::get().to(routes_members::history)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/segments")
            .route(web::get().to(routes_members::profile_segments)),
    );
}

/// The schedule re-evaluating time-based rules.
pub fn jobs(
    runner: Runner,
    crm: &super::Crm,
    settings: &crate::config::SegmentSettings,
) -> anyhow::Result<Runner> {
    let pool = crm.db().clone();
    let timeout_ms = settings.refresh_timeout_ms;
    runner
        .register(move |job, ctx| schedule::run(pool.clone(), timeout_ms, job, ctx))
        .schedule("crm-segments", &settings.schedule_cron, |tick| {
            ReevaluateSegments {
                scheduled_for: tick,
            }
        })
}

/// Merges [`SegmentsDoc`] into the CRM's part of the document.
pub struct SegmentsModifier;

impl utoipa::Modify for SegmentsModifier {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(SegmentsDoc::openapi());
    }
}

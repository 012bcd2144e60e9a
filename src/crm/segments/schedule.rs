//! Full refreshes in dependency order (a segment, then the segments naming it), and the schedule that
//! re-evaluates time-based rules for everyone so members leave when their activity ages out.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::membership::{self, Reason, RefreshReport};
use super::repo::{self, Kind};
use crate::jobs::{Job, JobContext};

/// Refreshes `roots` and every segment naming them, each in its own transaction, dependencies first.
pub async fn refresh_with_dependents(
    pool: &PgPool,
    brand_id: Uuid,
    roots: &[Uuid],
    now: DateTime<Utc>,
    reason: Reason,
    timeout_ms: u64,
) -> anyhow::Result<Vec<RefreshReport>> {
    let mut conn = pool.acquire().await?;
    let graph = repo::graph(&mut conn, brand_id).await?;
    drop(conn);
    let include = repo::with_dependents(&graph, roots);
    let mut reports = Vec::new();
    for id in repo::dependency_order(&graph, &include) {
        let mut tx = pool.begin().await?;
        // The lock before the read: a deletion under way commits first and the segment is skipped, rather
        // than refreshed into members of a deleted segment.
        membership::lock(&mut tx, id, true).await?;
        let Some(segment) = repo::stored(&mut tx, brand_id, id).await? else {
            continue;
        };
        if segment.kind != Kind::Dynamic {
            continue;
        }
        let (_, report) =
            membership::refresh(&mut tx, brand_id, &segment, now, reason, timeout_ms).await?;
        tx.commit().await?;
        reports.push(report);
    }
    Ok(reports)
}

/// Re-evaluates every time-based dynamic segment of every brand (and the segments naming them) at `now`,
/// each refresh under `timeout_ms`.
pub async fn reevaluate_time_based(
    pool: &PgPool,
    now: DateTime<Utc>,
    timeout_ms: u64,
) -> anyhow::Result<Vec<RefreshReport>> {
    let mut conn = pool.acquire().await?;
    let brands = repo::brands_with_time_based(&mut conn).await?;
    let mut reports = Vec::new();
    for brand_id in brands {
        let segments = repo::all_stored(&mut conn, brand_id).await?;
        let roots: Vec<Uuid> = segments
            .iter()
            .filter(|s| s.kind == Kind::Dynamic && s.time_based)
            .map(|s| s.id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        reports.extend(
            refresh_with_dependents(pool, brand_id, &roots, now, Reason::Schedule, timeout_ms)
                .await?,
        );
    }
    Ok(reports)
}

/// The scheduled re-evaluation, one per tick across replicas.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReevaluateSegments {
    pub scheduled_for: DateTime<Utc>,
}

impl Job for ReevaluateSegments {
    const QUEUE: &'static str = "concierge.crm.segments.schedule";
}

pub async fn run(
    pool: PgPool,
    timeout_ms: u64,
    _job: ReevaluateSegments,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let reports = reevaluate_time_based(&pool, Utc::now(), timeout_ms).await?;
    let (entered, exited) = reports
        .iter()
        .fold((0, 0), |(e, x), r| (e + r.entered, x + r.exited));
    tracing::info!(
        segments = reports.len(),
        entered,
        exited,
        "time-based segments re-evaluated"
    );
    Ok(())
}

//! The nightly clean-up job: prunes what the foundation's tables accumulate.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::jobs::{Job, JobContext};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Housekeeping {
    pub scheduled_for: chrono::DateTime<chrono::Utc>,
}

impl Job for Housekeeping {
    const QUEUE: &'static str = "concierge.housekeeping";
}

pub async fn run(
    pool: PgPool,
    outbox_retention_days: i32,
    job: Housekeeping,
    ctx: JobContext,
) -> anyhow::Result<()> {
    let outbox = crate::outbox::prune_delivered(&pool, outbox_retention_days).await?;
    let idempotency_keys = crate::idempotency::prune_expired(&pool).await?;
    let ticks = sqlx::query!("DELETE FROM cron_ticks WHERE tick_at < now() - interval '7 days'")
        .execute(&pool)
        .await?
        .rows_affected();
    // apalis keeps finished jobs for ever; dead ones stay for an operator to look at.
    let jobs = sqlx::query(
        "DELETE FROM apalis.jobs WHERE status = 'Done' AND done_at < now() - interval '7 days'",
    )
    .execute(&pool)
    .await?
    .rows_affected();
    tracing::info!(
        scheduled_for = %job.scheduled_for,
        attempt = ctx.attempt,
        outbox,
        ticks,
        jobs,
        idempotency_keys,
        "housekeeping done"
    );
    Ok(())
}

//! Sync runs (`clienteling_catalogue_runs`) and the per-brand watermark (`clienteling_catalogue_state`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::wire::Skip;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Request,
    Schedule,
    Seed,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Request => "request",
            Trigger::Schedule => "schedule",
            Trigger::Seed => "seed",
        }
    }
}

/// A new run for the brand, or the live one when there is one already (`false`): requests never pile up.
pub async fn open(
    conn: &mut PgConnection,
    brand_id: Uuid,
    brand_slug: &str,
    trigger: Trigger,
    requested_by: Option<Uuid>,
) -> Result<(Uuid, bool), sqlx::Error> {
    // A run `running` while no process holds the brand's sync lock lost its worker (a crash on its last
    // attempt leaves no retry to finish it, and the live run would answer every request for ever): it is
    // marked failed, and a new one opened.
    sqlx::query!(
        "UPDATE clienteling_catalogue_runs
         SET status = 'failed', finished_at = now(), last_error = 'abandoned: its worker stopped while it ran'
         WHERE brand_id = $1 AND status = 'running'
           AND pg_try_advisory_xact_lock(hashtextextended('clienteling.catalogue:' || $1::text, 0))",
        brand_id
    )
    .execute(&mut *conn)
    .await?;
    let created = sqlx::query_scalar!(
        "INSERT INTO clienteling_catalogue_runs (id, brand_id, brand_slug, trigger, requested_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (brand_id) WHERE status IN ('queued', 'running', 'retrying') DO NOTHING
         RETURNING id",
        Uuid::now_v7(),
        brand_id,
        brand_slug,
        trigger.as_str(),
        requested_by
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = created {
        return Ok((id, true));
    }
    let live = sqlx::query_scalar!(
        "SELECT id FROM clienteling_catalogue_runs
         WHERE brand_id = $1 AND status IN ('queued', 'running', 'retrying')",
        brand_id
    )
    .fetch_one(conn)
    .await?;
    Ok((live, false))
}

/// What a starting attempt needs.
#[derive(Debug, Clone)]
pub struct Started {
    pub brand_id: Uuid,
    pub brand_slug: String,
    /// The brand's watermark; `None`: a full sync.
    pub since: Option<DateTime<Utc>>,
}

/// Marks the run running for another attempt, its counts reset; `None` once it has finished.
pub async fn start(conn: &mut PgConnection, run_id: Uuid) -> Result<Option<Started>, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH state AS (
               SELECT s.watermark FROM clienteling_catalogue_state s
               JOIN clienteling_catalogue_runs r ON r.brand_id = s.brand_id WHERE r.id = $1
           )
           UPDATE clienteling_catalogue_runs SET
               status = 'running', attempts = attempts + 1, started_at = now(), last_error = NULL,
               since = (SELECT watermark FROM state),
               mode = CASE WHEN EXISTS (SELECT 1 FROM state) THEN 'incremental' ELSE 'full' END,
               fetched = 0, created = 0, updated = 0, unchanged = 0, deactivated = 0, skipped = 0,
               skip_reasons = '{}'
           WHERE id = $1 AND status IN ('queued', 'running', 'retrying')
           RETURNING brand_id, brand_slug, since"#,
        run_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Started {
        brand_id: row.brand_id,
        brand_slug: row.brand_slug,
        since: row.since,
    }))
}

/// What a run did so far.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub fetched: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub deactivated: i32,
    pub skipped: BTreeMap<&'static str, i32>,
}

impl Counts {
    pub fn skip(&mut self, reason: Skip) {
        *self.skipped.entry(reason.as_str()).or_default() += 1;
    }

    fn skipped_total(&self) -> i32 {
        self.skipped.values().sum()
    }

    fn reasons(&self) -> serde_json::Value {
        serde_json::to_value(&self.skipped).unwrap_or_default()
    }
}

/// Saves the counts so far (the status page shows a long sync's progress).
pub async fn progress(
    conn: &mut PgConnection,
    run_id: Uuid,
    counts: &Counts,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_catalogue_runs SET fetched = $2, created = $3, updated = $4, unchanged = $5,
             deactivated = $6, skipped = $7, skip_reasons = $8
         WHERE id = $1",
        run_id,
        counts.fetched,
        counts.created,
        counts.updated,
        counts.unchanged,
        counts.deactivated,
        counts.skipped_total(),
        counts.reasons()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The run succeeded: its counts, and the brand's watermark moved to `watermark` (never backwards).
pub async fn succeed(
    conn: &mut PgConnection,
    run_id: Uuid,
    brand_id: Uuid,
    counts: &Counts,
    watermark: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    progress(&mut *conn, run_id, counts).await?;
    let kept = sqlx::query_scalar!(
        "SELECT watermark FROM clienteling_catalogue_state WHERE brand_id = $1",
        brand_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let watermark = watermark.max(kept).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    sqlx::query!(
        "INSERT INTO clienteling_catalogue_state (brand_id, watermark, last_run_id, synced_at)
         VALUES ($1, $2, $3, now())
         ON CONFLICT (brand_id) DO UPDATE SET
             watermark = GREATEST(clienteling_catalogue_state.watermark, EXCLUDED.watermark),
             last_run_id = EXCLUDED.last_run_id, synced_at = EXCLUDED.synced_at",
        brand_id,
        watermark,
        run_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE clienteling_catalogue_runs SET status = 'succeeded', watermark = $2, finished_at = now()
         WHERE id = $1",
        run_id,
        watermark
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The attempt failed: `retrying` while the job has attempts left, `failed` after the last.
pub async fn fail(
    conn: &mut PgConnection,
    run_id: Uuid,
    error: &str,
    last_attempt: bool,
) -> Result<(), sqlx::Error> {
    let status = if last_attempt { "failed" } else { "retrying" };
    let error: String = error.chars().take(1000).collect();
    sqlx::query!(
        "UPDATE clienteling_catalogue_runs SET status = $2, last_error = $3,
             finished_at = CASE WHEN $2 = 'failed' THEN now() END
         WHERE id = $1 AND status = 'running'",
        run_id,
        status,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A run as `GET …/products/sync/{run}` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingCatalogueRun)]
pub struct Run {
    pub id: Uuid,
    /// `request`, `schedule` or `seed`.
    pub trigger: String,
    /// `queued`, `running`, `retrying`, `succeeded` or `failed`.
    pub status: String,
    /// `full` (no watermark yet) or `incremental`; absent until it starts.
    pub mode: Option<String>,
    pub attempts: i32,
    /// The `LastModifiedDate` watermark the run started from.
    pub since: Option<DateTime<Utc>>,
    /// The watermark it left, once succeeded.
    pub watermark: Option<DateTime<Utc>>,
    pub fetched: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub deactivated: i32,
    pub skipped: i32,
    /// Skipped records by reason.
    #[schema(value_type = Object)]
    pub skip_reasons: serde_json::Value,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn get(
    conn: &mut PgConnection,
    brand_id: Uuid,
    run_id: Uuid,
) -> Result<Option<Run>, sqlx::Error> {
    sqlx::query_as!(
        Run,
        "SELECT id, trigger, status, mode, attempts, since, watermark, fetched, created, updated, unchanged,
                deactivated, skipped, skip_reasons, last_error, created_at, started_at, finished_at
         FROM clienteling_catalogue_runs WHERE brand_id = $1 AND id = $2",
        brand_id,
        run_id
    )
    .fetch_optional(conn)
    .await
}

//! The `crm_campaign_recipients` rows: claims and outcomes of the delivery job, counts and pages of the API.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::delivery::Settlement;
use super::model::Counts;

/// Takes up to `limit` due recipients nobody holds (a lease that ran out is free again) for `token` until
/// `lease_until`; their profile ids and attempts so far.
pub async fn claim(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    token: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, i32)>, sqlx::Error> {
    let rows = sqlx::query!(
        "UPDATE crm_campaign_recipients r SET lease_token = $2, lease_until = $4, updated_at = now()
         FROM (SELECT profile_id FROM crm_campaign_recipients
               WHERE campaign_id = $1 AND status IN ('queued', 'deferred') AND next_attempt_at <= $3
                 AND (lease_until IS NULL OR lease_until <= $3)
               ORDER BY next_attempt_at, profile_id LIMIT $5
               FOR UPDATE SKIP LOCKED) due
         WHERE r.campaign_id = $1 AND r.profile_id = due.profile_id
         RETURNING r.profile_id, r.attempts",
        campaign_id,
        token,
        now,
        lease_until,
        limit
    )
    .fetch_all(conn)
    .await?;
    let mut claimed: Vec<(Uuid, i32)> = rows
        .into_iter()
        .map(|r| (r.profile_id, r.attempts))
        .collect();
    claimed.sort();
    Ok(claimed)
}

/// Writes a send's outcome, only while the run still holds the row (a run whose lease ran out and was taken
/// over writes nothing; the taker's send with the same key answers the same outcome).
pub async fn record(
    db: &PgPool,
    campaign_id: Uuid,
    profile_id: Uuid,
    token: Uuid,
    settlement: &Settlement,
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE crm_campaign_recipients
         SET status = $4, reason = $5, message_id = coalesce($6, message_id), next_attempt_at = $7,
             attempts = attempts + CASE WHEN $8 THEN 1 ELSE 0 END,
             lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE campaign_id = $1 AND profile_id = $2 AND lease_token = $3",
        campaign_id,
        profile_id,
        token,
        settlement.status,
        settlement.reason,
        settlement.message_id,
        settlement.next_attempt_at,
        settlement.attempted
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives back rows a run claimed but did not send (it stopped: a pause, a cancel, a long throttle wait).
pub async fn release(
    db: &PgPool,
    campaign_id: Uuid,
    token: Uuid,
    profile_ids: &[Uuid],
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE crm_campaign_recipients SET lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE campaign_id = $1 AND lease_token = $2 AND profile_id = ANY($3)",
        campaign_id,
        token,
        profile_ids
    )
    .execute(db)
    .await?;
    Ok(())
}

/// When the next queued or deferred recipient may be sent (after its back-off and any lease), or `None`
/// when none is left.
pub async fn next_due(
    conn: &mut PgConnection,
    campaign_id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at)))
         FROM crm_campaign_recipients WHERE campaign_id = $1 AND status IN ('queued', 'deferred')",
        campaign_id
    )
    .fetch_one(conn)
    .await
}

/// A cancel: whoever is still waiting is not sent (a send in flight still records its outcome).
pub async fn cancel_waiting(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE crm_campaign_recipients SET status = 'cancelled', reason = 'campaign_cancelled',
                lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE campaign_id = $1 AND status IN ('queued', 'deferred')
           AND (lease_token IS NULL OR lease_until <= $2)",
        campaign_id,
        now
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn counts(conn: &mut PgConnection, campaign_id: Uuid) -> Result<Counts, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT status, reason, count(*) AS "count!" FROM crm_campaign_recipients
           WHERE campaign_id = $1 GROUP BY status, reason"#,
        campaign_id
    )
    .fetch_all(conn)
    .await?;
    let mut counts = Counts::default();
    for row in rows {
        counts.total += row.count;
        let slot = match row.status.as_str() {
            "queued" => &mut counts.queued,
            "deferred" => &mut counts.deferred,
            "sent" => &mut counts.sent,
            "suppressed" => {
                *counts
                    .suppressed_by_reason
                    .entry(row.reason.clone().unwrap_or_default())
                    .or_default() += row.count;
                &mut counts.suppressed
            }
            "failed" => {
                *counts
                    .failed_by_reason
                    .entry(row.reason.clone().unwrap_or_default())
                    .or_default() += row.count;
                &mut counts.failed
            }
            _ => &mut counts.cancelled,
        };
        *slot += row.count;
    }
    Ok(counts)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmCampaignRecipient)]
pub struct Recipient {
    pub profile_id: Uuid,
    /// `queued`, `deferred`, `sent`, `suppressed`, `failed`, `cancelled`.
    pub status: String,
    /// Why it was suppressed or failed (or, while queued, the last retryable failure).
    pub reason: Option<String>,
    pub attempts: i32,
    /// The send path's ledger row (`crm_messages`), once the send path was called.
    pub message_id: Option<Uuid>,
    /// Not before this (a retry's back-off, the end of quiet hours).
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The campaign's recipients after `after` (by profile id), optionally of one status.
pub async fn page(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        "SELECT profile_id, status, reason, attempts, message_id, next_attempt_at, created_at, updated_at
         FROM crm_campaign_recipients
         WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR profile_id > $3)
         ORDER BY profile_id LIMIT $4",
        campaign_id,
        status,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

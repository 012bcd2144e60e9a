//! The `crm_campaigns` rows. Every query carries the brand id.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Campaign, Status};
use crate::crm::consent::Purpose;
use crate::crm::messages::MessageChannel;

/// The brand keeps at most this many campaigns.
pub const MAX_PER_BRAND: i64 = 10_000;

pub struct Row {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub name: String,
    pub segment_id: Uuid,
    pub channel: String,
    pub purpose: String,
    pub template_id: Uuid,
    pub template_version: Option<i32>,
    pub send_at: Option<DateTime<Utc>>,
    pub throttle_per_sec: f64,
    pub retry_limit: i32,
    pub status: String,
    pub paused_from: Option<String>,
    pub launched_at: Option<DateTime<Utc>>,
    pub frozen_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Row {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Cancelled)
    }

    pub fn paused_from(&self) -> Option<Status> {
        self.paused_from.as_deref().and_then(Status::parse)
    }

    pub fn channel(&self) -> Option<MessageChannel> {
        MessageChannel::parse(&self.channel)
    }

    pub fn purpose(&self) -> Option<Purpose> {
        Purpose::parse(&self.purpose)
    }

    pub fn to_campaign(&self) -> Campaign {
        Campaign {
            id: self.id,
            name: self.name.clone(),
            segment_id: self.segment_id,
            channel: self.channel().unwrap_or(MessageChannel::Email),
            purpose: self.purpose().unwrap_or(Purpose::Marketing),
            template_id: self.template_id,
            template_version: self.template_version,
            send_at: self.send_at,
            throttle_per_sec: self.throttle_per_sec,
            retry_limit: self.retry_limit,
            status: self.status(),
            launched_at: self.launched_at,
            frozen_at: self.frozen_at,
            completed_at: self.completed_at,
            cancelled_at: self.cancelled_at,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            counts: None,
        }
    }
}

/// What a draft holds, checked.
pub struct Fields<'a> {
    pub name: &'a str,
    pub segment_id: Uuid,
    pub channel: MessageChannel,
    pub purpose: Purpose,
    pub template_id: Uuid,
    pub send_at: Option<DateTime<Utc>>,
    pub throttle_per_sec: f64,
    pub retry_limit: i32,
}

/// Counts the brand's campaigns under a per-brand lock (two creates cannot both pass the limit).
pub async fn count_locked(conn: &mut PgConnection, brand_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm-campaigns:' || $1::uuid::text, 0))",
        brand_id
    )
    .execute(&mut *conn)
    .await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM crm_campaigns WHERE brand_id = $1"#,
        brand_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

pub async fn insert(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    fields: &Fields<'_>,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO crm_campaigns (id, brand_id, name, segment_id, channel, purpose, template_id, send_at,
                                    throttle_per_sec, retry_limit, status, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft', $11)",
        id,
        brand_id,
        fields.name,
        fields.segment_id,
        fields.channel.as_str(),
        fields.purpose.as_str(),
        fields.template_id,
        fields.send_at,
        fields.throttle_per_sec,
        fields.retry_limit,
        actor
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a draft's fields; false when it is not a draft (any more).
pub async fn update_draft(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    fields: &Fields<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE crm_campaigns SET name = $3, segment_id = $4, channel = $5, purpose = $6, template_id = $7,
                send_at = $8, throttle_per_sec = $9, retry_limit = $10, updated_at = now()
         WHERE brand_id = $1 AND id = $2 AND status = 'draft'",
        brand_id,
        id,
        fields.name,
        fields.segment_id,
        fields.channel.as_str(),
        fields.purpose.as_str(),
        fields.template_id,
        fields.send_at,
        fields.throttle_per_sec,
        fields.retry_limit
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_draft(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM crm_campaigns WHERE brand_id = $1 AND id = $2 AND status = 'draft'",
        brand_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The campaign; `lock` takes its row for the transaction (a transition reads, decides and writes).
pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Row>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            Row,
            "SELECT * FROM crm_campaigns WHERE brand_id = $1 AND id = $2 FOR UPDATE",
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            Row,
            "SELECT * FROM crm_campaigns WHERE brand_id = $1 AND id = $2",
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// The brand's campaigns, newest first (ids are time-ordered), after `before`, optionally of one status.
pub async fn list(
    conn: &mut PgConnection,
    brand_id: Uuid,
    status: Option<Status>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT * FROM crm_campaigns
         WHERE brand_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        brand_id,
        status.map(Status::as_str),
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Launch: scheduled at `send_at` with the template's version pinned.
pub async fn mark_launched(
    conn: &mut PgConnection,
    id: Uuid,
    template_version: i32,
    send_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE crm_campaigns SET status = 'scheduled', template_version = $2, send_at = $3, launched_at = $4,
                updated_at = now()
         WHERE id = $1",
        id,
        template_version,
        send_at,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the campaign to `to` (the caller checked the transition table on the locked row), stamping what
/// the status stands for.
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    to: Status,
    paused_from: Option<Status>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE crm_campaigns SET status = $2, paused_from = $3,
                frozen_at = CASE WHEN $2 = 'sending' AND frozen_at IS NULL THEN $4 ELSE frozen_at END,
                completed_at = CASE WHEN $2 = 'completed' THEN $4 ELSE completed_at END,
                cancelled_at = CASE WHEN $2 = 'cancelled' THEN $4 ELSE cancelled_at END,
                updated_at = now()
         WHERE id = $1",
        id,
        to.as_str(),
        paused_from.map(Status::as_str),
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

//! The journeys' tables: `crm_journeys` (the draft), `crm_journey_versions` (immutable published versions),
//! `crm_journey_enrollments` and `crm_journey_steps`. Every query names the brand.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::definition::Definition;

/// The most journeys a brand keeps.
pub const MAX_JOURNEYS: i64 = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmJourney)]
pub struct Journey {
    pub id: Uuid,
    pub name: String,
    /// `draft` (never published), `active` or `paused`.
    pub status: String,
    /// What the next publish makes a version of.
    pub draft: Definition,
    pub published_version: Option<i32>,
    /// The latest published version's definition (templates pinned).
    pub published: Option<Definition>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

struct JourneyRow {
    id: Uuid,
    name: String,
    status: String,
    draft: Value,
    published_version: Option<i32>,
    published: Option<Value>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> sqlx::Result<T> {
    serde_json::from_value(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl TryFrom<JourneyRow> for Journey {
    type Error = sqlx::Error;

    fn try_from(row: JourneyRow) -> sqlx::Result<Self> {
        Ok(Journey {
            id: row.id,
            name: row.name,
            status: row.status,
            draft: decode(row.draft)?,
            published_version: row.published_version,
            published: row.published.map(decode).transpose()?,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Journey>> {
    let row = sqlx::query_as!(
        JourneyRow,
        r#"SELECT j.id, j.name, j.status, j.draft, j.published_version, v.definition AS "published?",
                  j.created_by, j.created_at, j.updated_at
           FROM crm_journeys j
           LEFT JOIN crm_journey_versions v ON v.journey_id = j.id AND v.version = j.published_version
           WHERE j.brand_id = $1 AND j.id = $2"#,
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    row.map(Journey::try_from).transpose()
}

pub async fn list(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<Vec<Journey>> {
    let rows = sqlx::query_as!(
        JourneyRow,
        r#"SELECT j.id, j.name, j.status, j.draft, j.published_version, v.definition AS "published?",
                  j.created_by, j.created_at, j.updated_at
           FROM crm_journeys j
           LEFT JOIN crm_journey_versions v ON v.journey_id = j.id AND v.version = j.published_version
           WHERE j.brand_id = $1 ORDER BY j.id"#,
        brand_id
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Journey::try_from).collect()
}

/// Serialises the brand's journey writes (the limit, publishing).
pub async fn lock_brand(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 20))",
        brand_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM crm_journeys WHERE brand_id = $1"#,
        brand_id
    )
    .fetch_one(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    name: &str,
    draft: &Definition,
    actor: &str,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO crm_journeys (id, brand_id, name, draft, created_by) VALUES ($1, $2, $3, $4, $5)",
        id,
        brand_id,
        name,
        serde_json::to_value(draft)?,
        actor
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the draft; false when there is no such journey in the brand.
pub async fn update_draft(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    name: &str,
    draft: &Definition,
) -> anyhow::Result<bool> {
    let done = sqlx::query!(
        "UPDATE crm_journeys SET name = $3, draft = $4, updated_at = now() WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        name,
        serde_json::to_value(draft)?
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The journey locked for a state change: its status and latest version.
pub async fn lock(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<(String, Option<i32>)>> {
    let row = sqlx::query!(
        "SELECT status, published_version FROM crm_journeys WHERE brand_id = $1 AND id = $2 FOR UPDATE",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.status, r.published_version)))
}

pub async fn publish(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    version: i32,
    definition: &Definition,
    actor: &str,
) -> anyhow::Result<()> {
    let (kind, key) = definition.trigger_key();
    let value = serde_json::to_value(definition)?;
    sqlx::query!(
        "INSERT INTO crm_journey_versions (journey_id, version, brand_id, definition, trigger_kind, trigger_key, exit_on, published_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        version,
        brand_id,
        &value,
        kind,
        key,
        &definition.exit.events,
        actor
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_journeys SET published_version = $3, draft = $4, updated_at = now(),
             status = CASE WHEN status = 'draft' THEN 'active' ELSE status END
         WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        version,
        &value
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_status(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    status: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE crm_journeys SET status = $3, updated_at = now() WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        status
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, brand_id: Uuid, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM crm_journeys WHERE brand_id = $1 AND id = $2",
        brand_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A published version (immutable, so callers may keep it).
pub async fn version(
    conn: &mut PgConnection,
    journey_id: Uuid,
    version: i32,
) -> sqlx::Result<Option<Definition>> {
    let value = sqlx::query_scalar!(
        "SELECT definition FROM crm_journey_versions WHERE journey_id = $1 AND version = $2",
        journey_id,
        version
    )
    .fetch_optional(conn)
    .await?;
    value.map(decode).transpose()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmJourneyEnrollment)]
pub struct Enrollment {
    pub id: Uuid,
    pub journey_id: Uuid,
    /// The version it started on, and finishes on.
    pub version: i32,
    pub profile_id: Uuid,
    /// `active`, `waiting`, `completed`, `exited` or `failed`.
    pub status: String,
    /// The step it is at (running) or ended at.
    pub current_step: Option<String>,
    /// While waiting: when it goes on.
    pub wake_at: Option<DateTime<Utc>>,
    /// Why it ended when not completed (the exit event, the failure).
    pub reason: Option<String>,
    pub entered_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub brand_id: Uuid,
    #[serde(skip)]
    pub step_count: i32,
}

pub async fn enrollment(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Enrollment>> {
    sqlx::query_as!(
        Enrollment,
        "SELECT id, journey_id, version, profile_id, status, current_step, wake_at, reason, entered_at,
                ended_at, brand_id, step_count
         FROM crm_journey_enrollments WHERE brand_id = $1 AND id = $2",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The enrollment locked for a step (any brand: the job names it by id).
pub async fn lock_enrollment(
    conn: &mut PgConnection,
    id: Uuid,
) -> sqlx::Result<Option<Enrollment>> {
    sqlx::query_as!(
        Enrollment,
        "SELECT id, journey_id, version, profile_id, status, current_step, wake_at, reason, entered_at,
                ended_at, brand_id, step_count
         FROM crm_journey_enrollments WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

/// The enrollment by id alone (the job names it so), unlocked.
pub async fn enrollment_by_id(
    conn: &mut PgConnection,
    id: Uuid,
) -> sqlx::Result<Option<Enrollment>> {
    sqlx::query_as!(
        Enrollment,
        "SELECT id, journey_id, version, profile_id, status, current_step, wake_at, reason, entered_at,
                ended_at, brand_id, step_count
         FROM crm_journey_enrollments WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn enrollments(
    conn: &mut PgConnection,
    brand_id: Uuid,
    journey_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Enrollment>> {
    sqlx::query_as!(
        Enrollment,
        "SELECT id, journey_id, version, profile_id, status, current_step, wake_at, reason, entered_at,
                ended_at, brand_id, step_count
         FROM crm_journey_enrollments
         WHERE brand_id = $1 AND journey_id = $2 AND ($3::text IS NULL OR status = $3)
           AND ($4::uuid IS NULL OR id > $4) ORDER BY id LIMIT $5",
        brand_id,
        journey_id,
        status,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmJourneyStepRecord)]
pub struct StepRecord {
    /// 0 for the first step taken.
    pub seq: i32,
    pub step_id: String,
    pub kind: String,
    /// e.g. `sent`, `suppressed`, `yes`, `no`, `waited`, `tagged`, `emitted`, `failed`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub at: DateTime<Utc>,
}

pub async fn steps(conn: &mut PgConnection, enrollment_id: Uuid) -> sqlx::Result<Vec<StepRecord>> {
    sqlx::query_as!(
        StepRecord,
        "SELECT seq, step_id, kind, outcome, detail, at FROM crm_journey_steps WHERE enrollment_id = $1 ORDER BY seq",
        enrollment_id
    )
    .fetch_all(conn)
    .await
}

/// How many times the enrollment already took `step_id` (a loop through a wait takes a step again).
pub async fn visits(
    conn: &mut PgConnection,
    enrollment_id: Uuid,
    step_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM crm_journey_steps WHERE enrollment_id = $1 AND step_id = $2"#,
        enrollment_id,
        step_id
    )
    .fetch_one(conn)
    .await
}

//! Writing applied events: their activities and the counters they move, for any number of events of a
//! batch in one statement (one multi-row insert and one update per profile), so a batch of matched events
//! costs one round trip for all its activities instead of one each.
//!
//! De-duplication stays the unique key's: an activity whose event id is already taken (a concurrent batch
//! committed it meanwhile) is not inserted and moves no counter; the caller learns it from the count of
//! activities written and treats the write as a duplicate.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One activity to write.
pub struct Row {
    pub activity_id: Uuid,
    pub profile_id: Uuid,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub properties: Value,
    pub event_id: String,
    /// The amount added to the profile's lifetime value (a purchase in the brand's currency).
    pub lifetime: Option<String>,
}

/// Inserts `rows` (skipping those whose event id is taken) and moves each profile's counters once by all
/// its inserted activities: counts per type, first and last activity, lifetime value. Answers how many
/// activities were inserted.
pub async fn write(
    conn: &mut PgConnection,
    brand_id: Uuid,
    source: &str,
    rows: &[Row],
) -> Result<usize, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut profiles = Vec::with_capacity(rows.len());
    let mut kinds = Vec::with_capacity(rows.len());
    let mut times = Vec::with_capacity(rows.len());
    let mut properties = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    // '' for none: a text[] without NULL elements keeps the parameter's type plain.
    let mut lifetimes = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.activity_id);
        profiles.push(row.profile_id);
        kinds.push(row.kind.clone());
        times.push(row.occurred_at);
        properties.push(row.properties.clone());
        events.push(row.event_id.clone());
        lifetimes.push(row.lifetime.clone().unwrap_or_default());
    }
    // The update's FROM has one row per profile (a row joined twice would be updated by one of them only);
    // a data-modifying CTE runs to completion whether or not the final SELECT reads it.
    let inserted = sqlx::query_scalar!(
        r#"WITH input AS (
               SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::jsonb[],
                                    $7::text[], $8::text[])
                   AS i (id, profile_id, type, occurred_at, properties, event_id, lifetime)
           ), activity AS (
               INSERT INTO crm_activities (id, brand_id, profile_id, type, occurred_at, properties, event_id, source)
               SELECT i.id, $1, i.profile_id, i.type, i.occurred_at, i.properties, i.event_id, $9 FROM input i
               ORDER BY i.id
               ON CONFLICT (brand_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
               RETURNING id, profile_id, type, occurred_at
           ), per_type AS (
               SELECT profile_id, type, count(*) AS n FROM activity GROUP BY profile_id, type
           ), per_profile AS (
               SELECT a.profile_id, min(a.occurred_at) AS first_at, max(a.occurred_at) AS last_at,
                      sum(NULLIF(i.lifetime, '')::numeric) AS lifetime
               FROM activity a JOIN input i ON i.id = a.id
               GROUP BY a.profile_id
           ), counted AS (
               UPDATE crm_profiles p SET
                   activity_counts = p.activity_counts || (
                       SELECT jsonb_object_agg(t.type, COALESCE((p.activity_counts ->> t.type)::bigint, 0) + t.n)
                       FROM per_type t WHERE t.profile_id = p.id),
                   first_activity_at = LEAST(p.first_activity_at, c.first_at),
                   last_activity_at = GREATEST(p.last_activity_at, c.last_at),
                   lifetime_value = p.lifetime_value + COALESCE(c.lifetime, 0)
               FROM per_profile c
               WHERE p.brand_id = $1 AND p.id = c.profile_id
               RETURNING p.id
           )
           SELECT count(*) AS "inserted!" FROM activity"#,
        brand_id,
        &ids,
        &profiles,
        &kinds,
        &times,
        &properties,
        &events,
        &lifetimes,
        source,
    )
    .fetch_one(conn)
    .await?;
    Ok(usize::try_from(inserted).unwrap_or(0))
}

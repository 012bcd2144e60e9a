//! The merge ledger as `GET …/crm/merges/{id}` shows it.
//!
//! The activities a merge moved can be millions; the view gives their total and the first
//! [`ACTIVITIES_SHOWN`] (by activity id) with `truncated`, rather than a cursor: the ledger is an audit
//! record read whole, and the full list stays in `crm_merge_activities` for the unmerge.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

pub const ACTIVITIES_SHOWN: i64 = 100;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmMovedActivity)]
pub struct MovedActivity {
    pub activity_id: Uuid,
    pub from_profile_id: Uuid,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmMovedActivities)]
pub struct MovedActivities {
    pub total: i64,
    pub items: Vec<MovedActivity>,
    /// Whether `items` shows fewer than `total`.
    pub truncated: bool,
}

/// A merge and everything it changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmMerge)]
pub struct MergeView {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub absorbed_ids: Vec<Uuid>,
    /// `manual` or `resolution`.
    pub cause: String,
    pub actor: String,
    pub merged_at: DateTime<Utc>,
    pub unmerged_at: Option<DateTime<Utc>>,
    pub unmerged_by: Option<String>,
    /// `[{kind, value, from_profile_id}]`.
    #[schema(value_type = Vec<Object>)]
    pub identifiers_moved: Value,
    /// `[{attribute, rule, values: [{profile_id, value, at}], chosen, chosen_from}]`.
    #[schema(value_type = Vec<Object>)]
    pub attribute_decisions: Value,
    /// `[{channel, purpose, values: [{profile_id, status}], chosen, changed, before, after}]`.
    #[schema(value_type = Vec<Object>)]
    pub consent_decisions: Value,
    pub activities_moved: MovedActivities,
    /// The rows as they were: `survivor_before`, `survivor_after`, `survivor_consents`, `absorbed_before`
    /// (`[{profile, identifiers, consents}]`).
    #[schema(value_type = Object)]
    pub snapshots: Value,
}

pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<MergeView>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        "SELECT id, survivor_id, absorbed_ids, cause, actor, merged_at, unmerged_at, unmerged_by,
                identifiers_moved, attribute_decisions, consent_decisions, activities_moved,
                survivor_before, survivor_after, survivor_consents, absorbed_before
         FROM crm_merges WHERE brand_id = $1 AND id = $2",
        brand_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let items = sqlx::query_as!(
        MovedActivity,
        "SELECT m.activity_id, m.from_profile_id FROM crm_merge_activities m
         JOIN crm_merges g ON g.id = m.merge_id
         WHERE g.brand_id = $1 AND m.merge_id = $2 ORDER BY m.activity_id LIMIT $3",
        brand_id,
        id,
        ACTIVITIES_SHOWN
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(MergeView {
        id: row.id,
        survivor_id: row.survivor_id,
        absorbed_ids: row.absorbed_ids,
        cause: row.cause,
        actor: row.actor,
        merged_at: row.merged_at,
        unmerged_at: row.unmerged_at,
        unmerged_by: row.unmerged_by,
        identifiers_moved: row.identifiers_moved,
        attribute_decisions: row.attribute_decisions,
        consent_decisions: row.consent_decisions,
        activities_moved: MovedActivities {
            total: row.activities_moved,
            truncated: (items.len() as i64) < row.activities_moved,
            items,
        },
        snapshots: serde_json::json!({
            "survivor_before": row.survivor_before,
            "survivor_after": row.survivor_after,
            "survivor_consents": row.survivor_consents,
            "absorbed_before": row.absorbed_before,
        }),
    }))
}

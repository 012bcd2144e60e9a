//! The CRM's part of a privacy export: everything the CRM holds about one profile of the brand (and the
//! profiles merged into it), and the identity look-ups privacy requests start from. Every query names the
//! brand.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::identifiers::PORTAL_USER;
use crate::privacy::ExportFile;

/// The portal account the profile holds (its `portal_user` identifier, as the portal's verified link wrote
/// it), if any. One a marketer or an API event added could name a stranger's account: it never opens the
/// portal's records to an export.
pub async fn portal_user_of(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let value = sqlx::query_scalar!(
        "SELECT value FROM crm_identifiers
         WHERE brand_id = $1 AND profile_id = $2 AND kind = $3 AND source = 'portal'
         ORDER BY added_at LIMIT 1",
        brand_id,
        profile_id,
        PORTAL_USER
    )
    .fetch_optional(conn)
    .await?;
    Ok(value.and_then(|value| Uuid::parse_str(&value).ok()))
}

/// The live profile of the portal account `user_id` in the brand (following merges), if the CRM knows it.
pub async fn profile_of_portal_user(
    conn: &mut PgConnection,
    brand_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let identifier = super::identifiers::Identifier {
        kind: PORTAL_USER.to_owned(),
        value: user_id.to_string(),
    };
    Ok(super::search::by_identifier(conn, brand_id, &identifier)
        .await?
        .map(|profile| profile.id))
}

/// The profile, the profiles merged into it, identifiers, consent and its history, activities, segment
/// memberships and history, scores with their reasons and history, messages with their delivery receipts,
/// campaign recipients, and journey enrollments with their steps.
pub async fn export(
    db: PgPool,
    brand_id: Uuid,
    profile_id: Uuid,
) -> anyhow::Result<Vec<ExportFile>> {
    let mut conn = db.acquire().await?;
    let conn = &mut *conn;
    // A merge since the request moved the person's data to the survivor.
    let profile_id = super::profile::current_id(conn, brand_id, profile_id)
        .await?
        .unwrap_or(profile_id);
    let profile: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(p) - 'brand_id' AS "row!" FROM crm_profiles p
           WHERE p.brand_id = $1 AND p.id = $2"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let merged: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(p) - 'brand_id' AS "row!" FROM crm_profiles p
           WHERE p.brand_id = $1 AND p.merged_into = $2 ORDER BY p.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let identifiers: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('kind', kind, 'value', value, 'source', source, 'added_at', added_at) AS "row!"
           FROM crm_identifiers WHERE brand_id = $1 AND profile_id = $2 ORDER BY kind, value"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let consents: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(c) - 'brand_id' - 'profile_id' AS "row!" FROM crm_consents c
           WHERE c.brand_id = $1 AND c.profile_id = $2 ORDER BY c.channel, c.purpose"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let consent_history: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(h) - 'brand_id' - 'profile_id' AS "row!" FROM crm_consent_history h
           WHERE h.brand_id = $1 AND h.profile_id = $2 ORDER BY h.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let activities: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(a) - 'brand_id' - 'profile_id' AS "row!" FROM crm_activities a
           WHERE a.brand_id = $1 AND a.profile_id = $2 ORDER BY a.occurred_at, a.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let segments: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('segment_id', s.id, 'segment', s.name, 'entered_at', m.entered_at,
                                     'version', m.version) AS "row!"
           FROM crm_segment_members m JOIN crm_segments s ON s.id = m.segment_id AND s.brand_id = $1
           WHERE m.brand_id = $1 AND m.profile_id = $2 ORDER BY m.entered_at"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    // By segment: the history's index leads with the segment.
    let segment_history: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('segment_id', s.id, 'segment', s.name, 'change', h.change,
                                     'version', h.version, 'reason', h.reason, 'at', h.at) AS "row!"
           FROM crm_segments s
           JOIN crm_segment_history h ON h.segment_id = s.id AND h.profile_id = $2 AND h.brand_id = $1
           WHERE s.brand_id = $1 ORDER BY h.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let scores: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(s) - 'brand_id' - 'profile_id' AS "row!" FROM crm_scores s
           WHERE s.brand_id = $1 AND s.profile_id = $2 ORDER BY s.score"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let score_history: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(h) - 'brand_id' - 'profile_id' AS "row!" FROM crm_score_history h
           WHERE h.brand_id = $1 AND h.profile_id = $2 ORDER BY h.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let messages: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(m) - 'brand_id' - 'profile_id' - 'request_digest' - 'idempotency_key'
                  - 'activity_recorded'
                  || jsonb_build_object('receipts', COALESCE((
                         SELECT jsonb_agg(jsonb_build_object('kind', r.kind, 'occurred_at', r.occurred_at)
                                          ORDER BY r.occurred_at)
                         FROM crm_message_receipts r WHERE r.message_id = m.id), '[]'::jsonb)) AS "row!"
           FROM crm_messages m WHERE m.brand_id = $1 AND m.profile_id = $2 ORDER BY m.created_at, m.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let campaigns: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('campaign_id', c.id, 'campaign', c.name, 'channel', c.channel,
                                     'purpose', c.purpose, 'status', r.status, 'reason', r.reason,
                                     'message_id', r.message_id, 'created_at', r.created_at,
                                     'updated_at', r.updated_at) AS "row!"
           FROM crm_campaigns c JOIN crm_campaign_recipients r ON r.campaign_id = c.id AND r.profile_id = $2
           WHERE c.brand_id = $1 ORDER BY r.created_at"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let journeys: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('enrollment_id', e.id, 'journey_id', j.id, 'journey', j.name,
                                     'version', e.version, 'status', e.status, 'current_step', e.current_step,
                                     'reason', e.reason, 'entered_at', e.entered_at, 'ended_at', e.ended_at,
                                     'steps', COALESCE((
                                         SELECT jsonb_agg(jsonb_build_object('step_id', s.step_id, 'kind', s.kind,
                                                          'outcome', s.outcome, 'detail', s.detail, 'at', s.at)
                                                          ORDER BY s.seq)
                                         FROM crm_journey_steps s WHERE s.enrollment_id = e.id), '[]'::jsonb)) AS "row!"
           FROM crm_journey_enrollments e JOIN crm_journeys j ON j.id = e.journey_id AND j.brand_id = $1
           WHERE e.brand_id = $1 AND e.profile_id = $2 ORDER BY e.entered_at, e.id"#,
        brand_id,
        profile_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(vec![
        ExportFile::new("profile", profile),
        ExportFile::new("merged_profiles", merged),
        ExportFile::new("identifiers", identifiers),
        ExportFile::new("consents", consents),
        ExportFile::new("consent_history", consent_history),
        ExportFile::new("activities", activities),
        ExportFile::new("segment_memberships", segments),
        ExportFile::new("segment_history", segment_history),
        ExportFile::new("scores", scores),
        ExportFile::new("score_history", score_history),
        ExportFile::new("messages", messages),
        ExportFile::new("campaign_recipients", campaigns),
        ExportFile::new("journey_enrollments", journeys),
    ])
}

//! Clienteling's part of a privacy export: the client layer of the brand's book (store, preferences,
//! important dates, notes), its advisor assignments, interactions with their full event history (deleted
//! ones included: the history still holds them), tasks, appointments and outreach. Every query names the
//! brand.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::privacy::ExportFile;

pub async fn export(
    db: PgPool,
    brand_id: Uuid,
    profile_id: Uuid,
) -> anyhow::Result<Vec<ExportFile>> {
    let mut conn = db.acquire().await?;
    let conn = &mut *conn;
    // Merges do not move clienteling's rows: an absorbed profile's client layer, interactions, tasks and
    // appointments are the person's too.
    let profiles = match crate::crm::erasure::person(conn, brand_id, profile_id).await? {
        Some((_, profiles)) => profiles,
        None => vec![profile_id],
    };
    let client: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(c) - 'brand_id' - 'search_text' AS "row!" FROM clienteling_clients c
           WHERE c.brand_id = $1 AND c.profile_id = ANY($2)"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    let assignments: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(a) - 'brand_id' - 'profile_id' AS "row!" FROM clienteling_assignments a
           WHERE a.brand_id = $1 AND a.profile_id = ANY($2) ORDER BY a.assigned_at"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    let interactions: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(i) - 'brand_id' - 'client_id'
                  || jsonb_build_object('events', COALESCE((
                         SELECT jsonb_agg(jsonb_build_object('version', e.version, 'type', e.type,
                                          'schema_version', e.schema_version, 'payload', e.payload,
                                          'actor', e.actor, 'recorded_at', e.recorded_at) ORDER BY e.version)
                         FROM clienteling_interaction_events e
                         WHERE e.brand_id = $1 AND e.stream_id = i.id), '[]'::jsonb)) AS "row!"
           FROM clienteling_interactions i WHERE i.brand_id = $1 AND i.client_id = ANY($2)
           ORDER BY i.occurred_at, i.id"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    let tasks: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(t) - 'brand_id' - 'profile_id' AS "row!" FROM clienteling_tasks t
           WHERE t.brand_id = $1 AND t.profile_id = ANY($2) ORDER BY t.created_at, t.id"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    let appointments: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(a) - 'brand_id' - 'profile_id' AS "row!" FROM clienteling_appointments a
           WHERE a.brand_id = $1 AND a.profile_id = ANY($2) ORDER BY a.starts_at, a.id"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    let outreach: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(o) - 'brand_id' - 'profile_id' AS "row!" FROM clienteling_outreach o
           WHERE o.brand_id = $1 AND o.profile_id = ANY($2) ORDER BY o.created_at, o.id"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(vec![
        ExportFile::new("client", client),
        ExportFile::new("assignments", assignments),
        ExportFile::new("interactions", interactions),
        ExportFile::new("tasks", tasks),
        ExportFile::new("appointments", appointments),
        ExportFile::new("outreach", outreach),
    ])
}

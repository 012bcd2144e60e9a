//! The interactions' SQL: the append-only event table and the projection, always written together, and the
//! reads, each through the caller's scope (the client's book) in its `WHERE` clause.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Event, SCHEMA_VERSION, State};
use crate::clienteling::scope::Scope;

pub struct NewEvent<'a> {
    pub brand_id: Uuid,
    pub stream_id: Uuid,
    pub version: i32,
    pub kind: &'a str,
    pub payload: Value,
    pub actor: &'a str,
}

/// Appends one event; a version already taken (a concurrent writer) is a unique violation.
pub async fn append(conn: &mut PgConnection, new: NewEvent<'_>) -> Result<Event, sqlx::Error> {
    let request_id = crate::http::request_context::current_request_id();
    let recorded_at = sqlx::query_scalar!(
        "INSERT INTO clienteling_interaction_events
             (brand_id, stream_id, version, type, schema_version, payload, actor, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING recorded_at",
        new.brand_id,
        new.stream_id,
        new.version,
        new.kind,
        SCHEMA_VERSION,
        new.payload,
        new.actor,
        request_id
    )
    .fetch_one(conn)
    .await?;
    Ok(Event {
        version: new.version,
        kind: new.kind.to_owned(),
        schema_version: SCHEMA_VERSION,
        payload: new.payload,
        actor: new.actor.to_owned(),
        request_id,
        recorded_at,
    })
}

/// Writes the projection of `state` (inserted with the stream's first event, replaced after).
pub async fn project(
    conn: &mut PgConnection,
    brand_id: Uuid,
    state: &State,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO clienteling_interactions
             (id, brand_id, client_id, store_code, advisor_id, channel, context, subject, note, metadata,
              enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (id) DO UPDATE SET
             channel = EXCLUDED.channel, subject = EXCLUDED.subject, note = EXCLUDED.note,
             metadata = EXCLUDED.metadata, enrichment_status = EXCLUDED.enrichment_status,
             enrichment = EXCLUDED.enrichment, mirror = EXCLUDED.mirror, version = EXCLUDED.version,
             occurred_at = EXCLUDED.occurred_at, deleted_at = EXCLUDED.deleted_at,
             updated_at = EXCLUDED.updated_at
         WHERE clienteling_interactions.brand_id = EXCLUDED.brand_id",
        state.id,
        brand_id,
        state.client_id,
        state.store,
        state.advisor_id,
        state.channel,
        state.context,
        state.subject,
        state.note,
        state.metadata,
        state.enrichment_status,
        state.enrichment,
        state.mirror,
        state.version,
        state.occurred_at,
        state.deleted_at,
        state.created_at,
        state.updated_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The interaction's current state (deleted ones too) if its client is in the caller's scope; `lock` takes
/// the projection row for a write.
pub async fn visible(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
    lock: bool,
) -> Result<Option<State>, sqlx::Error> {
    // One statement either way; `FOR UPDATE` only when writing.
    let row = if lock {
        sqlx::query_as!(
            State,
            r#"SELECT i.id, i.client_id, i.store_code AS store, i.advisor_id, i.channel, i.context, i.subject,
                      i.note, i.metadata, i.enrichment_status, i.enrichment, i.mirror, i.version,
                      i.occurred_at, i.deleted_at, i.created_at, i.updated_at
               FROM clienteling_interactions i
               JOIN clienteling_clients c ON c.brand_id = i.brand_id AND c.profile_id = i.client_id
               WHERE i.brand_id = $1 AND i.id = $2
                 AND ($3 OR c.store_code = ANY($4) OR EXISTS (
                     SELECT 1 FROM clienteling_assignments a
                     WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id
                       AND a.advisor_id = $5 AND a.ended_at IS NULL))
               FOR UPDATE OF i"#,
            scope.brand_id,
            id,
            scope.brand_wide,
            &scope.stores,
            scope.user_id
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            State,
            r#"SELECT i.id, i.client_id, i.store_code AS store, i.advisor_id, i.channel, i.context, i.subject,
                      i.note, i.metadata, i.enrichment_status, i.enrichment, i.mirror, i.version,
                      i.occurred_at, i.deleted_at, i.created_at, i.updated_at
               FROM clienteling_interactions i
               JOIN clienteling_clients c ON c.brand_id = i.brand_id AND c.profile_id = i.client_id
               WHERE i.brand_id = $1 AND i.id = $2
                 AND ($3 OR c.store_code = ANY($4) OR EXISTS (
                     SELECT 1 FROM clienteling_assignments a
                     WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id
                       AND a.advisor_id = $5 AND a.ended_at IS NULL))"#,
            scope.brand_id,
            id,
            scope.brand_wide,
            &scope.stores,
            scope.user_id
        )
        .fetch_optional(conn)
        .await?
    };
    Ok(row)
}

/// The stream's events in version order, those recorded up to `until` when given.
pub async fn events(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as!(
        Event,
        r#"SELECT version, type AS kind, schema_version, payload, actor, request_id, recorded_at
           FROM clienteling_interaction_events
           WHERE brand_id = $1 AND stream_id = $2 AND ($3::timestamptz IS NULL OR recorded_at <= $3)
           ORDER BY version"#,
        brand_id,
        id,
        until
    )
    .fetch_all(conn)
    .await
}

pub struct TimelineQuery<'a> {
    pub brand_id: Uuid,
    pub client_id: Uuid,
    /// The book's clients a marketer merged into this one (the same person filed twice), the caller's
    /// scope reaching them: their interactions are on this timeline too.
    pub absorbed: &'a [Uuid],
    pub channel: Option<&'a str>,
    pub context: Option<&'a str>,
    /// Strictly older than this `(occurred_at, id)` (the cursor).
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// A client's live interactions, newest first (the caller has checked the client is in scope).
pub async fn timeline(
    conn: &mut PgConnection,
    query: &TimelineQuery<'_>,
) -> Result<Vec<State>, sqlx::Error> {
    let (before_at, before_id) = query.before.unzip();
    if query.absorbed.is_empty() {
        return sqlx::query_as!(
            State,
            r#"SELECT id, client_id, store_code AS store, advisor_id, channel, context, subject, note, metadata,
                      enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at,
                      updated_at
               FROM clienteling_interactions
               WHERE brand_id = $1 AND client_id = $2 AND deleted_at IS NULL
                 AND ($3::text IS NULL OR channel = $3)
                 AND ($4::text IS NULL OR context = $4)
                 AND ($5::timestamptz IS NULL OR (occurred_at, id) < ($5, $6))
               ORDER BY occurred_at DESC, id DESC
               LIMIT $7"#,
            query.brand_id,
            query.client_id,
            query.channel,
            query.context,
            before_at,
            before_id,
            query.limit
        )
        .fetch_all(conn)
        .await;
    }
    let mut clients = query.absorbed.to_vec();
    clients.push(query.client_id);
    sqlx::query_as!(
        State,
        r#"SELECT id, client_id, store_code AS store, advisor_id, channel, context, subject, note, metadata,
                  enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at,
                  updated_at
           FROM clienteling_interactions
           WHERE brand_id = $1 AND client_id = ANY($2) AND deleted_at IS NULL
             AND ($3::text IS NULL OR channel = $3)
             AND ($4::text IS NULL OR context = $4)
             AND ($5::timestamptz IS NULL OR (occurred_at, id) < ($5, $6))
           ORDER BY occurred_at DESC, id DESC
           LIMIT $7"#,
        query.brand_id,
        &clients,
        query.channel,
        query.context,
        before_at,
        before_id,
        query.limit
    )
    .fetch_all(conn)
    .await
}

/// The client's last contact: the latest `occurred_at` of their live interactions (after a write of the
/// projection), so an interaction deleted or moved back in time no longer counts where it was.
pub async fn contacted(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_clients
         SET last_contacted_at = (SELECT max(i.occurred_at) FROM clienteling_interactions i
                                  WHERE i.brand_id = $1 AND i.client_id = $2 AND i.deleted_at IS NULL)
         WHERE brand_id = $1 AND profile_id = $2",
        brand_id,
        client_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The interaction's current state, for the jobs that follow its writes (no caller, so no scope); `lock`
/// takes the projection row, as the writes do.
pub async fn by_id(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<State>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            State,
            r#"SELECT id, client_id, store_code AS store, advisor_id, channel, context, subject, note, metadata,
                      enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at,
                      updated_at
               FROM clienteling_interactions WHERE brand_id = $1 AND id = $2
               FOR UPDATE"#,
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            State,
            r#"SELECT id, client_id, store_code AS store, advisor_id, channel, context, subject, note, metadata,
                      enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at,
                      updated_at
               FROM clienteling_interactions WHERE brand_id = $1 AND id = $2"#,
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// The last version a person wrote (`created`, `updated`, `deleted`, or the erasure's `redacted`, which the
/// mirror must send so the Salesforce Task loses the personal data too) and when: what the enrichment and the
/// mirror follow, and what `If-Match` must have seen. The jobs' own events (`enriched`, `mirrored`, …)
/// come after it without changing what the advisor wrote.
pub async fn content_version(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<(i32, DateTime<Utc>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT version, recorded_at FROM clienteling_interaction_events
         WHERE brand_id = $1 AND stream_id = $2 AND type IN ('created', 'updated', 'deleted', 'redacted')
         ORDER BY version DESC LIMIT 1",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.version, row.recorded_at)))
}

/// Replaces the payload of an event that a `redacted` event of its stream follows (the table's trigger
/// refuses any other change).
pub async fn replace_redacted_payload(
    conn: &mut PgConnection,
    brand_id: Uuid,
    stream_id: Uuid,
    version: i32,
    payload: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_interaction_events SET payload = $4
         WHERE brand_id = $1 AND stream_id = $2 AND version = $3",
        brand_id,
        stream_id,
        version,
        payload
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of the interactions (deleted ones too) of these clients.
pub async fn of_clients(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM clienteling_interactions WHERE brand_id = $1 AND client_id = ANY($2) ORDER BY id",
        brand_id,
        client_ids
    )
    .fetch_all(conn)
    .await
}

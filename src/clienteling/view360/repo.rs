//! The 360 view's reads of clienteling's own tables (interactions, appointments, the catalogue). Reads of
//! appointments carry the caller's scope like the appointments' own: visible to their advisor and to
//! whoever's scope covers their store.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::clienteling::appointments::model::Appointment;
use crate::clienteling::scope::Scope;

/// The KPI figures clienteling holds.
pub struct ContactStats {
    pub last_contact_at: Option<DateTime<Utc>>,
    pub interactions_90d: i64,
    /// `(category, quantity)`, most first, at most 3.
    pub categories: Vec<(String, i64)>,
}

/// The clients' last contact and interactions of the last 90 days, and the catalogue categories of the
/// SKUs bought (`skus` with their `quantities`), in one statement.
pub async fn contact_stats(
    conn: &mut PgConnection,
    brand_id: Uuid,
    clients: &[Uuid],
    skus: &[String],
    quantities: &[i64],
) -> Result<ContactStats, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH mine AS (
               SELECT occurred_at FROM clienteling_interactions
               WHERE brand_id = $1 AND client_id = ANY($2) AND deleted_at IS NULL
           ), bought AS (
               SELECT lower(b.sku) AS sku, b.quantity FROM unnest($3::text[], $4::bigint[]) AS b(sku, quantity)
           ), categories AS (
               SELECT p.category AS category, sum(b.quantity)::bigint AS quantity
               FROM bought b
               JOIN clienteling_products p ON p.brand_id = $1 AND lower(p.sku) = b.sku
               WHERE p.category IS NOT NULL
               GROUP BY p.category
               ORDER BY 2 DESC, 1
               LIMIT 3
           )
           SELECT (SELECT max(occurred_at) FROM mine) AS last_contact_at,
                  (SELECT count(*) FROM mine WHERE occurred_at > now() - interval '90 days') AS "interactions_90d!",
                  coalesce((SELECT array_agg(category ORDER BY quantity DESC, category) FROM categories), '{}')
                      AS "categories!",
                  coalesce((SELECT array_agg(quantity ORDER BY quantity DESC, category) FROM categories), '{}')
                      AS "category_quantities!""#,
        brand_id,
        clients,
        skus,
        quantities
    )
    .fetch_one(conn)
    .await?;
    Ok(ContactStats {
        last_contact_at: row.last_contact_at,
        interactions_90d: row.interactions_90d,
        categories: row
            .categories
            .into_iter()
            .zip(row.category_quantities)
            .collect(),
    })
}

pub struct InteractionRow {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub channel: String,
    pub context: String,
    pub subject: Option<String>,
    pub advisor_id: Uuid,
    pub store: String,
}

/// The clients' live interactions strictly older than `before`, newest first.
pub async fn interactions_before(
    conn: &mut PgConnection,
    brand_id: Uuid,
    clients: &[Uuid],
    before: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<InteractionRow>, sqlx::Error> {
    sqlx::query_as!(
        InteractionRow,
        r#"SELECT id, occurred_at, channel, context, subject, advisor_id, store_code AS store
           FROM clienteling_interactions
           WHERE brand_id = $1 AND client_id = ANY($2) AND deleted_at IS NULL
             AND (occurred_at, id) < ($3, $4)
           ORDER BY occurred_at DESC, id DESC
           LIMIT $5"#,
        brand_id,
        clients,
        before.0,
        before.1,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The client's appointments that have started (any status) and the caller sees, strictly older than
/// `before` by start, newest first. Upcoming ones are the `appointments` part's.
pub async fn past_appointments_before(
    conn: &mut PgConnection,
    scope: &Scope,
    client_id: Uuid,
    before: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<Appointment>, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"SELECT id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                  ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at
           FROM clienteling_appointments
           WHERE brand_id = $1 AND profile_id = $2 AND ($3 OR store_code = ANY($4) OR advisor_id = $5)
             AND starts_at <= now() AND (starts_at, id) < ($6, $7)
           ORDER BY starts_at DESC, id DESC
           LIMIT $8"#,
        scope.brand_id,
        client_id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        before.0,
        before.1,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The client's booked appointments not started yet that the caller sees, soonest first.
pub async fn upcoming_appointments(
    conn: &mut PgConnection,
    scope: &Scope,
    client_id: Uuid,
    limit: i64,
) -> Result<Vec<Appointment>, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"SELECT id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                  ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at
           FROM clienteling_appointments
           WHERE brand_id = $1 AND profile_id = $2 AND ($3 OR store_code = ANY($4) OR advisor_id = $5)
             AND status = 'booked' AND starts_at > now()
           ORDER BY starts_at, id
           LIMIT $6"#,
        scope.brand_id,
        client_id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        limit
    )
    .fetch_all(conn)
    .await
}

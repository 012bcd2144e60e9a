//! The client book's SQL. Reads take the caller's [`Scope`] and apply it in the `WHERE` clause.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::client::{Assignment, ClientCard};
use super::scope::Scope;
use crate::crm::profile::Profile;

pub struct Layer {
    pub profile_id: Uuid,
    pub store_code: String,
    pub preferences: Value,
    pub important_dates: Value,
    pub notes: String,
    pub last_contacted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
}

impl Layer {
    /// The client, for a write about them: an erased client takes nothing new (409 `client-erased`).
    pub fn writable(self) -> Result<Layer, crate::errors::ApiError> {
        if self.erased_at.is_some() {
            return Err(client_erased());
        }
        Ok(self)
    }
}

pub fn client_erased() -> crate::errors::ApiError {
    crate::errors::ApiError::new(crate::errors::ErrorCode::ClientErased)
}

/// The client `id` if the scope reaches them; `lock` takes the row for a write.
pub async fn visible(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
    lock: bool,
) -> Result<Option<Layer>, sqlx::Error> {
    let row = if lock {
        sqlx::query_as!(
            Layer,
            r#"SELECT c.profile_id, c.store_code, c.preferences, c.important_dates, c.notes,
                      c.last_contacted_at, c.created_at, c.updated_at, c.erased_at
               FROM clienteling_clients c
               WHERE c.brand_id = $1 AND c.profile_id = $2
                 AND ($3 OR c.store_code = ANY($4) OR EXISTS (
                     SELECT 1 FROM clienteling_assignments a
                     WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id
                       AND a.advisor_id = $5 AND a.ended_at IS NULL))
               FOR UPDATE OF c"#,
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
            Layer,
            r#"SELECT c.profile_id, c.store_code, c.preferences, c.important_dates, c.notes,
                      c.last_contacted_at, c.created_at, c.updated_at, c.erased_at
               FROM clienteling_clients c
               WHERE c.brand_id = $1 AND c.profile_id = $2
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

/// Locks the client's row for a write about them (an erasure's update then waits for the writer's
/// transaction): `FOR NO KEY UPDATE`, the lock the writer's own update of `last_contacted_at` takes next —
/// two writers sharing a weaker lock would each wait for the other to upgrade. `false` when erased.
pub async fn lock_writable(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT erased_at IS NULL AS "writable!" FROM clienteling_clients
           WHERE brand_id = $1 AND profile_id = $2 FOR NO KEY UPDATE"#,
        brand_id,
        profile_id
    )
    .fetch_optional(conn)
    .await?
    .unwrap_or(true))
}

/// Whether the brand's client `profile_id` was erased.
pub async fn erased(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT erased_at IS NOT NULL AS "erased!" FROM clienteling_clients
           WHERE brand_id = $1 AND profile_id = $2"#,
        brand_id,
        profile_id
    )
    .fetch_optional(conn)
    .await?
    .unwrap_or(false))
}

pub struct NewClient<'a> {
    pub brand_id: Uuid,
    pub profile_id: Uuid,
    pub store_code: &'a str,
    pub preferences: Value,
    pub important_dates: Value,
    pub notes: &'a str,
    pub created_by: Uuid,
}

/// The client of the brand's book holding `profile_id` or a profile merged into it (directly or not): once a
/// marketer merges a client's profile into another, the person is still in the book under the absorbed id.
pub async fn holder(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE absorbed (id, depth) AS (
               SELECT $2::uuid, 0
               UNION ALL
               SELECT p.id, a.depth + 1 FROM crm_profiles p JOIN absorbed a ON p.merged_into = a.id
               WHERE p.brand_id = $1 AND a.depth < 100
           )
           SELECT c.profile_id FROM clienteling_clients c JOIN absorbed a ON a.id = c.profile_id
           WHERE c.brand_id = $1
           ORDER BY a.depth, c.profile_id LIMIT 1"#,
        brand_id,
        profile_id
    )
    .fetch_optional(conn)
    .await
}

/// The brand's clients whose profiles were merged (directly or not) into `profile_id`'s and whom the scope
/// reaches: the same person, filed twice before a marketer merged the two profiles.
pub async fn absorbed_visible(
    conn: &mut PgConnection,
    scope: &Scope,
    profile_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE absorbed (id, depth) AS (
               SELECT p.id, 1 FROM crm_profiles p WHERE p.brand_id = $1 AND p.merged_into = $2
               UNION ALL
               SELECT p.id, a.depth + 1 FROM crm_profiles p JOIN absorbed a ON p.merged_into = a.id
               WHERE p.brand_id = $1 AND a.depth < 100
           )
           SELECT c.profile_id FROM clienteling_clients c JOIN absorbed a ON a.id = c.profile_id
           WHERE c.brand_id = $1
             AND ($3 OR c.store_code = ANY($4) OR EXISTS (
                 SELECT 1 FROM clienteling_assignments s
                 WHERE s.brand_id = c.brand_id AND s.profile_id = c.profile_id
                   AND s.advisor_id = $5 AND s.ended_at IS NULL))
           ORDER BY c.profile_id"#,
        scope.brand_id,
        profile_id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id
    )
    .fetch_all(conn)
    .await
}

/// `false` when the brand's book already holds the profile.
pub async fn insert(conn: &mut PgConnection, new: NewClient<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO clienteling_clients
             (brand_id, profile_id, store_code, preferences, important_dates, notes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (brand_id, profile_id) DO NOTHING",
        new.brand_id,
        new.profile_id,
        new.store_code,
        new.preferences,
        new.important_dates,
        new.notes,
        new.created_by
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Copies the profile's searchable attributes onto the client's row.
pub async fn refresh_card(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    profile: &Profile,
) -> Result<(), sqlx::Error> {
    let attributes = &profile.attributes;
    let tags = attributes.tags.clone().unwrap_or_default();
    sqlx::query!(
        "UPDATE clienteling_clients SET first_name = $3, last_name = $4, email = $5, phone = $6,
             tier = $7, tags = $8, search_text = $9, updated_at = now()
         WHERE brand_id = $1 AND profile_id = $2",
        brand_id,
        client_id,
        attributes.first_name,
        attributes.last_name,
        attributes.email,
        attributes.phone,
        attributes.tier,
        &tags,
        super::client::search_text(attributes),
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct LayerChange<'a> {
    pub store_code: Option<&'a str>,
    pub preferences: Option<Value>,
    pub important_dates: Option<Value>,
    pub notes: Option<&'a str>,
}

pub async fn update_layer(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    change: LayerChange<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_clients SET
             store_code = COALESCE($3, store_code),
             preferences = COALESCE($4, preferences),
             important_dates = COALESCE($5, important_dates),
             notes = COALESCE($6, notes),
             updated_at = now()
         WHERE brand_id = $1 AND profile_id = $2",
        brand_id,
        client_id,
        change.store_code,
        change.preferences,
        change.important_dates,
        change.notes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The book's filters; `None` filters nothing.
#[derive(Debug, Default)]
pub struct Filters {
    /// Lower-cased, 1–100 characters: a substring or a near match (trigram word similarity).
    pub q: Option<String>,
    pub tag: Option<String>,
    pub tier: Option<String>,
    pub store: Option<String>,
    /// Only the clients assigned to the caller.
    pub mine: bool,
    pub not_contacted_days: Option<i32>,
    /// Below this id (the cursor).
    pub before: Option<Uuid>,
}

/// The visible clients matching `filters`, newest profile id first. Run it in a transaction (the
/// similarity threshold is set for the transaction only).
pub async fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    filters: &Filters,
    limit: i64,
) -> Result<Vec<ClientCard>, sqlx::Error> {
    if filters.q.is_some() {
        // Looser than the default 0.6, so one wrong or missing letter in a short name still matches
        // ("Clare" → "Claire"); transaction-local, and `<%` keeps using the trigram index.
        sqlx::query_scalar!("SELECT set_config('pg_trgm.word_similarity_threshold', '0.4', true)")
            .fetch_one(&mut *conn)
            .await?;
    }
    let pattern = filters.q.as_deref().map(|q| {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    sqlx::query_as!(
        ClientCard,
        r#"SELECT c.profile_id AS id, c.store_code AS store, c.first_name, c.last_name, c.email, c.phone,
                  c.tier, c.tags, c.last_contacted_at, c.updated_at,
                  (SELECT a.advisor_id FROM clienteling_assignments a
                   WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id
                     AND a.role = 'primary' AND a.ended_at IS NULL) AS primary_advisor_id
           FROM clienteling_clients c
           WHERE c.brand_id = $1
             AND ($2 OR c.store_code = ANY($3) OR EXISTS (
                 SELECT 1 FROM clienteling_assignments a
                 WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id
                   AND a.advisor_id = $4 AND a.ended_at IS NULL))
             AND (NOT $5 OR EXISTS (
                 SELECT 1 FROM clienteling_assignments a
                 WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id
                   AND a.advisor_id = $4 AND a.ended_at IS NULL))
             AND ($6::text IS NULL OR c.store_code = $6)
             AND ($7::text IS NULL OR c.tier = $7)
             AND ($8::text IS NULL OR c.tags @> ARRAY[$8::text])
             AND ($9::int IS NULL OR c.last_contacted_at IS NULL
                  OR c.last_contacted_at < now() - make_interval(days => $9))
             AND ($10::text IS NULL OR c.search_text LIKE $11 OR $10 <% c.search_text)
             AND ($12::uuid IS NULL OR c.profile_id < $12)
           ORDER BY c.profile_id DESC
           LIMIT $13"#,
        scope.brand_id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        filters.mine,
        filters.store,
        filters.tier,
        filters.tag,
        filters.not_contacted_days,
        filters.q,
        pattern,
        filters.before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The client's advisors: current ones (primary first) or, with `history`, every one ever, newest first.
pub async fn assignments(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    history: bool,
) -> Result<Vec<Assignment>, sqlx::Error> {
    sqlx::query_as!(
        Assignment,
        "SELECT advisor_id, role, assigned_by, assigned_at, ended_at
         FROM clienteling_assignments
         WHERE brand_id = $1 AND profile_id = $2 AND ($3 OR ended_at IS NULL)
         ORDER BY ended_at IS NOT NULL, ended_at DESC, role = 'secondary', assigned_at, id",
        brand_id,
        client_id,
        history
    )
    .fetch_all(conn)
    .await
}

pub async fn end_assignment(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    advisor_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_assignments SET ended_at = now()
         WHERE brand_id = $1 AND profile_id = $2 AND advisor_id = $3 AND ended_at IS NULL",
        brand_id,
        client_id,
        advisor_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn assign(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    advisor_id: Uuid,
    role: &str,
    assigned_by: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO clienteling_assignments (id, brand_id, profile_id, advisor_id, role, assigned_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
        Uuid::now_v7(),
        brand_id,
        client_id,
        advisor_id,
        role,
        assigned_by
    )
    .execute(conn)
    .await?;
    Ok(())
}

//! The tasks' SQL. A task is visible to its assignee and to whoever's scope covers its client's store (the
//! client's book store, joined live: a client moved to another store takes their tasks' visibility along).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::Task;
use crate::clienteling::scope::Scope;

pub struct NewTask<'a> {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub client_id: Uuid,
    pub assignee_id: Uuid,
    pub title: &'a str,
    pub notes: &'a str,
    pub due_at: DateTime<Utc>,
    pub priority: &'a str,
    pub source: &'a str,
    pub source_key: Option<&'a str>,
    pub created_by: Option<Uuid>,
}

/// Inserts the task; `false` when a task with the same `source_key` exists already (nothing written).
pub async fn insert(conn: &mut PgConnection, new: &NewTask<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO clienteling_tasks
               (id, brand_id, profile_id, assignee_id, title, notes, due_at, priority, source, source_key,
                created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (brand_id, source_key) DO NOTHING
           RETURNING id"#,
        new.id,
        new.brand_id,
        new.client_id,
        new.assignee_id,
        new.title,
        new.notes,
        new.due_at,
        new.priority,
        new.source,
        new.source_key,
        new.created_by
    )
    .fetch_optional(conn)
    .await?;
    Ok(inserted.is_some())
}

pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The task with this source key (a journey step's), whoever holds it.
pub async fn by_source_key(
    conn: &mut PgConnection,
    brand_id: Uuid,
    key: &str,
) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.source_key = $2"#,
        brand_id,
        key
    )
    .fetch_optional(conn)
    .await
}

/// The task if the scope reaches it, locked for a write.
pub async fn visible_for_update(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.id = $2 AND (t.assignee_id = $5 OR $3 OR c.store_code = ANY($4))
           FOR UPDATE OF t"#,
        scope.brand_id,
        id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn visible(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.id = $2 AND (t.assignee_id = $5 OR $3 OR c.store_code = ANY($4))"#,
        scope.brand_id,
        id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id
    )
    .fetch_optional(conn)
    .await
}

/// Completes or cancels an open task.
pub async fn close(conn: &mut PgConnection, id: Uuid, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE clienteling_tasks
           SET status = $2,
               completed_at = CASE WHEN $2 = 'done' THEN now() END,
               cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() END
           WHERE id = $1 AND status = 'open'"#,
        id,
        status
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_assignee(
    conn: &mut PgConnection,
    id: Uuid,
    assignee_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        // A new holder has not been reminded: the reminder is theirs to get when the task is (or falls) due.
        "UPDATE clienteling_tasks SET assignee_id = $2, reminded_at = NULL WHERE id = $1",
        id,
        assignee_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An open task and the local day of its due time.
pub struct Dated {
    pub task: Task,
    pub due_day: NaiveDate,
}

/// The assignee's open tasks the scope reaches, earliest due first, with each due time's local day in
/// `zone`; at most `limit`.
pub async fn open_of_assignee(
    conn: &mut PgConnection,
    scope: &Scope,
    assignee_id: Uuid,
    zone: &str,
    limit: i64,
) -> Result<Vec<Dated>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at,
                  (t.due_at AT TIME ZONE $6)::date AS "due_day!"
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.assignee_id = $2 AND t.status = 'open'
             AND (t.assignee_id = $5 OR $3 OR c.store_code = ANY($4))
           ORDER BY t.due_at, t.id
           LIMIT $7"#,
        scope.brand_id,
        assignee_id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        zone,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Dated {
            due_day: r.due_day,
            task: Task {
                id: r.id,
                client_id: r.client_id,
                store: r.store,
                assignee_id: r.assignee_id,
                title: r.title,
                notes: r.notes,
                due_at: r.due_at,
                priority: r.priority,
                source: r.source,
                status: r.status,
                created_by: r.created_by,
                reminded_at: r.reminded_at,
                completed_at: r.completed_at,
                cancelled_at: r.cancelled_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
            },
        })
        .collect())
}

/// Today in `zone`.
pub async fn today_in(conn: &mut PgConnection, zone: &str) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT (now() AT TIME ZONE $1)::date AS "today!""#, zone)
        .fetch_one(conn)
        .await
}

/// The client's open tasks, earliest due first.
pub async fn open_for_client(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.profile_id = $2 AND t.status = 'open'
           ORDER BY t.due_at, t.id
           LIMIT $3"#,
        brand_id,
        client_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Every task of the client (open and closed), newest created first, after the `(created_at, id)` cursor.
pub async fn for_client(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let (before_at, before_id) = before.unzip();
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.profile_id = $2
             AND ($3::timestamptz IS NULL OR (t.created_at, t.id) < ($3, $4::uuid))
           ORDER BY t.created_at DESC, t.id DESC
           LIMIT $5"#,
        brand_id,
        client_id,
        before_at,
        before_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The client's open tasks held by `assignee`, locked (a reassignment moves them).
pub async fn open_held_by(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    assignee_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM clienteling_tasks
           WHERE brand_id = $1 AND profile_id = $2 AND assignee_id = $3 AND status = 'open'
           ORDER BY due_at, id
           FOR UPDATE"#,
        brand_id,
        client_id,
        assignee_id
    )
    .fetch_all(conn)
    .await
}

/// A task that fell due, as the reminder job takes it.
pub struct Due {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub client_id: Uuid,
    /// The client's book store: the store the task is worked in.
    pub store: String,
    pub assignee_id: Uuid,
    pub title: String,
    pub due_at: DateTime<Utc>,
}

/// Open tasks due by `now` and not reminded yet, locked, skipping those another replica holds.
pub async fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"SELECT t.id, t.brand_id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id,
                  t.title, t.due_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.status = 'open' AND t.reminded_at IS NULL AND t.due_at <= $1
           ORDER BY t.due_at, t.id
           LIMIT $2
           FOR UPDATE OF t SKIP LOCKED"#,
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Marks the task reminded and records the assignee's notification (once per task).
/// Marks the task reminded without telling anyone (its assignee left the store): a reassignment clears
/// the mark, so the new holder is reminded.
pub async fn mark_reminded(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_tasks SET reminded_at = $2 WHERE id = $1",
        id,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remind(
    conn: &mut PgConnection,
    due: &Due,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    mark_reminded(&mut *conn, due.id, now).await?;
    sqlx::query!(
        r#"INSERT INTO clienteling_notifications (id, brand_id, user_id, kind, task_id, payload)
           VALUES ($1, $2, $3, 'task_due', $4, $5)
           ON CONFLICT (task_id, kind, user_id) DO NOTHING"#,
        Uuid::now_v7(),
        due.brand_id,
        due.assignee_id,
        due.id,
        payload
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The client's primary advisor now, if any.
pub async fn primary_advisor(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT advisor_id FROM clienteling_assignments
           WHERE brand_id = $1 AND profile_id = $2 AND role = 'primary' AND ended_at IS NULL
           LIMIT 1"#,
        brand_id,
        client_id
    )
    .fetch_optional(conn)
    .await
}

/// The store whose book holds the client, if they are a client of the brand.
pub async fn client_store(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT store_code FROM clienteling_clients WHERE brand_id = $1 AND profile_id = $2",
        brand_id,
        client_id
    )
    .fetch_optional(conn)
    .await
}

/// The clients' open tasks the scope reaches, earliest due first.
pub async fn open_visible(
    conn: &mut PgConnection,
    scope: &Scope,
    clients: &[Uuid],
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    sqlx::query_as!(
        Task,
        r#"SELECT t.id, t.profile_id AS client_id, c.store_code AS store, t.assignee_id, t.title, t.notes,
                  t.due_at, t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                  t.cancelled_at, t.created_at, t.updated_at
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1 AND t.profile_id = ANY($2) AND t.status = 'open'
             AND (t.assignee_id = $5 OR $3 OR c.store_code = ANY($4))
           ORDER BY t.due_at, t.id
           LIMIT $6"#,
        scope.brand_id,
        clients,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// A task's creation or completion, as a timeline shows it.
pub struct TaskEvent {
    /// `created` or `completed`.
    pub event: String,
    pub at: DateTime<Utc>,
    pub task: Task,
}

/// The clients' task creations and completions the scope reaches, strictly older than `before` by
/// `(at, task id)`, newest first.
pub async fn events_visible(
    conn: &mut PgConnection,
    scope: &Scope,
    clients: &[Uuid],
    before: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<TaskEvent>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH visible AS (
               SELECT t.id, t.profile_id, c.store_code, t.assignee_id, t.title, t.notes, t.due_at,
                      t.priority, t.source, t.status, t.created_by, t.reminded_at, t.completed_at,
                      t.cancelled_at, t.created_at, t.updated_at
               FROM clienteling_tasks t
               JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
               WHERE t.brand_id = $1 AND t.profile_id = ANY($2)
                 AND (t.assignee_id = $5 OR $3 OR c.store_code = ANY($4))
           ), events AS (
               SELECT 'created' AS event, created_at AS at, * FROM visible
               UNION ALL
               SELECT 'completed', completed_at, * FROM visible WHERE completed_at IS NOT NULL
           )
           SELECT event AS "event!", at AS "at!", id AS "id!", profile_id AS "client_id!",
                  store_code AS "store!", assignee_id AS "assignee_id!", title AS "title!", notes AS "notes!",
                  due_at AS "due_at!", priority AS "priority!", source AS "source!", status AS "status!",
                  created_by, reminded_at, completed_at, cancelled_at, created_at AS "created_at!",
                  updated_at AS "updated_at!"
           FROM events
           WHERE (at, id) < ($6, $7)
           ORDER BY at DESC, id DESC
           LIMIT $8"#,
        scope.brand_id,
        clients,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        before.0,
        before.1,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| TaskEvent {
            event: row.event,
            at: row.at,
            task: Task {
                id: row.id,
                client_id: row.client_id,
                store: row.store,
                assignee_id: row.assignee_id,
                title: row.title,
                notes: row.notes,
                due_at: row.due_at,
                priority: row.priority,
                source: row.source,
                status: row.status,
                created_by: row.created_by,
                reminded_at: row.reminded_at,
                completed_at: row.completed_at,
                cancelled_at: row.cancelled_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
        })
        .collect())
}

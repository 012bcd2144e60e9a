//! Tasks (issue 16): advisors' follow-ups with a due time. Created by advisors and managers
//! (`…/clienteling/tasks`), by journeys' `create_advisor_task` step ([`create_for_journey`]) or by the
//! system; listed for their assignee grouped as overdue / due today / upcoming by the local day in the
//! assignee's store's time zone; completed, cancelled, reassigned by a manager; moved with the client when
//! the client is reassigned ([`reassign::MoveTasks`]); reminded by a replica-safe job when due.
//!
//! Published: [`routes`], [`ApiDoc`], [`jobs`], [`open_for_client`] and [`for_client`] (a client's tasks,
//! unscoped), [`open_visible`] and [`events_visible`] (the 360 view's open tasks and timeline entries, in the
//! caller's scope), [`create_for_journey`], [`remind_due`],
//! [`reassign::MoveTasks`] (registered by `Clienteling::new`).

pub mod model;
pub mod reassign;
mod reminder;
mod repo;
mod routes;
mod rules;

use actix_web::web;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::brands::Brand;
use crate::clienteling::scope::Scope;
use crate::config::TaskSettings;
use crate::http::resource;
use crate::jobs::Runner;
pub use model::Task;
pub use reminder::{RemindDueTasks, remind_due};
pub use repo::TaskEvent;

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create_task,
        routes::list_tasks,
        routes::get_task,
        routes::complete_task,
        routes::cancel_task,
        routes::reassign_task,
    ),
    components(schemas(
        model::Task,
        model::CreateTask,
        model::ReassignTask,
        model::GroupedTasks,
    )),
    tags((name = "clienteling", description = "The client advisors' client book"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1` with the rest of clienteling.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/brands/{brand}/clienteling/tasks";
    cfg.service(
        resource(BASE)
            .route(web::get().to(routes::list_tasks))
            .route(web::post().to(routes::create_task)),
    )
    .service(resource(&format!("{BASE}/{{id}}")).route(web::get().to(routes::get_task)))
    .service(
        resource(&format!("{BASE}/{{id}}/complete")).route(web::post().to(routes::complete_task)),
    )
    .service(resource(&format!("{BASE}/{{id}}/cancel")).route(web::post().to(routes::cancel_task)))
    .service(
        resource(&format!("{BASE}/{{id}}/reassign")).route(web::post().to(routes::reassign_task)),
    );
}

/// The reminder job and its replica-safe schedule.
pub fn jobs(runner: Runner, db: &PgPool, settings: &TaskSettings) -> anyhow::Result<Runner> {
    let db = db.clone();
    runner
        .register(move |job: RemindDueTasks, _ctx| {
            let db = db.clone();
            async move {
                let now = Utc::now().max(job.scheduled_for);
                remind_due(&db, now).await.map(|_| ())
            }
        })
        .schedule(
            "clienteling.tasks.remind",
            &settings.reminder_cron,
            |tick| RemindDueTasks {
                scheduled_for: tick,
            },
        )
}

/// The zone an assignee's days are counted in: their first store's, else the brand's. On the caller's
/// connection: a handler holding one must not wait for a second.
pub async fn zone_of(
    conn: &mut PgConnection,
    brand: &Brand,
    assignee: Uuid,
) -> Result<String, sqlx::Error> {
    let store = crate::auth::active_staff_on(&mut *conn, assignee)
        .await?
        .and_then(|staff| staff.store_ids.into_iter().next());
    if let Some(store) = store
        && let Some(zone) = crate::brands::store_timezone(&mut *conn, brand.id, &store).await?
    {
        return Ok(zone);
    }
    Ok(brand.timezone.clone())
}

/// The client's open tasks, earliest due first (at most `limit`). The caller has checked the client is in
/// reach (the 360 view does).
pub async fn open_for_client(
    db: &PgPool,
    brand_id: Uuid,
    client_id: Uuid,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    repo::open_for_client(&mut conn, brand_id, client_id, limit).await
}

/// Every task of the client, open and closed, newest created first, strictly before the `(created_at, id)`
/// of the last one shown (a timeline's keyset cursor); at most `limit`.
pub async fn for_client(
    db: &PgPool,
    brand_id: Uuid,
    client_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    repo::for_client(&mut conn, brand_id, client_id, before, limit).await
}

/// The clients' open tasks the caller reaches (assigned to them, or of a client in a store of their scope),
/// earliest due first, at most `limit`; on the caller's connection (the 360 view's parts bring their own).
pub async fn open_visible(
    conn: &mut PgConnection,
    scope: &Scope,
    clients: &[Uuid],
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    repo::open_visible(conn, scope, clients, limit).await
}

/// The clients' task creations and completions the caller reaches, newest first, strictly older than
/// `before` by `(at, task id)` (a timeline's keyset cursor); at most `limit`.
pub async fn events_visible(
    conn: &mut PgConnection,
    scope: &Scope,
    clients: &[Uuid],
    before: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<TaskEvent>, sqlx::Error> {
    repo::events_visible(conn, scope, clients, before, limit).await
}

/// What a journey's `create_advisor_task` step asks for.
#[derive(Debug, Clone)]
pub struct JourneyTask<'a> {
    pub brand_id: Uuid,
    pub client_id: Uuid,
    /// `journey:{enrollment}:{step}`: one task per key, whatever the number of runs.
    pub key: &'a str,
    pub title: &'a str,
    pub notes: &'a str,
    pub due_at: DateTime<Utc>,
    pub priority: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JourneyTaskOutcome {
    /// The task (made now, or by an earlier run with the same key).
    Created { task_id: Uuid, assignee_id: Uuid },
    /// The profile is not a client of the brand's book.
    NotAClient,
    /// The client has no primary advisor and their store no manager.
    NoAssignee,
}

/// Creates a journey's task for the client's primary advisor, else (none, or one who no longer works in the
/// client's store) the first manager of the client's store; idempotent per key.
pub async fn create_for_journey(
    db: &PgPool,
    task: &JourneyTask<'_>,
) -> anyhow::Result<JourneyTaskOutcome> {
    let mut conn = db.acquire().await?;
    if let Some(existing) = repo::by_source_key(&mut conn, task.brand_id, task.key).await? {
        return Ok(JourneyTaskOutcome::Created {
            task_id: existing.id,
            assignee_id: existing.assignee_id,
        });
    }
    let Some(store) = repo::client_store(&mut conn, task.brand_id, task.client_id).await? else {
        return Ok(JourneyTaskOutcome::NotAClient);
    };
    let brand = crate::brands::slug_of(&mut *conn, task.brand_id)
        .await?
        .unwrap_or_default();
    let primary = match repo::primary_advisor(&mut conn, task.brand_id, task.client_id).await? {
        Some(advisor)
            if rules::works_in(&mut conn, task.brand_id, &brand, advisor, &store).await? =>
        {
            Some(advisor)
        }
        _ => None,
    };
    let assignee = match primary {
        Some(advisor) => Some(advisor),
        None => crate::auth::staff_of_store_on(&mut conn, &brand, &store, "manager")
            .await?
            .into_iter()
            .next(),
    };
    let Some(assignee) = assignee else {
        return Ok(JourneyTaskOutcome::NoAssignee);
    };
    drop(conn);
    let mut tx = db.begin().await?;
    let id = Uuid::now_v7();
    let inserted = repo::insert(
        &mut tx,
        &repo::NewTask {
            id,
            brand_id: task.brand_id,
            client_id: task.client_id,
            assignee_id: assignee,
            title: task.title,
            notes: task.notes,
            due_at: task.due_at,
            priority: task.priority,
            source: "journey",
            source_key: Some(task.key),
            created_by: None,
        },
    )
    .await?;
    let saved = if inserted {
        repo::by_id(&mut tx, id).await?
    } else {
        // A concurrent run with the same key won.
        repo::by_source_key(&mut tx, task.brand_id, task.key).await?
    };
    let saved = saved.ok_or_else(|| anyhow::anyhow!("the journey's task {} vanished", task.key))?;
    if inserted {
        rules::record(
            &mut tx,
            "created",
            &brand,
            &saved,
            "system:journey",
            json!({"key": task.key}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(JourneyTaskOutcome::Created {
        task_id: saved.id,
        assignee_id: saved.assignee_id,
    })
}

/// Erasure of a client (`clienteling::erasure`): their tasks keep their status, due time, assignee and
/// source, with the title replaced by `[erased]` and the notes emptied; the reminders sent about them lose
/// their payload (it quoted the title). Open tasks are cancelled: there is nobody left to follow up.
/// Answers how many tasks changed; a second run changes none.
pub async fn erase_for_clients(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_ids: &[Uuid],
) -> Result<u64, sqlx::Error> {
    let changed = sqlx::query!(
        "UPDATE clienteling_tasks SET title = '[erased]', notes = '',
                status = CASE WHEN status = 'open' THEN 'cancelled' ELSE status END,
                cancelled_at = CASE WHEN status = 'open' THEN now() ELSE cancelled_at END
         WHERE brand_id = $1 AND profile_id = ANY($2)
           AND (title <> '[erased]' OR notes <> '' OR status = 'open')",
        brand_id,
        profile_ids
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // The outbox events of these tasks quoted the title.
    let ids: Vec<String> = sqlx::query_scalar!(
        "SELECT id::text AS \"id!\" FROM clienteling_tasks WHERE brand_id = $1 AND profile_id = ANY($2)",
        brand_id,
        profile_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    crate::outbox::redact(conn, "clienteling_task", &ids, &["title"]).await?;
    sqlx::query!(
        "UPDATE clienteling_notifications n SET payload = '{}'::jsonb
         FROM clienteling_tasks t
         WHERE t.id = n.task_id AND t.brand_id = $1 AND n.brand_id = $1 AND t.profile_id = ANY($2)
           AND n.payload <> '{}'::jsonb",
        brand_id,
        profile_ids
    )
    .execute(conn)
    .await?;
    Ok(changed)
}

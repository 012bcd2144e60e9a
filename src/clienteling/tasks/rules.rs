//! Checks shared by the task endpoints, who may change a task, and the outbox record of every change.

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::Task;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::outbox::{self, NewEvent};

pub const MAX_PAST_DAYS: i64 = 30;
pub const MAX_AHEAD_DAYS: i64 = 731;

pub fn not_found() -> ApiError {
    ApiError::not_found().with_detail("No such task in your scope.")
}

pub fn task_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found())
}

pub fn closed(status: &str) -> ApiError {
    ApiError::new(ErrorCode::TaskClosed).with_detail(format!("The task is {status}."))
}

/// Trimmed text of at most `max` characters without control characters (a title is one line; notes keep
/// line breaks and tabs); `required` refuses an empty one.
pub fn check_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let value = value.unwrap_or_default().trim();
    let control = value
        .chars()
        .any(|c| c.is_control() && (required || (c != '\n' && c != '\t')));
    if required && value.is_empty() {
        errors.push(FieldError::new(field, "required", "Required."));
    } else if value.chars().count() > max || control {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("At most {max} characters, without control characters."),
        ));
    }
    value.to_owned()
}

pub fn check_due(due_at: chrono::DateTime<Utc>, errors: &mut Vec<FieldError>) {
    let now = Utc::now();
    if due_at < now - Duration::days(MAX_PAST_DAYS) {
        errors.push(FieldError::new(
            "due_at",
            "too_old",
            format!("At most {MAX_PAST_DAYS} days ago."),
        ));
    } else if due_at > now + Duration::days(MAX_AHEAD_DAYS) {
        errors.push(FieldError::new(
            "due_at",
            "too_far",
            "At most 2 years ahead.",
        ));
    }
}

/// Whether `id` is an active client advisor or manager of the caller's brand working in a store the scope
/// covers (any store of the brand for a brand-wide scope).
pub async fn assignable(
    db: &sqlx::PgPool,
    in_brand: &InBrand<Clienteling>,
    scope: &Scope,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let staff = crate::auth::active_staff(db, id).await?;
    Ok(staff.is_some_and(|staff| {
        staff.brand_id.as_deref() == Some(in_brand.brand.slug.as_str())
            && staff
                .roles
                .iter()
                .any(|role| role == "client_advisor" || role == "manager")
            && (scope.brand_wide || staff.store_ids.iter().any(|s| scope.covers_store(s)))
    }))
}

/// Whether `user` still works in the brand's `store`: an active staff account of the brand whose stores
/// hold it, a manager granted the whole brand's book, or an admin. Who left (disabled, or moved to other
/// stores) is not handed a journey's task for the store.
pub async fn works_in(
    conn: &mut PgConnection,
    brand_id: Uuid,
    brand: &str,
    user: Uuid,
    store: &str,
) -> Result<bool, sqlx::Error> {
    let Some(staff) = crate::auth::active_staff_on(&mut *conn, user).await? else {
        return Ok(false);
    };
    if staff.roles.iter().any(|role| role == "admin") {
        return Ok(true);
    }
    if staff.brand_id.as_deref() != Some(brand) {
        return Ok(false);
    }
    if staff.store_ids.iter().any(|s| s == store) {
        return Ok(true);
    }
    if !staff.roles.iter().any(|role| role == "manager") {
        return Ok(false);
    }
    let granted = sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM clienteling_brand_grants WHERE brand_id = $1 AND user_id = $2)",
        brand_id,
        user
    )
    .fetch_one(conn)
    .await?;
    Ok(granted.unwrap_or(false))
}

/// Whether `user` is still active staff of the brand (or an admin): who holds a task is reminded of it
/// wherever they work now (a manager may hand a store's task to an advisor of another store on purpose),
/// unless their account was disabled or moved to another brand.
pub async fn still_staff(
    conn: &mut PgConnection,
    brand: &str,
    user: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(crate::auth::active_staff_on(&mut *conn, user)
        .await?
        .is_some_and(|staff| {
            staff.roles.iter().any(|role| role == "admin")
                || staff.brand_id.as_deref() == Some(brand)
        }))
}

/// Who may complete or cancel a task: its assignee, or a manager (or admin) whose scope covers its store.
pub fn may_change(scope: &Scope, task: &Task) -> bool {
    task.assignee_id == scope.user_id || (scope.manages && scope.covers_store(&task.store))
}

/// `clienteling.task.<what>`, in the change's transaction.
pub async fn record(
    conn: &mut PgConnection,
    what: &'static str,
    brand: &str,
    task: &Task,
    actor: &str,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let topic = match what {
        "created" => "clienteling.task.created",
        "completed" => "clienteling.task.completed",
        "cancelled" => "clienteling.task.cancelled",
        "due" => "clienteling.task.due",
        _ => "clienteling.task.reassigned",
    };
    outbox::record(
        conn,
        NewEvent {
            topic,
            aggregate_type: "clienteling_task",
            aggregate_id: task.id.to_string(),
            payload: json!({
                "task_id": task.id,
                "brand": brand,
                "client_id": task.client_id,
                "assignee_id": task.assignee_id,
                "store": task.store,
                "title": task.title,
                "due_at": task.due_at,
                "priority": task.priority,
                "source": task.source,
                "status": task.status,
                "actor": actor,
                "details": details,
            }),
        },
    )
    .await?;
    Ok(())
}

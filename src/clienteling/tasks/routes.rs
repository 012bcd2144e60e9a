//! `POST/GET …/clienteling/tasks` (create; mine grouped by local day), `GET …/tasks/{id}`, and
//! `POST …/tasks/{id}/complete|cancel|reassign`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{CANCELLED, CreateTask, DONE, GroupedTasks, OPEN, PRIORITIES, ReassignTask};
use super::repo::{self, NewTask};
use super::rules::{self, closed, not_found};
use crate::auth::AuthError;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, FieldError};
use crate::state::AppState;

/// The most open tasks one list shows.
const LIST_LIMIT: i64 = 500;

pub fn path_of(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/clienteling/tasks/{id}")
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/tasks", tag = "clienteling", operation_id = "create_clienteling_task", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = CreateTask,
    responses(
        (status = 201, description = "Created, with `Location`", body = super::model::Task),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand, or an advisor giving a task to someone else", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_task(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    body: web::Json<CreateTask>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let me = in_brand.user.user_id;
    let assignee = body.assignee_id.unwrap_or(me);
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    drop(conn);
    if assignee != me && !scope.manages {
        return Err(AuthError::NotAllowed.into());
    }
    let mut errors = Vec::new();
    let title = rules::check_text("title", Some(&body.title), 200, true, &mut errors);
    let notes = rules::check_text("notes", body.notes.as_deref(), 4000, false, &mut errors);
    rules::check_due(body.due_at, &mut errors);
    let priority = body.priority.clone().unwrap_or_else(|| "normal".into());
    if !PRIORITIES.contains(&priority.as_str()) {
        errors.push(FieldError::new(
            "priority",
            "invalid",
            "One of low, normal, high.",
        ));
    }
    let source = body.source.clone().unwrap_or_else(|| "manual".into());
    match source.as_str() {
        "manual" | "system" => {}
        "journey" => errors.push(FieldError::new(
            "source",
            "reserved",
            "Journey tasks are made by journeys' create_advisor_task steps.",
        )),
        _ => errors.push(FieldError::new(
            "source",
            "invalid",
            "One of manual, system.",
        )),
    }
    if assignee != me && !rules::assignable(&state.db, &in_brand, &scope, assignee).await? {
        errors.push(FieldError::new(
            "assignee_id",
            "not_an_advisor",
            "A client advisor or manager of the brand working in a store of your scope.",
        ));
    }
    let mut tx = state.db.begin().await?;
    // Locked: an erasure of the client waits for this write, and then erases it with the rest.
    let client = crate::clienteling::repo::visible(&mut tx, &scope, body.client_id, true).await?;
    if client
        .as_ref()
        .is_some_and(|client| client.erased_at.is_some())
    {
        return Err(crate::clienteling::repo::client_erased());
    }
    if client.is_none() {
        errors.push(FieldError::new(
            "client_id",
            "not_found",
            "A client in your book.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = Uuid::now_v7();
    repo::insert(
        &mut tx,
        &NewTask {
            id,
            brand_id: in_brand.brand.id,
            client_id: body.client_id,
            assignee_id: assignee,
            title: &title,
            notes: &notes,
            due_at: body.due_at,
            priority: &priority,
            source: &source,
            source_key: None,
            created_by: Some(me),
        },
    )
    .await?;
    let task = repo::by_id(&mut tx, id).await?.ok_or_else(not_found)?;
    let slug = &in_brand.brand.slug;
    rules::record(
        &mut tx,
        "created",
        slug,
        &task,
        &in_brand.actor(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, path_of(slug, id)))
        .json(task))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MyTasksParams {
    /// Another advisor's open tasks (managers; those of clients in their scope). Default: mine.
    pub assignee: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/tasks", tag = "clienteling", operation_id = "list_clienteling_tasks", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), MyTasksParams),
    responses(
        (status = 200, description = "The open tasks, grouped as overdue, due today and upcoming by the local day in the assignee's store's time zone", body = GroupedTasks),
        (status = 400, description = "A malformed query string", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand, or an advisor asking for another's tasks", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_tasks(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<MyTasksParams>,
) -> Result<HttpResponse, ApiError> {
    let me = in_brand.user.user_id;
    let assignee = query.assignee.unwrap_or(me);
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    if assignee != me && !scope.manages {
        return Err(AuthError::NotAllowed.into());
    }
    let zone = super::zone_of(&mut conn, &in_brand.brand, assignee).await?;
    let today = repo::today_in(&mut conn, &zone).await?;
    let mut dated =
        repo::open_of_assignee(&mut conn, &scope, assignee, &zone, LIST_LIMIT + 1).await?;
    let truncated = dated.len() as i64 > LIST_LIMIT;
    dated.truncate(LIST_LIMIT as usize);
    let mut grouped = GroupedTasks {
        assignee_id: assignee,
        timezone: zone,
        today,
        overdue: Vec::new(),
        due_today: Vec::new(),
        upcoming: Vec::new(),
        truncated,
    };
    for item in dated {
        let bucket = match item.due_day.cmp(&today) {
            std::cmp::Ordering::Less => &mut grouped.overdue,
            std::cmp::Ordering::Equal => &mut grouped.due_today,
            std::cmp::Ordering::Greater => &mut grouped.upcoming,
        };
        bucket.push(item.task);
    }
    Ok(HttpResponse::Ok().json(grouped))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/tasks/{id}", tag = "clienteling", operation_id = "get_clienteling_task", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = super::model::Task),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such task in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_task(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = rules::task_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let task = repo::visible(&mut conn, &scope, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(task))
}

async fn close(
    state: &AppState,
    in_brand: &InBrand<Clienteling>,
    raw_id: &str,
    to: &'static str,
) -> Result<HttpResponse, ApiError> {
    let id = rules::task_id(raw_id)?;
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, in_brand).await?;
    let current = repo::visible_for_update(&mut tx, &scope, id)
        .await?
        .ok_or_else(not_found)?;
    if !rules::may_change(&scope, &current) {
        return Err(AuthError::NotAllowed.into());
    }
    if current.status == to {
        return Ok(HttpResponse::Ok().json(current));
    }
    if current.status != OPEN {
        return Err(closed(&current.status));
    }
    repo::close(&mut tx, id, to).await?;
    let task = repo::by_id(&mut tx, id).await?.ok_or_else(not_found)?;
    let what = if to == DONE { "completed" } else { "cancelled" };
    rules::record(
        &mut tx,
        what,
        &in_brand.brand.slug,
        &task,
        &in_brand.actor(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(task))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/tasks/{id}/complete", tag = "clienteling", operation_id = "complete_clienteling_task", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "Done (also when it already was)", body = super::model::Task),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Neither the task's assignee nor a manager of its store", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such task in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task-closed`: it was cancelled", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn complete_task(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    close(&state, &in_brand, &path.1, DONE).await
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/tasks/{id}/cancel", tag = "clienteling", operation_id = "cancel_clienteling_task", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "Cancelled (also when it already was)", body = super::model::Task),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Neither the task's assignee nor a manager of its store", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such task in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task-closed`: it was completed", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn cancel_task(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    close(&state, &in_brand, &path.1, CANCELLED).await
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/tasks/{id}/reassign", tag = "clienteling", operation_id = "reassign_clienteling_task", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Task id")),
    request_body = ReassignTask,
    responses(
        (status = 200, description = "Given to the new assignee", body = super::model::Task),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a manager of the task's store (advisors do not reassign)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such task in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task-closed`: it was completed or cancelled", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn reassign_task(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<ReassignTask>,
) -> Result<HttpResponse, ApiError> {
    let id = rules::task_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    drop(conn);
    // Before the transaction: the staff look-up takes a pool connection of its own.
    let fits = rules::assignable(&state.db, &in_brand, &scope, body.assignee_id).await?;
    let mut tx = state.db.begin().await?;
    let current = repo::visible_for_update(&mut tx, &scope, id)
        .await?
        .ok_or_else(not_found)?;
    if !scope.manages || !scope.covers_store(&current.store) {
        return Err(AuthError::NotAllowed.into());
    }
    if current.status != OPEN {
        return Err(closed(&current.status));
    }
    if !fits {
        return Err(ApiError::validation(vec![FieldError::new(
            "assignee_id",
            "not_an_advisor",
            "A client advisor or manager of the brand working in a store of your scope.",
        )]));
    }
    if current.assignee_id == body.assignee_id {
        return Ok(HttpResponse::Ok().json(current));
    }
    repo::set_assignee(&mut tx, id, body.assignee_id).await?;
    let task = repo::by_id(&mut tx, id).await?.ok_or_else(not_found)?;
    rules::record(
        &mut tx,
        "reassigned",
        &in_brand.brand.slug,
        &task,
        &in_brand.actor(),
        json!({"reason": "manager", "previous": {"assignee_id": current.assignee_id}}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(task))
}

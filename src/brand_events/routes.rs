//! `…/brands/{brand}/events`: create, list, read, replace and delete (a draft) events, and
//! `…/events/{id}/open|close|cancel`. Changes are the marketers' (`InBrand<Marketing>`); reads take any
//! staff of the brand, advisors and managers seeing published events only.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use validator::Validate;

use super::access::{EventStaff, Viewer};
use super::model::{Action, Checked, EventList, EventRequest, Status, next};
use super::repo::{self, EventRow};
use super::rsvp;
use crate::brands::{InBrand, Marketing};
use crate::crm::consent::Purpose;
use crate::crm::messages::templates;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::pagination::{Cursor, Listing, Pagination};

pub fn event_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such event in this brand.")
}

/// A path's event id; anything that is not a UUID names no event.
pub fn event_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| event_not_found())
}

pub fn path_of(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/events/{id}")
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
}

pub fn decode_cursor(cursor: &Cursor) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_str())
        .ok()
        .and_then(|raw| Uuid::from_slice(&raw).ok())
        .ok_or_else(bad_cursor)
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The event as the viewer may see it (a draft is not found by advisors).
pub async fn visible(
    conn: &mut sqlx::PgConnection,
    viewer: &Viewer,
    brand_id: Uuid,
    id: Uuid,
) -> Result<EventRow, ApiError> {
    repo::load(conn, brand_id, id, false)
        .await?
        .filter(|event| viewer.sees_event(event))
        .ok_or_else(event_not_found)
}

/// Every field error of the request, the database's checks included (the store, the template).
async fn check(
    state: &AppState,
    in_brand: &InBrand<Marketing>,
    body: &EventRequest,
) -> Result<Checked, ApiError> {
    let mut errors = Vec::new();
    let checked = body.check(state.brand_events.now(), &mut errors);
    let mut conn = state.db.acquire().await?;
    if let Some(store) = &checked.store {
        let known = crate::brands::is_slug(store)
            && crate::brands::missing_stores(
                &mut *conn,
                &in_brand.brand.slug,
                std::slice::from_ref(store),
            )
            .await?
            .is_empty();
        if !known {
            errors.push(FieldError::new(
                "store",
                "not_found",
                "A store code of the brand.",
            ));
        }
    }
    if let Some(id) = body.promotion_template_id {
        match templates::load(&mut conn, in_brand.brand.id, id).await? {
            None => errors.push(FieldError::new(
                "promotion_template_id",
                "not_found",
                "A message template of the brand.",
            )),
            Some(t) if t.purpose != Purpose::Events => errors.push(FieldError::new(
                "promotion_template_id",
                "not_events",
                "A template with purpose events.",
            )),
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(ApiError::validation(errors))
    }
}

async fn shown(
    conn: &mut sqlx::PgConnection,
    viewer: &Viewer,
    event: EventRow,
) -> Result<super::model::Event, ApiError> {
    let counts = repo::counts(conn, event.id, viewer.invited_by_filter(&event)).await?;
    Ok(event.into_event(counts))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events", tag = "brand_events", operation_id = "create_brand_event", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = EventRequest,
    responses(
        (status = 201, description = "The event, a draft, with `Location`", body = super::model::Event),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_event(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<EventRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let checked = check(&state, &in_brand, &body).await?;
    let id = Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    repo::insert(
        &mut tx,
        id,
        in_brand.brand.id,
        &body,
        &checked,
        &in_brand.actor(),
    )
    .await?;
    let event = repo::load(&mut tx, in_brand.brand.id, id, false)
        .await?
        .ok_or_else(event_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, path_of(&in_brand.brand.slug, id)))
        .json(event.into_event(Default::default())))
}

pub struct EventListing;

impl Listing for EventListing {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events of this status: `draft` (marketers), `open`, `closed`, `cancelled`.
    pub status: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<EventListing>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/events", tag = "brand_events", operation_id = "list_brand_events", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), EventQuery, Pagination<EventListing>),
    responses(
        (status = 200, description = "The brand's events, oldest created first (advisors and managers: published ones only)", body = EventList),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer, client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_events(
    state: web::Data<AppState>,
    in_brand: InBrand<EventStaff>,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let status = query.status.as_deref();
    if status.is_some_and(|s| Status::parse(s).is_none()) {
        return Err(ApiError::validation(vec![FieldError::new(
            "status",
            "invalid",
            "One of draft, open, closed, cancelled.",
        )]));
    }
    let after = query.page.cursor.as_ref().map(decode_cursor).transpose()?;
    let mut conn = state.db.acquire().await?;
    let viewer = Viewer::of(&mut conn, &in_brand).await?;
    let limit = i64::from(query.page.size());
    let mut rows = repo::list(
        &mut conn,
        in_brand.brand.id,
        viewer.sees_drafts(),
        status,
        after,
        limit + 1,
    )
    .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| encode_cursor(last.id))
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(shown(&mut conn, &viewer, row).await?);
    }
    Ok(HttpResponse::Ok().json(EventList { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/events/{id}", tag = "brand_events", operation_id = "get_brand_event", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event with its guests per status (advisors who do not host it: their own guests)", body = super::model::Event),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer, client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it (drafts are the marketers')", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_event(
    state: web::Data<AppState>,
    in_brand: InBrand<EventStaff>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let viewer = Viewer::of(&mut conn, &in_brand).await?;
    let event = visible(&mut conn, &viewer, in_brand.brand.id, id).await?;
    Ok(HttpResponse::Ok().json(shown(&mut conn, &viewer, event).await?))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/events/{id}", tag = "brand_events", operation_id = "replace_brand_event", security(("bearer" = [])),
    description = "Replaces the event's fields. More places give the waitlist's first guests a place (each told); fewer than the guests already confirmed are refused.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    request_body = EventRequest,
    responses(
        (status = 200, description = "The event", body = super::model::Event),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-not-editable`: the event was cancelled", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn replace_event(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<EventRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path.1)?;
    let body = body.into_inner();
    let brand = &in_brand.brand;
    // Not found before invalid: the fields of an event the brand does not have are nobody's business.
    {
        let mut conn = state.db.acquire().await?;
        repo::load(&mut conn, brand.id, id, false)
            .await?
            .ok_or_else(event_not_found)?;
    }
    let checked = check(&state, &in_brand, &body).await?;
    let mut tx = state.db.begin().await?;
    let event = repo::load(&mut tx, brand.id, id, true)
        .await?
        .ok_or_else(event_not_found)?;
    if event.status() == Status::Cancelled {
        return Err(ApiError::new(ErrorCode::EventNotEditable));
    }
    let counts = repo::counts(&mut tx, id, None).await?;
    if let Some(capacity) = body.capacity
        && i64::from(capacity) < counts.taken()
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "capacity",
            "below_confirmed",
            format!(
                "{} guests are confirmed or checked in already; at least that many places.",
                counts.taken()
            ),
        )]));
    }
    repo::replace(&mut tx, brand.id, id, &body, &checked).await?;
    let event = repo::load(&mut tx, brand.id, id, false)
        .await?
        .ok_or_else(event_not_found)?;
    if event.status() != Status::Draft {
        rsvp::fill_from_waitlist(&state.brand_events, &mut tx, brand, &event).await?;
    }
    let counts = repo::counts(&mut tx, id, None).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(event.into_event(counts)))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/events/{id}", tag = "brand_events", operation_id = "delete_brand_event", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-not-editable`: only a draft is deleted (cancel a published event)", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete_event(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path.1)?;
    let mut tx = state.db.begin().await?;
    let event = repo::load(&mut tx, in_brand.brand.id, id, true)
        .await?
        .ok_or_else(event_not_found)?;
    if event.status() != Status::Draft
        || !repo::delete_draft(&mut tx, in_brand.brand.id, id).await?
    {
        return Err(ApiError::new(ErrorCode::EventNotEditable));
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn transition(
    state: &AppState,
    in_brand: &InBrand<Marketing>,
    raw_id: &str,
    action: Action,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(raw_id)?;
    let brand = &in_brand.brand;
    let mut tx = state.db.begin().await?;
    let event = repo::load(&mut tx, brand.id, id, true)
        .await?
        .ok_or_else(event_not_found)?;
    let to = next(event.status(), action).ok_or_else(|| {
        ApiError::new(ErrorCode::EventTransitionInvalid)
            .with_detail(format!("The event is {}.", event.status().as_str()))
    })?;
    if to == Status::Open && event.ends_at <= state.brand_events.now() {
        return Err(ApiError::new(ErrorCode::EventTransitionInvalid)
            .with_detail("The event is over; it cannot open."));
    }
    repo::set_status(&mut tx, brand.id, id, to).await?;
    let event = repo::load(&mut tx, brand.id, id, false)
        .await?
        .ok_or_else(event_not_found)?;
    let counts = repo::counts(&mut tx, id, None).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(event.into_event(counts)))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/open", tag = "brand_events", operation_id = "open_brand_event", security(("bearer" = [])),
    description = "Publishes a draft (or opens a closed event again): guests may be invited and answer.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event, open", body = super::model::Event),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-transition-invalid`: open already, cancelled, or over", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn open_event(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, &in_brand, &path.1, Action::Open).await
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/close", tag = "brand_events", operation_id = "close_brand_event", security(("bearer" = [])),
    description = "Closes the RSVPs (guests are still checked in).",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event, closed", body = super::model::Event),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-transition-invalid`: not open", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn close_event(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, &in_brand, &path.1, Action::Close).await
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/cancel", tag = "brand_events", operation_id = "cancel_brand_event", security(("bearer" = [])),
    description = "Calls the event off, for good: its RSVP links are refused from then on.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event, cancelled", body = super::model::Event),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-transition-invalid`: cancelled already", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn cancel_event(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, &in_brand, &path.1, Action::Cancel).await
}

//! `GET …/events/{id}/guests?status=&cursor=` (with counts per status), and staff acting for a guest:
//! `POST …/guests/{guest}/rsvp` (on the client's behalf) and `POST …/guests/{guest}/check-in`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::access::{EventStaff, Viewer};
use super::activity::{self, Step};
use super::guests::{self, GuestPage, GuestStatus, STATUSES};
use super::model::Status;
use super::repo;
use super::routes::{decode_cursor, encode_cursor, event_id, visible};
use super::rsvp::{self, Response};
use crate::brands::InBrand;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::pagination::{Listing, Pagination};

fn guest_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such guest of this event.")
}

fn guest_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| guest_not_found())
}

pub struct GuestListing;

impl Listing for GuestListing {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GuestQuery {
    /// Only guests of this status: `invited`, `confirmed`, `waitlisted`, `declined`, `attended`.
    pub status: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<GuestListing>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/events/{id}/guests", tag = "brand_events", operation_id = "list_brand_event_guests", security(("bearer" = [])),
    description = "The guests, by invitation, with their invitation's outcome (sent, or suppressed with its reason) and counts per status. Marketers and the event's hosts (staff of its store, or of the whole brand) see every guest; other advisors the guests they invited.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id"), GuestQuery, Pagination<GuestListing>),
    responses(
        (status = 200, description = "A page of guests", body = GuestPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer, client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_guests(
    state: web::Data<AppState>,
    in_brand: InBrand<EventStaff>,
    path: web::Path<(String, String)>,
    query: web::Query<GuestQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let status = query.status.as_deref();
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::validation(vec![FieldError::new(
            "status",
            "invalid",
            "One of invited, confirmed, waitlisted, declined, attended.",
        )]));
    }
    let after = query.page.cursor.as_ref().map(decode_cursor).transpose()?;
    let id = event_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let viewer = Viewer::of(&mut conn, &in_brand).await?;
    let event = visible(&mut conn, &viewer, in_brand.brand.id, id).await?;
    let only = viewer.invited_by_filter(&event);
    let limit = i64::from(query.page.size());
    let mut rows = guests::page(&mut conn, event.id, status, only, after, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| encode_cursor(last.id))
    } else {
        None
    };
    let counts = repo::counts(&mut conn, event.id, only).await?;
    let items = guests::with_names(&mut conn, in_brand.brand.id, rows).await?;
    Ok(HttpResponse::Ok().json(GuestPage {
        items,
        next_cursor,
        counts,
    }))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BrandEventRsvpRequest)]
pub struct RsvpRequest {
    pub response: Response,
}

/// The guest, if the caller may act for them (else 404, as if there were none).
async fn reachable(
    state: &AppState,
    in_brand: &InBrand<EventStaff>,
    raw_event: &str,
    raw_guest: &str,
) -> Result<(Uuid, Uuid), ApiError> {
    let id = event_id(raw_event)?;
    let guest = guest_id(raw_guest)?;
    let mut conn = state.db.acquire().await?;
    let viewer = Viewer::of(&mut conn, in_brand).await?;
    let event = visible(&mut conn, &viewer, in_brand.brand.id, id).await?;
    let row = guests::load(&mut conn, event.id, guest, false)
        .await?
        .ok_or_else(guest_not_found)?;
    if !viewer.may_act_for(&mut conn, &event, &row).await? {
        return Err(guest_not_found());
    }
    Ok((event.id, row.id))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/guests/{guest}/rsvp", tag = "brand_events", operation_id = "respond_for_brand_event_guest", security(("bearer" = [])),
    description = "Answers on the guest's behalf (a client who called their advisor). Accepting past capacity waitlists the guest; a confirmed guest's decline gives the place to the first waitlisted guest, who is told.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id"), ("guest" = Uuid, Path, description = "The guest's invitation id")),
    request_body = RsvpRequest,
    responses(
        (status = 200, description = "The guest after the answer", body = super::guests::Guest),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer, client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, event or guest (advisors: a guest who is neither theirs nor a client of their book)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`rsvp-closed` (not open, or past the RSVP deadline), `event-cancelled`, or `guest-checked-in`; nothing changed", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn respond_for_guest(
    state: web::Data<AppState>,
    in_brand: InBrand<EventStaff>,
    path: web::Path<(String, String, String)>,
    body: web::Json<RsvpRequest>,
) -> Result<HttpResponse, ApiError> {
    let (event_id, guest_id) = reachable(&state, &in_brand, &path.1, &path.2).await?;
    let mut tx = state.db.begin().await?;
    let row = rsvp::respond(
        &state.brand_events,
        &mut tx,
        &in_brand.brand,
        event_id,
        guest_id,
        body.response,
        "staff",
    )
    .await?;
    tx.commit().await?;
    let mut conn = state.db.acquire().await?;
    let guest = guests::with_names(&mut conn, in_brand.brand.id, vec![row]).await?;
    Ok(HttpResponse::Ok().json(&guest[0]))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/guests/{guest}/check-in", tag = "brand_events", operation_id = "check_in_brand_event_guest", security(("bearer" = [])),
    description = "Checks a confirmed guest in at the event (`attended`). Checking in again answers the guest unchanged.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id"), ("guest" = Uuid, Path, description = "The guest's invitation id")),
    responses(
        (status = 200, description = "The guest, attended", body = super::guests::Guest),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer, client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, event or guest (advisors: a guest who is neither theirs nor a client of their book)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`guest-not-confirmed`, `event-cancelled`, or `event-not-open` (a draft); nothing changed", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn check_in_guest(
    state: web::Data<AppState>,
    in_brand: InBrand<EventStaff>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (event_id, guest_id) = reachable(&state, &in_brand, &path.1, &path.2).await?;
    let brand = &in_brand.brand;
    let now = state.brand_events.now();
    let mut tx = state.db.begin().await?;
    let event = repo::load(&mut tx, brand.id, event_id, false)
        .await?
        .ok_or_else(guest_not_found)?;
    match event.status() {
        Status::Cancelled => return Err(ApiError::new(ErrorCode::EventCancelled)),
        Status::Draft => return Err(ApiError::new(ErrorCode::EventNotOpen)),
        Status::Open | Status::Closed => {}
    }
    let row = guests::load(&mut tx, event.id, guest_id, true)
        .await?
        .ok_or_else(guest_not_found)?;
    match row.status() {
        GuestStatus::Attended => {}
        GuestStatus::Confirmed => {
            let version = guests::check_in(&mut tx, row.id, now, in_brand.user.user_id).await?;
            let step = Step::new(&brand.slug, &event, row.id, row.profile_id, version, now);
            activity::record(&mut tx, activity::ATTENDED, &step).await?;
        }
        other => {
            return Err(ApiError::new(ErrorCode::GuestNotConfirmed)
                .with_detail(format!("The guest is {}.", other.as_str())));
        }
    }
    let row = guests::load(&mut tx, event.id, row.id, false)
        .await?
        .ok_or_else(guest_not_found)?;
    tx.commit().await?;
    let mut conn = state.db.acquire().await?;
    let guest = guests::with_names(&mut conn, brand.id, vec![row]).await?;
    Ok(HttpResponse::Ok().json(&guest[0]))
}

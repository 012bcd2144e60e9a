//! The guest's RSVP link, public (no login): `GET …/events/{id}/rsvp/{token}` shows the event and where the
//! guest stands, `POST` with `{"response": "accept" | "decline"}` answers. The token is checked before
//! anything is read: a token we did not sign (mistyped, altered), one for another event or brand is
//! `rsvp-link-invalid`; past its expiry `rsvp-link-expired`; a cancelled event `event-cancelled`; past the
//! deadline (or a closed event) `rsvp-closed` — each changes nothing. The path's template, not the token,
//! is what request logs and traces record.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::BrandEvents;
use super::guests::{self, GuestRow, GuestStatus};
use super::model::Status;
use super::repo::{self, EventRow};
use super::routes_guests::RsvpRequest;
use super::rsvp;
use crate::brands::Brand;
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;

/// The event as its guest sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventPublic)]
pub struct PublicEvent {
    pub name: String,
    pub description: String,
    /// The venue, or the store's code.
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// RSVPs close then.
    pub rsvp_deadline: DateTime<Utc>,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventRsvpView)]
pub struct RsvpView {
    pub event: PublicEvent,
    pub guest_status: GuestStatus,
    /// Whether an answer is taken now.
    pub rsvp_open: bool,
}

fn invalid() -> ApiError {
    ApiError::new(ErrorCode::RsvpLinkInvalid)
}

/// The brand, event and guest the link names, or why the link is refused.
async fn resolve(
    state: &AppState,
    path: &(String, String, String),
) -> Result<(Brand, EventRow, GuestRow), ApiError> {
    let events: &BrandEvents = &state.brand_events;
    let (invitation_id, expires_at) = events.links.verify(&path.2).map_err(|_| invalid())?;
    if events.now() >= expires_at {
        return Err(ApiError::new(ErrorCode::RsvpLinkExpired));
    }
    let event_id = Uuid::parse_str(&path.1).map_err(|_| invalid())?;
    let brand = crate::brands::find(&state.db, &path.0)
        .await?
        .ok_or_else(invalid)?;
    let mut conn = state.db.acquire().await?;
    let guest = guests::load_in_brand(&mut conn, brand.id, invitation_id)
        .await?
        .filter(|guest| guest.event_id == event_id)
        .ok_or_else(invalid)?;
    let event = repo::load(&mut conn, brand.id, event_id, false)
        .await?
        .ok_or_else(invalid)?;
    if event.status() == Status::Cancelled {
        return Err(ApiError::new(ErrorCode::EventCancelled));
    }
    Ok((brand, event, guest))
}

fn view(events: &BrandEvents, event: EventRow, guest: &GuestRow) -> RsvpView {
    let rsvp_open = rsvp::refusal(&event, events.now()).is_none();
    let location = event.location();
    RsvpView {
        event: PublicEvent {
            rsvp_deadline: event.deadline(),
            status: event.status(),
            name: event.name,
            description: event.description,
            location,
            starts_at: event.starts_at,
            ends_at: event.ends_at,
        },
        guest_status: guest.status(),
        rsvp_open,
    }
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/events/{id}/rsvp/{token}", tag = "brand_events", operation_id = "show_brand_event_rsvp",
    description = "The guest's RSVP link (no login): the event and the guest's status.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = String, Path, description = "Event id"), ("token" = String, Path, description = "The link's signed token")),
    responses(
        (status = 200, description = "The invitation", body = RsvpView),
        (status = 400, description = "`rsvp-link-invalid`: not a link we issued for this event", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-cancelled`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`rsvp-link-expired`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn show_rsvp(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, event, guest) = resolve(&state, &path).await?;
    Ok(HttpResponse::Ok().json(view(&state.brand_events, event, &guest)))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/rsvp/{token}", tag = "brand_events", operation_id = "answer_brand_event_rsvp",
    description = "Accepts or declines through the guest's link (no login). Accepting past capacity waitlists the guest (in order); a confirmed guest's decline gives the place to the first waitlisted guest, who is told.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = String, Path, description = "Event id"), ("token" = String, Path, description = "The link's signed token")),
    request_body = RsvpRequest,
    responses(
        (status = 200, description = "The invitation after the answer", body = RsvpView),
        (status = 400, description = "`rsvp-link-invalid` (not a link we issued for this event), or malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-cancelled`, `rsvp-closed` (closed, or past the RSVP deadline) or `guest-checked-in`; nothing changed", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`rsvp-link-expired`; nothing changed", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 415, response = crate::errors::responses::UnsupportedMediaType),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn answer_rsvp(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    body: web::Json<RsvpRequest>,
) -> Result<HttpResponse, ApiError> {
    let (brand, event, guest) = resolve(&state, &path).await?;
    let events = &state.brand_events;
    let mut tx = state.db.begin().await?;
    let guest = rsvp::respond(
        events,
        &mut tx,
        &brand,
        event.id,
        guest.id,
        body.response,
        "link",
    )
    .await?;
    let event = repo::load(&mut tx, brand.id, event.id, false)
        .await?
        .ok_or_else(invalid)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(view(events, event, &guest)))
}

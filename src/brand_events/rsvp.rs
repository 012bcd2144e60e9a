//! An answer to an invitation, by the guest's link or by staff, and the waitlist. Correct under any number of
//! concurrent answers by construction: every answer runs in a transaction holding the event's row
//! (`SELECT … FOR UPDATE`), so places are counted and given one answer at a time — 50 accepts for the last
//! 10 places make exactly 10 confirmed and 40 waitlisted, in the order they got the lock.
//!
//! - Accept: a place if one is left (`confirmed`), else `waitlisted` (its time orders the waitlist). Accepting
//!   again changes nothing.
//! - Decline: `declined`; a confirmed guest's place goes to the first waitlisted guest, who is told (the
//!   event's promotion template, on the guest's invitation channel, by the sending job). Declining again
//!   changes nothing.
//! - A checked-in guest's answer stands (`guest-checked-in`).

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

use super::BrandEvents;
use super::activity::{self, Step};
use super::guests::{self, GuestRow, GuestStatus};
use super::model::Status;
use super::repo::{self, EventRow};
use super::send::SendEventMessages;
use crate::brands::Brand;
use crate::errors::{ApiError, ErrorCode};
use crate::jobs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BrandEventRsvpResponse)]
pub enum Response {
    Accept,
    Decline,
}

/// Why the event takes no answer now; `None` when it does.
pub fn refusal(event: &EventRow, now: chrono::DateTime<chrono::Utc>) -> Option<ApiError> {
    match event.status() {
        Status::Cancelled => Some(ApiError::new(ErrorCode::EventCancelled)),
        Status::Open if now < event.deadline() => None,
        Status::Open => {
            Some(ApiError::new(ErrorCode::RsvpClosed).with_detail("The RSVP deadline has passed."))
        }
        _ => Some(ApiError::new(ErrorCode::RsvpClosed).with_detail("The event takes no RSVPs.")),
    }
}

/// Answers for the guest `guest_id` of `event_id` (whose brand the caller checked) in `tx`, which this
/// locks the event in first; the caller commits. Answers the guest's row afterwards.
pub async fn respond(
    events: &BrandEvents,
    tx: &mut Transaction<'_, Postgres>,
    brand: &Brand,
    event_id: Uuid,
    guest_id: Uuid,
    response: Response,
    via: &str,
) -> Result<GuestRow, ApiError> {
    let now = events.now();
    let event = repo::load(tx, brand.id, event_id, true)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if let Some(refused) = refusal(&event, now) {
        return Err(refused);
    }
    let guest = guests::load(tx, event.id, guest_id, true)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let was = guest.status();
    let to = match (response, was) {
        (_, GuestStatus::Attended) => return Err(ApiError::new(ErrorCode::GuestCheckedIn)),
        (Response::Accept, GuestStatus::Confirmed | GuestStatus::Waitlisted)
        | (Response::Decline, GuestStatus::Declined) => return Ok(guest),
        (Response::Accept, _) => {
            let taken = guests::taken(tx, event.id).await?;
            match event.capacity {
                Some(capacity) if taken >= i64::from(capacity) => GuestStatus::Waitlisted,
                _ => GuestStatus::Confirmed,
            }
        }
        (Response::Decline, _) => GuestStatus::Declined,
    };
    let version = guests::set_response(tx, guest.id, to.as_str(), now, via).await?;
    let mut step = Step::new(
        &brand.slug,
        &event,
        guest.id,
        guest.profile_id,
        version,
        now,
    );
    step.response = Some(
        match response {
            Response::Accept => "accepted",
            Response::Decline => "declined",
        }
        .to_owned(),
    );
    step.status = Some(to.as_str().to_owned());
    step.via = Some(via.to_owned());
    activity::record(tx, activity::RSVP, &step).await?;
    if was == GuestStatus::Confirmed {
        fill_from_waitlist(events, tx, brand, &event).await?;
    }
    guests::load(tx, event.id, guest.id, false)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Gives free places to the waitlist's first guests, in order, each told by a notice the sending job sends.
/// The caller holds the event's row.
pub async fn fill_from_waitlist(
    events: &BrandEvents,
    conn: &mut PgConnection,
    brand: &Brand,
    event: &EventRow,
) -> Result<u32, ApiError> {
    let now = events.now();
    let mut promoted = 0;
    let mut notices = false;
    loop {
        if let Some(capacity) = event.capacity
            && guests::taken(conn, event.id).await? >= i64::from(capacity)
        {
            break;
        }
        let Some(next) = guests::waitlist_head(conn, event.id).await? else {
            break;
        };
        let (status, reason) = match (&next.channel, event.promotion_template_id) {
            (Some(_), Some(_)) => ("pending", None),
            (None, _) => ("failed", Some("no_channel")),
            (Some(_), None) => ("failed", Some("no_promotion_template")),
        };
        let template = event.promotion_template_id.filter(|_| status == "pending");
        let version = guests::promote(conn, next.id, status, reason, template).await?;
        notices |= status == "pending";
        let mut step = Step::new(&brand.slug, event, next.id, next.profile_id, version, now);
        step.response = Some("promoted".into());
        step.status = Some("confirmed".into());
        step.via = Some("waitlist".into());
        activity::record(conn, activity::RSVP, &step).await?;
        promoted += 1;
    }
    if notices {
        enqueue_sending(events, conn, brand, event.id).await?;
    }
    Ok(promoted)
}

/// Enqueues the sending job for the event on the caller's transaction.
pub async fn enqueue_sending(
    events: &BrandEvents,
    conn: &mut PgConnection,
    brand: &Brand,
    event_id: Uuid,
) -> Result<(), ApiError> {
    let job = SendEventMessages {
        brand: brand.slug.clone(),
        event_id,
    };
    jobs::enqueue(conn, &events.jobs, &job, None)
        .await
        .map_err(ApiError::internal)
}

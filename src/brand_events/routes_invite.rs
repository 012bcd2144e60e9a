//! `POST …/events/{id}/invitations/segment` (marketers: a segment's members, frozen) and
//! `POST …/events/{id}/invitations` (advisors and managers: one client of their book, logged as an
//! `event_invitation` interaction). One invitation per person: inviting again adds only who is new, and a
//! profile merged into another counts as that one. The messages go out by the sending job.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;
use utoipa::ToSchema;
use uuid::Uuid;

use super::activity::{self, Step};
use super::guests::{self, NewInvitation};
use super::model::Status;
use super::repo::{self, EventRow};
use super::routes::{event_id, event_not_found};
use super::rsvp::enqueue_sending;
use crate::brands::{Brand, Clienteling, InBrand, Marketing};
use crate::clienteling::interactions::log::{self, NewInteraction};
use crate::clienteling::scope::Scope;
use crate::crm::consent::Purpose;
use crate::crm::messages::{MessageChannel, templates};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BrandEventSegmentInvitation)]
pub struct SegmentInvitation {
    /// A segment of the brand: its members now are invited.
    pub segment_id: Uuid,
    /// `email`, `sms`, `whatsapp`, `line` or `push`.
    pub channel: String,
    /// A template of the brand with purpose `events` on that channel; `{{ event.rsvp_url }}` is the
    /// guest's link.
    pub template_id: Uuid,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventSegmentInvited)]
pub struct SegmentInvited {
    pub event_id: Uuid,
    /// New invitations (messages follow).
    pub invited: u64,
    /// Members invited before (by this or another invitation, or through a profile merged into theirs).
    pub already_invited: u64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BrandEventClientInvitation)]
pub struct ClientInvitation {
    /// A client of your book (their CRM profile id).
    pub client_id: Uuid,
    /// With `template_id`: the invitation is messaged on this channel. Without both: invited in person.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub template_id: Option<Uuid>,
}

fn event_not_open(event: &EventRow) -> ApiError {
    ApiError::new(ErrorCode::EventNotOpen)
        .with_detail(format!("The event is {}.", event.status().as_str()))
}

/// The channel and template of an invitation: both or neither (`required` says which).
async fn check_message(
    state: &AppState,
    brand: &Brand,
    channel: Option<&str>,
    template_id: Option<Uuid>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<(MessageChannel, Uuid)>, ApiError> {
    let (channel, template_id) = match (channel, template_id) {
        (None, None) => return Ok(None),
        (Some(channel), Some(template_id)) => (channel, template_id),
        (None, Some(_)) => {
            errors.push(FieldError::new(
                "channel",
                "required",
                "The channel of the template.",
            ));
            return Ok(None);
        }
        (Some(_), None) => {
            errors.push(FieldError::new(
                "template_id",
                "required",
                "An events template on the channel.",
            ));
            return Ok(None);
        }
    };
    let Some(channel) = MessageChannel::parse(channel) else {
        errors.push(FieldError::new(
            "channel",
            "invalid",
            "One of email, sms, whatsapp, line, push.",
        ));
        return Ok(None);
    };
    let mut conn = state.db.acquire().await?;
    match templates::load(&mut conn, brand.id, template_id).await? {
        None => errors.push(FieldError::new(
            "template_id",
            "not_found",
            "A message template of the brand.",
        )),
        Some(t) if t.purpose != Purpose::Events => errors.push(FieldError::new(
            "template_id",
            "not_events",
            "A template with purpose events.",
        )),
        Some(t) if t.channel != channel => errors.push(FieldError::new(
            "template_id",
            "channel_mismatch",
            format!("The template is for {}.", t.channel.as_str()),
        )),
        Some(_) => return Ok(Some((channel, template_id))),
    }
    Ok(None)
}

/// An RSVP link lasts until the event ends.
fn link_expiry(event: &EventRow) -> DateTime<Utc> {
    event.ends_at
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/invitations/segment", tag = "brand_events", operation_id = "invite_brand_event_segment", security(("bearer" = [])),
    description = "Freezes the segment's members into invitations, one per person (members invited before are skipped), and sends each its invitation through the send path with purpose `events`: consent and frequency caps apply, and each guest's outcome (sent, or suppressed with its reason) shows in the guest list.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    request_body = SegmentInvitation,
    responses(
        (status = 202, description = "Invited; the messages are on their way", body = SegmentInvited),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such event in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-not-open`: a draft, closed or cancelled event", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn invite_segment(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<SegmentInvitation>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path.1)?;
    let body = body.into_inner();
    let brand = &in_brand.brand;
    let mut errors = Vec::new();
    let message = check_message(
        &state,
        brand,
        Some(&body.channel),
        Some(body.template_id),
        &mut errors,
    )
    .await?;
    let mut tx = state.db.begin().await?;
    let event = repo::load(&mut tx, brand.id, id, true)
        .await?
        .ok_or_else(event_not_found)?;
    let members = crate::crm::segments::current_members(&mut tx, brand.id, body.segment_id).await?;
    if members.is_none() {
        errors.push(FieldError::new(
            "segment_id",
            "not_found",
            "A segment of the brand.",
        ));
    }
    let (Some(members), Some((channel, template_id)), true) = (members, message, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    if event.status() != Status::Open {
        return Err(event_not_open(&event));
    }
    // Who the event invited, as the people they are now: a member whose profile absorbed an invited one is
    // invited already.
    let invited = guests::invited_profiles(&mut tx, event.id).await?;
    let mut people: HashSet<Uuid> = invited.iter().copied().collect();
    for (_, person) in crate::crm::profile::current_ids(&mut tx, brand.id, &invited).await? {
        people.insert(person);
    }
    let fresh: Vec<Uuid> = members
        .iter()
        .copied()
        .filter(|member| !people.contains(member))
        .collect();
    let new = NewInvitation {
        event_id: event.id,
        brand_id: brand.id,
        source: "segment",
        segment_id: Some(body.segment_id),
        invited_by: Some(in_brand.user.user_id),
        channel: Some(channel.as_str()),
        template_id: Some(template_id),
        link_expires_at: link_expiry(&event),
    };
    let inserted = guests::insert_many(&mut tx, &new, &fresh).await?;
    if !inserted.is_empty() {
        enqueue_sending(&state.brand_events, &mut tx, brand, event.id).await?;
    }
    tx.commit().await?;
    let invited = inserted.len() as u64;
    Ok(
        HttpResponse::build(StatusCode::ACCEPTED).json(SegmentInvited {
            event_id: event.id,
            invited,
            already_invited: members.len() as u64 - invited,
        }),
    )
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/events/{id}/invitations", tag = "brand_events", operation_id = "invite_brand_event_client", security(("bearer" = [])),
    description = "Invites one client of your book, logged as an `event_invitation` interaction; with a channel and an events template the invitation (and its RSVP link) is messaged through the send path. Inviting a client again answers their invitation unchanged.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Event id")),
    request_body = ClientInvitation,
    responses(
        (status = 201, description = "Invited", body = super::guests::Guest),
        (status = 200, description = "Invited before: the invitation as it is", body = super::guests::Guest),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, no such published event in it, or no such client in your book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`event-not-open`: a closed or cancelled event", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn invite_client(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<ClientInvitation>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path.1)?;
    let body = body.into_inner();
    let brand = &in_brand.brand;
    let me = in_brand.user.user_id;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let client = crate::clienteling::client_in_scope(&mut conn, &scope, body.client_id)
        .await?
        .ok_or_else(|| ApiError::not_found().with_detail("No such client in your book."))?;
    drop(conn);
    let mut errors = Vec::new();
    let message = check_message(
        &state,
        brand,
        body.channel.as_deref(),
        body.template_id,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut tx = state.db.begin().await?;
    let event = repo::load(&mut tx, brand.id, id, true)
        .await?
        .filter(|event| event.status() != Status::Draft)
        .ok_or_else(event_not_found)?;
    if event.status() != Status::Open {
        return Err(event_not_open(&event));
    }
    let person = crate::crm::profile::current_id(&mut tx, brand.id, client.profile_id)
        .await?
        .ok_or_else(|| ApiError::not_found().with_detail("No such client in your book."))?;
    let mut profiles = vec![person, client.profile_id];
    let invited = guests::invited_profiles(&mut tx, event.id).await?;
    for (origin, current) in crate::crm::profile::current_ids(&mut tx, brand.id, &invited).await? {
        if current == person {
            profiles.push(origin);
        }
    }
    if let Some(existing) = guests::of_person(&mut tx, event.id, &profiles).await? {
        tx.commit().await?;
        let mut conn = state.db.acquire().await?;
        let guest = guests::with_names(&mut conn, brand.id, vec![existing]).await?;
        return Ok(HttpResponse::Ok().json(&guest[0]));
    }
    let new = NewInvitation {
        event_id: event.id,
        brand_id: brand.id,
        source: "advisor",
        segment_id: None,
        invited_by: Some(me),
        channel: message.map(|(channel, _)| channel.as_str()),
        template_id: message.map(|(_, template)| template),
        link_expires_at: link_expiry(&event),
    };
    let inserted = guests::insert_many(&mut tx, &new, &[person]).await?;
    let Some((invitation_id, _)) = inserted.first().copied() else {
        return Err(ApiError::new(ErrorCode::Conflict)
            .with_detail("The client was invited at the same moment; read the guest list."));
    };
    let now = state.brand_events.now();
    log::log(
        &state,
        &mut tx,
        NewInteraction {
            brand: &brand.slug,
            brand_id: brand.id,
            client_id: client.profile_id,
            store: client.store_code.clone(),
            advisor_id: me,
            channel: message.map_or("action", |(channel, _)| channel.as_str()),
            context: "event_invitation",
            subject: Some(format!(
                "Invited to {}",
                event.name.chars().take(180).collect::<String>()
            )),
            note: None,
            metadata: json!({
                "event_name": event.name.chars().take(200).collect::<String>(),
                "event_date": event.starts_at.date_naive().to_string(),
            }),
            occurred_at: now,
            actor: &in_brand.actor(),
        },
    )
    .await?;
    if message.is_some() {
        enqueue_sending(&state.brand_events, &mut tx, brand, event.id).await?;
    } else {
        // Invited in person: invited now, with no message to wait for.
        let step = Step {
            source: Some("advisor".into()),
            ..Step::new(&brand.slug, &event, invitation_id, person, 1, now)
        };
        activity::record(&mut tx, activity::INVITED, &step).await?;
    }
    let row = guests::load(&mut tx, event.id, invitation_id, false)
        .await?
        .ok_or_else(event_not_found)?;
    tx.commit().await?;
    let mut conn = state.db.acquire().await?;
    let guest = guests::with_names(&mut conn, brand.id, vec![row]).await?;
    Ok(HttpResponse::Created().json(&guest[0]))
}

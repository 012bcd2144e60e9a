//! `POST …/appointments/{id}/cancel` and `…/complete`. Both are idempotent: cancelling a cancelled
//! appointment or completing a completed one answers it as it is, and a completion logs its `appointment`
//! interaction exactly once (the row lock serialises concurrent completions; the second sees `completed`).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::json;

use super::model::{BOOKED, CANCELLED, COMPLETED, Cancel, Complete};
use super::repo;
use super::rules::{self, not_found, respond};
use crate::auth::AuthError;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::interactions::log::{self, NewInteraction};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;

fn closed(status: &str) -> ApiError {
    ApiError::new(ErrorCode::AppointmentClosed).with_detail(format!("The appointment is {status}."))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/appointments/{id}/cancel", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Appointment id")),
    request_body = Cancel,
    responses(
        (status = 200, description = "Cancelled (also when it already was); the slot is free again", body = super::model::Appointment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Neither the appointment's advisor nor a manager of its store", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such appointment in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`appointment-closed`: it was completed", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn cancel_appointment(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<Cancel>,
) -> Result<HttpResponse, ApiError> {
    let id = rules::appointment_id(&path.1)?;
    let mut errors = Vec::new();
    let reason = rules::check_text("reason", body.reason.as_deref(), 500, &mut errors);
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let current = repo::visible_for_update(&mut tx, &scope, id)
        .await?
        .ok_or_else(not_found)?;
    if !rules::may_change(&scope, &current) {
        return Err(AuthError::NotAllowed.into());
    }
    if crate::clienteling::repo::erased(&mut tx, scope.brand_id, current.client_id).await? {
        return Err(crate::clienteling::repo::client_erased());
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    match current.status.as_str() {
        CANCELLED => return Ok(respond(HttpResponse::Ok(), &current)),
        BOOKED => {}
        other => return Err(closed(other)),
    }
    let mut next = current.clone();
    next.status = CANCELLED.to_owned();
    next.cancel_reason = (!reason.is_empty()).then_some(reason);
    let saved = repo::save(&mut tx, &next).await?;
    rules::record(
        &mut tx,
        "cancelled",
        &in_brand.brand.slug,
        &saved,
        &in_brand.actor(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(respond(HttpResponse::Ok(), &saved))
}

fn channel_of(kind: &str) -> &'static str {
    match kind {
        "phone" => "call",
        _ => "action",
    }
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/appointments/{id}/complete", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Appointment id")),
    request_body = Complete,
    responses(
        (status = 200, description = "Completed (also when it already was), with the `appointment` interaction it logged", body = super::model::Appointment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Neither the appointment's advisor nor a manager of its store", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such appointment in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`appointment-closed` (it was cancelled) or `appointment-not-started`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn complete_appointment(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<Complete>,
) -> Result<HttpResponse, ApiError> {
    let id = rules::appointment_id(&path.1)?;
    let mut errors = Vec::new();
    let note = rules::check_text("note", body.note.as_deref(), 4000, &mut errors);
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let current = repo::visible_for_update(&mut tx, &scope, id)
        .await?
        .ok_or_else(not_found)?;
    if !rules::may_change(&scope, &current) {
        return Err(AuthError::NotAllowed.into());
    }
    if crate::clienteling::repo::erased(&mut tx, scope.brand_id, current.client_id).await? {
        return Err(crate::clienteling::repo::client_erased());
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    match current.status.as_str() {
        COMPLETED => return Ok(respond(HttpResponse::Ok(), &current)),
        BOOKED => {}
        other => return Err(closed(other)),
    }
    if current.starts_at > Utc::now() {
        return Err(ApiError::new(ErrorCode::AppointmentNotStarted)
            .with_detail(format!("It starts at {}.", current.starts_at.to_rfc3339())));
    }
    let actor = in_brand.actor();
    let interaction = log::log(
        &state,
        &mut tx,
        NewInteraction {
            brand: &in_brand.brand.slug,
            brand_id: in_brand.brand.id,
            client_id: current.client_id,
            store: current.store.clone(),
            advisor_id: current.advisor_id,
            channel: channel_of(&current.kind),
            context: "appointment",
            subject: Some(format!("Appointment ({})", current.kind.replace('_', " "))),
            note: (!note.is_empty()).then_some(note),
            metadata: json!({
                "starts_at": current.starts_at.to_rfc3339(),
                "purpose": current.kind,
            }),
            occurred_at: current.starts_at,
            actor: &actor,
        },
    )
    .await?;
    let mut next = current.clone();
    next.status = COMPLETED.to_owned();
    next.interaction_id = Some(interaction.id);
    let saved = repo::save(&mut tx, &next).await?;
    rules::record(
        &mut tx,
        "completed",
        &in_brand.brand.slug,
        &saved,
        &actor,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(respond(HttpResponse::Ok(), &saved))
}

//! Checks shared by booking and rescheduling, the outbox record of every change, and the answers.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Appointment, KINDS};
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::outbox::{self, NewEvent};

pub const MIN_LENGTH_MINUTES: i64 = 5;
pub const MAX_LENGTH_HOURS: i64 = 8;
pub const MAX_AHEAD_DAYS: i64 = 366;

pub fn not_found() -> ApiError {
    ApiError::not_found().with_detail("No such appointment in your scope.")
}

pub fn appointment_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found())
}

pub fn path_of(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/clienteling/appointments/{id}")
}

pub fn respond(mut response: HttpResponseBuilder, appointment: &Appointment) -> HttpResponse {
    response
        .insert_header((header::ETAG, appointment.etag()))
        .json(appointment)
}

pub fn conflict() -> ApiError {
    ApiError::new(ErrorCode::AppointmentConflict)
        .with_detail("The advisor already has an appointment overlapping this time.")
}

pub fn check_kind(kind: &str, errors: &mut Vec<FieldError>) {
    if !KINDS.contains(&kind) {
        errors.push(FieldError::new(
            "kind",
            "invalid",
            "One of in_store, virtual, phone.",
        ));
    }
}

pub fn check_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> String {
    let value = value.unwrap_or_default().trim();
    let control = value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t');
    if value.chars().count() > max || control {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("At most {max} characters, without control characters."),
        ));
    }
    value.to_owned()
}

/// End after start, a bounded length, in the future and not too far ahead.
pub fn check_times(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    let now = Utc::now();
    if starts_at <= now {
        errors.push(FieldError::new(
            "starts_at",
            "in_the_past",
            "In the future.",
        ));
    } else if starts_at > now + Duration::days(MAX_AHEAD_DAYS) {
        errors.push(FieldError::new(
            "starts_at",
            "too_far",
            format!("At most {MAX_AHEAD_DAYS} days ahead."),
        ));
    }
    if ends_at <= starts_at {
        errors.push(FieldError::new(
            "ends_at",
            "before_start",
            "After starts_at.",
        ));
    } else if ends_at - starts_at < Duration::minutes(MIN_LENGTH_MINUTES) {
        errors.push(FieldError::new(
            "ends_at",
            "too_short",
            format!("At least {MIN_LENGTH_MINUTES} minutes after starts_at."),
        ));
    } else if ends_at - starts_at > Duration::hours(MAX_LENGTH_HOURS) {
        errors.push(FieldError::new(
            "ends_at",
            "too_long",
            format!("At most {MAX_LENGTH_HOURS} hours after starts_at."),
        ));
    }
}

/// Whether `id` is an active client advisor or manager of the brand working in `store`.
pub async fn advises_at(
    db: &sqlx::PgPool,
    in_brand: &InBrand<Clienteling>,
    id: Uuid,
    store: &str,
) -> Result<bool, sqlx::Error> {
    let staff = crate::auth::active_staff(db, id).await?;
    Ok(staff.is_some_and(|staff| {
        staff.brand_id.as_deref() == Some(in_brand.brand.slug.as_str())
            && staff
                .roles
                .iter()
                .any(|role| role == "client_advisor" || role == "manager")
            && staff.store_ids.iter().any(|code| code == store)
    }))
}

/// Who may change the appointment: its advisor, or a manager (or admin) whose scope covers its store.
pub fn may_change(scope: &Scope, appointment: &Appointment) -> bool {
    appointment.advisor_id == scope.user_id
        || (scope.manages && scope.covers_store(&appointment.store))
}

/// 428 without `If-Match`, 412 unless it names the current version.
pub fn check_if_match(request: &HttpRequest, current: &Appointment) -> Result<(), ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Err(ApiError::new(ErrorCode::IfMatchRequired)
            .with_detail("Send If-Match with the appointment's ETag."));
    };
    let expected = value
        .to_str()
        .ok()
        .and_then(crate::clienteling::interactions::model::expected_version);
    if expected != Some(current.version) {
        return Err(
            ApiError::new(ErrorCode::AppointmentStale).with_detail(format!(
                "The appointment is at version {} (ETag {}).",
                current.version,
                current.etag()
            )),
        );
    }
    Ok(())
}

/// `clienteling.appointment.<what>`, in the change's transaction.
pub async fn record(
    conn: &mut PgConnection,
    what: &str,
    brand: &str,
    appointment: &Appointment,
    actor: &str,
    extra: serde_json::Value,
) -> Result<(), ApiError> {
    let topic = match what {
        "booked" => "clienteling.appointment.booked",
        "rescheduled" => "clienteling.appointment.rescheduled",
        "cancelled" => "clienteling.appointment.cancelled",
        "completed" => "clienteling.appointment.completed",
        _ => "clienteling.appointment.kept",
    };
    outbox::record(
        conn,
        NewEvent {
            topic,
            aggregate_type: "clienteling_appointment",
            aggregate_id: appointment.id.to_string(),
            payload: json!({
                "appointment_id": appointment.id,
                "brand": brand,
                "client_id": appointment.client_id,
                "advisor_id": appointment.advisor_id,
                "store": appointment.store,
                "kind": appointment.kind,
                "status": appointment.status,
                "starts_at": appointment.starts_at,
                "ends_at": appointment.ends_at,
                "version": appointment.version,
                "interaction_id": appointment.interaction_id,
                "actor": actor,
                "details": extra,
            }),
        },
    )
    .await?;
    Ok(())
}

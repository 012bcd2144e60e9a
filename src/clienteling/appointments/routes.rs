//! `POST/GET …/clienteling/appointments` (book, list) and `GET/PATCH …/appointments/{id}` (read,
//! reschedule with `If-Match`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;
use validator::Validate;

use super::hours::{store_in_scope, store_not_found};
use super::model::{
    Appointment, AppointmentPage, BOOKED, BookAppointment, CANCELLED, COMPLETED, Reschedule,
};
use super::repo::{self, ListQuery, NewAppointment};
use super::rules::{self, conflict, not_found, respond};
use crate::auth::AuthError;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::routes_clients::client_not_found;
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

const MAX_WINDOW_DAYS: i64 = 93;

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/appointments", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = BookAppointment,
    responses(
        (status = 201, description = "Booked, with `Location` and `ETag`", body = Appointment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand, or an advisor booking for someone else", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`appointment-conflict`: the advisor is already booked then; `client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn book_appointment(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    body: web::Json<BookAppointment>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let brand_id = in_brand.brand.id;
    let me = in_brand.user.user_id;
    let advisor = body.advisor_id.unwrap_or(me);
    // Before the transaction: the staff look-up takes a pool connection of its own, and holding one while
    // waiting for another starves the pool under a burst of bookings.
    let advises = rules::advises_at(&state.db, &in_brand, advisor, &body.store).await?;
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    if advisor != me && !scope.manages {
        return Err(AuthError::NotAllowed.into());
    }
    let mut errors = Vec::new();
    rules::check_kind(&body.kind, &mut errors);
    rules::check_times(body.starts_at, body.ends_at, &mut errors);
    let notes = rules::check_text("notes", body.notes.as_deref(), 2000, &mut errors);
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
    let timezone = store_in_scope(&mut tx, &scope, &body.store).await?;
    match &timezone {
        None => errors.push(FieldError::new(
            "store",
            "not_found",
            "A store of the brand in your scope.",
        )),
        Some(_) => {
            if !advises {
                errors.push(FieldError::new(
                    "advisor_id",
                    "not_an_advisor_of_store",
                    "A client advisor or manager working in the store.",
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let timezone = timezone.ok_or_else(store_not_found)?;
    if body.kind == "in_store"
        && !repo::within_opening_hours(
            &mut tx,
            brand_id,
            &body.store,
            &timezone,
            body.starts_at,
            body.ends_at,
        )
        .await?
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "starts_at",
            "outside_opening_hours",
            "An in-store appointment lies within one of the store's open intervals.",
        )]));
    }
    let appointment = repo::insert(
        &mut tx,
        &NewAppointment {
            id: Uuid::now_v7(),
            brand_id,
            client_id: body.client_id,
            advisor_id: advisor,
            store: &body.store,
            kind: &body.kind,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            notes: &notes,
            booked_by: me,
        },
    )
    .await
    .map_err(|error| {
        if repo::is_double_booking(&error) {
            conflict()
        } else {
            error.into()
        }
    })?;
    let slug = &in_brand.brand.slug;
    rules::record(
        &mut tx,
        "booked",
        slug,
        &appointment,
        &in_brand.actor(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, rules::path_of(slug, appointment.id)));
    Ok(respond(response, &appointment))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/appointments/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Appointment id")),
    responses(
        (status = 200, description = "The appointment, with its `ETag`", body = Appointment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such appointment in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_appointment(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = rules::appointment_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let appointment = repo::visible(&mut conn, &scope, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(respond(HttpResponse::Ok(), &appointment))
}

#[utoipa::path(patch, path = "/api/v1/brands/{brand}/clienteling/appointments/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Appointment id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the read returned. Without it the reschedule is refused 428; with an old one, 412")),
    request_body = Reschedule,
    responses(
        (status = 200, description = "Rescheduled, with the new `ETag`", body = Appointment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Neither the appointment's advisor nor a manager of its store", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such appointment in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`appointment-conflict` (the advisor is booked then) or `appointment-closed`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`appointment-stale`: `If-Match` names an older version", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed),
        (status = 428, description = "`if-match-required`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn reschedule_appointment(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Reschedule>,
) -> Result<HttpResponse, ApiError> {
    let id = rules::appointment_id(&path.1)?;
    let body = body.into_inner();
    // An appointment never changes store, so the new advisor is checked against it before the transaction
    // (the staff look-up takes a pool connection of its own).
    let new_advisor_fits = match body.advisor_id {
        Some(advisor) => {
            let mut conn = state.db.acquire().await?;
            let scope = Scope::of(&mut conn, &in_brand).await?;
            let store = repo::visible(&mut conn, &scope, id).await?.map(|a| a.store);
            drop(conn);
            match store {
                Some(store) => rules::advises_at(&state.db, &in_brand, advisor, &store).await?,
                None => false,
            }
        }
        None => true,
    };
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
    if body
        .advisor_id
        .is_some_and(|advisor| advisor != current.advisor_id)
        && !scope.manages
    {
        return Err(AuthError::NotAllowed.into());
    }
    rules::check_if_match(&request, &current)?;
    if current.status != BOOKED {
        return Err(ApiError::new(ErrorCode::AppointmentClosed)
            .with_detail(format!("The appointment is {}.", current.status)));
    }
    let mut next = current.clone();
    let mut errors = Vec::new();
    if let Some(kind) = &body.kind {
        rules::check_kind(kind, &mut errors);
        next.kind = kind.clone();
    }
    if body.notes.is_some() {
        next.notes = rules::check_text("notes", body.notes.as_deref(), 2000, &mut errors);
    }
    next.starts_at = body.starts_at.unwrap_or(current.starts_at);
    next.ends_at = body.ends_at.unwrap_or(current.ends_at);
    if body.starts_at.is_some() || body.ends_at.is_some() {
        rules::check_times(next.starts_at, next.ends_at, &mut errors);
    }
    if let Some(advisor) = body.advisor_id
        && advisor != current.advisor_id
    {
        if !new_advisor_fits {
            errors.push(FieldError::new(
                "advisor_id",
                "not_an_advisor_of_store",
                "A client advisor or manager working in the store.",
            ));
        }
        next.advisor_id = advisor;
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let slot_changed = next.starts_at != current.starts_at
        || next.ends_at != current.ends_at
        || next.kind != current.kind;
    if slot_changed && next.kind == "in_store" {
        let timezone = crate::brands::store_timezone(&mut *tx, in_brand.brand.id, &current.store)
            .await?
            .ok_or_else(store_not_found)?;
        let fits = repo::within_opening_hours(
            &mut tx,
            in_brand.brand.id,
            &current.store,
            &timezone,
            next.starts_at,
            next.ends_at,
        )
        .await?;
        if !fits {
            return Err(ApiError::validation(vec![FieldError::new(
                "starts_at",
                "outside_opening_hours",
                "An in-store appointment lies within one of the store's open intervals.",
            )]));
        }
    }
    let saved = repo::save(&mut tx, &next).await.map_err(|error| {
        if repo::is_double_booking(&error) {
            conflict()
        } else {
            error.into()
        }
    })?;
    let details = json!({
        "previous": {"starts_at": current.starts_at, "ends_at": current.ends_at, "advisor_id": current.advisor_id}
    });
    rules::record(
        &mut tx,
        "rescheduled",
        &in_brand.brand.slug,
        &saved,
        &in_brand.actor(),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(respond(HttpResponse::Ok(), &saved))
}

pub struct Appointments;

impl Listing for Appointments {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Another advisor's appointments (managers); default: mine, unless `client` or `store` is given.
    pub advisor: Option<Uuid>,
    /// A client of the caller's book.
    pub client: Option<Uuid>,
    /// A store the caller manages.
    pub store: Option<String>,
    /// `booked`, `cancelled` or `completed`.
    pub status: Option<String>,
    /// Appointments starting from (default now).
    pub from: Option<DateTime<Utc>>,
    /// … until (default `from` + 31 days; at most 93 days after `from`).
    pub to: Option<DateTime<Utc>>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Appointments>,
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (at, id) = cursor.split_once('.')?;
    let at = URL_SAFE_NO_PAD.decode(at).ok()?;
    let micros = i64::from_be_bytes(at.try_into().ok()?);
    let id = Uuid::from_slice(&URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    Some((DateTime::from_timestamp_micros(micros)?, id))
}

fn encode_cursor(appointment: &Appointment) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(appointment.starts_at.timestamp_micros().to_be_bytes()),
        URL_SAFE_NO_PAD.encode(appointment.id.as_bytes())
    )
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/appointments", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ListParams, Pagination<Appointments>),
    responses(
        (status = 200, description = "Appointments by start time (mine by default)", body = AppointmentPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "An advisor asking for a store's or another advisor's appointments", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or the client or store is not in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_appointments(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = crate::errors::field_errors([query.page.validate()]);
    let from = query.from.unwrap_or_else(Utc::now);
    let to = query.to.unwrap_or(from + Duration::days(31));
    if to <= from {
        errors.push(FieldError::new("to", "before_from", "After from."));
    } else if to - from > Duration::days(MAX_WINDOW_DAYS) {
        errors.push(FieldError::new(
            "to",
            "window_too_long",
            format!("At most {MAX_WINDOW_DAYS} days after from."),
        ));
    }
    if let Some(status) = &query.status
        && ![BOOKED, CANCELLED, COMPLETED].contains(&status.as_str())
    {
        errors.push(FieldError::new(
            "status",
            "invalid",
            "One of booked, cancelled, completed.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let after = match &query.page.cursor {
        Some(cursor) => Some(decode_cursor(cursor.as_str()).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
        })?),
        None => None,
    };
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let me = scope.user_id;
    if query.advisor.is_some_and(|advisor| advisor != me) && !scope.manages {
        return Err(AuthError::NotAllowed.into());
    }
    if let Some(client) = query.client {
        crate::clienteling::repo::visible(&mut conn, &scope, client, false)
            .await?
            .ok_or_else(client_not_found)?;
    }
    if let Some(store) = &query.store {
        store_in_scope(&mut conn, &scope, store)
            .await?
            .ok_or_else(store_not_found)?;
        if !scope.manages {
            return Err(AuthError::NotAllowed.into());
        }
    }
    let advisor = match (query.advisor, query.client, &query.store) {
        (None, None, None) => Some(me),
        (advisor, _, _) => advisor,
    };
    let limit = i64::from(query.page.size());
    let mut items = repo::list(
        &mut conn,
        &scope,
        &ListQuery {
            advisor,
            client: query.client,
            store: query.store.as_deref(),
            status: query.status.as_deref(),
            from,
            to,
            after,
            limit: limit + 1,
        },
    )
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(AppointmentPage { items, next_cursor }))
}

//! `GET …/clienteling/advisors/{id}/availability?from=&to=&store=`: the store's opening hours (in its time
//! zone) minus the advisor's booked and completed appointments (at any store), from now on.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::Availability;
use super::repo;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, FieldError};
use crate::state::AppState;

pub const MAX_WINDOW_DAYS: i64 = 31;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityParams {
    /// Start of the window (default now).
    pub from: Option<DateTime<Utc>>,
    /// End of the window (default `from` + 7 days), at most 31 days after `from`.
    pub to: Option<DateTime<Utc>>,
    /// One of the advisor's stores that the caller reaches (any of them for the advisor themselves; another
    /// is a 404); default: the first of those.
    pub store: Option<String>,
}

fn advisor_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such advisor in your scope.")
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/advisors/{id}/availability", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Advisor (staff user) id"), AvailabilityParams),
    responses(
        (status = 200, description = "Free intervals in UTC, with the store's local times", body = Availability),
        (status = 400, description = "A malformed query string", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such advisor in the caller's stores", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn advisor_availability(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    query: web::Query<AvailabilityParams>,
) -> Result<HttpResponse, ApiError> {
    let advisor = Uuid::parse_str(&path.1).map_err(|_| advisor_not_found())?;
    // Before taking a connection: the staff look-up takes one of its own.
    let staff = crate::auth::active_staff(&state.db, advisor)
        .await?
        .filter(|staff| {
            staff.brand_id.as_deref() == Some(in_brand.brand.slug.as_str())
                && staff
                    .roles
                    .iter()
                    .any(|role| role == "client_advisor" || role == "manager")
        })
        .ok_or_else(advisor_not_found)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    // An advisor is reachable by themselves and by whoever's scope covers one of their stores.
    if advisor != scope.user_id && !staff.store_ids.iter().any(|code| scope.covers_store(code)) {
        return Err(advisor_not_found());
    }
    let window_from = query.from.unwrap_or_else(Utc::now);
    let window_to = query.to.unwrap_or(window_from + Duration::days(7));
    let mut errors = Vec::new();
    if window_to <= window_from {
        errors.push(FieldError::new("to", "before_from", "After from."));
    } else if window_to - window_from > Duration::days(MAX_WINDOW_DAYS) {
        errors.push(FieldError::new(
            "to",
            "window_too_long",
            format!("At most {MAX_WINDOW_DAYS} days after from."),
        ));
    }
    // Someone else's availability only at the stores the caller reaches: another store's hours (and the
    // advisor's bookings there) are as unreachable here as on the store's own opening-hours path.
    let reachable = |code: &String| advisor == scope.user_id || scope.covers_store(code);
    let store = match &query.store {
        Some(store) if staff.store_ids.contains(store) && !reachable(store) => {
            return Err(super::hours::store_not_found());
        }
        Some(store) if staff.store_ids.contains(store) => Some(store.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                "store",
                "not_the_advisors",
                "One of the advisor's stores.",
            ));
            None
        }
        None => {
            let first = staff.store_ids.iter().find(|code| reachable(code)).cloned();
            if first.is_none() {
                errors.push(FieldError::new(
                    "store",
                    "required",
                    "The advisor works in no store.",
                ));
            }
            first
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let store = store.ok_or_else(advisor_not_found)?;
    let timezone = crate::brands::store_timezone(&mut *conn, in_brand.brand.id, &store)
        .await?
        .ok_or_else(advisor_not_found)?;
    // Only what can still be booked: the past is never free.
    let from = window_from.max(Utc::now());
    let slots = if from < window_to {
        repo::free_slots(
            &mut conn,
            in_brand.brand.id,
            &store,
            &timezone,
            advisor,
            from,
            window_to,
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(HttpResponse::Ok().json(Availability {
        advisor_id: advisor,
        store,
        timezone,
        from: window_from,
        to: window_to,
        slots,
    }))
}

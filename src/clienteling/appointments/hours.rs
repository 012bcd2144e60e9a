//! Store opening hours: `GET/PUT …/clienteling/stores/{store}/opening-hours`. Per ISO weekday, one or more
//! open intervals in the store's local wall-clock time, and dates the store is closed. The week is replaced
//! whole by a `PUT` (managers of the store and admins); advisors of the store read it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthError;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, FieldError};
use crate::state::AppState;

pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MAX_PER_DAY: usize = 6;
const MAX_CLOSED_DATES: usize = 400;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingOpeningInterval)]
pub struct Interval {
    /// `monday` … `sunday`.
    pub weekday: String,
    /// Local time `HH:MM` the store opens.
    pub opens: String,
    /// Local time `HH:MM` it closes, later the same day.
    pub closes: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingSetOpeningHours)]
pub struct SetOpeningHours {
    /// The whole week (a day without intervals is closed); intervals of a day do not overlap.
    pub intervals: Vec<Interval>,
    /// `YYYY-MM-DD` dates the store is closed (local), at most 400.
    #[serde(default)]
    pub closed_dates: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingOpeningHours)]
pub struct OpeningHours {
    pub store: String,
    /// The store's IANA time zone, in which the hours are read.
    pub timezone: String,
    /// By weekday, then opening time.
    pub intervals: Vec<Interval>,
    pub closed_dates: Vec<NaiveDate>,
    /// When last set; absent for a store whose hours were never set (closed every day).
    pub updated_at: Option<DateTime<Utc>>,
}

pub fn store_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such store in your scope.")
}

/// The store's time zone when it is a store of the brand the scope reaches.
pub async fn store_in_scope(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &str,
) -> Result<Option<String>, sqlx::Error> {
    if !scope.covers_store(code) {
        return Ok(None);
    }
    crate::brands::store_timezone(&mut *conn, scope.brand_id, code).await
}

pub(super) fn parse_time(value: &str) -> Option<NaiveTime> {
    if value.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(value, "%H:%M").ok()
}

/// ISO weekday, opening and closing time.
type Week = Vec<(i16, NaiveTime, NaiveTime)>;

fn check(body: &SetOpeningHours) -> Result<(Week, Vec<NaiveDate>), ApiError> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    if body.intervals.len() > MAX_PER_DAY * 7 {
        errors.push(FieldError::new(
            "intervals",
            "too_many",
            format!("At most {MAX_PER_DAY} intervals a day."),
        ));
    }
    for (index, interval) in body.intervals.iter().enumerate() {
        let field = |name: &str| format!("intervals[{index}].{name}");
        let weekday = WEEKDAYS.iter().position(|day| *day == interval.weekday);
        if weekday.is_none() {
            errors.push(FieldError::new(
                field("weekday"),
                "invalid",
                "One of monday … sunday.",
            ));
        }
        let opens = parse_time(&interval.opens);
        let closes = parse_time(&interval.closes);
        if opens.is_none() {
            errors.push(FieldError::new(
                field("opens"),
                "invalid",
                "A local time HH:MM.",
            ));
        }
        if closes.is_none() {
            errors.push(FieldError::new(
                field("closes"),
                "invalid",
                "A local time HH:MM.",
            ));
        }
        let (Some(weekday), Some(opens), Some(closes)) = (weekday, opens, closes) else {
            continue;
        };
        if closes <= opens {
            errors.push(FieldError::new(
                field("closes"),
                "before_opening",
                "Later than the opening time, the same day.",
            ));
            continue;
        }
        let weekday = weekday as i16 + 1;
        let overlaps = rows
            .iter()
            .any(|(day, o, c)| *day == weekday && opens < *c && *o < closes);
        if overlaps {
            errors.push(FieldError::new(
                field("opens"),
                "overlapping",
                "Overlaps another interval of the same day.",
            ));
            continue;
        }
        rows.push((weekday, opens, closes));
    }
    for day in 1..=7 {
        if rows.iter().filter(|(d, _, _)| *d == day).count() > MAX_PER_DAY {
            errors.push(FieldError::new(
                "intervals",
                "too_many",
                format!("At most {MAX_PER_DAY} intervals a day."),
            ));
            break;
        }
    }
    let mut dates = Vec::new();
    if body.closed_dates.len() > MAX_CLOSED_DATES {
        errors.push(FieldError::new(
            "closed_dates",
            "too_many",
            format!("At most {MAX_CLOSED_DATES} dates."),
        ));
    }
    for (index, raw) in body.closed_dates.iter().enumerate() {
        match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(date) if (2000..=2100).contains(&chrono::Datelike::year(&date)) => {
                if !dates.contains(&date) {
                    dates.push(date);
                }
            }
            _ => errors.push(FieldError::new(
                format!("closed_dates[{index}]"),
                "invalid",
                "A date YYYY-MM-DD between 2000 and 2100.",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    rows.sort();
    dates.sort();
    Ok((rows, dates))
}

async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    store: &str,
    timezone: String,
) -> Result<OpeningHours, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT weekday, opens, closes FROM clienteling_opening_hours
         WHERE brand_id = $1 AND store_code = $2 ORDER BY weekday, opens",
        brand_id,
        store
    )
    .fetch_all(&mut *conn)
    .await?;
    let closed_dates = sqlx::query_scalar!(
        "SELECT day FROM clienteling_closed_dates WHERE brand_id = $1 AND store_code = $2 ORDER BY day",
        brand_id,
        store
    )
    .fetch_all(&mut *conn)
    .await?;
    let updated_at = sqlx::query_scalar!(
        "SELECT updated_at FROM clienteling_opening_hours_sets WHERE brand_id = $1 AND store_code = $2",
        brand_id,
        store
    )
    .fetch_optional(&mut *conn)
    .await?;
    let intervals = rows
        .into_iter()
        .map(|row| Interval {
            weekday: WEEKDAYS
                .get(usize::try_from(row.weekday - 1).unwrap_or(0))
                .copied()
                .unwrap_or("monday")
                .to_owned(),
            opens: row.opens.format("%H:%M").to_string(),
            closes: row.closes.format("%H:%M").to_string(),
        })
        .collect();
    Ok(OpeningHours {
        store: store.to_owned(),
        timezone,
        intervals,
        closed_dates,
        updated_at,
    })
}

/// Replaces the store's week and closed dates (demo data, the `PUT`).
pub async fn replace(
    conn: &mut PgConnection,
    brand_id: Uuid,
    store: &str,
    rows: &[(i16, NaiveTime, NaiveTime)],
    dates: &[NaiveDate],
    actor: Uuid,
) -> Result<(), sqlx::Error> {
    // The set row is the lock: two concurrent PUTs of one store apply one after the other.
    sqlx::query!(
        "INSERT INTO clienteling_opening_hours_sets (brand_id, store_code, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (brand_id, store_code) DO UPDATE SET updated_by = $3, updated_at = now()",
        brand_id,
        store,
        actor
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM clienteling_opening_hours WHERE brand_id = $1 AND store_code = $2",
        brand_id,
        store
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM clienteling_closed_dates WHERE brand_id = $1 AND store_code = $2",
        brand_id,
        store
    )
    .execute(&mut *conn)
    .await?;
    let weekdays: Vec<i16> = rows.iter().map(|row| row.0).collect();
    let opens: Vec<NaiveTime> = rows.iter().map(|row| row.1).collect();
    let closes: Vec<NaiveTime> = rows.iter().map(|row| row.2).collect();
    sqlx::query!(
        "INSERT INTO clienteling_opening_hours (brand_id, store_code, weekday, opens, closes)
         SELECT $1, $2, * FROM unnest($3::smallint[], $4::time[], $5::time[])",
        brand_id,
        store,
        &weekdays,
        &opens,
        &closes
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO clienteling_closed_dates (brand_id, store_code, day)
         SELECT $1, $2, * FROM unnest($3::date[])",
        brand_id,
        store,
        dates
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Demo data: sets the store's hours when it has none (`[(weekday 1–7, "HH:MM", "HH:MM")]`).
pub async fn ensure_demo(
    pool: &sqlx::PgPool,
    brand_id: Uuid,
    store: &str,
    week: &[(i16, &str, &str)],
    actor: Uuid,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let set = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM clienteling_opening_hours_sets
                          WHERE brand_id = $1 AND store_code = $2) AS "set!""#,
        brand_id,
        store
    )
    .fetch_one(&mut *tx)
    .await?;
    if set {
        return Ok(false);
    }
    let mut rows = Vec::new();
    for (day, opens, closes) in week {
        let (Some(opens), Some(closes)) = (parse_time(opens), parse_time(closes)) else {
            anyhow::bail!("demo opening hours {opens}–{closes} are not HH:MM");
        };
        rows.push((*day, opens, closes));
    }
    replace(&mut tx, brand_id, store, &rows, &[], actor).await?;
    tx.commit().await?;
    Ok(true)
}

/// The demo stores' week (Monday–Saturday 10:00–19:00, Sunday 12:00–18:00, local), set where none is.
pub async fn seed_demo(
    pool: &sqlx::PgPool,
    stores: &[(&str, &str)],
) -> anyhow::Result<Vec<String>> {
    let mut week: Vec<(i16, &str, &str)> = (1..=6).map(|day| (day, "10:00", "19:00")).collect();
    week.push((7, "12:00", "18:00"));
    let mut lines = Vec::new();
    for (brand, store) in stores {
        let Some(found) = crate::brands::find(pool, brand).await? else {
            continue;
        };
        if ensure_demo(pool, found.id, store, &week, Uuid::nil()).await? {
            lines.push(format!("opening hours of {brand}/{store}"));
        }
    }
    Ok(lines)
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/stores/{store}/opening-hours", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("store" = String, Path, description = "Store code")),
    responses(
        (status = 200, description = "The store's week and closed dates", body = OpeningHours),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such store in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_opening_hours(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let timezone = store_in_scope(&mut conn, &scope, &path.1)
        .await?
        .ok_or_else(store_not_found)?;
    let hours = load(&mut conn, in_brand.brand.id, &path.1, timezone).await?;
    Ok(HttpResponse::Ok().json(hours))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/clienteling/stores/{store}/opening-hours", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("store" = String, Path, description = "Store code")),
    request_body = SetOpeningHours,
    responses(
        (status = 200, description = "The store's week and closed dates, as set", body = OpeningHours),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a manager of the store (advisors read only)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such store in the caller's scope", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn put_opening_hours(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<SetOpeningHours>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let timezone = store_in_scope(&mut tx, &scope, &path.1)
        .await?
        .ok_or_else(store_not_found)?;
    if !scope.manages {
        return Err(AuthError::NotAllowed.into());
    }
    let (rows, dates) = check(&body)?;
    let brand_id = in_brand.brand.id;
    replace(
        &mut tx,
        brand_id,
        &path.1,
        &rows,
        &dates,
        in_brand.user.user_id,
    )
    .await?;
    let hours = load(&mut tx, brand_id, &path.1, timezone).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(hours))
}

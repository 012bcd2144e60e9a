//! `POST …/crm/events` and `GET …/crm/profiles/{id}/activities`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::apply::{self, Checked, EventResult, EventStatus};
use super::schema::{self, MAX_BATCH};
use super::timeline::{self, ActivityPage, Position};
use crate::brands::{InBrand, Marketing};
use crate::crm::profile;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

/// The answer to a batch: one result per event, in the batch's order, and the tally.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmEventBatchResult)]
pub struct BatchResult {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub failed: usize,
    pub results: Vec<EventResult>,
}

#[utoipa::path(
    post, path = "/api/v1/brands/{brand}/crm/events", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "The brand's slug")),
    request_body(
        content = Vec<super::docs::Event>,
        description = "1–1,000 events (a body of at most 4 MiB: this route's own limit, above the server's \
            default). Each is applied on its own: one bad event does not reject the others. An event whose \
            `id` the brand has seen is a `duplicate` and changes nothing, so a batch can be sent again safely."
    ),
    responses(
        (status = 200, description = "One result per event, in order: `accepted`, `duplicate`, `rejected` (with field errors pointing into the batch, e.g. `/3/properties/amount`) or `failed` (send it again)", body = BatchResult),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand (or another brand's)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 1,000 events, or a body above 4 MiB", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a JSON array of events, or an empty one", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is saturated, or too many single events are waiting to share a batch: send again after `Retry-After`", body = crate::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ingest(
    state: web::Data<AppState>,
    caller: InBrand<Marketing>,
    body: web::Json<Vec<Value>>,
) -> Result<HttpResponse, ApiError> {
    let events = body.into_inner();
    if events.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "",
            "out_of_range",
            "Send 1–1,000 events.",
        )]));
    }
    if events.len() > MAX_BATCH {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge)
            .with_detail(format!("At most {MAX_BATCH} events per batch; split it.")));
    }
    let now = chrono::Utc::now();
    let mut checked: Vec<Checked> = events
        .iter()
        .enumerate()
        .map(|(index, raw)| match schema::check(index, raw, now) {
            Ok(event) => Checked::Valid(Box::new(event)),
            Err(errors) => Checked::Invalid {
                id: raw.get("id").and_then(Value::as_str).map(str::to_owned),
                errors,
            },
        })
        .collect();
    let results = match checked.as_mut_slice() {
        // One event waits for others to share its batch (coalesce.rs); a batch is its own.
        [Checked::Valid(_)] => match checked.pop() {
            Some(event) => vec![
                state
                    .crm
                    .lanes()
                    .apply_one(&state.crm, &caller.brand, event, "api")
                    .await
                    .map_err(database)?,
            ],
            None => Vec::new(),
        },
        _ => apply::apply(&state.crm, &caller.brand, checked, "api")
            .await
            .map_err(database)?,
    };
    let count = |status| {
        results
            .iter()
            .filter(|result| result.status == status)
            .count()
    };
    Ok(HttpResponse::Ok().json(BatchResult {
        accepted: count(EventStatus::Accepted),
        duplicates: count(EventStatus::Duplicate),
        rejected: count(EventStatus::Rejected),
        failed: count(EventStatus::Failed),
        results,
    }))
}

/// A pool timeout, a full queue of single events, or a lock or statement time-out is a 503; anything else a 500.
fn database(error: anyhow::Error) -> ApiError {
    if error.is::<super::Busy>() {
        return ApiError::new(ErrorCode::ServiceUnavailable)
            .with_retry_after(1)
            .with_detail(
                "Too many single events are waiting; send again in a second, or send batches.",
            );
    }
    if error
        .downcast_ref::<sqlx::Error>()
        .is_some_and(super::coalesce::retryable)
    {
        return ApiError::new(ErrorCode::ServiceUnavailable)
            .with_retry_after(1)
            .with_detail("The events waited too long for a lock; send them again.");
    }
    match error.downcast::<sqlx::Error>() {
        Ok(error) => error.into(),
        Err(error) => ApiError::internal(error),
    }
}

pub struct Activities;

impl Listing for Activities {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Only these types: one, or several separated by commas (`purchase,booking`).
    #[serde(rename = "type")]
    #[param(rename = "type", example = "purchase,booking")]
    pub types: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Activities>,
}

#[utoipa::path(
    get, path = "/api/v1/brands/{brand}/crm/profiles/{id}/activities", tag = "crm", security(("bearer" = [])),
    params(
        ("brand" = String, Path, description = "The brand's slug"),
        ("id" = Uuid, Path, description = "The profile's id; a merged-away id shows its survivor's timeline"),
        TimelineQuery, Pagination<Activities>,
    ),
    responses(
        (status = 200, description = "The profile's activities, newest first", body = ActivityPage),
        (status = 400, description = "A bad cursor or query parameter", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such profile in the brand (or no such brand)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range, or a `type` that is not a type", body = crate::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn timeline(
    state: web::Data<AppState>,
    caller: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<TimelineQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let not_found = || ApiError::not_found().with_detail("No such profile.");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    query.page.validate()?;
    let types: Vec<String> = match query.types.as_deref() {
        None => Vec::new(),
        Some(list) => list.split(',').map(|kind| kind.trim().to_owned()).collect(),
    };
    if types.len() > 20 || types.iter().any(|kind| !schema::is_type(kind)) {
        return Err(ApiError::validation(vec![FieldError::new(
            "type",
            "invalid_type",
            "1–20 event types separated by commas.",
        )]));
    }
    let after = match &query.page.cursor {
        Some(cursor) => Some(Position::decode(cursor.as_str()).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQueryParameter)
                .with_detail("The cursor is not valid; start again from the first page.")
        })?),
        None => None,
    };
    let brand_id = caller.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let profile_id = profile::current_id(&mut conn, brand_id, id)
        .await?
        .ok_or_else(not_found)?;
    let (items, next_cursor) = timeline::page(
        &mut conn,
        brand_id,
        profile_id,
        &types,
        after,
        query.page.size(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(ActivityPage {
        profile_id,
        items,
        next_cursor,
    }))
}

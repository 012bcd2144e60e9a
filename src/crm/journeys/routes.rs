//! `…/crm/journeys`: create, list, read, replace the draft, delete (never published only), publish (a new
//! immutable version), pause and resume.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::definition::{self, Definition};
use super::engine::RunEnrollment;
use super::{refs, repo};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

pub(super) fn journey_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such journey in this brand.")
}

pub(super) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| journey_not_found())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmJourneyRequest)]
pub struct JourneyRequest {
    pub name: String,
    pub definition: Definition,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmJourneyList)]
pub struct JourneyList {
    pub items: Vec<repo::Journey>,
}

async fn checked(
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    body: &JourneyRequest,
    pin: bool,
) -> Result<Definition, ApiError> {
    let mut errors = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "invalid",
            "1–200 characters, without control characters.",
        ));
    }
    errors.extend(definition::check(&body.definition));
    let mut definition = body.definition.clone();
    errors.extend(refs::check(conn, brand_id, &mut definition, pin).await?);
    if errors.is_empty() {
        Ok(definition)
    } else {
        Err(ApiError::validation(errors))
    }
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/journeys", tag = "crm", operation_id = "create_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = JourneyRequest,
    responses(
        (status = 201, description = "Created as a draft", body = repo::Journey),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`journey-limit`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<JourneyRequest>,
) -> Result<HttpResponse, ApiError> {
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    let definition = checked(&mut tx, brand_id, &body, false).await?;
    repo::lock_brand(&mut tx, brand_id).await?;
    if repo::count(&mut tx, brand_id).await? >= repo::MAX_JOURNEYS {
        return Err(ApiError::new(ErrorCode::JourneyLimit));
    }
    let id = Uuid::now_v7();
    repo::insert(
        &mut tx,
        brand_id,
        id,
        body.name.trim(),
        &definition,
        &in_brand.actor(),
    )
    .await
    .map_err(ApiError::internal)?;
    let journey = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(journey))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/journeys", tag = "crm", operation_id = "list_journeys", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The brand's journeys, oldest first", body = JourneyList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let items = repo::list(&mut conn, in_brand.brand.id).await?;
    Ok(HttpResponse::Ok().json(JourneyList { items }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/journeys/{id}", tag = "crm", operation_id = "get_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    responses(
        (status = 200, description = "The journey", body = repo::Journey),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.1)?;
    let mut conn = state.crm.db().acquire().await?;
    let journey = repo::load(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    Ok(HttpResponse::Ok().json(journey))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/crm/journeys/{id}", tag = "crm", operation_id = "replace_journey_draft", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    request_body = JourneyRequest,
    responses(
        (status = 200, description = "The journey with its new draft (published versions are unchanged)", body = repo::Journey),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<JourneyRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    repo::lock(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    let definition = checked(&mut tx, brand_id, &body, false).await?;
    repo::update_draft(&mut tx, brand_id, id, body.name.trim(), &definition)
        .await
        .map_err(ApiError::internal)?;
    let journey = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(journey))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/crm/journeys/{id}", tag = "crm", operation_id = "delete_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`journey-published`: pause it instead", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    let (_, published) = repo::lock(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    if published.is_some() {
        return Err(ApiError::new(ErrorCode::JourneyPublished));
    }
    repo::delete(&mut tx, brand_id, id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/journeys/{id}/publish", tag = "crm", operation_id = "publish_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    responses(
        (status = 200, description = "The draft is the new version (templates pinned); a draft journey becomes active, a paused one stays paused", body = repo::Journey),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn publish(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    let (_, published) = repo::lock(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    let journey = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    // Checked again: a template or segment it names may have gone since the draft was saved.
    let request = JourneyRequest {
        name: journey.name.clone(),
        definition: journey.draft.clone(),
    };
    let definition = checked(&mut tx, brand_id, &request, true).await?;
    let version = published.unwrap_or(0) + 1;
    repo::publish(
        &mut tx,
        brand_id,
        id,
        version,
        &definition,
        &in_brand.actor(),
    )
    .await
    .map_err(ApiError::internal)?;
    let journey = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(journey))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/journeys/{id}/pause", tag = "crm", operation_id = "pause_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    responses(
        (status = 200, description = "Paused (again): no new enrollments, running ones hold at their next step", body = repo::Journey),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`journey-not-published`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn pause(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, &in_brand, &path.1, "paused").await
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/journeys/{id}/resume", tag = "crm", operation_id = "resume_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    responses(
        (status = 200, description = "Active (again): running enrollments go on", body = repo::Journey),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`journey-not-published`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn resume(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, &in_brand, &path.1, "active").await
}

async fn set_status(
    state: &AppState,
    in_brand: &InBrand<Marketing>,
    raw: &str,
    status: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(raw)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    let (current, published) = repo::lock(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    if published.is_none() {
        return Err(ApiError::new(ErrorCode::JourneyNotPublished));
    }
    if current != status {
        repo::set_status(&mut tx, brand_id, id, status).await?;
        if status == "active" {
            // Held enrollments go on: those whose run found the journey paused get one again (a waiting one
            // not yet due still has its delayed run).
            let running = sqlx::query_scalar!(
                "SELECT id FROM crm_journey_enrollments
                 WHERE brand_id = $1 AND journey_id = $2
                   AND (status = 'active' OR (status = 'waiting' AND wake_at <= now()))",
                brand_id,
                id
            )
            .fetch_all(&mut *tx)
            .await?;
            let runs: Vec<RunEnrollment> = running.into_iter().map(RunEnrollment::now).collect();
            crate::jobs::enqueue_many(&mut tx, &state.settings.jobs, &runs)
                .await
                .map_err(ApiError::internal)?;
        }
    }
    let journey = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(journey))
}

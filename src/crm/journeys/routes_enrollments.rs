//! Reads and the dry-run: `GET …/journeys/{id}/enrollments?status=&cursor=`, `GET …/crm/enrollments/{id}`
//! (the path taken, step by step) and `POST …/journeys/{id}/dry-run {profile_id}` (the path the profile
//! would take now, computed in a read-only transaction that is rolled back: no send, no write).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::definition::{Definition, Step, parse_time};
use super::engine;
use super::repo::{self, Enrollment, StepRecord};
use super::routes::{journey_not_found, parse_id};
use crate::brands::{InBrand, Marketing};
use crate::crm::profile;
use crate::crm::segments::{membership, repo as segments, rule};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

pub struct Enrollments;

impl Listing for Enrollments {
    const DEFAULT_LIMIT: u16 = 50;
}

const STATUSES: [&str; 5] = ["active", "waiting", "completed", "exited", "failed"];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentsQuery {
    /// `active`, `waiting`, `completed`, `exited` or `failed`.
    pub status: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Enrollments>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmJourneyEnrollmentPage)]
pub struct EnrollmentPage {
    pub items: Vec<Enrollment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmJourneyEnrollmentDetail)]
pub struct EnrollmentDetail {
    #[serde(flatten)]
    pub enrollment: Enrollment,
    /// Every step taken, in order, with its outcome.
    pub steps: Vec<StepRecord>,
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/journeys/{id}/enrollments", tag = "crm", operation_id = "list_journey_enrollments", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id"), EnrollmentsQuery, Pagination<Enrollments>),
    responses(
        (status = 200, description = "The journey's enrollments, oldest first", body = EnrollmentPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such journey in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<EnrollmentsQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "status",
            "invalid",
            "One of active, waiting, completed, exited, failed.",
        )]));
    }
    let after = match &query.page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|text| Uuid::parse_str(&text).ok())
                .ok_or_else(bad_cursor)?,
        ),
        None => None,
    };
    let id = parse_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    repo::load(&mut conn, brand_id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    let limit = i64::from(query.page.size());
    let mut items = repo::enrollments(
        &mut conn,
        brand_id,
        id,
        query.status.as_deref(),
        after,
        limit + 1,
    )
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.id.to_string()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(EnrollmentPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/enrollments/{id}", tag = "crm", operation_id = "get_journey_enrollment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "The enrollment and the path it took", body = EnrollmentDetail),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such enrollment in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found().with_detail("No such enrollment in this brand.");
    let id = Uuid::parse_str(&path.1).map_err(|_| not_found())?;
    let mut conn = state.crm.db().acquire().await?;
    let enrollment = repo::enrollment(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(not_found)?;
    let steps = repo::steps(&mut conn, id).await?;
    Ok(HttpResponse::Ok().json(EnrollmentDetail { enrollment, steps }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmJourneyDryRunRequest)]
pub struct DryRunRequest {
    pub profile_id: Uuid,
    /// Walk the draft rather than the latest published version.
    #[serde(default)]
    pub draft: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmJourneyDryRunStep)]
pub struct DryRunStep {
    pub step_id: String,
    pub kind: String,
    /// `would_wait`, `yes`, `no`, `would_send`, `would_be_suppressed`, `would_update`, `would_tag`,
    /// `would_emit`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub detail: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmJourneyDryRun)]
pub struct DryRun {
    /// The version walked (`None`: the draft).
    pub version: Option<i32>,
    pub steps: Vec<DryRunStep>,
    /// `completed`, or `loop` when the path comes back to a step it took (through a wait).
    pub ends: String,
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/journeys/{id}/dry-run", tag = "crm", operation_id = "dry_run_journey", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Journey id")),
    request_body = DryRunRequest,
    responses(
        (status = 200, description = "The path the profile would take now; nothing is sent or written", body = DryRun),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, journey or profile in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn dry_run(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<DryRunRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.1)?;
    let brand = &in_brand.brand;
    let mut tx = state.crm.db().begin().await?;
    sqlx::query!("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    let journey = repo::load(&mut tx, brand.id, id)
        .await?
        .ok_or_else(journey_not_found)?;
    let (version, definition) = match (&journey.published, body.draft) {
        (Some(published), false) => (journey.published_version, published.clone()),
        _ => (None, journey.draft.clone()),
    };
    let profile = profile::load(&mut tx, brand.id, body.profile_id)
        .await?
        .ok_or_else(|| ApiError::not_found().with_detail("No such profile in this brand."))?;
    let (steps, ends) = walk(
        &mut tx,
        brand,
        &profile,
        &definition,
        state.settings.crm.journeys.time_scale,
    )
    .await
    .map_err(ApiError::internal)?;
    tx.rollback().await?;
    Ok(HttpResponse::Ok().json(DryRun {
        version,
        steps,
        ends,
    }))
}

async fn walk(
    conn: &mut sqlx::PgConnection,
    brand: &crate::brands::Brand,
    profile: &profile::Profile,
    definition: &Definition,
    time_scale: f64,
) -> anyhow::Result<(Vec<DryRunStep>, String)> {
    let now = Utc::now();
    let mut steps = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut current = Some(definition.start.clone());
    let catalogue = segments::catalogue(&mut *conn, brand.id).await?;
    while let Some(id) = current.take() {
        if seen.insert(id.clone(), steps.len()).is_some() {
            return Ok((steps, "loop".into()));
        }
        let Some(step) = definition.step(&id) else {
            break;
        };
        let (outcome, detail, next) = match step {
            Step::Wait {
                duration_secs,
                until_time,
                next,
                ..
            } => {
                let until = match (duration_secs, until_time.as_deref().and_then(parse_time)) {
                    (Some(secs), _) => {
                        let scaled = (*secs as f64 * time_scale).max(0.0);
                        Some(now + chrono::Duration::milliseconds((scaled * 1000.0) as i64))
                    }
                    (None, Some(time)) => {
                        let zone = engine::timezone(&mut *conn, profile, &brand.timezone).await?;
                        Some(engine::next_local_time(&mut *conn, now, time, &zone).await?)
                    }
                    _ => None,
                };
                ("would_wait", json!({ "until": until }), next.clone())
            }
            Step::Condition {
                rule: raw, yes, no, ..
            } => match rule::parse(raw, &catalogue) {
                Ok((node, _)) => {
                    let matched =
                        membership::matching(&mut *conn, brand.id, &node, &[profile.id], now)
                            .await?;
                    if matched.is_empty() {
                        ("no", json!({}), no.clone())
                    } else {
                        ("yes", json!({}), yes.clone())
                    }
                }
                Err(_) => ("rule_invalid", json!({}), None),
            },
            Step::Send {
                template_id,
                channel,
                purpose,
                next,
                ..
            } => {
                let decision = crate::crm::may_contact(
                    &mut *conn,
                    brand.id,
                    profile.id,
                    channel.consent(),
                    *purpose,
                )
                .await?;
                let outcome = if decision.allowed {
                    "would_send"
                } else {
                    "would_be_suppressed"
                };
                (
                    outcome,
                    json!({ "template_id": template_id, "consent": decision }),
                    next.clone(),
                )
            }
            Step::UpdateAttribute {
                attribute,
                value,
                next,
                ..
            } => (
                "would_update",
                json!({ "attribute": attribute, "value": value }),
                next.clone(),
            ),
            Step::AddTag { tag, next, .. } => ("would_tag", json!({ "tag": tag }), next.clone()),
            Step::Emit { name, next, .. } => ("would_emit", json!({ "name": name }), next.clone()),
            Step::CreateAdvisorTask { title, next, .. } => {
                ("would_create_task", json!({ "title": title }), next.clone())
            }
        };
        steps.push(DryRunStep {
            step_id: id,
            kind: step.kind().into(),
            outcome: outcome.into(),
            detail,
        });
        current = next;
    }
    Ok((steps, "completed".into()))
}

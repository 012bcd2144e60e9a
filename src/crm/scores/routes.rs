//! Scores over HTTP: a profile's scores and their history (reads follow merges to the survivor), and the
//! brand's rules (read, replace as a new version, list the versions). Marketers and admins of the brand.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::rules::{self, Rules, Versioned};
use super::store::{self, CHURN_RISK, Change, ENGAGEMENT, Scores};
use crate::brands::{InBrand, Marketing};
use crate::crm::profile::{self, Profile};
use crate::crm::routes_profiles::profile_id;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::http::resource;
use crate::state::AppState;
use crate::types::{Listing, Pagination};

fn profile_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such profile in this brand.")
}

/// The profile view with its scores (absent until the profile's first event or the nightly run).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmProfileWithScores)]
pub struct ProfileWithScores {
    #[serde(flatten)]
    pub profile: Profile,
    #[serde(skip_serializing_if = "Scores::is_empty")]
    pub scores: Scores,
}

impl ProfileWithScores {
    /// The profile `id` resolves to (following merges) with its current scores, in one statement
    /// (`profile::load_with_scores`); `None` when the brand has no such profile.
    pub async fn find(
        conn: &mut sqlx::PgConnection,
        brand_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Self>, ApiError> {
        let Some((profile, rows)) = profile::load_with_scores(conn, brand_id, id).await? else {
            return Ok(None);
        };
        let scores = store::from_json(rows).map_err(ApiError::internal)?;
        Ok(Some(Self { profile, scores }))
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmProfileScores)]
pub struct ProfileScores {
    /// The profile the scores are of: the survivor when the id asked for was merged away.
    pub profile_id: Uuid,
    pub scores: Scores,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles/{id}/scores", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id; a merged-away id answers for its survivor")),
    responses(
        (status = 200, description = "Engagement and churn risk with their reasons (a score not computed yet is absent)", body = ProfileScores),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_scores(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let requested = profile_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let id = profile::current_id(&mut conn, brand_id, requested)
        .await?
        .ok_or_else(profile_not_found)?;
    let scores = store::current(&mut conn, brand_id, id).await?;
    Ok(HttpResponse::Ok().json(ProfileScores {
        profile_id: id,
        scores,
    }))
}

pub struct ScoreHistory;

impl Listing for ScoreHistory {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// `engagement` or `churn_risk`; both when absent.
    pub score: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<ScoreHistory>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmScoreHistoryPage)]
pub struct ScoreHistoryPage {
    pub profile_id: Uuid,
    pub items: Vec<Change>,
    pub next_cursor: Option<String>,
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter)
        .with_detail("The cursor is not valid; start again from the first page.")
}

/// A cursor is the last row's id, base64: ids only grow, so a page never shifts.
fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(bad_cursor)
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles/{id}/scores/history", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id; a merged-away id answers for its survivor"), HistoryQuery, Pagination<ScoreHistory>),
    responses(
        (status = 200, description = "Every change of a score's value or reasons, newest first", body = ScoreHistoryPage),
        (status = 400, description = "A malformed cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown score, or a limit out of range", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn score_history(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let requested = profile_id(&path.1)?;
    query.page.validate()?;
    let score = query.score.as_deref();
    if score.is_some_and(|score| score != ENGAGEMENT && score != CHURN_RISK) {
        return Err(ApiError::validation(vec![FieldError::new(
            "score",
            "invalid_score",
            "`engagement` or `churn_risk`.",
        )]));
    }
    let before = match &query.page.cursor {
        Some(cursor) => Some(decode_cursor(cursor.as_str())?),
        None => None,
    };
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let id = profile::current_id(&mut conn, brand_id, requested)
        .await?
        .ok_or_else(profile_not_found)?;
    let limit = i64::from(query.page.size());
    let mut items = store::history(&mut conn, brand_id, id, score, before, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.id.to_string()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(ScoreHistoryPage {
        profile_id: id,
        items,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/score-rules", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The rules in force: the brand's newest version, or the defaults (version 0)", body = Versioned),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_rules(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let current = rules::current(&mut conn, in_brand.brand.id).await?;
    Ok(HttpResponse::Ok().json(current))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/crm/score-rules", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = Rules,
    responses(
        (status = 200, description = "Saved as the brand's next version; scores follow on each profile's next event and in the nightly run", body = Versioned),
        (status = 400, description = "`malformed-json`: not JSON, or not the shape of the rules (an unknown or missing field)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`: each broken rule named by its JSON pointer", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn put_rules(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<Rules>,
) -> Result<HttpResponse, ApiError> {
    let rules = body.into_inner();
    let errors = rules.check();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut tx = state.crm.db().begin().await?;
    let saved = rules::save(&mut tx, in_brand.brand.id, &rules, &in_brand.actor()).await?;
    tx.commit().await?;
    tracing::info!(brand = %in_brand.brand.slug, version = saved.version, "score rules saved");
    Ok(HttpResponse::Ok().json(saved))
}

/// The most versions one answer lists.
const MAX_VERSIONS: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmScoreRuleVersions)]
pub struct RuleVersions {
    /// The brand's saved versions, newest first (at most 100); empty while it uses the defaults.
    pub items: Vec<Versioned>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/score-rules/versions", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "Every saved version, newest first", body = RuleVersions),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn rule_versions(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let items = rules::versions(&mut conn, in_brand.brand.id, MAX_VERSIONS).await?;
    Ok(HttpResponse::Ok().json(RuleVersions { items }))
}

pub fn routes_scores(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands/{brand}/crm/profiles/{id}/scores").route(web::get().to(get_scores)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/scores/history")
            .route(web::get().to(score_history)),
    )
    .service(
        resource("/brands/{brand}/crm/score-rules")
            .route(web::get().to(get_rules))
            .route(web::put().to(put_rules)),
    )
    .service(
        resource("/brands/{brand}/crm/score-rules/versions").route(web::get().to(rule_versions)),
    );
}

//! `…/crm/campaigns`: create, list, read (with live counts), replace and delete a draft, and the recipients.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::model::{Campaign, Status};
use super::{Campaigns, recipients, repo};
use crate::brands::{InBrand, Marketing};
use crate::crm::consent::Purpose;
use crate::crm::messages::{MessageChannel, templates};
use crate::crm::segments;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Cursor, Listing, Pagination};

pub(super) fn campaign_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such campaign in this brand.")
}

pub(super) fn campaign_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| campaign_not_found())
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
}

fn decode_id(cursor: &Cursor) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_str())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| Uuid::parse_str(&text).ok())
        .ok_or_else(bad_cursor)
}

fn encode_id(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

fn default_throttle() -> f64 {
    10.0
}

fn default_retry_limit() -> i32 {
    3
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmCampaignRequest)]
pub struct CampaignRequest {
    pub name: String,
    /// A live segment of the brand.
    pub segment_id: Uuid,
    pub channel: MessageChannel,
    /// `marketing`, `events` or `service` (outreach is an advisor's, one person at a time).
    pub purpose: Purpose,
    /// A template of the brand with this channel and purpose; its version is pinned at launch.
    pub template_id: Uuid,
    /// When to freeze the audience and start sending; at launch when absent or past; at most a year ahead.
    pub send_at: Option<DateTime<Utc>>,
    /// Messages per second (default 10), at most `[crm.campaigns] max_throttle_per_sec`.
    #[serde(default = "default_throttle")]
    pub throttle_per_sec: f64,
    /// Retries of a recipient after a retryable failure (default 3), at most `[crm.campaigns]
    /// max_retry_limit`.
    #[serde(default = "default_retry_limit")]
    pub retry_limit: i32,
}

/// Checks a draft's fields against the settings and the brand's segments and templates.
pub(super) async fn check(
    campaigns: &Campaigns,
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    body: &CampaignRequest,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "invalid",
            "1–200 characters, without control characters.",
        ));
    }
    let max_rate = campaigns.settings.max_throttle_per_sec;
    if !(body.throttle_per_sec.is_finite()
        && body.throttle_per_sec >= 0.1
        && body.throttle_per_sec <= max_rate)
    {
        errors.push(FieldError::new(
            "throttle_per_sec",
            "out_of_range",
            format!("Messages per second: 0.1–{max_rate}."),
        ));
    }
    let max_retries = i32::try_from(campaigns.settings.max_retry_limit).unwrap_or(i32::MAX);
    if !(0..=max_retries).contains(&body.retry_limit) {
        errors.push(FieldError::new(
            "retry_limit",
            "out_of_range",
            format!("Use 0–{max_retries}."),
        ));
    }
    if body
        .send_at
        .is_some_and(|at| at > campaigns.now() + chrono::Duration::days(366))
    {
        errors.push(FieldError::new(
            "send_at",
            "out_of_range",
            "At most a year ahead.",
        ));
    }
    if body.purpose == Purpose::Outreach {
        errors.push(FieldError::new(
            "purpose",
            "invalid",
            "A campaign is for marketing, events or service; outreach is an advisor's.",
        ));
    }
    if segments::repo::stored(&mut *conn, brand_id, body.segment_id)
        .await?
        .is_none()
    {
        errors.push(FieldError::new(
            "segment_id",
            "not_found",
            "No such segment in this brand.",
        ));
    }
    match templates::load(&mut *conn, brand_id, body.template_id).await? {
        None => errors.push(FieldError::new(
            "template_id",
            "not_found",
            "No such template in this brand.",
        )),
        Some(template) => {
            if template.channel != body.channel {
                errors.push(FieldError::new(
                    "channel",
                    "channel_mismatch",
                    format!("The template is for {}.", template.channel.as_str()),
                ));
            }
            if template.purpose != body.purpose {
                errors.push(FieldError::new(
                    "purpose",
                    "purpose_mismatch",
                    format!("The template is for {}.", template.purpose.as_str()),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

fn fields(body: &CampaignRequest) -> repo::Fields<'_> {
    repo::Fields {
        name: body.name.trim(),
        segment_id: body.segment_id,
        channel: body.channel,
        purpose: body.purpose,
        template_id: body.template_id,
        send_at: body.send_at,
        throttle_per_sec: body.throttle_per_sec,
        retry_limit: body.retry_limit,
    }
}

/// The campaign with its live counts.
pub(super) async fn with_counts(
    conn: &mut sqlx::PgConnection,
    row: &repo::Row,
) -> Result<Campaign, ApiError> {
    let mut campaign = row.to_campaign();
    campaign.counts = Some(recipients::counts(conn, row.id).await?);
    Ok(campaign)
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/campaigns", tag = "crm", operation_id = "create_campaign", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = CampaignRequest,
    responses(
        (status = 201, description = "Created as a draft", body = Campaign),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`campaign-limit`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<CampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    let campaigns = Campaigns::new(&state);
    let brand_id = in_brand.brand.id;
    let mut tx = campaigns.db.begin().await?;
    check(&campaigns, &mut tx, brand_id, &body).await?;
    if repo::count_locked(&mut tx, brand_id).await? >= repo::MAX_PER_BRAND {
        return Err(ApiError::new(ErrorCode::CampaignLimit));
    }
    let id = Uuid::now_v7();
    repo::insert(&mut tx, brand_id, id, &fields(&body), &in_brand.actor()).await?;
    let row = repo::load(&mut tx, brand_id, id, false)
        .await?
        .ok_or_else(campaign_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(row.to_campaign()))
}

pub struct CampaignListing;

impl Listing for CampaignListing {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only campaigns of this status.
    pub status: Option<Status>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<CampaignListing>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmCampaignList)]
pub struct CampaignList {
    pub items: Vec<Campaign>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/campaigns", tag = "crm", operation_id = "list_campaigns", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ListQuery, Pagination<CampaignListing>),
    responses(
        (status = 200, description = "The brand's campaigns, newest first", body = CampaignList),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let before = query.page.cursor.as_ref().map(decode_id).transpose()?;
    let limit = i64::from(query.page.size());
    let mut conn = state.db.acquire().await?;
    let rows = repo::list(
        &mut conn,
        in_brand.brand.id,
        query.status,
        before,
        limit + 1,
    )
    .await?;
    let mut items: Vec<Campaign> = rows.iter().map(repo::Row::to_campaign).collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| encode_id(last.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(CampaignList { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/campaigns/{id}", tag = "crm", operation_id = "get_campaign", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign with live counts per recipient status", body = Campaign),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such campaign in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = campaign_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let row = repo::load(&mut conn, in_brand.brand.id, id, false)
        .await?
        .ok_or_else(campaign_not_found)?;
    Ok(HttpResponse::Ok().json(with_counts(&mut conn, &row).await?))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/crm/campaigns/{id}", tag = "crm", operation_id = "replace_campaign", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Campaign id")),
    request_body = CampaignRequest,
    responses(
        (status = 200, description = "The draft, replaced", body = Campaign),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such campaign in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`campaign-not-draft`: launched campaigns are not edited", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<CampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = campaign_id(&path.1)?;
    let campaigns = Campaigns::new(&state);
    let brand_id = in_brand.brand.id;
    let mut tx = campaigns.db.begin().await?;
    let row = repo::load(&mut tx, brand_id, id, true)
        .await?
        .ok_or_else(campaign_not_found)?;
    if row.status() != Status::Draft {
        return Err(ApiError::new(ErrorCode::CampaignNotDraft));
    }
    check(&campaigns, &mut tx, brand_id, &body).await?;
    if !repo::update_draft(&mut tx, brand_id, id, &fields(&body)).await? {
        return Err(ApiError::new(ErrorCode::CampaignNotDraft));
    }
    let row = repo::load(&mut tx, brand_id, id, false)
        .await?
        .ok_or_else(campaign_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(row.to_campaign()))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/crm/campaigns/{id}", tag = "crm", operation_id = "delete_campaign", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 204, description = "The draft is deleted"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such campaign in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`campaign-not-draft`: a launched campaign is cancelled, not deleted", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = campaign_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.db.begin().await?;
    let row = repo::load(&mut tx, brand_id, id, true)
        .await?
        .ok_or_else(campaign_not_found)?;
    if row.status() != Status::Draft || !repo::delete_draft(&mut tx, brand_id, id).await? {
        return Err(ApiError::new(ErrorCode::CampaignNotDraft));
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

pub struct RecipientListing;

impl Listing for RecipientListing {
    const DEFAULT_LIMIT: u16 = 50;
}

/// The statuses a recipient can have.
pub const RECIPIENT_STATUSES: [&str; 6] = [
    "queued",
    "deferred",
    "sent",
    "suppressed",
    "failed",
    "cancelled",
];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecipientQuery {
    /// Only recipients of this status: `queued`, `deferred`, `sent`, `suppressed`, `failed`, `cancelled`.
    pub status: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<RecipientListing>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmCampaignRecipientPage)]
pub struct RecipientPage {
    pub items: Vec<recipients::Recipient>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/campaigns/{id}/recipients", tag = "crm", operation_id = "campaign_recipients", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Campaign id"), RecipientQuery, Pagination<RecipientListing>),
    responses(
        (status = 200, description = "The frozen audience, by profile id", body = RecipientPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such campaign in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn recipient_page(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<RecipientQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let status = query.status.as_deref();
    if status.is_some_and(|s| !RECIPIENT_STATUSES.contains(&s)) {
        return Err(ApiError::validation(vec![FieldError::new(
            "status",
            "invalid",
            "One of queued, deferred, sent, suppressed, failed, cancelled.",
        )]));
    }
    let after = query.page.cursor.as_ref().map(decode_id).transpose()?;
    let id = campaign_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let row = repo::load(&mut conn, in_brand.brand.id, id, false)
        .await?
        .ok_or_else(campaign_not_found)?;
    let limit = i64::from(query.page.size());
    let mut items = recipients::page(&mut conn, row.id, status, after, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| encode_id(last.profile_id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(RecipientPage { items, next_cursor }))
}

//! `…/crm/templates/{id}/versions`: every saved version of a template, newest first, and one version whole,
//! so a marketer sees what a campaign or a journey pinned. A deleted template's versions stay readable: the
//! sends pinned to them still render.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::templates::{self, MessageChannel};
use crate::brands::{InBrand, Marketing};
use crate::crm::consent::Purpose;
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

pub struct Versions;

impl Listing for Versions {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionsQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Versions>,
}

/// One saved version, without its bodies (`…/versions/{version}` has them).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmTemplateVersionSummary)]
pub struct VersionSummary {
    pub version: i32,
    pub name: String,
    pub channel: MessageChannel,
    pub purpose: Purpose,
    pub fallback_language: String,
    /// The variants' languages.
    pub languages: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmTemplateVersionPage)]
pub struct VersionPage {
    pub items: Vec<VersionSummary>,
    pub next_cursor: Option<String>,
}

fn template_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such template in this brand.")
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/templates/{id}/versions", tag = "crm", operation_id = "list_message_template_versions", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Template id"), Pagination<Versions>),
    responses(
        (status = 200, description = "The template's versions, newest first (a deleted template's too)", body = VersionPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such template in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<VersionsQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let id = Uuid::parse_str(&path.1).map_err(|_| template_not_found())?;
    let before = match &query.page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|text| text.parse::<i32>().ok())
                .ok_or_else(bad_cursor)?,
        ),
        None => None,
    };
    let limit = i64::from(query.page.size());
    let mut conn = state.crm.db().acquire().await?;
    let rows = sqlx::query!(
        r#"SELECT version, name, channel, purpose, fallback_language, created_by, created_at,
                  ARRAY(SELECT v->>'language' FROM jsonb_array_elements(variants) v) AS "languages!: Vec<String>"
           FROM crm_message_template_versions
           WHERE brand_id = $1 AND template_id = $2 AND ($3::int IS NULL OR version < $3)
           ORDER BY version DESC LIMIT $4"#,
        in_brand.brand.id,
        id,
        before,
        limit + 1
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() && before.is_none() {
        return Err(template_not_found());
    }
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let decode = |what: &str| {
            ApiError::internal(anyhow::anyhow!(
                "template {id} version {}: {what}",
                row.version
            ))
        };
        items.push(VersionSummary {
            version: row.version,
            name: row.name.clone(),
            channel: MessageChannel::parse(&row.channel).ok_or_else(|| decode("channel"))?,
            purpose: Purpose::parse(&row.purpose).ok_or_else(|| decode("purpose"))?,
            fallback_language: row.fallback_language.clone(),
            languages: row.languages.clone(),
            created_by: row.created_by.clone(),
            created_at: row.created_at,
        });
    }
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.version.to_string()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(VersionPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/templates/{id}/versions/{version}", tag = "crm", operation_id = "get_message_template_version", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Template id"), ("version" = i32, Path, description = "A saved version (1, 2, …)")),
    responses(
        (status = 200, description = "The template as that version was saved", body = super::templates::Template),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, template or version in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.1).map_err(|_| template_not_found())?;
    let version = path
        .2
        .parse::<i32>()
        .map_err(|_| ApiError::not_found().with_detail("No such version of this template."))?;
    let mut conn = state.crm.db().acquire().await?;
    let template = templates::load_version(&mut conn, in_brand.brand.id, id, version)
        .await?
        .ok_or_else(|| ApiError::not_found().with_detail("No such version of this template."))?;
    Ok(HttpResponse::Ok().json(template))
}

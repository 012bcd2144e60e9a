//! `…/crm/segments`: create, list, read, change (a new version), delete, versions, preview and refresh.

use std::time::Instant;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

use super::compile::{self, Ctx, Scope};
use super::membership::RefreshReport;
use super::repo::{self, Kind, New, Segment, Version};
use super::rule::{self, Dependencies, Node};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

pub(super) fn segment_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such segment in this brand.")
}

pub(super) fn segment_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| segment_not_found())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmSegmentRequest)]
pub struct SegmentRequest {
    /// 1–64 lower-case letters, digits and `-`; unique among the brand's segments.
    #[schema(example = "vip-paris")]
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(default = "dynamic")]
    pub kind: Kind,
    /// The rule (dynamic segments only), see docs/crm/segments.md.
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
}

fn dynamic() -> Kind {
    Kind::Dynamic
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmSegmentPatch)]
pub struct SegmentPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A new rule (dynamic segments only); a new version either way.
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmSegmentPreviewRequest)]
pub struct PreviewRequest {
    #[schema(value_type = Object)]
    pub rule: Value,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = CrmSegmentSampleProfile)]
pub struct SampleProfile {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentPreview)]
pub struct Preview {
    pub count: i64,
    /// At most 20 matching profiles, by id.
    pub sample: Vec<SampleProfile>,
    pub took_ms: u64,
    /// Admins only: the compiled statement (values are bound as `$n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Admins only: its `EXPLAIN (FORMAT JSON)` plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub plan: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentList)]
pub struct SegmentList {
    pub items: Vec<Segment>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentVersionList)]
pub struct VersionList {
    pub items: Vec<Version>,
}

fn is_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

fn is_text(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

fn check_texts(name: Option<&str>, description: Option<&str>, errors: &mut Vec<FieldError>) {
    if name.is_some_and(|name| !is_text(name, 200)) {
        errors.push(FieldError::new(
            "name",
            "invalid",
            "1–200 characters, without control characters.",
        ));
    }
    if description.is_some_and(|d| !is_text(d, 2000)) {
        errors.push(FieldError::new(
            "description",
            "invalid",
            "1–2000 characters, without control characters.",
        ));
    }
}

/// Parses the rule against the brand's catalogue; for a saved segment `id`, a rule naming itself through
/// any chain of segments is refused.
async fn parse_rule(
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    rule: &Value,
    id: Option<Uuid>,
) -> Result<Result<(Node, Dependencies), Vec<FieldError>>, ApiError> {
    let catalogue = repo::catalogue(&mut *conn, brand_id).await?;
    let parsed = rule::parse(rule, &catalogue).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                FieldError::new(
                    format!("rule{}", e.field.trim_end_matches('/')),
                    e.code,
                    e.message,
                )
            })
            .collect::<Vec<_>>()
    });
    let Ok((node, deps)) = parsed else {
        return Ok(parsed);
    };
    if let Some(id) = id {
        let graph = repo::graph(&mut *conn, brand_id).await?;
        let deps_list: Vec<Uuid> = deps.segments.iter().copied().collect();
        if repo::creates_cycle(&graph, id, &deps_list) {
            return Ok(Err(vec![FieldError::new(
                "rule",
                "segment_cycle",
                "The rule names this segment through the segments it names: membership would be circular.",
            )]));
        }
    }
    Ok(Ok((node, deps)))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/segments", tag = "crm", operation_id = "create_segment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = SegmentRequest,
    responses(
        (status = 201, description = "Created, version 1, without members until refreshed", body = Segment),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`segment-exists` or `segment-limit`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<SegmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let brand_id = in_brand.brand.id;
    let mut errors = Vec::new();
    if !is_slug(&body.slug) {
        errors.push(FieldError::new(
            "slug",
            "invalid",
            "1–64 lower-case letters, digits and -, not at either end.",
        ));
    }
    check_texts(Some(&body.name), body.description.as_deref(), &mut errors);
    let mut tx = state.crm.db().begin().await?;
    repo::lock_graph(&mut tx, brand_id).await?;
    let parsed = match (body.kind, &body.rule) {
        (Kind::Dynamic, Some(rule)) => match parse_rule(&mut tx, brand_id, rule, None).await? {
            Ok(parsed) => Some(parsed),
            Err(rule_errors) => {
                errors.extend(rule_errors);
                None
            }
        },
        (Kind::Dynamic, None) => {
            errors.push(FieldError::new(
                "rule",
                "required",
                "A dynamic segment needs a rule.",
            ));
            None
        }
        (Kind::Static, Some(_)) => {
            errors.push(FieldError::new(
                "rule",
                "not_allowed",
                "A static segment has no rule.",
            ));
            None
        }
        (Kind::Static, None) => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if repo::count_locked(&mut tx, brand_id).await? >= repo::MAX_SEGMENTS {
        return Err(ApiError::new(ErrorCode::SegmentLimit));
    }
    let id = Uuid::now_v7();
    let actor = in_brand.actor();
    let new = New {
        brand_id,
        slug: &body.slug,
        name: body.name.trim(),
        description: body.description.as_deref().map(str::trim),
        kind: body.kind,
        rule: match (&body.rule, &parsed) {
            (Some(rule), Some((node, deps))) => Some((rule, node, deps)),
            _ => None,
        },
        actor: &actor,
    };
    if !repo::insert(&mut tx, id, &new).await? {
        return Err(ApiError::new(ErrorCode::SegmentExists));
    }
    let segment = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(segment))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/segments", tag = "crm", operation_id = "list_segments", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The brand's segments, oldest first", body = SegmentList),
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
    Ok(HttpResponse::Ok().json(SegmentList { items }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/segments/{id}", tag = "crm", operation_id = "get_segment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id")),
    responses(
        (status = 200, description = "The segment", body = Segment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = segment_id(&path.1)?;
    let mut conn = state.crm.db().acquire().await?;
    let segment = repo::load(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    Ok(HttpResponse::Ok().json(segment))
}

#[utoipa::path(patch, path = "/api/v1/brands/{brand}/crm/segments/{id}", tag = "crm", operation_id = "patch_segment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id")),
    request_body = SegmentPatch,
    responses(
        (status = 200, description = "The segment at its new version (members change at the next refresh or event)", body = Segment),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<SegmentPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = segment_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    let kind = repo::lock(&mut tx, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    repo::lock_graph(&mut tx, brand_id).await?;
    let current = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    let mut errors = Vec::new();
    check_texts(
        body.name.as_deref(),
        body.description.as_deref(),
        &mut errors,
    );
    let rule = body.rule.clone().or(current.rule.clone());
    let parsed = match (kind, &rule) {
        (Kind::Dynamic, Some(rule)) => match parse_rule(&mut tx, brand_id, rule, Some(id)).await? {
            Ok(parsed) => Some(parsed),
            Err(rule_errors) => {
                errors.extend(rule_errors);
                None
            }
        },
        (Kind::Static, Some(_)) => {
            errors.push(FieldError::new(
                "rule",
                "not_allowed",
                "A static segment has no rule.",
            ));
            None
        }
        _ => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let actor = in_brand.actor();
    let name = body
        .name
        .as_deref()
        .map_or(current.name.as_str(), str::trim);
    let description = body
        .description
        .as_deref()
        .map(str::trim)
        .or(current.description.as_deref());
    let new = New {
        brand_id,
        slug: &current.slug,
        name,
        description,
        kind,
        rule: match (&rule, &parsed) {
            (Some(rule), Some((node, deps))) => Some((rule, node, deps)),
            _ => None,
        },
        actor: &actor,
    };
    repo::update(&mut tx, id, &new).await?;
    let segment = repo::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(segment))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/crm/segments/{id}", tag = "crm", operation_id = "delete_segment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id")),
    responses(
        (status = 204, description = "Deleted: its members are gone, its history and versions stay"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`segment-in-use`: another segment's rule names it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = segment_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    // The membership lock before the row's: a writer holding the former inserts members, whose foreign key
    // takes a share lock on the segment's row, so the other order deadlocked with every writer under way.
    super::membership::lock(&mut tx, id, true).await?;
    repo::lock(&mut tx, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    repo::lock_graph(&mut tx, brand_id).await?;
    let users = repo::dependents(&mut tx, brand_id, id).await?;
    if !users.is_empty() {
        return Err(ApiError::new(ErrorCode::SegmentInUse)
            .with_detail(format!("Named by: {}.", users.join(", "))));
    }
    repo::delete(&mut tx, brand_id, id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/segments/{id}/versions", tag = "crm", operation_id = "segment_versions", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id")),
    responses(
        (status = 200, description = "Every version, newest first", body = VersionList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn versions(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = segment_id(&path.1)?;
    let mut conn = state.crm.db().acquire().await?;
    repo::load(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    let items = repo::versions(&mut conn, id).await?;
    Ok(HttpResponse::Ok().json(VersionList { items }))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/segments/preview", tag = "crm", operation_id = "preview_segment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "How many profiles match now, and a sample; nothing is saved", body = Preview),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid rule (`validation-failed`), or `segment-preview-timeout`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn preview(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<PreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    let (node, _) = parse_rule(&mut tx, brand_id, &body.rule, None)
        .await?
        .map_err(ApiError::validation)?;
    let timeout = state.settings.crm.segments.preview_timeout_ms;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET LOCAL statement_timeout = {timeout}"
    )))
    .execute(&mut *tx)
    .await?;
    let ctx = Ctx {
        brand_id,
        now: Utc::now(),
        scope: Scope::All,
    };
    let timed_out = |error: sqlx::Error| match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
            ApiError::new(ErrorCode::SegmentPreviewTimeout)
                .with_detail(format!("The rule took longer than {timeout} ms to count."))
        }
        _ => ApiError::from(error),
    };
    let mut count = QueryBuilder::<Postgres>::new("SELECT count(*) FROM (");
    compile::members_query(&mut count, &node, &ctx);
    count.push(") matched");
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&mut *tx)
        .await
        .map_err(timed_out)?;
    let mut sample = QueryBuilder::<Postgres>::new(
        "SELECT p.id, p.first_name, p.last_name, p.email FROM crm_profiles p WHERE p.id IN (",
    );
    compile::members_query(&mut sample, &node, &ctx);
    sample.push(" ORDER BY p.id LIMIT 20) ORDER BY p.id");
    let sample: Vec<SampleProfile> = sample
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .map_err(timed_out)?;
    let (sql, plan) = if in_brand.is_admin() {
        let mut explain = QueryBuilder::<Postgres>::new("EXPLAIN (FORMAT JSON) ");
        compile::members_query(&mut explain, &node, &ctx);
        let sql = explain
            .sql()
            .as_str()
            .trim_start_matches("EXPLAIN (FORMAT JSON) ")
            .to_owned();
        let plan: Value = explain
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(timed_out)?;
        (Some(sql), Some(plan))
    } else {
        (None, None)
    };
    tx.rollback().await?;
    Ok(HttpResponse::Ok().json(Preview {
        count: total,
        sample,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        sql,
        plan,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentRefreshResult)]
pub struct RefreshResult {
    /// The segment first, then the segments naming it, in dependency order.
    pub items: Vec<RefreshReport>,
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/segments/{id}/refresh", tag = "crm", operation_id = "refresh_segment", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id")),
    responses(
        (status = 200, description = "Recomputed; only entries and exits were written", body = RefreshResult),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`segment-kind-mismatch`: a static segment has no rule to refresh", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`segment-refresh-timeout`: the refresh took longer than `crm.segments.refresh_timeout_ms`; nothing was written", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = segment_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let segment = repo::stored(&mut conn, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    drop(conn);
    if segment.kind == Kind::Static {
        return Err(ApiError::new(ErrorCode::SegmentKindMismatch)
            .with_detail("A static segment has no rule to refresh."));
    }
    let timeout = state.settings.crm.segments.refresh_timeout_ms;
    let items = super::schedule::refresh_with_dependents(
        state.crm.db(),
        brand_id,
        &[id],
        Utc::now(),
        super::membership::Reason::Refresh,
        timeout,
    )
    .await
    .map_err(|error| {
        let cancelled = error.downcast_ref::<sqlx::Error>().is_some_and(
            |e| matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014")),
        );
        if cancelled {
            ApiError::new(ErrorCode::SegmentRefreshTimeout).with_detail(format!(
                "The refresh took longer than {timeout} ms; nothing of it was written."
            ))
        } else {
            ApiError::from(error)
        }
    })?;
    Ok(HttpResponse::Ok().json(RefreshResult { items }))
}

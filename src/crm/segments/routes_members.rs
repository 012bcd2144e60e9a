//! Members and history: `GET …/segments/{id}/members`, `POST …/segments/{id}/members` (static segments:
//! add and remove), `GET …/segments/{id}/history` and `GET …/crm/profiles/{id}/segments`.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::membership::{self, Reason};
use super::repo::{self, Kind};
use super::routes::{segment_id, segment_not_found};
use crate::brands::{InBrand, Marketing};
use crate::crm::profile;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

/// The most profile ids one request adds or removes.
pub const MAX_CHANGE: usize = 1000;

pub struct Members;

impl Listing for Members {
    const DEFAULT_LIMIT: u16 = 50;
}

pub struct History;

impl Listing for History {
    const DEFAULT_LIMIT: u16 = 50;
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
}

fn decode(cursor: &crate::types::Cursor) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_str())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Members>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentMember)]
pub struct Member {
    pub profile_id: Uuid,
    pub entered_at: DateTime<Utc>,
    /// The rule version it entered under.
    pub version: i32,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentMemberPage)]
pub struct MemberPage {
    pub items: Vec<Member>,
    pub next_cursor: Option<String>,
}

async fn live_segment(
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    raw: &str,
) -> Result<repo::Stored, ApiError> {
    let id = segment_id(raw)?;
    repo::stored(conn, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/segments/{id}/members", tag = "crm", operation_id = "segment_members", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id"), Pagination<Members>),
    responses(
        (status = 200, description = "The members, by profile id", body = MemberPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn members(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<MembersQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let after = match &query.page.cursor {
        Some(cursor) => Some(
            decode(cursor)
                .and_then(|text| Uuid::parse_str(&text).ok())
                .ok_or_else(bad_cursor)?,
        ),
        None => None,
    };
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let segment = live_segment(&mut conn, brand_id, &path.1).await?;
    let limit = i64::from(query.page.size());
    let rows = sqlx::query!(
        "SELECT profile_id, entered_at, version FROM crm_segment_members
         WHERE segment_id = $1 AND brand_id = $2 AND ($3::uuid IS NULL OR profile_id > $3)
         ORDER BY profile_id LIMIT $4",
        segment.id,
        brand_id,
        after,
        limit + 1
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut items: Vec<Member> = rows
        .into_iter()
        .map(|row| Member {
            profile_id: row.profile_id,
            entered_at: row.entered_at,
            version: row.version,
        })
        .collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.profile_id.to_string()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(MemberPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmSegmentMemberChange)]
pub struct MemberChange {
    /// Profiles to add (at most 1,000 ids in all).
    #[serde(default)]
    pub add: Vec<Uuid>,
    #[serde(default)]
    pub remove: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentMemberChangeResult)]
pub struct MemberChangeResult {
    pub added: usize,
    pub removed: usize,
    /// Ids that name no live profile of the brand (nothing was done for them).
    pub unknown: Vec<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/segments/{id}/members", tag = "crm", operation_id = "change_segment_members", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id")),
    request_body = MemberChange,
    responses(
        (status = 200, description = "Added and removed (a member already in, or a non-member removed, changes nothing)", body = MemberChangeResult),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`segment-kind-mismatch`: a dynamic segment's members come from its rule", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn change_members(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<MemberChange>,
) -> Result<HttpResponse, ApiError> {
    if body.add.len() + body.remove.len() > MAX_CHANGE
        || body.add.is_empty() && body.remove.is_empty()
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "add",
            "invalid",
            format!("1–{MAX_CHANGE} profile ids in add and remove together."),
        )]));
    }
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    // The lock first: a deletion under way commits before the segment is read, never after its members.
    membership::lock(&mut tx, segment_id(&path.1)?, false).await?;
    let segment = live_segment(&mut tx, brand_id, &path.1).await?;
    if segment.kind != Kind::Static {
        return Err(ApiError::new(ErrorCode::SegmentKindMismatch)
            .with_detail("A dynamic segment's members come from its rule."));
    }
    let (entered, unknown) = add_known(&mut tx, brand_id, &segment, &body.add).await?;
    let removed = membership::set_members(
        &mut tx,
        brand_id,
        &segment,
        &body.remove,
        false,
        Reason::Manual,
        Utc::now(),
    )
    .await?;
    let changed: Vec<Uuid> = entered.iter().chain(&removed.exited).copied().collect();
    membership::follow_dependents(&mut tx, brand_id, segment.id, &changed, Utc::now()).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(MemberChangeResult {
        added: entered.len(),
        removed: removed.exited.len(),
        unknown,
    }))
}

/// Adds the ids that name live profiles of the brand; (those that entered, the unknown ids).
pub(super) async fn add_known(
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    segment: &repo::Stored,
    ids: &[Uuid],
) -> Result<(Vec<Uuid>, Vec<Uuid>), ApiError> {
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let known = sqlx::query_scalar!(
        "SELECT id FROM crm_profiles
         WHERE brand_id = $1 AND id = ANY($2) AND merged_into IS NULL AND erased_at IS NULL",
        brand_id,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let unknown: Vec<Uuid> = ids
        .iter()
        .filter(|id| !known.contains(id))
        .copied()
        .collect();
    let diff = membership::set_members(
        conn,
        brand_id,
        segment,
        &known,
        true,
        Reason::Manual,
        Utc::now(),
    )
    .await?;
    Ok((diff.entered, unknown))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only this profile's entries and exits.
    pub profile: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<History>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentHistoryEntry)]
pub struct HistoryEntry {
    #[serde(skip)]
    pub id: i64,
    pub profile_id: Uuid,
    /// `entered` or `exited`.
    pub change: String,
    pub version: i32,
    /// `refresh`, `event`, `schedule`, `manual`, `consent`, `merge`, `unmerge` or `attributes`.
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentHistoryPage)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/segments/{id}/history", tag = "crm", operation_id = "segment_history", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id"), HistoryQuery, Pagination<History>),
    responses(
        (status = 200, description = "Entries and exits, newest first", body = HistoryPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn history(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let before = match &query.page.cursor {
        Some(cursor) => Some(
            decode(cursor)
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(bad_cursor)?,
        ),
        None => None,
    };
    let profile = match &query.profile {
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| {
            ApiError::validation(vec![FieldError::new("profile", "invalid", "A profile id.")])
        })?),
        None => None,
    };
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let segment = live_segment(&mut conn, brand_id, &path.1).await?;
    let limit = i64::from(query.page.size());
    let rows = sqlx::query!(
        "SELECT id, profile_id, change, version, reason, at FROM crm_segment_history
         WHERE segment_id = $1 AND brand_id = $2 AND ($3::uuid IS NULL OR profile_id = $3)
           AND ($4::bigint IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
        segment.id,
        brand_id,
        profile,
        before,
        limit + 1
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut items: Vec<HistoryEntry> = rows
        .into_iter()
        .map(|row| HistoryEntry {
            id: row.id,
            profile_id: row.profile_id,
            change: row.change,
            version: row.version,
            reason: row.reason,
            at: row.at,
        })
        .collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.id.to_string()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(HistoryPage { items, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmProfileSegment)]
pub struct ProfileSegment {
    pub segment_id: Uuid,
    pub slug: String,
    pub name: String,
    pub entered_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmProfileSegmentList)]
pub struct ProfileSegments {
    /// The profile (the survivor, for a merged-away id).
    pub profile_id: Uuid,
    pub items: Vec<ProfileSegment>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles/{id}/segments", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id; a merged-away id answers for its survivor")),
    responses(
        (status = 200, description = "The segments the profile is a member of, by slug", body = ProfileSegments),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn profile_segments(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found().with_detail("No such profile in this brand.");
    let requested = Uuid::parse_str(&path.1).map_err(|_| not_found())?;
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let id = profile::current_id(&mut conn, brand_id, requested)
        .await?
        .ok_or_else(not_found)?;
    let rows = sqlx::query!(
        "SELECT s.id, s.slug, s.name, m.entered_at FROM crm_segment_members m
         JOIN crm_segments s ON s.id = m.segment_id AND s.brand_id = m.brand_id
         WHERE m.brand_id = $1 AND m.profile_id = $2 AND s.deleted_at IS NULL ORDER BY s.slug",
        brand_id,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(HttpResponse::Ok().json(ProfileSegments {
        profile_id: id,
        items: rows
            .into_iter()
            .map(|row| ProfileSegment {
                segment_id: row.id,
                slug: row.slug,
                name: row.name,
                entered_at: row.entered_at,
            })
            .collect(),
    }))
}

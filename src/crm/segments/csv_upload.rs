//! `POST …/segments/{id}/members/csv`: a static segment's members from a CSV file (a `profile_id` or an
//! `email` column), added or removed in chunks of 1,000 rows, each chunk its own transaction, so a large
//! file makes progress that stays even if a later chunk fails; the answer reports what each row did.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::csv_reader;
use super::membership::{self, Reason};
use super::repo::{self, Kind};
use super::routes::{segment_id, segment_not_found};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

/// Rows per transaction.
pub const CHUNK_ROWS: usize = 1000;
/// The most rows a file may hold.
pub const MAX_ROWS: usize = 1_000_000;
/// The largest file (this route's own body limit).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024 * 1024;
const MAX_REPORTED: usize = 100;

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmSegmentCsvMode)]
pub enum Mode {
    #[default]
    Add,
    Remove,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CsvQuery {
    /// `add` (default) or `remove`.
    pub mode: Option<Mode>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmSegmentCsvRow)]
pub struct RowProblem {
    /// 1-based, the header being line 1.
    pub line: u64,
    pub problem: String,
}

#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = CrmSegmentCsvReport)]
pub struct Report {
    pub rows: usize,
    /// Chunks of 1,000 rows committed, in order.
    pub chunks: usize,
    pub added: usize,
    pub removed: usize,
    /// Rows naming a profile already in (add) or not in (remove).
    pub unchanged: usize,
    /// Rows naming no live profile of the brand.
    pub unknown: usize,
    pub invalid: usize,
    /// The first 100 unknown or invalid rows.
    pub problems: Vec<RowProblem>,
}

impl Report {
    fn problem(&mut self, line: u64, problem: &str) {
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(RowProblem {
                line,
                problem: problem.to_owned(),
            });
        }
    }
}

enum Key {
    Id(Uuid),
    Email(String),
}

fn refused(detail: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new("body", "invalid_csv", detail)])
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/segments/{id}/members/csv", tag = "crm", operation_id = "upload_segment_members_csv", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Segment id"), CsvQuery),
    request_body(content = String, content_type = "text/csv",
        description = "A header row naming a `profile_id` or an `email` column (other columns are ignored), then one profile per row; at most 1,000,000 rows and 64 MiB."),
    responses(
        (status = 200, description = "What each row did; committed chunk by chunk", body = Report),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such segment in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`segment-kind-mismatch`: a dynamic segment's members come from its rule", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Above 64 MiB", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `text/csv`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No header naming `profile_id` or `email`, or more than 1,000,000 rows", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn upload(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<CsvQuery>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = segment_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let segment = repo::stored(&mut conn, brand_id, id)
        .await?
        .ok_or_else(segment_not_found)?;
    drop(conn);
    if segment.kind != Kind::Static {
        return Err(ApiError::new(ErrorCode::SegmentKindMismatch)
            .with_detail("A dynamic segment's members come from its rule."));
    }
    let is_csv = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("text/csv"));
    if !is_csv {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType).with_detail("Send text/csv."));
    }
    let mode = query.mode.unwrap_or_default();
    let text = std::str::from_utf8(&body).map_err(|_| refused("The file must be UTF-8 text."))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = csv_reader::records(text);
    let headers = match rows.next() {
        Some(Ok((_, headers))) => headers,
        _ => return Err(refused("The first row must be a header.")),
    };
    let column = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("profile_id"))
        .map(|i| (i, true))
        .or_else(|| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case("email"))
                .map(|i| (i, false))
        });
    let Some((column, by_id)) = column else {
        return Err(refused(
            "The header must name a profile_id or an email column.",
        ));
    };
    let mut report = Report::default();
    let mut chunk: Vec<(u64, Key)> = Vec::with_capacity(CHUNK_ROWS);
    for record in rows {
        let line = match &record {
            Ok((line, _)) => *line,
            Err(line) => *line,
        };
        report.rows += 1;
        if report.rows > MAX_ROWS {
            report.rows -= 1;
            report.problem(line, "beyond 1,000,000 rows: not read");
            break;
        }
        let key = match record {
            Ok((_, fields)) => match fields
                .get(column)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
            {
                Some(value) if by_id => Uuid::parse_str(value).ok().map(Key::Id),
                Some(value) if value.contains('@') && value.len() <= 320 => {
                    Some(Key::Email(value.to_lowercase()))
                }
                _ => None,
            },
            Err(_) => None,
        };
        match key {
            Some(key) => chunk.push((line, key)),
            None => {
                report.invalid += 1;
                report.problem(
                    line,
                    if by_id {
                        "not a profile id"
                    } else {
                        "not an email"
                    },
                );
            }
        }
        if chunk.len() == CHUNK_ROWS {
            apply(&state, brand_id, &segment, mode, &mut chunk, &mut report).await?;
        }
    }
    if !chunk.is_empty() {
        apply(&state, brand_id, &segment, mode, &mut chunk, &mut report).await?;
    }
    Ok(HttpResponse::Ok().json(report))
}

/// Resolves and applies one chunk in its own transaction.
async fn apply(
    state: &AppState,
    brand_id: Uuid,
    segment: &repo::Stored,
    mode: Mode,
    chunk: &mut Vec<(u64, Key)>,
    report: &mut Report,
) -> Result<(), ApiError> {
    let mut tx = state.crm.db().begin().await?;
    // Under the segment's lock, so a deletion committed since the upload began is seen: no chunk writes
    // members (and their events) into a deleted segment.
    membership::lock(&mut tx, segment.id, false).await?;
    repo::stored(&mut tx, brand_id, segment.id)
        .await?
        .ok_or_else(segment_not_found)?;
    let ids: Vec<Uuid> = chunk
        .iter()
        .filter_map(|(_, key)| match key {
            Key::Id(id) => Some(*id),
            Key::Email(_) => None,
        })
        .collect();
    let emails: Vec<String> = chunk
        .iter()
        .filter_map(|(_, key)| match key {
            Key::Email(email) => Some(email.clone()),
            Key::Id(_) => None,
        })
        .collect();
    let live = sqlx::query_scalar!(
        "SELECT id FROM crm_profiles
         WHERE brand_id = $1 AND id = ANY($2) AND merged_into IS NULL AND erased_at IS NULL",
        brand_id,
        &ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let by_email = sqlx::query!(
        "SELECT value, profile_id FROM crm_identifiers WHERE brand_id = $1 AND kind = 'email' AND value = ANY($2)",
        brand_id,
        &emails
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut found = Vec::with_capacity(chunk.len());
    for (line, key) in chunk.iter() {
        let profile = match key {
            Key::Id(id) => live.contains(id).then_some(*id),
            Key::Email(email) => by_email
                .iter()
                .find(|row| &row.value == email)
                .map(|row| row.profile_id),
        };
        match profile {
            Some(profile) => found.push(profile),
            None => {
                report.unknown += 1;
                report.problem(*line, "no live profile of the brand");
            }
        }
    }
    found.sort();
    let rows = found.len();
    found.dedup();
    let add = matches!(mode, Mode::Add);
    let diff = membership::set_members(
        &mut tx,
        brand_id,
        segment,
        &found,
        add,
        Reason::Manual,
        Utc::now(),
    )
    .await?;
    let moved: Vec<Uuid> = diff.entered.iter().chain(&diff.exited).copied().collect();
    membership::follow_dependents(&mut tx, brand_id, segment.id, &moved, Utc::now()).await?;
    tx.commit().await?;
    let changed = diff.entered.len() + diff.exited.len();
    report.added += diff.entered.len();
    report.removed += diff.exited.len();
    report.unchanged += rows - changed;
    report.chunks += 1;
    tracing::info!(segment = %segment.id, rows = report.rows, chunks = report.chunks, "segment CSV chunk applied");
    chunk.clear();
    Ok(())
}

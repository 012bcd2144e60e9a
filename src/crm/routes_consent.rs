//! Consent over HTTP: `PUT …/crm/profiles/{id}/consents/{channel}/{purpose}`, `GET …/consents` (every
//! channel × purpose, effective status) and `GET …/consents/history`. The rules are in [`super::consent`].
//! Reads follow merges to the survivor; a write to a merged-away id is a 409 `profile-merged`.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::consent::{self, Change, Channel, HistoryEntry, Purpose, Record, SetOutcome, Status};
use super::profile;
use super::routes_profiles::{lock_live, profile_id, profile_not_found};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::outbox::{self, NewEvent};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

/// How far ahead of our clock a `captured_at` may be (the sender's clock drifts).
const CLOCK_SKEW_SECS: i64 = 300;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmConsentRequest)]
pub struct ConsentRequest {
    /// `unknown` removes the current consent.
    pub status: Status,
    /// Where it was captured: `checkout`, `boutique:paris-1`, `preference_center` … (1–64 characters).
    #[schema(example = "preference_center")]
    pub source: String,
    /// When the person said so; now when absent. Older than the current consent's: 409 `consent-stale`.
    pub captured_at: Option<DateTime<Utc>>,
    /// After this the consent counts as `unknown`. Not with `unknown`.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The consent of one channel and purpose.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmConsent)]
pub struct ConsentView {
    pub channel: Channel,
    pub purpose: Purpose,
    /// The effective status: an expired consent is `unknown`.
    pub status: Status,
    /// Whether a recorded consent has expired (then `recorded_status` says what it was).
    pub expired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_status: Option<Status>,
    pub source: Option<String>,
    pub actor: Option<String>,
    pub captured_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ConsentView {
    fn new(
        channel: Channel,
        purpose: Purpose,
        record: Option<&Record>,
        now: DateTime<Utc>,
    ) -> Self {
        let status = consent::effective(record, now);
        let expired =
            record.is_some_and(|r| r.status != Status::Unknown && status == Status::Unknown);
        ConsentView {
            channel,
            purpose,
            status,
            expired,
            recorded_status: record.filter(|_| expired).map(|r| r.status),
            source: record.map(|r| r.source.clone()),
            actor: record.and_then(|r| r.actor.clone()),
            captured_at: record.map(|r| r.captured_at),
            expires_at: record.and_then(|r| r.expires_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmConsentList)]
pub struct ConsentList {
    /// The profile whose consent this is (the survivor, for a merged-away id).
    pub profile_id: Uuid,
    /// Every channel × purpose, by channel then purpose.
    pub items: Vec<ConsentView>,
}

fn channel_purpose(channel: &str, purpose: &str) -> Result<(Channel, Purpose), ApiError> {
    let names = |all: Vec<&str>| all.join(", ");
    let channel = Channel::parse(channel).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidPathParameter).with_detail(format!(
            "Unknown channel; use one of {}.",
            names(Channel::ALL.iter().map(|c| c.as_str()).collect())
        ))
    })?;
    let purpose = Purpose::parse(purpose).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidPathParameter).with_detail(format!(
            "Unknown purpose; use one of {}.",
            names(Purpose::ALL.iter().map(|p| p.as_str()).collect())
        ))
    })?;
    Ok((channel, purpose))
}

fn check(body: &ConsentRequest, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let source = body.source.trim();
    if source.is_empty() || source.chars().count() > 64 || source.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "source",
            "invalid",
            "1–64 characters, without control characters.",
        ));
    }
    let captured_at = body.captured_at.unwrap_or(now);
    if captured_at > now + Duration::seconds(CLOCK_SKEW_SECS) {
        errors.push(FieldError::new(
            "captured_at",
            "in_future",
            "A consent cannot be captured in the future.",
        ));
    }
    if let Some(expires_at) = body.expires_at {
        if body.status == Status::Unknown {
            errors.push(FieldError::new(
                "expires_at",
                "not_allowed",
                "An `unknown` consent has no expiry.",
            ));
        } else if expires_at <= captured_at {
            errors.push(FieldError::new(
                "expires_at",
                "before_capture",
                "The expiry comes after the capture.",
            ));
        }
    }
    errors
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/crm/profiles/{id}/consents/{channel}/{purpose}", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id"),
        ("channel" = Channel, Path, description = "Channel"), ("purpose" = Purpose, Path, description = "Purpose")),
    request_body = ConsentRequest,
    responses(
        (status = 200, description = "The consent now; the change is in the history and `crm.consent.changed` went out (`unknown` with nothing recorded changes nothing)", body = ConsentView),
        (status = 400, description = "`invalid-path-parameter`: an unknown channel or purpose", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`consent-stale`: the current consent was captured later (it stands); `profile-merged`; `profile-erased`: the person was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn put_consent(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String, String, String)>,
    body: web::Json<ConsentRequest>,
) -> Result<HttpResponse, ApiError> {
    let (_, raw_id, channel, purpose) = path.into_inner();
    let id = profile_id(&raw_id)?;
    let (channel, purpose) = channel_purpose(&channel, &purpose)?;
    let now = Utc::now();
    let errors = check(&body, now);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let brand_id = in_brand.brand.id;
    let actor = in_brand.actor();
    let change = Change {
        channel,
        purpose,
        status: body.status,
        source: body.source.trim(),
        actor: Some(&actor),
        captured_at: body.captured_at.unwrap_or(now),
        expires_at: body.expires_at,
        cause: "set",
    };
    let mut tx = state.crm.db().begin().await?;
    lock_live(&mut tx, brand_id, id).await?;
    match consent::set(&mut tx, brand_id, id, &change).await? {
        SetOutcome::Stale { current } => {
            return Err(ApiError::new(ErrorCode::ConsentStale).with_detail(format!(
                "The current consent ({}) was captured at {}.",
                current.status.as_str(),
                current.captured_at.to_rfc3339()
            )));
        }
        SetOutcome::Unchanged => {}
        SetOutcome::Changed { previous } => {
            state
                .crm
                .hooks()
                .consent_changed(&mut tx, brand_id, id)
                .await
                .map_err(anyhow::Error::from)?;
            outbox::record(
                &mut tx,
                NewEvent {
                    topic: "crm.consent.changed",
                    aggregate_type: "crm_profile",
                    aggregate_id: id.to_string(),
                    payload: json!({
                        "profile_id": id,
                        "brand": in_brand.brand.slug,
                        "channel": channel,
                        "purpose": purpose,
                        "status": change.status,
                        "previous_status": consent::effective(previous.as_ref(), now),
                        "source": change.source,
                        "actor": actor,
                        "captured_at": change.captured_at,
                        "expires_at": change.expires_at,
                        "cause": "set",
                    }),
                },
            )
            .await?;
        }
    }
    let record = consent::current_record(&mut tx, brand_id, id, channel, purpose).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(ConsentView::new(channel, purpose, record.as_ref(), now)))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles/{id}/consents", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id; a merged-away id answers for its survivor")),
    responses(
        (status = 200, description = "Every channel × purpose with its effective status", body = ConsentList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_consents(
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
    let records = consent::records(&mut conn, brand_id, id).await?;
    let now = Utc::now();
    let mut items = Vec::with_capacity(Channel::ALL.len() * Purpose::ALL.len());
    for channel in Channel::ALL {
        for purpose in Purpose::ALL {
            let record = records
                .iter()
                .find(|(c, p, _)| c == channel && p == purpose)
                .map(|(_, _, record)| record);
            items.push(ConsentView::new(*channel, *purpose, record, now));
        }
    }
    Ok(HttpResponse::Ok().json(ConsentList {
        profile_id: id,
        items,
    }))
}

pub struct History;

impl Listing for History {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<History>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmConsentHistoryPage)]
pub struct HistoryPage {
    pub profile_id: Uuid,
    pub items: Vec<HistoryEntry>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles/{id}/consents/history", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id; a merged-away id answers for its survivor"), Pagination<History>),
    responses(
        (status = 200, description = "Every consent change (by `set`, `merge` or `unmerge`), newest first", body = HistoryPage),
        (status = 400, description = "A malformed cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::LimitOutOfRange)
    ))]
pub async fn consent_history(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let requested = profile_id(&path.1)?;
    query.page.validate()?;
    let before = match &query.page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQueryParameter)
                        .with_detail("The cursor is not valid.")
                })?,
        ),
        None => None,
    };
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    let id = profile::current_id(&mut conn, brand_id, requested)
        .await?
        .ok_or_else(profile_not_found)?;
    let limit = i64::from(query.page.size());
    let mut items = consent::history(&mut conn, brand_id, id, before, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.id.to_string()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(HistoryPage {
        profile_id: id,
        items,
        next_cursor,
    }))
}

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    use crate::http::resource;
    cfg.service(
        resource("/brands/{brand}/crm/profiles/{id}/consents").route(web::get().to(list_consents)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/consents/history")
            .route(web::get().to(consent_history)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/consents/{channel}/{purpose}")
            .route(web::put().to(put_consent)),
    );
}

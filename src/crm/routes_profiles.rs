//! The marketer's profile API: read (`GET …/crm/profiles/{id}`), look-up and search (`GET …/crm/profiles`),
//! merge patch (`PATCH …/crm/profiles/{id}`) and the brand's custom attribute declarations
//! (`GET/POST …/crm/attributes`). Identifiers and consent have their own files.
//!
//! Reads follow merges: a merged-away id answers with the survivor (its `id`), and a `Content-Location`
//! header names the survivor's URL. Writes do not: a merged-away id is a 409 `profile-merged` naming the
//! survivor, since the caller's view of that profile is stale and it should look before it changes anything.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::custom::{self, DeclareError, Definition, DefinitionRequest};
use super::events::Change;
use super::identifiers::Identifier;
use super::profile::{self, Profile};
use super::{patch, search};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::outbox::{self, NewEvent};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

pub struct Profiles;

impl Listing for Profiles {
    const DEFAULT_LIMIT: u16 = 20;
}

pub(super) fn profile_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such profile in this brand.")
}

/// A path's profile id; anything that is not a UUID names no profile.
pub(super) fn profile_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| profile_not_found())
}

pub(super) fn profile_path(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/crm/profiles/{id}")
}

/// Locks the live profile for a write: 404 when the brand has no such profile, 409 `profile-merged` when a
/// merge absorbed it.
pub(super) async fn lock_live(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<(), ApiError> {
    let row = sqlx::query!(
        "SELECT merged_into, erased_at FROM crm_profiles WHERE brand_id = $1 AND id = $2 FOR NO KEY UPDATE",
        brand_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(profile_not_found)?;
    if row.erased_at.is_some() {
        return Err(erased());
    }
    if row.merged_into.is_some() {
        let survivor = profile::current_id(conn, brand_id, id)
            .await?
            .ok_or_else(profile_not_found)?;
        return Err(merged(survivor));
    }
    Ok(())
}

pub(super) fn erased() -> ApiError {
    ApiError::new(ErrorCode::ProfileErased)
}

pub(super) fn merged(survivor: Uuid) -> ApiError {
    ApiError::new(ErrorCode::ProfileMerged)
        .with_detail(format!("The profile was merged into {survivor}."))
}

/// Records `crm.profile.updated` with the names that changed.
pub(super) async fn record_updated(
    conn: &mut PgConnection,
    in_brand: &InBrand<Marketing>,
    id: Uuid,
    fields: &[String],
    extra: Value,
) -> Result<(), ApiError> {
    let mut payload = json!({
        "profile_id": id,
        "brand": in_brand.brand.slug,
        "fields": fields,
        "actor": in_brand.actor(),
    });
    if let (Some(payload), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        payload.extend(extra);
    }
    outbox::record(
        conn,
        NewEvent {
            topic: "crm.profile.updated",
            aggregate_type: "crm_profile",
            aggregate_id: id.to_string(),
            payload,
        },
    )
    .await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles/{id}", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id; a merged-away id answers with its survivor")),
    responses(
        (status = 200, description = "The profile with its scores. When `id` was merged away, the survivor, with `Content-Location` naming it", body = super::scores::ProfileWithScores),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_profile(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let requested = profile_id(&path.1)?;
    let mut conn = state.crm.db().acquire().await?;
    // One statement: the merge chain, the row, its identifiers and its scores.
    let profile = super::scores::ProfileWithScores::find(&mut conn, in_brand.brand.id, requested)
        .await?
        .ok_or_else(profile_not_found)?;
    let mut response = HttpResponse::Ok();
    if profile.profile.id != requested {
        response.insert_header((
            header::CONTENT_LOCATION,
            profile_path(&in_brand.brand.slug, profile.profile.id),
        ));
    }
    Ok(response.json(profile))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProfileQuery {
    /// Exact look-up, `kind:value` (`email:jane@example.com`), normalised like any identifier. Not with `q`,
    /// `tag` or `cursor`.
    pub identifier: Option<String>,
    /// A prefix of the first name, last name, email or phone (case-insensitive), 1–100 characters.
    pub q: Option<String>,
    /// Only profiles with this tag.
    pub tag: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Profiles>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmProfilePage)]
pub struct ProfilePage {
    pub items: Vec<Profile>,
    pub next_cursor: Option<String>,
}

fn query_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value?.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("1–{max} characters, without control characters."),
        ));
        return None;
    }
    Some(value.to_lowercase())
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/profiles", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ProfileQuery, Pagination<Profiles>),
    responses(
        (status = 200, description = "Live profiles (never merged-away ones), newest first. With `identifier`: the one profile holding it, or an empty list", body = ProfilePage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_profiles(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    query: web::Query<ProfileQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = crate::errors::field_errors([query.page.validate()]);
    let brand_id = in_brand.brand.id;
    let mut conn = state.crm.db().acquire().await?;
    if let Some(pair) = &query.identifier {
        if query.q.is_some() || query.tag.is_some() || query.page.cursor.is_some() {
            errors.push(FieldError::new(
                "identifier",
                "exclusive",
                "An identifier look-up takes no q, tag or cursor.",
            ));
        }
        // A look-up forgives the kind's case (`Email:JANE@…`); the value is normalised as always.
        let pair = match pair.split_once(':') {
            Some((kind, value)) => format!("{}:{value}", kind.trim().to_ascii_lowercase()),
            None => pair.clone(),
        };
        let identifier = Identifier::parse_pair(&pair).map_err(|error| {
            errors.push(FieldError::new(
                "identifier",
                error.code(),
                error.to_string(),
            ));
        });
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let Ok(identifier) = identifier else {
            return Err(ApiError::new(ErrorCode::ValidationFailed));
        };
        let items: Vec<Profile> = search::by_identifier(&mut conn, brand_id, &identifier)
            .await?
            .into_iter()
            .collect();
        return Ok(HttpResponse::Ok().json(ProfilePage {
            items,
            next_cursor: None,
        }));
    }
    let q = query_text("q", query.q.as_deref(), 100, &mut errors);
    let tag = query
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|tag| {
            // As tags are written: no control characters (U+0000 would fail the query, a 500).
            let ok =
                !tag.is_empty() && tag.chars().count() <= 40 && !tag.chars().any(char::is_control);
            if !ok {
                errors.push(FieldError::new(
                    "tag",
                    "invalid",
                    "1–40 characters, without control characters.",
                ));
            }
            ok
        })
        .map(str::to_owned);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let before = match &query.page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| Uuid::from_slice(&raw).ok())
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQueryParameter)
                        .with_detail("The cursor is not valid.")
                })?,
        ),
        None => None,
    };
    let limit = i64::from(query.page.size());
    let mut ids = search::search(
        &mut conn,
        brand_id,
        &search::Search {
            q: q.as_deref(),
            tag: tag.as_deref(),
            before,
            limit: limit + 1,
        },
    )
    .await?;
    let next_cursor = if ids.len() as i64 > limit {
        ids.truncate(limit as usize);
        ids.last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.as_bytes()))
    } else {
        None
    };
    let items = search::profiles(&mut conn, brand_id, &ids).await?;
    Ok(HttpResponse::Ok().json(ProfilePage { items, next_cursor }))
}

fn is_json(request: &HttpRequest) -> bool {
    let Some(content_type) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/merge-patch+json" || essence == "application/json"
}

/// A JSON merge patch of `attributes` and/or `custom`, e.g.
/// `{"attributes": {"city": "Lyon", "tier": null}, "custom": {"vip_since": "2024-01-02"}}`.
#[derive(ToSchema)]
#[schema(as = CrmProfilePatch)]
pub struct ProfilePatch {
    /// Built-in attributes to set, or to remove with `null`.
    #[schema(value_type = Object)]
    pub attributes: Option<Value>,
    /// Declared custom attributes to set, or to remove with `null`.
    #[schema(value_type = Object)]
    pub custom: Option<Value>,
}

#[utoipa::path(patch, path = "/api/v1/brands/{brand}/crm/profiles/{id}", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id")),
    request_body(content = ProfilePatch, content_type = "application/merge-patch+json",
        description = "RFC 7396 merge patch; `application/json` is accepted too"),
    responses(
        (status = 200, description = "The patched profile; `crm.profile.updated` names the fields that changed (none changed: no event)", body = Profile),
        (status = 400, description = "`malformed-json`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`profile-merged`: the id was merged away; patch the survivor named in the detail. `profile-erased`: the person's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn patch_profile(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = profile_id(&path.1)?;
    if !is_json(&request) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType).with_detail(
            "Send the patch as `Content-Type: application/merge-patch+json` (or `application/json`).",
        ));
    }
    let body: Value = serde_json::from_slice(&body)
        .map_err(|error| ApiError::new(ErrorCode::MalformedJson).with_detail(error.to_string()))?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    let definitions = custom::definitions(&mut tx, brand_id).await?;
    let patch = patch::check(&body, &definitions).map_err(ApiError::validation)?;
    if let Some(email) = patch.email() {
        // An erased person's address is not written back onto anyone by hand either.
        let policy = super::resolve::installed_policy()?;
        let hasher = policy.suppression();
        let found =
            super::suppression::suppressed(&mut tx, hasher, brand_id, std::slice::from_ref(&email))
                .await?;
        if !found.is_empty() {
            return Err(ApiError::validation(vec![super::erased_field(
                "attributes/email".to_owned(),
            )]));
        }
    }
    let changed = match patch::apply(&mut tx, brand_id, id, &patch, chrono::Utc::now()).await? {
        Ok(changed) => changed,
        Err(patch::Refused::NotFound) => return Err(profile_not_found()),
        Err(patch::Refused::Merged(survivor)) => return Err(merged(survivor)),
        Err(patch::Refused::Erased) => return Err(erased()),
    };
    if !changed.is_empty() {
        // Segments over these attributes follow at once, in this transaction (the profile is locked).
        state
            .crm
            .hooks()
            .profiles_changed(&mut tx, brand_id, &[id], Change::Attributes)
            .await
            .map_err(anyhow::Error::from)?;
        record_updated(&mut tx, &in_brand, id, &changed, json!({})).await?;
    }
    tx.commit().await?;
    let mut conn = state.crm.db().acquire().await?;
    let profile = profile::load(&mut conn, brand_id, id)
        .await?
        .ok_or_else(profile_not_found)?;
    Ok(HttpResponse::Ok().json(profile))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmAttributeDefinitionList)]
pub struct DefinitionList {
    pub items: Vec<Definition>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/attributes", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The brand's custom attributes, by name (at most 200)", body = DefinitionList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_attributes(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let items = custom::definitions(&mut conn, in_brand.brand.id).await?;
    Ok(HttpResponse::Ok().json(DefinitionList { items }))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/attributes", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")), request_body = DefinitionRequest,
    responses(
        (status = 201, description = "The declaration", body = Definition),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`attribute-exists`: the name is declared; `attribute-limit`: the brand declares 200", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn declare_attribute(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<DefinitionRequest>,
) -> Result<HttpResponse, ApiError> {
    let errors = body.check();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut tx = state.crm.db().begin().await?;
    let definition = custom::declare(&mut tx, in_brand.brand.id, &body, &in_brand.actor())
        .await?
        .map_err(|error| match error {
            DeclareError::Exists => ApiError::new(ErrorCode::AttributeExists)
                .with_detail(format!("`{}` is declared already.", body.name)),
            DeclareError::TooMany => ApiError::new(ErrorCode::AttributeLimit).with_detail(format!(
                "A brand declares at most {} custom attributes.",
                custom::MAX_DEFINITIONS
            )),
        })?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(definition))
}

/// This part's routes, mounted under `/api/v1`.
pub fn routes_profiles(cfg: &mut web::ServiceConfig) {
    use crate::http::resource;
    // One resource for both methods: actix answers 405 from the first resource matching a path.
    cfg.service(
        resource("/brands/{brand}/crm/profiles")
            .route(web::get().to(list_profiles))
            .route(web::post().to(super::identity_routes::resolve_profile)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}")
            .route(web::get().to(get_profile))
            .route(web::patch().to(patch_profile)),
    )
    .service(
        resource("/brands/{brand}/crm/attributes")
            .route(web::get().to(list_attributes))
            .route(web::post().to(declare_attribute)),
    );
    super::routes_identifiers::routes(cfg);
    super::routes_consent::routes(cfg);
}

#[derive(OpenApi)]
#[openapi(
    paths(
        get_profile,
        list_profiles,
        patch_profile,
        list_attributes,
        declare_attribute,
        super::routes_identifiers::add_identifier,
        super::routes_identifiers::remove_identifier,
        super::routes_consent::put_consent,
        super::routes_consent::list_consents,
        super::routes_consent::consent_history,
    ),
    components(schemas(
        ProfilePage,
        ProfilePatch,
        DefinitionList,
        Definition,
        DefinitionRequest,
        custom::AttributeType,
        super::consent::Channel,
        super::consent::Purpose,
        super::consent::Status,
        super::consent::ContactDecision,
        super::consent::ContactReason,
        super::consent::HistoryEntry,
        super::routes_consent::ConsentRequest,
        super::routes_consent::ConsentView,
        super::routes_consent::ConsentList,
        super::routes_consent::HistoryPage,
    ))
)]
struct ProfilesApiDoc;

/// Adds this part's paths and schemas to the CRM's document (`modifiers(&ProfilesDoc)`).
pub struct ProfilesDoc;

impl Modify for ProfilesDoc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(ProfilesApiDoc::openapi());
    }
}

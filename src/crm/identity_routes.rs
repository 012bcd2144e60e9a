//! The identity API: `POST …/crm/profiles` (resolve or create), `POST …/crm/merges` (manual merge, or its
//! dry run), `GET …/crm/merges/{id}` (the ledger), `POST …/crm/merges/{id}/unmerge`.
//!
//! Dry runs do the real work in a transaction and roll it back, so what they answer is exactly what the real
//! call would do, and they write nothing.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::events::{Change, HookFailed};
use super::identifiers::{Identifier, IdentifierError, IdentifierInput};
use super::ledger::{self, MergeView};
use super::merge::{self, Cause, MAX_ABSORBED, MergeError, MergeRequest};
use super::profile::{self, Attributes, Profile};
use super::resolve::{self, IdentifierOutcome, OutcomeKind, ResolveInput};
use super::unmerge::{self, UnmergeError};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::http::resource;
use crate::state::AppState;

/// The most identifiers one resolution takes.
pub const MAX_IDENTIFIERS: usize = 20;

pub fn routes_identity(cfg: &mut web::ServiceConfig) {
    // `POST …/crm/profiles` shares its resource with the profile list (`routes_profiles`).
    cfg.service(resource("/brands/{brand}/crm/merges").route(web::post().to(create_merge)))
        .service(resource("/brands/{brand}/crm/merges/{id}").route(web::get().to(show_merge)))
        .service(
            resource("/brands/{brand}/crm/merges/{id}/unmerge")
                .route(web::post().to(unmerge_merge)),
        );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmResolveRequest)]
pub struct ResolveRequest {
    #[serde(default)]
    pub attributes: Attributes,
    /// 1–20; at least one must be usable (not blocked).
    pub identifiers: Vec<IdentifierInput>,
}

/// What resolution did and why.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmResolveOutcome)]
pub struct OutcomeView {
    pub kind: OutcomeKind,
    pub reason: String,
    /// The merge resolution made (`merged`); `GET …/crm/merges/{merge_id}` shows it.
    pub merge_id: Option<Uuid>,
    /// The profiles the identifiers led to.
    pub matched_profiles: Vec<Uuid>,
    /// One per distinct identifier: matched, attached, held by another profile, or refused (with why).
    pub identifiers: Vec<IdentifierOutcome>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmResolveResponse)]
pub struct ResolveResponse {
    pub profile: Profile,
    pub outcome: OutcomeView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmMergeRequest)]
pub struct MergeBody {
    pub survivor_id: Uuid,
    /// 1–100 distinct profiles, not the survivor.
    pub absorbed_ids: Vec<Uuid>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmMergeResponse)]
pub struct MergeResponse {
    pub dry_run: bool,
    /// The ledger (in a dry run, of the merge that would be made; it is not stored).
    pub merge: MergeView,
    /// The survivor as it is (or would be) after the merge.
    pub survivor: Profile,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmUnmergeRequest)]
pub struct UnmergeBody {
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmUnmergeResponse)]
pub struct UnmergeResponse {
    pub dry_run: bool,
    pub merge: MergeView,
    /// The survivor first, then the restored profiles.
    pub profiles: Vec<Profile>,
}

/// The fields that named an erased person: the identifiers given (by position) and the traits' email or
/// phone; `prefix` leads every pointer, `traits` names the attributes' member.
pub fn erased_fields<'a>(
    erased: &[Identifier],
    given: impl IntoIterator<Item = &'a (usize, Identifier)>,
    attributes: &Attributes,
    prefix: &str,
    traits: &str,
) -> Vec<FieldError> {
    let mut fields: Vec<FieldError> = given
        .into_iter()
        .filter(|(_, identifier)| erased.contains(identifier))
        .map(|(index, _)| erased_error(format!("{prefix}identifiers/{index}/value")))
        .collect();
    for identifier in resolve::trait_identifiers(attributes) {
        if erased.contains(&identifier) {
            fields.push(erased_error(format!(
                "{prefix}{traits}/{}",
                identifier.kind
            )));
        }
    }
    if fields.is_empty() {
        fields.push(erased_error(format!("{prefix}identifiers")));
    }
    fields
}

/// A field naming an erased person's identifier (`erased`): nothing was created or matched.
pub fn erased_error(field: String) -> FieldError {
    FieldError::new(
        field,
        "erased",
        "This identifier belonged to a person whose data was erased; it never identifies anyone again.",
    )
}

fn is_deadlock(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("40P01"))
}

fn parse_identifiers(
    inputs: &[IdentifierInput],
    errors: &mut Vec<FieldError>,
) -> Vec<(usize, Identifier)> {
    if inputs.is_empty() || inputs.len() > MAX_IDENTIFIERS {
        errors.push(FieldError::new(
            "identifiers",
            "length",
            format!("Between 1 and {MAX_IDENTIFIERS} identifiers."),
        ));
    }
    let mut parsed = Vec::new();
    for (index, input) in inputs.iter().take(MAX_IDENTIFIERS).enumerate() {
        match Identifier::parse(&input.kind, &input.value) {
            Ok(identifier) => parsed.push((index, identifier)),
            Err(error) => {
                let field = match error {
                    IdentifierError::UnknownKind => "kind",
                    IdentifierError::InvalidValue(_) => "value",
                };
                errors.push(FieldError::new(
                    format!("identifiers/{index}/{field}"),
                    error.code(),
                    error.to_string(),
                ));
            }
        }
    }
    parsed
}

fn reason(outcome: &resolve::Resolution) -> String {
    match outcome.outcome {
        OutcomeKind::Created => {
            "No usable identifier belonged to a profile: a new profile was created.".into()
        }
        OutcomeKind::Matched => format!("The identifiers led to profile {}.", outcome.profile_id),
        OutcomeKind::Merged => format!(
            "Merge-triggering identifiers led to {} profiles; they were merged into the oldest, {}.",
            outcome.matched_profiles.len(),
            outcome.profile_id
        ),
    }
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/profiles", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = ResolveRequest,
    responses(
        (status = 201, description = "`created`: a new profile, with `Location`", body = ResolveResponse),
        (status = 200, description = "`matched` or `merged`: the existing (surviving) profile", body = ResolveResponse),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand (or not yours)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn resolve_profile(
    state: web::Data<AppState>,
    who: InBrand<Marketing>,
    body: web::Json<ResolveRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = body.attributes.check("attributes/");
    let parsed = parse_identifiers(&body.identifiers, &mut errors);
    let policy = state.crm.policy();
    if errors.is_empty()
        && resolve::usable(
            policy,
            &parsed.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>(),
        )
        .is_empty()
    {
        errors = parsed
            .iter()
            .map(|(index, _)| {
                FieldError::new(
                    format!("identifiers/{index}/value"),
                    "blocked_value",
                    "This value never identifies anyone; at least one usable identifier is required.",
                )
            })
            .collect();
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let identifiers: Vec<Identifier> = parsed.iter().map(|(_, i)| i.clone()).collect();
    let source = "api";
    let mut attempt = 0;
    let (resolution, profile) = loop {
        attempt += 1;
        let mut tx = state.crm.db().begin().await?;
        let input = ResolveInput {
            identifiers: &identifiers,
            attributes: &body.attributes,
            at: chrono::Utc::now(),
            source,
        };
        match resolve::resolve_with(&mut tx, who.brand.id, &input, policy).await {
            Ok(resolution) => {
                // Segments and scores follow the merge or the attributes in the same transaction.
                let given = body.attributes != Attributes::default();
                match state
                    .crm
                    .hooks()
                    .resolved(&mut tx, who.brand.id, &resolution, given)
                    .await
                {
                    Ok(()) => {}
                    Err(failed) if failed.is_deadlock() && attempt < 3 => continue,
                    Err(failed) => return Err(hook_error(failed)),
                }
                let profile = profile::load(&mut tx, who.brand.id, resolution.profile_id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!("resolved profile vanished"))
                    })?;
                tx.commit().await?;
                break (resolution, profile);
            }
            Err(resolve::ResolveError::Erased(erased)) => {
                return Err(ApiError::validation(erased_fields(
                    &erased,
                    &parsed,
                    &body.attributes,
                    "",
                    "attributes",
                )));
            }
            Err(resolve::ResolveError::Db(error)) if is_deadlock(&error) && attempt < 3 => continue,
            Err(resolve::ResolveError::Db(error)) => return Err(error.into()),
        }
    };
    let status = resolution.outcome;
    let response = ResolveResponse {
        outcome: OutcomeView {
            kind: resolution.outcome,
            reason: reason(&resolution),
            merge_id: resolution.merge_id,
            matched_profiles: resolution.matched_profiles,
            identifiers: resolution.identifiers,
        },
        profile,
    };
    Ok(match status {
        OutcomeKind::Created => HttpResponse::Created()
            .insert_header((
                header::LOCATION,
                format!(
                    "/api/v1/brands/{}/crm/profiles/{}",
                    who.brand.slug, response.profile.id
                ),
            ))
            .json(response),
        _ => HttpResponse::Ok().json(response),
    })
}

fn merge_not_found() -> ApiError {
    ApiError::new(ErrorCode::MergeNotFound).with_detail("No such merge in this brand.")
}

fn merge_error(error: MergeError) -> ApiError {
    match error {
        MergeError::NotFound(ids) => ApiError::not_found().with_detail(format!(
            "No such profile in this brand: {}.",
            ids.iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        MergeError::AlreadyMerged { profile_id, into } => ApiError::new(ErrorCode::MergeConflict)
            .with_detail(format!(
                "Profile {profile_id} was already merged into {into}; merge its survivor instead."
            )),
        MergeError::Erased(profile_id) => ApiError::new(ErrorCode::ProfileErased).with_detail(
            format!("Profile {profile_id} was erased; it is merged with nobody."),
        ),
        MergeError::Db(error) => db_error(error),
    }
}

/// The re-evaluation of segments and scores after a merge or an unmerge failed: retryable when it lost a
/// deadlock (as [`db_error`]), otherwise a 500 (the change is rolled back with it).
fn hook_error(failed: HookFailed) -> ApiError {
    if failed.is_deadlock() {
        ApiError::new(ErrorCode::MergeConflict)
            .with_detail("The profiles were being changed by another request; retry.")
    } else {
        ApiError::internal(anyhow::Error::from(failed))
    }
}

/// Profiles are locked in id order, so a deadlock needs an outside writer; the caller may simply retry.
fn db_error(error: sqlx::Error) -> ApiError {
    if is_deadlock(&error) {
        ApiError::new(ErrorCode::MergeConflict)
            .with_detail("The profiles were being changed by another request; retry.")
    } else {
        error.into()
    }
}

fn check_merge(body: &MergeBody) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if body.absorbed_ids.is_empty() || body.absorbed_ids.len() > MAX_ABSORBED {
        errors.push(FieldError::new(
            "absorbed_ids",
            "length",
            format!("Between 1 and {MAX_ABSORBED} profiles."),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, id) in body.absorbed_ids.iter().enumerate() {
        if *id == body.survivor_id {
            errors.push(FieldError::new(
                format!("absorbed_ids/{index}"),
                "is_survivor",
                "The survivor cannot absorb itself.",
            ));
        } else if !seen.insert(*id) {
            errors.push(FieldError::new(
                format!("absorbed_ids/{index}"),
                "duplicate",
                "Each profile once.",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

async fn loaded(conn: &mut PgConnection, brand_id: Uuid, id: Uuid) -> Result<Profile, ApiError> {
    profile::load(conn, brand_id, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("profile {id} vanished")))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/merges", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = MergeBody,
    responses(
        (status = 201, description = "Merged; the ledger and the survivor, with `Location`", body = MergeResponse),
        (status = 200, description = "Dry run: what the merge would do; nothing written", body = MergeResponse),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or a profile not in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`merge-conflict`: a profile was already merged away; `profile-erased`: a profile's person was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_merge(
    state: web::Data<AppState>,
    who: InBrand<Marketing>,
    body: web::Json<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    check_merge(&body)?;
    let brand_id = who.brand.id;
    let actor = who.actor();
    let mut tx = state.crm.db().begin().await?;
    let merge_id = merge::merge(
        &mut tx,
        brand_id,
        &MergeRequest {
            survivor: body.survivor_id,
            absorbed: &body.absorbed_ids,
            cause: Cause::Manual,
            actor: &actor,
        },
    )
    .await
    .map_err(merge_error)?;
    state
        .crm
        .hooks()
        .profiles_changed(
            &mut tx,
            brand_id,
            &[body.survivor_id],
            Change::Merged { merge_id },
        )
        .await
        .map_err(hook_error)?;
    let view = ledger::load(&mut tx, brand_id, merge_id)
        .await?
        .ok_or_else(merge_not_found)?;
    let survivor = loaded(&mut tx, brand_id, body.survivor_id).await?;
    let response = MergeResponse {
        dry_run: body.dry_run,
        merge: view,
        survivor,
    };
    if body.dry_run {
        tx.rollback().await?;
        return Ok(HttpResponse::Ok().json(response));
    }
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/brands/{}/crm/merges/{merge_id}", who.brand.slug),
        ))
        .json(response))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/merges/{id}", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Merge id")),
    responses(
        (status = 200, description = "The merge and its ledger", body = MergeView),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`merge-not-found`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn show_merge(
    state: web::Data<AppState>,
    who: InBrand<Marketing>,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let view = ledger::load(&mut conn, who.brand.id, path.1)
        .await?
        .ok_or_else(merge_not_found)?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/merges/{id}/unmerge", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Merge id")),
    request_body = UnmergeBody,
    responses(
        (status = 200, description = "Undone (or, in a dry run, what undoing would give; nothing written)", body = UnmergeResponse),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`merge-not-found`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already-unmerged`; `unmerge-blocked`: a later merge over these profiles stands (the detail names it), or an identifier moved to another profile", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn unmerge_merge(
    state: web::Data<AppState>,
    who: InBrand<Marketing>,
    path: web::Path<(String, Uuid)>,
    body: web::Json<UnmergeBody>,
) -> Result<HttpResponse, ApiError> {
    let brand_id = who.brand.id;
    let merge_id = path.1;
    let mut tx = state.crm.db().begin().await?;
    let done = unmerge::unmerge(&mut tx, brand_id, merge_id, &who.actor())
        .await
        .map_err(|error| match error {
            UnmergeError::NotFound => merge_not_found(),
            UnmergeError::AlreadyUnmerged => ApiError::new(ErrorCode::AlreadyUnmerged)
                .with_detail("This merge was already undone."),
            UnmergeError::Erased => ApiError::new(ErrorCode::UnmergeBlocked).with_detail(
                "The person was erased: the merge's snapshots hold nothing to restore.",
            ),
            UnmergeError::BlockedByMerge(later) => ApiError::new(ErrorCode::UnmergeBlocked)
                .with_detail(format!(
                    "Merge {later} came later over these profiles and still stands; unmerge it first."
                )),
            UnmergeError::IdentifierTaken {
                kind,
                value,
                profile_id,
            } => ApiError::new(ErrorCode::UnmergeBlocked).with_detail(format!(
                "Identifier {kind}:{value} of an absorbed profile now belongs to profile {profile_id}; remove it there first."
            )),
            UnmergeError::Db(error) => db_error(error),
        })?;
    let mut touched = done.absorbed_ids.clone();
    touched.push(done.survivor_id);
    state
        .crm
        .hooks()
        .profiles_changed(&mut tx, brand_id, &touched, Change::Unmerged { merge_id })
        .await
        .map_err(hook_error)?;
    let view = ledger::load(&mut tx, brand_id, merge_id)
        .await?
        .ok_or_else(merge_not_found)?;
    let mut profiles = vec![loaded(&mut tx, brand_id, done.survivor_id).await?];
    for id in &done.absorbed_ids {
        profiles.push(loaded(&mut tx, brand_id, *id).await?);
    }
    let response = UnmergeResponse {
        dry_run: body.dry_run,
        merge: view,
        profiles,
    };
    if body.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(HttpResponse::Ok().json(response))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(resolve_profile, create_merge, show_merge, unmerge_merge),
    components(schemas(
        ResolveRequest,
        ResolveResponse,
        OutcomeView,
        MergeBody,
        MergeResponse,
        UnmergeBody,
        UnmergeResponse,
        MergeView,
        ledger::MovedActivities,
        ledger::MovedActivity,
        IdentifierOutcome,
        resolve::IdentifierStatus,
    ))
)]
pub struct IdentityApiDoc;

/// Adds the identity API to the CRM's part of the document.
pub struct IdentityDoc;

impl utoipa::Modify for IdentityDoc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        openapi.merge(IdentityApiDoc::openapi());
    }
}

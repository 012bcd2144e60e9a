//! `POST …/brands/{brand}/crm/profiles/{id}/privacy/export` and `GET …/crm/privacy/requests/{id}` (the
//! brand's marketers and admins), `POST /me/privacy/export` and `GET /me/privacy/requests/{id}` (a portal
//! customer, their own only), and `GET /privacy/downloads/{token}` (the signed link).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Privacy;
use super::erase_job::{self, RunErasure};
use super::export_job::RunExport;
use super::link::LinkError;
use super::model::{Download, Kind, PrivacyRequest, Progress, Requester};
use super::repo::{self, NewRequest, Reader};
use crate::auth::Customer;
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;

fn profile_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such profile in this brand.")
}

fn request_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such privacy request.")
}

/// The request as the API shows it: its steps, progress and, once the export is done, the download link.
pub(super) async fn view(
    privacy: &Privacy,
    conn: &mut PgConnection,
    row: repo::RequestRow,
) -> Result<PrivacyRequest, sqlx::Error> {
    let steps = repo::steps(conn, row.id).await?;
    let brand = crate::brands::slug_of(&mut *conn, row.brand_id)
        .await?
        .unwrap_or_default();
    let done = steps
        .iter()
        .filter(|step| step.status == "completed")
        .count();
    let download = if row.kind() == Kind::Export && row.status == "completed" {
        repo::archive_meta(conn, row.id)
            .await?
            .map(|meta| Download {
                url: privacy.download_url(row.id, meta.expires_at),
                expires_at: meta.expires_at,
                size_bytes: meta.size_bytes,
            })
    } else {
        None
    };
    Ok(PrivacyRequest {
        id: row.id,
        brand,
        kind: row.kind(),
        status: row.status.clone(),
        profile_id: row.profile_id,
        requested_by: row.requester(),
        created_at: row.created_at,
        due_at: row.due_at,
        completed_at: row.completed_at,
        progress: Progress {
            done: done as i64,
            total: steps.len() as i64,
        },
        steps,
        download,
    })
}

/// Records an export request with one step per part that has something about the person, and its job, in
/// one transaction; a person's export already in flight is answered instead of a second one.
async fn start_export(
    state: &AppState,
    brand_id: Uuid,
    profile_id: Option<Uuid>,
    portal_user_id: Option<Uuid>,
    requester: Requester,
) -> Result<HttpResponse, ApiError> {
    let parts = state
        .privacy
        .parts()
        .applicable(profile_id.is_some(), portal_user_id.is_some());
    let subject = Subject {
        brand_id,
        profile_id,
        portal_user_id,
    };
    start(state, Kind::Export, &subject, &parts, requester).await
}

/// Records an erasure request with its steps (`erase_job::STEPS`) and its job; a person's erasure already in
/// flight is answered instead of a second one.
async fn start_erasure(
    state: &AppState,
    subject: &Subject,
    requester: Requester,
) -> Result<HttpResponse, ApiError> {
    start(
        state,
        Kind::Erasure,
        subject,
        &erase_job::step_names(),
        requester,
    )
    .await
}

/// Whom a request is about.
struct Subject {
    brand_id: Uuid,
    profile_id: Option<Uuid>,
    portal_user_id: Option<Uuid>,
}

async fn start(
    state: &AppState,
    kind: Kind,
    subject: &Subject,
    parts: &[&'static str],
    requester: Requester,
) -> Result<HttpResponse, ApiError> {
    let privacy = &state.privacy;
    let mut tx = state.db.begin().await?;
    if kind == Kind::Export
        && repo::open_erasure(
            &mut tx,
            subject.brand_id,
            subject.profile_id,
            subject.portal_user_id,
        )
        .await?
        .is_some()
    {
        return Err(ApiError::new(ErrorCode::ErasureInProgress));
    }
    let (id, created) = repo::insert_request(
        &mut tx,
        &NewRequest {
            brand_id: subject.brand_id,
            profile_id: subject.profile_id,
            portal_user_id: subject.portal_user_id,
            kind,
            requester: &requester,
            parts,
        },
    )
    .await?;
    if created {
        match kind {
            Kind::Export => {
                crate::jobs::enqueue(
                    &mut tx,
                    &state.settings.jobs,
                    &RunExport { request_id: id },
                    None,
                )
                .await?
            }
            Kind::Erasure => {
                crate::jobs::enqueue(
                    &mut tx,
                    &state.settings.jobs,
                    &RunErasure { request_id: id },
                    None,
                )
                .await?
            }
        };
    }
    let row = repo::request(&mut tx, id, Reader::System)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("privacy request {id} vanished")))?;
    if !created
        && requester.kind == "customer"
        && (row.requested_by_kind != "customer" || row.requested_by_user != requester.user_id)
    {
        // The brand's staff asked for the same about this account: its request (and who asked) is theirs.
        return Err(ApiError::new(ErrorCode::Conflict).with_detail(
            "The brand is already handling the same request about your account; ask again once it is done.",
        ));
    }
    let body = view(privacy, &mut tx, row).await?;
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(body))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/profiles/{id}/privacy/export", tag = "privacy", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id (a merged profile's id answers its survivor)")),
    responses(
        (status = 202, description = "The export request (new, or the one already in flight for this person); a job assembles the archive", body = PrivacyRequest),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or profile", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person's erasure is in progress (`erasure-in-progress`)", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn request_export(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.1).map_err(|_| profile_not_found())?;
    let brand = &in_brand.brand;
    let mut conn = state.db.acquire().await?;
    let profile_id = crate::crm::profile::current_id(&mut conn, brand.id, id)
        .await?
        .ok_or_else(profile_not_found)?;
    // Portal records belong to the portal brand's profiles only.
    let portal_user_id = if brand.slug == state.crm.portal_brand() {
        crate::crm::privacy_export::portal_user_of(&mut conn, brand.id, profile_id).await?
    } else {
        None
    };
    drop(conn);
    let requester = Requester {
        kind: "staff".to_owned(),
        user_id: in_brand.user.user_id,
        role: Some(
            if in_brand.is_admin() {
                "admin"
            } else {
                "marketer"
            }
            .to_owned(),
        ),
    };
    start_export(
        &state,
        brand.id,
        Some(profile_id),
        portal_user_id,
        requester,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/profiles/{id}/privacy/erase", tag = "privacy", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id (a merged profile's id answers its survivor)")),
    responses(
        (status = 202, description = "The erasure request (new, or the one already in flight for this person); a job erases the person in every system, step by step, with receipts", body = PrivacyRequest),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or profile", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn request_erasure(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.1).map_err(|_| profile_not_found())?;
    let brand = &in_brand.brand;
    let mut conn = state.db.acquire().await?;
    let profile_id = crate::crm::profile::current_id(&mut conn, brand.id, id)
        .await?
        .ok_or_else(profile_not_found)?;
    // Portal accounts belong to the portal brand's profiles only.
    let portal_user_id = if brand.slug == state.crm.portal_brand() {
        crate::crm::privacy_export::portal_user_of(&mut conn, brand.id, profile_id).await?
    } else {
        None
    };
    drop(conn);
    let subject = Subject {
        brand_id: brand.id,
        profile_id: Some(profile_id),
        portal_user_id,
    };
    start_erasure(&state, &subject, staff_requester(&in_brand)).await
}

fn staff_requester(in_brand: &InBrand<Marketing>) -> Requester {
    Requester {
        kind: "staff".to_owned(),
        user_id: in_brand.user.user_id,
        role: Some(
            if in_brand.is_admin() {
                "admin"
            } else {
                "marketer"
            }
            .to_owned(),
        ),
    }
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/privacy/requests/{id}", tag = "privacy", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The request: kind, status, steps with receipts, due date, who asked, progress and, once an export is done, its download link", body = PrivacyRequest),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or request in this brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_request(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.1).map_err(|_| request_not_found())?;
    let mut conn = state.db.acquire().await?;
    let row = repo::request(&mut conn, id, Reader::Brand(in_brand.brand.id))
        .await?
        .ok_or_else(request_not_found)?;
    Ok(HttpResponse::Ok().json(view(&state.privacy, &mut conn, row).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyExportRequest {
    /// The account's password again: a session alone may not take the customer's data away.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/me/privacy/export", tag = "privacy", security(("bearer" = [])),
    request_body = MyExportRequest,
    responses(
        (status = 202, description = "The export request (new, or the one already in flight); a job assembles the archive", body = PrivacyRequest),
        (status = 401, description = "Not signed in, or the password is wrong (`invalid-credentials`)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 403, response = crate::errors::responses::NotACustomer),
        (status = 409, description = "The account's erasure is in progress (`erasure-in-progress`), or the brand's staff asked for the same about the account (`conflict`)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    ))]
pub async fn request_my_export(
    state: web::Data<AppState>,
    req: HttpRequest,
    customer: Customer,
    body: web::Json<MyExportRequest>,
) -> Result<HttpResponse, ApiError> {
    let Customer(user) = customer;
    crate::auth::reauthenticate(&state.auth, &req, &user, &body.password).await?;
    let brand = crate::brands::find(&state.db, state.crm.portal_brand())
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "the portal brand `{}` does not exist",
                state.crm.portal_brand()
            ))
        })?;
    let mut conn = state.db.acquire().await?;
    let profile_id =
        crate::crm::privacy_export::profile_of_portal_user(&mut conn, brand.id, user.user_id)
            .await?;
    drop(conn);
    let requester = Requester {
        kind: "customer".to_owned(),
        user_id: user.user_id,
        role: None,
    };
    start_export(&state, brand.id, profile_id, Some(user.user_id), requester).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyErasureRequest {
    /// The account's password again: a session alone may not erase the customer.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/me/privacy/erase", tag = "privacy", security(("bearer" = [])),
    request_body = MyErasureRequest,
    responses(
        (status = 202, description = "The erasure request (new, or the one already in flight); a job erases the customer everywhere and closes the account", body = PrivacyRequest),
        (status = 401, description = "Not signed in, or the password is wrong (`invalid-credentials`)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 403, response = crate::errors::responses::NotACustomer),
        (status = 409, description = "The brand's staff asked for the account's erasure already (`conflict`)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    ))]
pub async fn request_my_erasure(
    state: web::Data<AppState>,
    req: HttpRequest,
    customer: Customer,
    body: web::Json<MyErasureRequest>,
) -> Result<HttpResponse, ApiError> {
    let Customer(user) = customer;
    crate::auth::reauthenticate(&state.auth, &req, &user, &body.password).await?;
    let brand = crate::brands::find(&state.db, state.crm.portal_brand())
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "the portal brand `{}` does not exist",
                state.crm.portal_brand()
            ))
        })?;
    let mut conn = state.db.acquire().await?;
    let profile_id =
        crate::crm::privacy_export::profile_of_portal_user(&mut conn, brand.id, user.user_id)
            .await?;
    drop(conn);
    let requester = Requester {
        kind: "customer".to_owned(),
        user_id: user.user_id,
        role: None,
    };
    let subject = Subject {
        brand_id: brand.id,
        profile_id,
        portal_user_id: Some(user.user_id),
    };
    start_erasure(&state, &subject, requester).await
}

#[utoipa::path(get, path = "/api/v1/me/privacy/requests/{id}", tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The customer's own request, with its download link once the export is done", body = PrivacyRequest),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, response = crate::errors::responses::NotACustomer),
        (status = 404, description = "No such request of this customer", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_my_request(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Customer(user) = customer;
    let id = Uuid::parse_str(&path).map_err(|_| request_not_found())?;
    let mut conn = state.db.acquire().await?;
    let row = repo::request(&mut conn, id, Reader::Customer(user.user_id))
        .await?
        .ok_or_else(request_not_found)?;
    Ok(HttpResponse::Ok().json(view(&state.privacy, &mut conn, row).await?))
}

/// The archive as the OpenAPI document describes it: bytes of a zip.
#[derive(ToSchema)]
#[schema(as = PrivacyArchive, value_type = String, format = Binary)]
pub struct Archive(#[allow(dead_code)] Vec<u8>);

fn link_invalid() -> ApiError {
    ApiError::new(ErrorCode::PrivacyLinkInvalid).with_detail("This download link is not valid.")
}

fn link_expired() -> ApiError {
    ApiError::new(ErrorCode::PrivacyLinkExpired)
        .with_detail("This download link has expired; ask for a new export.")
}

#[utoipa::path(get, path = "/api/v1/privacy/downloads/{token}", tag = "privacy",
    params(("token" = String, Path, description = "The signed token of the request's download link")),
    responses(
        (status = 200, description = "The archive (zip): manifest.json, retention.json and one JSON file per part's file", content_type = "application/zip", body = Archive),
        (status = 403, description = "Not a link we issued (edited or cut short)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The link has expired (the archive is gone)", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn download(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let privacy = &state.privacy;
    let id = privacy
        .links
        .verify(&path, Utc::now())
        .map_err(|error| match error {
            LinkError::Invalid => link_invalid(),
            LinkError::Expired => link_expired(),
        })?;
    let archive = repo::archive(&privacy.db, id)
        .await?
        .ok_or_else(link_expired)?;
    Ok(HttpResponse::Ok()
        .content_type(archive.content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"privacy-export-{id}.zip\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(archive.content))
}

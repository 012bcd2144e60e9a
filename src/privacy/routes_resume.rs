//! `POST …/crm/privacy/requests/{id}/resume`: a failed erasure runs again from its failed steps. A system's
//! permanent refusal fails an erasure (a person must look); once they have resolved it there, the request
//! is the only way to finish: it kept the targets its remaining steps need, and the CRM no longer has them,
//! so a new request would find nothing to tell the other systems.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::erase_job::RunErasure;
use super::model::Kind;
use super::repo::{self, Reader};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/privacy/requests/{id}/resume", tag = "privacy", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 202, description = "The erasure, running again from its failed steps (or still running: answered as it is)", body = super::model::PrivacyRequest),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or request in this brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`privacy-request-not-resumable`: an export, or a completed erasure; `conflict`: another erasure of the person is open", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn resume_request(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found().with_detail("No such privacy request.");
    let id = Uuid::parse_str(&path.1).map_err(|_| not_found())?;
    let mut tx = state.db.begin().await?;
    let row = repo::request(&mut tx, id, Reader::Brand(in_brand.brand.id))
        .await?
        .ok_or_else(not_found)?;
    if row.kind() != Kind::Erasure || row.status == "completed" {
        return Err(ApiError::new(ErrorCode::PrivacyRequestNotResumable));
    }
    if row.status == "failed" {
        let resumed = match repo::resume(&mut tx, id).await {
            Ok(resumed) => resumed,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Err(ApiError::new(ErrorCode::Conflict)
                    .with_detail("Another erasure of this person is open; it runs instead."));
            }
            Err(error) => return Err(error.into()),
        };
        if resumed {
            crate::jobs::enqueue(
                &mut tx,
                &state.settings.jobs,
                &RunErasure { request_id: id },
                None,
            )
            .await?;
            tracing::info!(request_id = %id, by = %in_brand.user.user_id, "privacy erasure resumed");
        }
    }
    let row = repo::request(&mut tx, id, Reader::System)
        .await?
        .ok_or_else(not_found)?;
    let body = super::routes::view(&state.privacy, &mut tx, row).await?;
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(body))
}

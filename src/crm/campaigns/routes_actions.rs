//! `POST …/campaigns/{id}/launch` (with `Idempotency-Key`), `…/pause`, `…/resume`, `…/cancel`: each a row of
//! the transition table, decided on the locked campaign row.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::model::{Action, Status, next};
use super::routes::{campaign_id, campaign_not_found, with_counts};
use super::{Campaigns, DeliverCampaign, FreezeCampaign, recipients, repo};
use crate::brands::{Brand, InBrand, Marketing};
use crate::crm::messages::templates;
use crate::crm::segments;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::idempotency::{self, Fingerprint, IdempotencyKey, StoredResponse};
use crate::jobs;
use crate::state::AppState;

fn refused(from: Status, action: &str) -> ApiError {
    ApiError::new(ErrorCode::CampaignTransitionInvalid)
        .with_detail(format!("A {} campaign cannot be {action}.", from.as_str()))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/campaigns/{id}/launch", tag = "crm", operation_id = "launch_campaign", security(("bearer" = [])),
    description = "Pins the template's current version and schedules the freeze of the audience at `send_at` (now when absent or past). A repeat with the same `Idempotency-Key` answers the first result; the key with another campaign is a 422.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Campaign id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters, new for each launch")),
    responses(
        (status = 200, description = "Scheduled", body = super::model::Campaign),
        (status = 400, description = "Missing or invalid Idempotency-Key", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such campaign in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`campaign-transition-invalid` (not a draft) or `request-in-progress`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The segment or template is gone or no longer matches, or the key was used for another request", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn launch(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let key = IdempotencyKey::from_request(&req)?;
    let id = campaign_id(&path.1)?;
    let brand = in_brand.brand.clone();
    let fingerprint = Fingerprint::new(
        "POST",
        &format!("/api/v1/brands/{}/crm/campaigns/{id}/launch", brand.slug),
        b"",
    );
    let campaigns = Campaigns::new(&state);
    let user_id = in_brand.user.user_id;
    idempotency::execute(&state.db, user_id, &key, &fingerprint, move || async move {
        let campaign = launch_now(&campaigns, &brand, id).await?;
        StoredResponse::json(StatusCode::OK, &campaign)
    })
    .await
}

async fn launch_now(
    campaigns: &Campaigns,
    brand: &Brand,
    id: Uuid,
) -> Result<super::model::Campaign, ApiError> {
    let now = campaigns.now();
    let mut tx = campaigns.db.begin().await?;
    let row = repo::load(&mut tx, brand.id, id, true)
        .await?
        .ok_or_else(campaign_not_found)?;
    let Some(to) = next(row.status(), Action::Launch, None) else {
        return Err(refused(row.status(), "launched"));
    };
    let mut errors = Vec::new();
    if segments::repo::stored(&mut tx, brand.id, row.segment_id)
        .await?
        .is_none()
    {
        errors.push(FieldError::new(
            "segment_id",
            "not_found",
            "The segment was deleted.",
        ));
    }
    let template = templates::load(&mut tx, brand.id, row.template_id).await?;
    match &template {
        None => errors.push(FieldError::new(
            "template_id",
            "not_found",
            "The template was deleted.",
        )),
        Some(t) if Some(t.channel) != row.channel() || Some(t.purpose) != row.purpose() => {
            errors.push(FieldError::new(
                "template_id",
                "template_mismatch",
                "The template's channel or purpose changed: edit the campaign.",
            ));
        }
        Some(_) => {}
    }
    let Some(template) = template.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let send_at = row.send_at.map_or(now, |at| at.max(now));
    repo::mark_launched(&mut tx, id, template.version, send_at, now).await?;
    debug_assert_eq!(to, Status::Scheduled);
    let job = FreezeCampaign {
        brand: brand.slug.clone(),
        campaign_id: id,
    };
    jobs::enqueue(
        &mut tx,
        &campaigns.jobs,
        &job,
        (send_at - now).to_std().ok(),
    )
    .await
    .map_err(ApiError::internal)?;
    let row = repo::load(&mut tx, brand.id, id, false)
        .await?
        .ok_or_else(campaign_not_found)?;
    tx.commit().await?;
    Ok(row.to_campaign())
}

/// Pause, resume or cancel: the locked row, the table, the write, and the job the new status needs.
async fn transition(
    state: &AppState,
    in_brand: &InBrand<Marketing>,
    raw_id: &str,
    action: Action,
) -> Result<HttpResponse, ApiError> {
    let id = campaign_id(raw_id)?;
    let campaigns = Campaigns::new(state);
    let brand = &in_brand.brand;
    let now = campaigns.now();
    let mut tx = campaigns.db.begin().await?;
    let row = repo::load(&mut tx, brand.id, id, true)
        .await?
        .ok_or_else(campaign_not_found)?;
    let from = row.status();
    let verb = match action {
        Action::Pause => "paused",
        Action::Resume => "resumed",
        _ => "cancelled",
    };
    let Some(to) = next(from, action, row.paused_from()) else {
        return Err(refused(from, verb));
    };
    let paused_from = (to == Status::Paused).then_some(from);
    repo::set_status(&mut tx, id, to, paused_from, now).await?;
    match (action, to) {
        (Action::Resume, Status::Scheduled) => {
            let job = FreezeCampaign {
                brand: brand.slug.clone(),
                campaign_id: id,
            };
            let delay = row.send_at.and_then(|at| (at - now).to_std().ok());
            jobs::enqueue(&mut tx, &campaigns.jobs, &job, delay)
                .await
                .map_err(ApiError::internal)?;
        }
        (Action::Resume, Status::Sending) => {
            let job = DeliverCampaign {
                brand: brand.slug.clone(),
                campaign_id: id,
            };
            jobs::enqueue(&mut tx, &campaigns.jobs, &job, None)
                .await
                .map_err(ApiError::internal)?;
        }
        (Action::Cancel, _) => {
            recipients::cancel_waiting(&mut tx, id, now).await?;
        }
        _ => {}
    }
    let row = repo::load(&mut tx, brand.id, id, false)
        .await?
        .ok_or_else(campaign_not_found)?;
    let campaign = with_counts(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(campaign))
}

macro_rules! action_route {
    ($name:ident, $action:expr, $path:literal, $op:literal, $what:literal, $from:literal) => {
        #[utoipa::path(post, path = $path, tag = "crm", operation_id = $op, security(("bearer" = [])),
            description = $what,
            params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Campaign id")),
            responses(
                (status = 200, description = "The campaign in its new status, with its counts", body = super::model::Campaign),
                (status = 401, response = crate::errors::responses::Unauthorized),
                (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such brand, or no such campaign in it", body = crate::errors::Problem, content_type = "application/problem+json"),
                (status = 409, description = $from, body = crate::errors::Problem, content_type = "application/problem+json")
            ))]
        pub async fn $name(
            state: web::Data<AppState>,
            in_brand: InBrand<Marketing>,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, ApiError> {
            transition(&state, &in_brand, &path.1, $action).await
        }
    };
}

action_route!(
    pause,
    Action::Pause,
    "/api/v1/brands/{brand}/crm/campaigns/{id}/pause",
    "pause_campaign",
    "Stops the freeze or the delivery within a few sends; nothing is lost.",
    "`campaign-transition-invalid`: only a scheduled or sending campaign pauses"
);
action_route!(
    resume,
    Action::Resume,
    "/api/v1/brands/{brand}/crm/campaigns/{id}/resume",
    "resume_campaign",
    "Back to where it paused: scheduled (the freeze at `send_at`) or sending.",
    "`campaign-transition-invalid`: only a paused campaign resumes"
);
action_route!(
    cancel,
    Action::Cancel,
    "/api/v1/brands/{brand}/crm/campaigns/{id}/cancel",
    "cancel_campaign",
    "For good: recipients still waiting become `cancelled`; sends already made stay recorded.",
    "`campaign-transition-invalid`: a completed or cancelled campaign"
);

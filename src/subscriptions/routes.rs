//! The subscription and SIM endpoints under `/api/v1/subscriptions`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::{Validate, ValidateArgs, ValidationError};

use super::domain::{
    SimAction, SimActionOutcome, SimActionResult, SimLine, Subscription, SubscriptionList,
};
use super::error::SubscriptionError;
use super::plan_change::{self, NewPlanChange};
use super::plans;
use super::repo::{self, Entry, Outcome};
use super::service::{SimCommand, SubscriptionAccount};
use super::top_up::{self, NewTopUp, StartError, TopUpRow};
use crate::auth::Customer;
use crate::customers::require_links;
use crate::errors::{ApiError, rule};
use crate::http::request_context;
use crate::idempotency::{self, Fingerprint, IdempotencyKey, StoredResponse};
use crate::integrations::freebit::{MAX_TOP_UP_MB, MIN_TOP_UP_MB};
use crate::money::Money;
use crate::state::AppState;
use crate::telemetry::redact;
use crate::types::{PathId, SubscriptionId};

/// How far ahead a plan change may be scheduled.
const MAX_SCHEDULE_DAYS: i64 = 365;

/// A top-up of this month's data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    /// 1–512000 MB.
    #[schema(minimum = 1, maximum = 512000, example = 1024)]
    #[validate(range(
        min = i64::from(MIN_TOP_UP_MB),
        max = i64::from(MAX_TOP_UP_MB),
        code = "out_of_range",
        message = "Use 1 to 512000 MB."
    ))]
    pub quota_mb: i64,
}

/// A plan change, applied on `effective_date`.
// Validated against today's date (UTC): `validate_with_args(&today)`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(context = NaiveDate)]
pub struct PlanChangeRequest {
    /// One of the portal's plan codes, e.g. `DATA_50GB`.
    #[schema(example = "DATA_50GB", max_length = 64)]
    #[validate(custom(function = "plans::check"))]
    pub plan_code: String,
    /// `YYYY-MM-DD`, today (UTC) or later, at most a year ahead.
    #[schema(example = "2026-12-01", format = Date)]
    #[validate(custom(function = "effective_date", use_context))]
    pub effective_date: String,
}

fn parse_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
}

/// `YYYY-MM-DD`, from `today` to a year ahead.
fn effective_date(value: &str, today: &NaiveDate) -> Result<(), ValidationError> {
    match parse_date(value) {
        None => Err(rule("invalid", "Use a date as YYYY-MM-DD.")),
        Some(date) if date < *today => Err(rule("in_the_past", "Use today or a later date.")),
        Some(date) if date > *today + Duration::days(MAX_SCHEDULE_DAYS) => {
            Err(rule("too_far", "Use a date within a year."))
        }
        Some(_) => Ok(()),
    }
}

fn validate_top_up(request: &TopUpRequest) -> Result<SimCommand, ApiError> {
    request.validate()?;
    let quota_mb = u32::try_from(request.quota_mb)
        .map_err(|_| anyhow::anyhow!("a validated top-up does not fit u32"))?;
    Ok(SimCommand::TopUp { quota_mb })
}

fn validate_plan_change(
    request: &PlanChangeRequest,
    today: NaiveDate,
) -> Result<SimCommand, ApiError> {
    request.validate_with_args(&today)?;
    let effective_date = parse_date(&request.effective_date)
        .ok_or_else(|| anyhow::anyhow!("a validated effective date does not parse"))?;
    Ok(SimCommand::PlanChange {
        plan_code: request.plan_code.trim().to_owned(),
        effective_date,
    })
}

/// What the audit trail records of a command: its parameters, never secrets.
fn parameters(command: &SimCommand) -> serde_json::Value {
    match command {
        SimCommand::TopUp { quota_mb } => json!({ "quota_mb": quota_mb }),
        SimCommand::PlanChange {
            plan_code,
            effective_date,
        } => json!({ "plan_code": plan_code, "effective_date": effective_date }),
        SimCommand::Suspend | SimCommand::Resume => json!({}),
    }
}

#[utoipa::path(
    get, path = "/api/v1/subscriptions", tag = "subscriptions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's subscriptions, by id", body = SubscriptionList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, ApiError> {
    let links = require_links(&state.db, customer.0.user_id).await?;
    let account = SubscriptionAccount::new(&state.subscriptions, links.whmcs_client_id)?;
    Ok(HttpResponse::Ok().json(SubscriptionList {
        items: account.list().await?,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = u64, Path, minimum = 1, description = "Subscription id")),
    responses(
        (status = 200, description = "The subscription", body = Subscription),
        (status = 400, response = crate::errors::responses::InvalidSubscriptionId),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, description = "No such subscription on this account", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    customer: Customer,
    path: PathId<SubscriptionId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let links = require_links(&state.db, customer.0.user_id).await?;
    let account = SubscriptionAccount::new(&state.subscriptions, links.whmcs_client_id)?;
    Ok(HttpResponse::Ok().json(account.get(id).await?))
}

#[utoipa::path(
    get, path = "/api/v1/subscriptions/{id}/sim", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = u64, Path, minimum = 1, description = "Subscription id")),
    responses(
        (status = 200, description = "The SIM line: number, ICCID/EID, plan, status and this month's data", body = SimLine),
        (status = 400, response = crate::errors::responses::InvalidSubscriptionId),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::SubscriptionNotFound),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::ProviderError),
        (status = 503, description = "A provider is unavailable", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
pub async fn sim(
    state: web::Data<AppState>,
    customer: Customer,
    path: PathId<SubscriptionId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let links = require_links(&state.db, customer.0.user_id).await?;
    let account = SubscriptionAccount::new(&state.subscriptions, links.whmcs_client_id)?;
    Ok(HttpResponse::Ok().json(account.sim(id).await?))
}

#[utoipa::path(
    post, path = "/api/v1/subscriptions/{id}/sim/top-ups", tag = "subscriptions", security(("bearer" = [])),
    description = "Buys data for this month. The customer is charged first: a WHMCS invoice for the top-up's price (`subscriptions.top_up_price_per_gb`), captured with the account's default card (the only method WHMCS charges); only a paid top-up reaches the network. A line takes at most `subscriptions.top_up_monthly_cap_mb` of top-ups a calendar month (UTC). The charge and the network run in a job that finishes exactly once even across crashes; a request answers within `subscriptions.top_up_wait_ms`, and a repeat with the same Idempotency-Key answers the same top-up's outcome.",
    params(
        ("id" = u64, Path, minimum = 1, description = "Subscription id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters (e.g. a UUID), new for each change")
    ),
    request_body = TopUpRequest,
    responses(
        (status = 200, description = "Paid and added (`charged` is the amount on the paid invoice)", body = SimActionResult),
        (status = 400, description = "Missing or invalid Idempotency-Key, bad id or body", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 402, description = "`payment-declined`: the charge was declined; nothing was added (the invoice is cancelled)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, response = crate::errors::responses::SubscriptionNotFound),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `top-up-limit-reached`: the line's monthly cap would be passed; `no-payment-method`: the default payment method is not a card; `subscription-closed`: the subscription is cancelled or terminated; `subscription-not-active`: it is pending or suspended in billing; `sim-activating` or `sim-not-in-service`: the line takes no changes; `account-linking`: the account is still being set up; `request-in-progress`: a request with this key is still running (see Retry-After)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Quota out of range, or the key was used for another request", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`provider-error`: the top-up could not be completed after the charge (support sorts out the charge), or a provider answered with an error", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`change-in-progress`: still being charged or added; repeat with the same key. `provider-unavailable`: a provider is down before anything was charged", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
pub async fn top_up(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    path: PathId<SubscriptionId>,
    body: web::Json<TopUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let key = IdempotencyKey::from_request(&req)?;
    let SimCommand::TopUp { quota_mb } = validate_top_up(&body)? else {
        return Err(anyhow::anyhow!("a validated top-up is not a top-up").into());
    };
    let user_id = customer.0.user_id;
    let links = require_links(&state.db, user_id).await?;
    let parameters = json!({ "quota_mb": quota_mb });
    let fingerprint = Fingerprint::of_json(
        req.method().as_str(),
        &format!("/api/v1/subscriptions/{id}/sim/top-ups"),
        &parameters,
    )?;
    let pool = state.db.clone();
    let key_text = key.as_str().to_owned();
    idempotency::execute(&pool, user_id, &key, &fingerprint, move || async move {
        let request = PaidTopUp {
            user_id,
            whmcs_client_id: links.whmcs_client_id,
            service_id: id,
            quota_mb,
            key: &key_text,
        };
        match paid_top_up(&state, &request).await {
            Ok(row) => {
                let result = SimActionResult {
                    action_id: row.action_id,
                    subscription_id: id,
                    action: SimAction::TopUp,
                    parameters,
                    outcome: SimActionOutcome::Applied,
                    recorded_at: row.finished_at.unwrap_or_else(Utc::now),
                    charged: Some(Money::from_hundredths(row.amount_hundredths, &row.currency)),
                };
                StoredResponse::json(StatusCode::OK, &result)
            }
            Err(TopUpFailure::Before(error)) => {
                Err(audit_failure(&state, user_id, id, SimAction::TopUp, &parameters, error).await)
            }
            // The job wrote the trail's row for its outcome.
            Err(TopUpFailure::After(error)) => Err(error.into()),
        }
    })
    .await
}

struct PaidTopUp<'a> {
    user_id: uuid::Uuid,
    whmcs_client_id: i64,
    service_id: u64,
    quota_mb: u32,
    key: &'a str,
}

enum TopUpFailure {
    /// Refused before anything was recorded or charged.
    Before(SubscriptionError),
    /// The job's outcome, or still running.
    After(SubscriptionError),
}

/// Checks the line, records the top-up (cap, price) with its job, and waits for the job's outcome.
async fn paid_top_up(state: &AppState, request: &PaidTopUp<'_>) -> Result<TopUpRow, TopUpFailure> {
    let subs = &state.subscriptions;
    let settings = &state.settings.subscriptions;
    let refused = |error| {
        TopUpFailure::Before(match error {
            StartError::CapReached { remaining_mb } => SubscriptionError::TopUpCap {
                remaining_mb,
                cap_mb: settings.top_up_monthly_cap_mb,
            },
            StartError::KeyReused => SubscriptionError::Refused {
                field: "quota_mb",
                message: "This Idempotency-Key was used for another top-up.",
            },
            StartError::Unexpected(error) => SubscriptionError::Unexpected(error),
        })
    };
    let service_id = i64::try_from(request.service_id).unwrap_or(i64::MAX);
    let quota_mb = i32::try_from(request.quota_mb).unwrap_or(i32::MAX);
    // A repeat of a recorded top-up answers its outcome: checking the line again (a card removed, the line
    // suspended since) would answer a refusal for a top-up that is being charged or is done.
    let recorded = top_up::recorded(subs, request.user_id, request.key, service_id, quota_mb)
        .await
        .map_err(refused)?;
    let top_up_id = match recorded {
        Some(id) => id,
        None => {
            let account = SubscriptionAccount::new(subs, request.whmcs_client_id)
                .map_err(TopUpFailure::Before)?;
            let target = account
                .prepare_top_up(request.service_id)
                .await
                .map_err(TopUpFailure::Before)?;
            let amount = top_up::price_hundredths(request.quota_mb, settings.top_up_price_per_gb);
            let new = NewTopUp {
                user_id: request.user_id,
                request_key: request.key,
                whmcs_client_id: i64::try_from(target.client_id).unwrap_or_default(),
                service_id,
                msisdn: &target.number,
                quota_mb,
                amount_hundredths: amount,
                currency: &target.currency,
            };
            top_up::start(subs, &new).await.map_err(refused)?
        }
    };
    let row = top_up::wait(subs, top_up_id)
        .await
        .map_err(|error| TopUpFailure::After(SubscriptionError::Unexpected(error)))?
        .ok_or(TopUpFailure::After(SubscriptionError::ChangeInProgress))?;
    match row.status.as_str() {
        "applied" => Ok(row),
        "declined" => Err(TopUpFailure::After(SubscriptionError::Declined(
            row.failure.unwrap_or_default(),
        ))),
        _ => Err(TopUpFailure::After(SubscriptionError::ChangeFailed(
            row.failure.unwrap_or_default(),
        ))),
    }
}

#[utoipa::path(
    post, path = "/api/v1/subscriptions/{id}/sim/plan-changes", tag = "subscriptions", security(("bearer" = [])),
    description = "Moves the line to another plan. Only the plans the service's WHMCS product may move to are accepted (data SIMs among data SIMs, voice among voice, an eSIM among eSIMs). The billing change is made in WHMCS (UpgradeProduct to the plan's product: quoted first, then applied, WHMCS invoicing any difference) and the network change at Freebit, in one journal a job finishes exactly once; the request answers within `subscriptions.top_up_wait_ms`, and a repeat with the same Idempotency-Key answers the same change's outcome.",
    params(
        ("id" = u64, Path, minimum = 1, description = "Subscription id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters (e.g. a UUID), new for each change")
    ),
    request_body = PlanChangeRequest,
    responses(
        (status = 200, description = "The plan was changed (`applied`) or the change is scheduled (`scheduled`)", body = SimActionResult),
        (status = 400, description = "Missing or invalid Idempotency-Key, bad id or body", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::SubscriptionNotFound),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `subscription-closed`: the subscription is cancelled or terminated; `subscription-not-active`: it is pending or suspended in billing; `sim-activating` or `sim-not-in-service`: the line takes no changes; `account-linking`: the account is still being set up; `request-in-progress`: a request with this key is still running (see Retry-After)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown plan code, a date in the past, a plan this subscription's product cannot move to (`plan_code` `not_allowed`, `unchanged`, or `refused` by the billing system), or the key was used for another request", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`provider-error`: the change could not be completed part-way (support reconciles), or a provider answered with an error", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`change-in-progress`: still being applied; repeat with the same key. `provider-unavailable`: a provider is down before anything changed", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
pub async fn plan_change(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    path: PathId<SubscriptionId>,
    body: web::Json<PlanChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let key = IdempotencyKey::from_request(&req)?;
    let command = validate_plan_change(&body, Utc::now().date_naive())?;
    let SimCommand::PlanChange {
        plan_code,
        effective_date,
    } = command.clone()
    else {
        return Err(anyhow::anyhow!("a validated plan change is not a plan change").into());
    };
    let user_id = customer.0.user_id;
    let links = require_links(&state.db, user_id).await?;
    let parameters = parameters(&command);
    let fingerprint = Fingerprint::of_json(
        req.method().as_str(),
        &format!("/api/v1/subscriptions/{id}/sim/plan-changes"),
        &parameters,
    )?;
    let pool = state.db.clone();
    let key_text = key.as_str().to_owned();
    idempotency::execute(&pool, user_id, &key, &fingerprint, move || async move {
        let refused = |error| match error {
            plan_change::StartError::KeyReused => ApiError::from(SubscriptionError::Refused {
                field: "plan_code",
                message: "This Idempotency-Key was used for another plan change.",
            }),
            plan_change::StartError::Unexpected(error) => ApiError::internal(error),
        };
        let service_id = i64::try_from(id).unwrap_or(i64::MAX);
        // A repeat of a recorded change answers its outcome: by then the service is on the new product,
        // which a fresh check would refuse as `unchanged`.
        let recorded = plan_change::recorded(
            &state.subscriptions,
            user_id,
            &key_text,
            service_id,
            &plan_code,
            effective_date,
        )
        .await
        .map_err(refused)?;
        let change_id = if let Some(change_id) = recorded {
            change_id
        } else {
            let account =
                match SubscriptionAccount::new(&state.subscriptions, links.whmcs_client_id) {
                    Ok(account) => account,
                    Err(error) => {
                        let action = SimAction::PlanChange;
                        return Err(
                            audit_failure(&state, user_id, id, action, &parameters, error).await,
                        );
                    }
                };
            let target = match account.prepare_plan_change(id, &plan_code).await {
                Ok(target) => target,
                Err(error) => {
                    let action = SimAction::PlanChange;
                    return Err(
                        audit_failure(&state, user_id, id, action, &parameters, error).await,
                    );
                }
            };
            let new = NewPlanChange {
                user_id,
                request_key: &key_text,
                whmcs_client_id: i64::try_from(target.client_id).unwrap_or_default(),
                service_id,
                msisdn: &target.number,
                plan_code: &plan_code,
                from_product_id: i64::try_from(target.from_product).unwrap_or_default(),
                to_product_id: i64::try_from(target.to_product).unwrap_or_default(),
                billing_cycle: &target.billing_cycle,
                effective_date,
            };
            plan_change::start(&state.subscriptions, &new)
                .await
                .map_err(refused)?
        };
        let row = plan_change::wait(&state.subscriptions, change_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::from(SubscriptionError::ChangeInProgress))?;
        if row.status != "applied" {
            return Err(SubscriptionError::ChangeFailed(row.failure.unwrap_or_default()).into());
        }
        let outcome = if effective_date > Utc::now().date_naive() {
            SimActionOutcome::Scheduled
        } else {
            SimActionOutcome::Applied
        };
        let result = SimActionResult {
            action_id: row.action_id,
            subscription_id: id,
            action: SimAction::PlanChange,
            parameters,
            outcome,
            recorded_at: row.finished_at.unwrap_or_else(Utc::now),
            charged: None,
        };
        StoredResponse::json(StatusCode::OK, &result)
    })
    .await
}

#[utoipa::path(
    post, path = "/api/v1/subscriptions/{id}/sim/suspend", tag = "subscriptions", security(("bearer" = [])),
    params(
        ("id" = u64, Path, minimum = 1, description = "Subscription id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters (e.g. a UUID), new for each change")
    ),
    responses(
        (status = 200, description = "The line is suspended", body = SimActionResult),
        (status = 400, description = "Missing or invalid Idempotency-Key, bad id", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::SubscriptionNotFound),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `sim-already-suspended`: the line is already suspended; `subscription-closed`: the subscription is cancelled or terminated; `subscription-not-active`: it is pending or suspended in billing; `sim-activating` or `sim-not-in-service`: the line takes no changes; `account-linking`: the account is still being set up; `request-in-progress`: a request with this key is still running (see Retry-After)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::IdempotencyKeyReused),
        (status = 502, response = crate::errors::responses::ProviderError),
        (status = 503, response = crate::errors::responses::ProviderUnavailable)
    )
)]
pub async fn suspend(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    path: PathId<SubscriptionId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let key = IdempotencyKey::from_request(&req)?;
    change(
        state,
        customer,
        &req,
        id,
        key,
        SimAction::Suspend,
        SimCommand::Suspend,
        "suspend",
    )
    .await
}

#[utoipa::path(
    post, path = "/api/v1/subscriptions/{id}/sim/resume", tag = "subscriptions", security(("bearer" = [])),
    params(
        ("id" = u64, Path, minimum = 1, description = "Subscription id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters (e.g. a UUID), new for each change")
    ),
    responses(
        (status = 200, description = "The line is active again", body = SimActionResult),
        (status = 400, description = "Missing or invalid Idempotency-Key, bad id", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::SubscriptionNotFound),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `sim-not-suspended`: the line is not suspended; `sim-suspended-by-operator`: the suspension is not one the customer made (only support lifts it); `subscription-closed`: the subscription is cancelled or terminated; `subscription-not-active`: it is pending or suspended in billing; `sim-activating` or `sim-not-in-service`: the line takes no changes; `account-linking`: the account is still being set up; `request-in-progress`: a request with this key is still running (see Retry-After)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::IdempotencyKeyReused),
        (status = 502, response = crate::errors::responses::ProviderError),
        (status = 503, response = crate::errors::responses::ProviderUnavailable)
    )
)]
pub async fn resume(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    path: PathId<SubscriptionId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let key = IdempotencyKey::from_request(&req)?;
    change(
        state,
        customer,
        &req,
        id,
        key,
        SimAction::Resume,
        SimCommand::Resume,
        "resume",
    )
    .await
}

/// Runs a validated SIM change under its Idempotency-Key and records the attempt in the audit trail.
#[allow(clippy::too_many_arguments)]
async fn change(
    state: web::Data<AppState>,
    customer: Customer,
    req: &HttpRequest,
    id: u64,
    key: IdempotencyKey,
    action: SimAction,
    command: SimCommand,
    segment: &str,
) -> Result<HttpResponse, ApiError> {
    let user_id = customer.0.user_id;
    let links = require_links(&state.db, user_id).await?;
    let parameters = parameters(&command);
    let fingerprint = Fingerprint::of_json(
        req.method().as_str(),
        &format!("/api/v1/subscriptions/{id}/sim/{segment}"),
        &parameters,
    )?;
    let pool = state.db.clone();
    idempotency::execute(&pool, user_id, &key, &fingerprint, move || async move {
        let own_suspension = match command {
            SimCommand::Resume => repo::suspended_by(&state.db, user_id, id)
                .await
                .map_err(ApiError::internal)?,
            _ => false,
        };
        let result = match SubscriptionAccount::new(&state.subscriptions, links.whmcs_client_id) {
            Ok(account) => account.change_sim(id, &command, own_suspension).await,
            Err(error) => Err(error),
        };
        let request_id = request_context::current_request_id();
        match result {
            Ok(applied) => {
                let provider_reference = applied
                    .confirmed_by_read_back
                    .then_some("confirmed by read-back after an ambiguous failure");
                let recorded = repo::record(
                    &state.db,
                    &Entry {
                        user_id,
                        service_id: id,
                        action,
                        parameters: &parameters,
                        outcome: Outcome::Succeeded,
                        provider_reference,
                        error: None,
                        request_id: request_id.as_deref(),
                    },
                )
                .await
                .ok();
                let result = SimActionResult {
                    action_id: recorded.as_ref().map(|r| r.id),
                    subscription_id: id,
                    action,
                    parameters,
                    outcome: applied.outcome,
                    recorded_at: recorded.map_or_else(Utc::now, |r| r.created_at),
                    charged: None,
                };
                StoredResponse::json(StatusCode::OK, &result)
            }
            Err(error) => Err(audit_failure(&state, user_id, id, action, &parameters, error).await),
        }
    })
    .await
}

/// Records a refused or failed change in the trail and answers it.
async fn audit_failure(
    state: &AppState,
    user_id: uuid::Uuid,
    id: u64,
    action: SimAction,
    parameters: &serde_json::Value,
    error: SubscriptionError,
) -> ApiError {
    let request_id = request_context::current_request_id();
    let text = redact::scrub(&error.to_string());
    let api = ApiError::from(error);
    let outcome = if api.status_code().is_server_error() {
        Outcome::Failed
    } else {
        Outcome::Rejected
    };
    let _ = repo::record(
        &state.db,
        &Entry {
            user_id,
            service_id: id,
            action,
            parameters,
            outcome,
            provider_reference: None,
            error: Some(&text),
            request_id: request_id.as_deref(),
        },
    )
    .await;
    api
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(code: &str, date: &str) -> PlanChangeRequest {
        PlanChangeRequest {
            plan_code: code.into(),
            effective_date: date.into(),
        }
    }

    #[test]
    fn top_ups_are_1_to_512000_mb() {
        for ok in [1, 512_000] {
            assert!(validate_top_up(&TopUpRequest { quota_mb: ok }).is_ok());
        }
        for bad in [0, -1, 512_001, i64::MAX] {
            assert!(validate_top_up(&TopUpRequest { quota_mb: bad }).is_err());
        }
    }

    #[test]
    fn plan_changes_need_a_known_plan_and_a_date_from_today() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap_or_default();
        assert!(validate_plan_change(&plan("DATA_50GB", "2026-11-21"), today).is_ok());
        assert!(validate_plan_change(&plan("DATA_50GB", "2026-12-01"), today).is_ok());
        assert!(validate_plan_change(&plan("DATA_2GB", "2026-12-01"), today).is_err());
        assert!(validate_plan_change(&plan("", "2026-12-01"), today).is_err());
        assert!(validate_plan_change(&plan("DATA_50GB", "2026-11-20"), today).is_err());
        assert!(validate_plan_change(&plan("DATA_50GB", "2026-1-5"), today).is_err());
        assert!(validate_plan_change(&plan("DATA_50GB", "2028-01-01"), today).is_err());
    }
}

//! `/api/v1/support/cases…`: the signed-in customer's Salesforce cases.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::domain::{
    CaseComment, CaseDetail, CaseSummary, Category, CommentAuthor, NewCase, Priority, StatusFilter,
};
use super::error::SupportError;
use super::salesforce::{self as store, After, parse_datetime};
use super::{Support, repo};
use crate::auth::Customer;
use crate::customers::require_links;
use crate::errors::{ApiError, ErrorCode, required_text, rule};
use crate::integrations::salesforce::soql;
use crate::state::AppState;
use crate::types::{CaseId, Listing, Pagination, PathId};

const SUBJECT_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 32_000;
const COMMENT_MAX: usize = 4_000;

/// The case list's pagination: 20 a page by default.
pub struct Cases;

impl Listing for Cases {
    const DEFAULT_LIMIT: u16 = 20;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListCasesQuery {
    /// `open` (not closed yet) or `closed`; every case when absent.
    pub status: Option<StatusFilter>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Cases>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    /// Newest first.
    pub items: Vec<CaseSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn encode_cursor(case: &CaseSummary) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", case.created_at.to_rfc3339(), case.id))
}

fn decode_cursor(cursor: &str) -> Option<After> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = raw.split_once('|')?;
    if !soql::is_id(id) {
        return None;
    }
    Some(After {
        created_at: parse_datetime(at)?,
        id: id.to_owned(),
    })
}

#[utoipa::path(
    get, path = "/api/v1/support/cases", tag = "support", security(("bearer" = [])), params(ListCasesQuery, Pagination<Cases>),
    responses(
        (status = 200, description = "The customer's cases, newest first", body = CasePage),
        (status = 400, description = "Bad status filter or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 422, response = crate::errors::responses::LimitOutOfRange),
        (status = 502, response = crate::errors::responses::SalesforceError),
        (status = 503, response = crate::errors::responses::SalesforceUnavailable)
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn list_cases(
    state: web::Data<AppState>,
    customer: Customer,
    query: web::Query<ListCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let limit = u32::from(query.page.size());
    let after = match &query.page.cursor {
        Some(cursor) => Some(decode_cursor(cursor.as_str()).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
        })?),
        None => None,
    };
    let links = require_links(&state.db, customer.0.user_id).await?;
    let mut items = store::list_cases(
        &state.support.salesforce,
        &links.salesforce_account_id,
        query.status,
        after.as_ref(),
        limit + 1,
    )
    .await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(CasePage { items, next_cursor }))
}

/// Every field is checked (and reported) together; enums arrive as text so an unknown value gets a field
/// error like any other.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    /// 1–255 characters.
    #[schema(value_type = String, example = "SIM not connecting abroad", min_length = 1, max_length = 255)]
    #[validate(
        required(code = "required", message = "This field is required."),
        custom(function = "text::<SUBJECT_MAX>"),
        custom(function = "single_line")
    )]
    pub subject: Option<String>,
    /// 1–32,000 characters.
    #[schema(value_type = String, min_length = 1, max_length = 32000)]
    #[validate(
        required(code = "required", message = "This field is required."),
        custom(function = "text::<DESCRIPTION_MAX>")
    )]
    pub description: Option<String>,
    #[schema(value_type = Category)]
    #[validate(
        required(code = "required", message = "This field is required."),
        custom(function = "known_category")
    )]
    pub category: Option<String>,
    /// `medium` when absent.
    #[schema(value_type = Option<Priority>)]
    #[validate(custom(function = "known_priority"))]
    pub priority: Option<String>,
}

/// 1 to `MAX` characters once trimmed, without NUL characters.
fn text<const MAX: usize>(value: &str) -> Result<(), ValidationError> {
    required_text(value, MAX)?;
    if value.contains('\0') {
        return Err(rule(
            "invalid",
            "This field contains characters that are not allowed.",
        ));
    }
    Ok(())
}

fn single_line(value: &str) -> Result<(), ValidationError> {
    if value.trim().chars().any(|c| c == '\n' || c == '\r') {
        Err(rule("invalid", "The subject must be a single line."))
    } else {
        Ok(())
    }
}

fn known_category(value: &str) -> Result<(), ValidationError> {
    match Category::parse(value) {
        Some(_) => Ok(()),
        None => Err(rule(
            "unknown_value",
            "Use one of billing, technical, sim, order, account, other.",
        )),
    }
}

fn known_priority(value: &str) -> Result<(), ValidationError> {
    match Priority::parse(value) {
        Some(_) => Ok(()),
        None => Err(rule("unknown_value", "Use one of low, medium, high.")),
    }
}

fn validate_new_case(request: CreateCaseRequest) -> Result<NewCase, ApiError> {
    request.validate()?;
    let category = request.category.as_deref().and_then(Category::parse);
    let priority = request
        .priority
        .as_deref()
        .map_or(Some(Priority::Medium), Priority::parse);
    let (Some(category), Some(priority)) = (category, priority) else {
        return Err(anyhow::anyhow!("a validated case has no category or priority").into());
    };
    let trimmed = |value: Option<String>| value.unwrap_or_default().trim().to_owned();
    Ok(NewCase {
        subject: trimmed(request.subject),
        description: trimmed(request.description),
        category,
        priority,
    })
}

#[utoipa::path(
    post, path = "/api/v1/support/cases", tag = "support", security(("bearer" = [])), request_body = CreateCaseRequest,
    responses(
        (status = 201, description = "The new case (Origin Web, Status New), with `Location`", body = CaseDetail),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 422, description = "Invalid fields (empty or too long, unknown category or priority, unknown fields)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, response = crate::errors::responses::SalesforceError),
        (status = 503, response = crate::errors::responses::SalesforceUnavailable)
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn create_case(
    state: web::Data<AppState>,
    customer: Customer,
    body: web::Json<CreateCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let new_case = validate_new_case(body.into_inner())?;
    let links = require_links(&state.db, customer.0.user_id).await?;
    let case = store::create_case(
        &state.support.salesforce,
        &links.salesforce_account_id,
        &links.salesforce_contact_id,
        &new_case,
    )
    .await?;
    tracing::info!(case_id = %case.summary.id, "support case created");
    let location = format!("/api/v1/support/cases/{}", case.summary.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(CaseDetail::new(case, Vec::new())))
}

#[utoipa::path(
    get, path = "/api/v1/support/cases/{id}", tag = "support", security(("bearer" = [])),
    params(("id" = String, Path, min_length = 15, max_length = 18, pattern = "^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$", description = "Case id (15 or 18 characters)")),
    responses(
        (status = 200, description = "The case with its public comments, oldest first", body = CaseDetail),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, description = "No such case on the customer's account (also for ids that cannot exist)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::SalesforceError),
        (status = 503, response = crate::errors::responses::SalesforceUnavailable)
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn get_case(
    state: web::Data<AppState>,
    customer: Customer,
    path: PathId<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?;
    let id = id.as_str();
    let links = require_links(&state.db, customer.0.user_id).await?;
    let (case, mut comments) = store::find_case(
        &state.support.salesforce,
        &links.salesforce_account_id,
        id,
        true,
    )
    .await
    .map_err(SupportError::from)?
    .ok_or(SupportError::CaseNotFound)?;
    let by_customers = repo::customer_comments(&state.db, &case.summary.id)
        .await
        .map_err(SupportError::from)?;
    for comment in &mut comments {
        if by_customers.contains(&comment.id) {
            comment.author = CommentAuthor::Customer;
        }
    }
    Ok(HttpResponse::Ok().json(CaseDetail::new(case, comments)))
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AddCommentRequest {
    /// 1–4,000 characters.
    #[schema(value_type = String, min_length = 1, max_length = 4000)]
    #[validate(
        required(code = "required", message = "This field is required."),
        custom(function = "text::<COMMENT_MAX>")
    )]
    pub body: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/support/cases/{id}/comments", tag = "support", security(("bearer" = [])),
    params(("id" = String, Path, min_length = 15, max_length = 18, pattern = "^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$", description = "Case id (15 or 18 characters)")),
    request_body = AddCommentRequest,
    responses(
        (status = 201, description = "The new public comment", body = CaseComment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, description = "No such case on the customer's account", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `account-linking`: the account is still being set up; `case-closed`: the case is closed", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, response = crate::errors::responses::SalesforceError),
        (status = 503, response = crate::errors::responses::SalesforceUnavailable)
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn add_comment(
    state: web::Data<AppState>,
    customer: Customer,
    path: PathId<CaseId>,
    body: web::Json<AddCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?;
    let id = id.as_str();
    body.validate()?;
    let text = body.body.as_deref().unwrap_or_default().trim();
    let links = require_links(&state.db, customer.0.user_id).await?;
    Ok(post_comment(&state.support, &links, customer.0.user_id, id, text).await?)
}

async fn post_comment(
    support: &Support,
    links: &crate::customers::CustomerLinks,
    user_id: uuid::Uuid,
    case_id: &str,
    text: &str,
) -> Result<HttpResponse, SupportError> {
    let (case, existing) = store::find_case(
        &support.salesforce,
        &links.salesforce_account_id,
        case_id,
        true,
    )
    .await?
    .ok_or(SupportError::CaseNotFound)?;
    if case.summary.closed_at.is_some() || case.summary.status == super::domain::CaseStatus::Closed
    {
        return Err(SupportError::CaseClosed);
    }
    // Every comment already on the case (the customer's, or support's with the same words) is not the one
    // this request creates: an unknown outcome is never settled by one of them.
    let mut known = repo::customer_comments(&support.db, &case.summary.id).await?;
    known.extend(existing.into_iter().map(|comment| comment.id));
    let mut comment =
        store::create_comment(&support.salesforce, &case.summary.id, text, &known).await?;
    if let Err(error) = repo::record(&support.db, &comment.id, &case.summary.id, user_id).await {
        // Without the record the comment would show as written by support: take it back.
        if let Err(undo) = store::delete_comment(&support.salesforce, &comment.id).await {
            tracing::error!(comment_id = %comment.id, error = %undo, "could not take back an unattributed case comment");
        }
        return Err(error.into());
    }
    comment.author = CommentAuthor::Customer;
    Ok(HttpResponse::Created().json(comment))
}

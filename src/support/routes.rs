//! `/api/v1/support/cases…`: the signed-in customer's Salesforce cases.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::domain::{
    CaseComment, CaseDetail, CaseSummary, Category, CommentAuthor, NewCase, Priority, StatusFilter,
};
use super::error::{SupportError, case_not_found};
use super::salesforce::{self as store, After, parse_datetime};
use super::{Support, authors};
use crate::auth::Customer;
use crate::customers::require_links;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::integrations::salesforce::soql;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
const SUBJECT_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 32_000;
const COMMENT_MAX: usize = 4_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListCasesQuery {
    /// `open` (not closed yet) or `closed`; every case when absent.
    pub status: Option<StatusFilter>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
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
    get, path = "/api/v1/support/cases", tag = "support", security(("bearer" = [])), params(ListCasesQuery),
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
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(vec![FieldError::new(
            "limit",
            "out_of_range",
            "Use 1–100.",
        )]));
    }
    let after = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    /// 1–255 characters.
    #[schema(value_type = String, example = "SIM not connecting abroad")]
    pub subject: Option<String>,
    /// 1–32,000 characters.
    #[schema(value_type = String)]
    pub description: Option<String>,
    #[schema(value_type = Category)]
    pub category: Option<String>,
    /// `medium` when absent.
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
}

fn required_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> String {
    let value = value.unwrap_or_default().trim();
    let length = value.chars().count();
    if length == 0 {
        errors.push(FieldError::new(
            field,
            "required",
            "This field is required.",
        ));
    } else if length > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("Use at most {max} characters."),
        ));
    } else if value.contains('\0') {
        errors.push(FieldError::new(
            field,
            "invalid",
            "This field contains characters that are not allowed.",
        ));
    }
    value.to_owned()
}

fn validate_new_case(request: CreateCaseRequest) -> Result<NewCase, ApiError> {
    let mut errors = Vec::new();
    let subject = required_text(
        &mut errors,
        "subject",
        request.subject.as_deref(),
        SUBJECT_MAX,
    );
    if subject.chars().any(|c| c == '\n' || c == '\r') {
        errors.push(FieldError::new(
            "subject",
            "invalid",
            "The subject must be a single line.",
        ));
    }
    let description = required_text(
        &mut errors,
        "description",
        request.description.as_deref(),
        DESCRIPTION_MAX,
    );
    let category = match request.category.as_deref() {
        None => {
            errors.push(FieldError::new(
                "category",
                "required",
                "This field is required.",
            ));
            None
        }
        Some(value) => Category::parse(value).or_else(|| {
            errors.push(FieldError::new(
                "category",
                "unknown_value",
                "Use one of billing, technical, sim, order, account, other.",
            ));
            None
        }),
    };
    let priority = match request.priority.as_deref() {
        None => Some(Priority::Medium),
        Some(value) => Priority::parse(value).or_else(|| {
            errors.push(FieldError::new(
                "priority",
                "unknown_value",
                "Use one of low, medium, high.",
            ));
            None
        }),
    };
    match (category, priority) {
        (Some(category), Some(priority)) if errors.is_empty() => Ok(NewCase {
            subject,
            description,
            category,
            priority,
        }),
        _ => Err(ApiError::validation(errors)),
    }
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

/// A path id that cannot be a Salesforce id names no case of the customer's: 404, like any other unknown id.
fn case_id(path: &str) -> Result<&str, ApiError> {
    if soql::is_id(path) {
        Ok(path)
    } else {
        Err(case_not_found())
    }
}

#[utoipa::path(
    get, path = "/api/v1/support/cases/{id}", tag = "support", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id (15 or 18 characters)")),
    responses(
        (status = 200, description = "The case with its public comments, oldest first", body = CaseDetail),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, description = "No such case on the customer's account (also for ids that cannot exist)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, response = crate::errors::responses::SalesforceError),
        (status = 503, response = crate::errors::responses::SalesforceUnavailable)
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn get_case(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
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
    let by_customers = authors::customer_comments(&state.db, &case.summary.id)
        .await
        .map_err(SupportError::from)?;
    for comment in &mut comments {
        if by_customers.contains(&comment.id) {
            comment.author = CommentAuthor::Customer;
        }
    }
    Ok(HttpResponse::Ok().json(CaseDetail::new(case, comments)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCommentRequest {
    /// 1–4,000 characters.
    #[schema(value_type = String)]
    pub body: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/support/cases/{id}/comments", tag = "support", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id (15 or 18 characters)")),
    request_body = AddCommentRequest,
    responses(
        (status = 201, description = "The new public comment", body = CaseComment),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, description = "No such case on the customer's account", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case-closed`: the case is closed", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, response = crate::errors::responses::SalesforceError),
        (status = 503, response = crate::errors::responses::SalesforceUnavailable)
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn add_comment(
    state: web::Data<AppState>,
    customer: Customer,
    path: web::Path<String>,
    body: web::Json<AddCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let mut errors = Vec::new();
    let text = required_text(&mut errors, "body", body.body.as_deref(), COMMENT_MAX);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let links = require_links(&state.db, customer.0.user_id).await?;
    Ok(post_comment(&state.support, &links, customer.0.user_id, id, &text).await?)
}

async fn post_comment(
    support: &Support,
    links: &crate::customers::CustomerLinks,
    user_id: uuid::Uuid,
    case_id: &str,
    text: &str,
) -> Result<HttpResponse, SupportError> {
    let (case, _) = store::find_case(
        &support.salesforce,
        &links.salesforce_account_id,
        case_id,
        false,
    )
    .await?
    .ok_or(SupportError::CaseNotFound)?;
    if case.summary.closed_at.is_some() || case.summary.status == super::domain::CaseStatus::Closed
    {
        return Err(SupportError::CaseClosed);
    }
    let mut comment = store::create_comment(&support.salesforce, &case.summary.id, text).await?;
    if let Err(error) = authors::record(&support.db, &comment.id, &case.summary.id, user_id).await {
        // Without the record the comment would show as written by support: take it back.
        if let Err(undo) = store::delete_comment(&support.salesforce, &comment.id).await {
            tracing::error!(comment_id = %comment.id, error = %undo, "could not take back an unattributed case comment");
        }
        return Err(error.into());
    }
    comment.author = CommentAuthor::Customer;
    Ok(HttpResponse::Created().json(comment))
}

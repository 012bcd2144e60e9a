//! The billing endpoints under `/api/v1/billing`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use validator::Validate;

use super::domain::{
    BillingSummary, InvoiceDetail, InvoiceFilter, InvoicePage, PaymentMethodList, PaymentRequest,
    PaymentResult, PaymentStatus,
};
use super::error::BillingError;
use super::service::BillingAccount;
use crate::auth::Customer;
use crate::customers::require_links;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::idempotency::{self, Fingerprint, IdempotencyKey, StoredResponse};
use crate::outbox;
use crate::state::AppState;
use crate::types::{InvoiceId, Listing, Pagination, PathId};

/// The invoice list's pagination: 20 a page by default; a cursor is signed for its `status`.
pub struct Invoices;

impl Listing for Invoices {
    const DEFAULT_LIMIT: u16 = 20;
    const CURSOR_DESCRIPTION: &'static str =
        "`next_cursor` of the previous page (with the same `status`).";
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvoiceListQuery {
    /// `unpaid` (overdue ones included), `overdue`, `paid` or `cancelled`; all when absent.
    pub status: Option<InvoiceFilter>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Invoices>,
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter)
        .with_detail("The cursor is not valid; start again from the first page.")
}

#[utoipa::path(
    get, path = "/api/v1/billing/invoices", tag = "billing", security(("bearer" = [])),
    params(InvoiceListQuery, Pagination<Invoices>),
    responses(
        (status = 200, description = "The customer's invoices, newest (issue date) first", body = InvoicePage),
        (status = 400, description = "A bad status, limit or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 422, response = crate::errors::responses::LimitOutOfRange),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    )
)]
pub async fn list_invoices(
    state: web::Data<AppState>,
    customer: Customer,
    query: web::Query<InvoiceListQuery>,
) -> Result<HttpResponse, ApiError> {
    let user_id = customer.0.user_id;
    query.page.validate()?;
    let limit = query.page.size();
    let codec = &state.billing.cursor;
    let cursor = match &query.page.cursor {
        Some(text) => {
            let cursor = codec
                .decode(user_id, text.as_str())
                .map_err(|_| bad_cursor())?;
            if cursor.status != query.status {
                return Err(bad_cursor());
            }
            Some(cursor)
        }
        None => None,
    };
    let links = require_links(&state.db, user_id).await?;
    let account = BillingAccount::new(&state.billing, links.whmcs_client_id)?;
    let slice = account
        .invoices(query.status, u64::from(limit), cursor.as_ref())
        .await?;
    Ok(HttpResponse::Ok().json(InvoicePage {
        items: slice.items,
        next_cursor: slice.next.map(|next| codec.encode(user_id, &next)),
    }))
}

#[utoipa::path(
    get, path = "/api/v1/billing/invoices/{id}", tag = "billing", security(("bearer" = [])),
    params(("id" = u64, Path, minimum = 1, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice with its lines and payments", body = InvoiceDetail),
        (status = 400, description = "Not an invoice id", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::InvoiceNotFound),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    )
)]
pub async fn get_invoice(
    state: web::Data<AppState>,
    customer: Customer,
    path: PathId<InvoiceId>,
) -> Result<HttpResponse, ApiError> {
    let invoice_id = path.get()?.get();
    let links = require_links(&state.db, customer.0.user_id).await?;
    let account = BillingAccount::new(&state.billing, links.whmcs_client_id)?;
    Ok(HttpResponse::Ok().json(account.invoice(invoice_id).await?))
}

#[utoipa::path(
    get, path = "/api/v1/billing/summary", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "Outstanding balance, overdue count and next due date", body = BillingSummary),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    )
)]
pub async fn summary(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, ApiError> {
    let links = require_links(&state.db, customer.0.user_id).await?;
    let account = BillingAccount::new(&state.billing, links.whmcs_client_id)?;
    Ok(HttpResponse::Ok().json(account.summary().await?))
}

#[utoipa::path(
    get, path = "/api/v1/billing/payment-methods", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored cards and bank accounts (never full numbers or tokens). `is_default` marks the one the billing system charges: a stored-card payment can use only that one", body = PaymentMethodList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    )
)]
pub async fn payment_methods(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<HttpResponse, ApiError> {
    let links = require_links(&state.db, customer.0.user_id).await?;
    let account = BillingAccount::new(&state.billing, links.whmcs_client_id)?;
    Ok(HttpResponse::Ok().json(PaymentMethodList {
        items: account.payment_methods().await?,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/billing/invoices/{id}/payments", tag = "billing", security(("bearer" = [])),
    params(
        ("id" = u64, Path, minimum = 1, description = "Invoice id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters (e.g. a UUID), new for each payment. \
            Repeating a request with its key replays the first answer (`Idempotent-Replayed: true`); \
            after a 5xx the same key may be retried.")
    ),
    request_body = PaymentRequest,
    responses(
        (status = 200, description = "Paid with the stored card (`status: paid`), or a payment link to open at once (`status: pending`)", body = PaymentResult),
        (status = 400, description = "Missing or invalid Idempotency-Key, bad invoice id or body", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 402, description = "The card was declined", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, response = crate::errors::responses::InvoiceNotFound),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `invoice-not-payable`: the invoice is paid or cancelled; `payment-link-expired`: a repeat of a link request whose link has expired (use a new key for a new link); `account-linking`: the account is still being set up; `request-in-progress`: a request with this key is still running (see Retry-After)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown pay method, a pay method that is not the default card (`pay_method_id` `not_default`: the billing system, WHMCS, charges only the customer's default card, so only the method marked `is_default` is accepted; pay by link to use another), or the key was used for another request (`idempotency-key-reused`)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, description = "The billing system is unavailable; retry with the same key", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
pub async fn pay_invoice(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    path: PathId<InvoiceId>,
    body: web::Json<PaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let invoice_id = path.get()?.get();
    let key = IdempotencyKey::from_request(&req)?;
    let request = body.into_inner();
    if matches!(request, PaymentRequest::Stored { pay_method_id: 0 }) {
        return Err(ApiError::validation(vec![FieldError::new(
            "pay_method_id",
            "invalid",
            "Use the id of one of your payment methods.",
        )]));
    }
    let user_id = customer.0.user_id;
    let links = require_links(&state.db, user_id).await?;
    let fingerprint = Fingerprint::of_json(
        req.method().as_str(),
        &format!("/api/v1/billing/invoices/{invoice_id}/payments"),
        &request,
    )?;
    let pool = state.db.clone();
    let replayable = |stored: &StoredResponse| link_still_open(stored, Utc::now());
    idempotency::execute_with(
        &pool,
        user_id,
        &key,
        &fingerprint,
        replayable,
        move |attempt| async move {
            let account = BillingAccount::new(&state.billing, links.whmcs_client_id)?;
            let result: PaymentResult = account.pay(invoice_id, &request, &attempt).await?;
            if result.status == PaymentStatus::Paid {
                record_paid(&state.db, user_id, links.whmcs_client_id, &result).await;
            }
            StoredResponse::json(StatusCode::OK, &result)
        },
    )
    .await
}

/// Tells the rest of the system (the CRM, through the outbox) that the invoice is paid. The payment stands
/// whatever happens here, so a failure to record it is logged, not answered.
async fn record_paid(
    db: &sqlx::PgPool,
    user_id: Uuid,
    whmcs_client_id: i64,
    result: &PaymentResult,
) {
    let total = result.invoice.as_ref().map(|detail| &detail.invoice.total);
    let event = outbox::NewEvent {
        topic: "invoice.paid",
        aggregate_type: "invoice",
        aggregate_id: result.invoice_id.to_string(),
        payload: serde_json::json!({
            "invoice_id": result.invoice_id,
            "user_id": user_id,
            "whmcs_client_id": whmcs_client_id,
            "amount": total.map(|money| money.amount.to_string()),
            "currency": total.map(|money| money.currency.clone()),
        }),
    };
    let recorded = async {
        let mut conn = db.acquire().await?;
        outbox::record(&mut conn, event).await
    }
    .await;
    if let Err(error) = recorded {
        tracing::error!(invoice_id = result.invoice_id, error = %format!("{error:#}"), "invoice.paid not recorded");
    }
}

/// A replayed link must still be openable, with time left to open it.
const LINK_MIN_REMAINING: chrono::Duration = chrono::Duration::seconds(10);

/// A recorded payment link is replayed only while it can still be opened; an expired one is refused (a
/// problem naming the expiry, as Stripe answers for an expired resource) rather than handed out dead, and
/// the key is not re-run: a new link is a new request with a new key.
fn link_still_open(stored: &StoredResponse, now: DateTime<Utc>) -> Result<(), ApiError> {
    #[derive(Deserialize)]
    struct RecordedLink {
        method: String,
        expires_at: Option<DateTime<Utc>>,
    }
    let Ok(recorded) = serde_json::from_value::<RecordedLink>(stored.body.clone()) else {
        // A recorded problem (409, 402…) names no link.
        return Ok(());
    };
    if recorded.method != "link" {
        return Ok(());
    }
    match recorded.expires_at {
        Some(expires_at) if expires_at - LINK_MIN_REMAINING > now => Ok(()),
        _ => Err(BillingError::LinkExpired.into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(body: serde_json::Value) -> StoredResponse {
        StoredResponse {
            status: StatusCode::OK,
            body,
        }
    }

    #[test]
    fn only_a_link_that_can_still_be_opened_is_replayed() {
        let now = Utc::now();
        let link = |expires_at: DateTime<Utc>| {
            stored(
                json!({"invoice_id": 1, "method": "link", "status": "pending",
                "payment_url": "https://billing.example/x", "expires_at": expires_at}),
            )
        };
        assert!(link_still_open(&link(now + chrono::Duration::seconds(50)), now).is_ok());
        for dead in [
            now,
            now + chrono::Duration::seconds(5),
            now - chrono::Duration::hours(1),
        ] {
            let refused = link_still_open(&link(dead), now)
                .err()
                .map(|e| e.problem().code);
            assert_eq!(refused, Some(ErrorCode::PaymentLinkExpired));
        }
        let no_expiry = stored(json!({"invoice_id": 1, "method": "link", "status": "pending"}));
        assert!(link_still_open(&no_expiry, now).is_err());
        let card = stored(
            json!({"invoice_id": 1, "method": "stored", "status": "paid", "expires_at": null}),
        );
        assert!(link_still_open(&card, now).is_ok());
        let problem = stored(json!({"type": "/problems/invoice-not-payable", "status": 409}));
        assert!(link_still_open(&problem, now).is_ok());
    }
}

//! The order endpoints under `/api/v1/orders`; `stream` is the SSE status stream (`/orders/{id}/events`).

pub mod stream;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use validator::Validate;

use super::domain::{CreateOrderRequest, Order, OrderPage};
use super::{repo, service};
use crate::auth::Customer;
use crate::customers::require_links;
use crate::errors::{ApiError, ErrorCode};
use crate::idempotency::{self, Fingerprint, IdempotencyKey, StoredResponse};
use crate::state::AppState;
use crate::types::{Listing, OrderId, Pagination, PathId};

/// The order list's pagination: 20 a page by default.
pub struct Orders;

impl Listing for Orders {
    const DEFAULT_LIMIT: u16 = 20;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Orders>,
}

fn bad_cursor() -> ApiError {
    ApiError::new(ErrorCode::InvalidQueryParameter)
        .with_detail("The cursor is not valid; start again from the first page.")
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{id}", at.timestamp_micros()))
}

fn decode_cursor(text: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (micros, id) = text.split_once('.')?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    // Our cursors hold an order's `created_at`; a time PostgreSQL cannot hold would fail the query (a 500).
    if !(1..=9999).contains(&at.year()) {
        return None;
    }
    Some((at, Uuid::parse_str(id).ok()?))
}

#[utoipa::path(
    post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters (e.g. a UUID), new for each order. \
            Repeating a request with its key replays the first answer (`Idempotent-Replayed: true`).")
    ),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "The order, pending review", body = Order),
        (status = 400, description = "Missing or invalid Idempotency-Key, or a malformed body", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, description = "`email-unverified`: the account's email is not verified yet; `no-payment-method`: no payment method on the account; `account-linking`: the account is still being set up; `request-in-progress`: a request with this key is still running (see Retry-After)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid items, activation or SIM (field errors), or the key was used for another request", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, response = crate::errors::responses::ProviderError),
        (status = 503, response = crate::errors::responses::ProviderUnavailable)
    )
)]
pub async fn create_order(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    body: web::Json<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = IdempotencyKey::from_request(&req)?;
    let request = body.into_inner();
    request.check(Utc::now())?;
    let user_id = customer.0.user_id;
    let links = require_links(&state.db, user_id).await?;
    let fingerprint = Fingerprint::of_json("POST", "/api/v1/orders", &request)?;
    let pool = state.db.clone();
    idempotency::execute_with(
        &pool,
        user_id,
        &key,
        &fingerprint,
        |_| Ok(()),
        move |attempt| async move {
            let order = service::create_order(&state.orders, &links, &request, &attempt).await?;
            StoredResponse::json(StatusCode::CREATED, &order)
        },
    )
    .await
}

#[utoipa::path(
    get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(OrderListQuery, Pagination<Orders>),
    responses(
        (status = 200, description = "The customer's orders, newest first", body = OrderPage),
        (status = 400, description = "A bad cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 422, response = crate::errors::responses::LimitOutOfRange)
    )
)]
pub async fn list_orders(
    state: web::Data<AppState>,
    customer: Customer,
    query: web::Query<OrderListQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let limit = query.page.size();
    let after = match &query.page.cursor {
        Some(text) => Some(decode_cursor(text.as_str()).ok_or_else(bad_cursor)?),
        None => None,
    };
    let mut rows =
        repo::list_for_user(&state.db, customer.0.user_id, after, i64::from(limit) + 1).await?;
    let more = rows.len() > usize::from(limit);
    rows.truncate(usize::from(limit));
    let next_cursor = if more {
        rows.last().map(|row| encode_cursor(row.created_at, row.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(OrderPage {
        items: rows.iter().map(repo::OrderRow::to_order).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 400, response = crate::errors::responses::InvalidOrderId),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::OrderNotFound)
    )
)]
pub async fn get_order(
    state: web::Data<AppState>,
    customer: Customer,
    path: PathId<OrderId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    let row = repo::find_for_user(&state.db, customer.0.user_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(row.to_order()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let at = DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        assert_eq!(decode_cursor("nonsense"), None);
    }
}

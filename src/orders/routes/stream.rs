//! `GET /api/v1/orders/{id}/events`: the order's status changes as Server-Sent Events. The history is sent
//! first, then the `order_events` table is polled every [`POLL_INTERVAL`], so a change made by any replica
//! reaches every stream; the stream ends after a final status (`active` or `failed`).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::auth::Customer;
use crate::errors::ApiError;
use crate::orders::domain::OrderEvent;
use crate::orders::repo;
use crate::state::AppState;
use crate::types::{OrderId, PathId};

pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long even without a final status; the client reconnects with `Last-Event-ID`.
const MAX_LIFETIME: Duration = Duration::from_secs(600);

struct Cursor {
    pool: PgPool,
    order_id: Uuid,
    after: i64,
    finished: bool,
    started: Instant,
    last_sent: Instant,
}

fn frame(event: &OrderEvent) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!(
        "id: {}\nevent: status\ndata: {data}\n\n",
        event.sequence
    ))
}

/// The next chunk of the stream: new events, a keep-alive, or the end.
async fn next_chunk(mut cursor: Cursor) -> Option<(Result<Bytes, actix_web::Error>, Cursor)> {
    if cursor.finished {
        return None;
    }
    loop {
        match repo::events_after(&cursor.pool, cursor.order_id, cursor.after).await {
            Ok(events) if !events.is_empty() => {
                let mut chunk = Vec::new();
                for event in &events {
                    chunk.extend_from_slice(&frame(event));
                    cursor.after = event.sequence;
                    if event.status.is_final() {
                        cursor.finished = true;
                        break;
                    }
                }
                cursor.last_sent = Instant::now();
                return Some((Ok(Bytes::from(chunk)), cursor));
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, order_id = %cursor.order_id, "order stream: reading events failed");
            }
        }
        if cursor.started.elapsed() >= MAX_LIFETIME {
            return None;
        }
        if cursor.last_sent.elapsed() >= KEEP_ALIVE {
            cursor.last_sent = Instant::now();
            return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), cursor));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[utoipa::path(
    get, path = "/api/v1/orders/{id}/events", tag = "orders", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Order id"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event (sent by reconnecting EventSource clients)")
    ),
    responses(
        (status = 200, description = "`text/event-stream`: one `status` event per status change (data: an OrderEvent), \
            the history first; the stream ends after `active` or `failed`", body = OrderEvent, content_type = "text/event-stream"),
        (status = 400, response = crate::errors::responses::InvalidOrderId),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, response = crate::errors::responses::OrderNotFound)
    )
)]
pub async fn order_events(
    state: web::Data<AppState>,
    customer: Customer,
    req: HttpRequest,
    path: PathId<OrderId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.get()?.get();
    repo::find_for_user(&state.db, customer.0.user_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let after = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let now = Instant::now();
    let cursor = Cursor {
        pool: state.db.clone(),
        order_id: id,
        after,
        finished: false,
        started: now,
        last_sent: now,
    };
    let stream = futures::stream::unfold(cursor, next_chunk);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

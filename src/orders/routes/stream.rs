//! `GET /api/v1/orders/{id}/events`: the order's status changes as Server-Sent Events. The history is sent
//! first; after that the stream sleeps until the process's one listener ([`crate::orders::stream_hub`])
//! says the order has new events (written by any replica) and reads them then, so an idle stream costs no
//! queries. It ends after a final status (`active` or `failed`), when its session ends (logout, a password
//! change, a disabled user: the client's reconnect then gets a 401), or after [`MAX_LIFETIME`]. One user
//! holds at most `MAX_STREAMS_PER_USER` streams per replica; beyond that it is a 429 problem.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::auth::{AuthError, Customer};
use crate::errors::{ApiError, ErrorCode};
use crate::orders::domain::OrderEvent;
use crate::orders::repo;
use crate::orders::stream_hub::{MAX_STREAMS_PER_USER, Subscription};
use crate::state::AppState;
use crate::types::{OrderId, PathId};

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long even without a final status; the client reconnects with `Last-Event-ID`.
const MAX_LIFETIME: Duration = Duration::from_secs(600);

struct Cursor {
    pool: PgPool,
    order_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    subscription: Subscription,
    after: i64,
    /// Whether events may have arrived since the last read (true at first, for the history).
    unread: bool,
    finished: bool,
    deadline: Instant,
    /// When the session expires by itself (no notification comes for that): the stream checks it again then.
    session_ends: Instant,
    last_sent: Instant,
}

/// When the session ends by itself, as an [`Instant`]; `None` when it has ended already (revoked, expired,
/// its user disabled).
async fn session_ends(
    pool: &PgPool,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Instant>, sqlx::Error> {
    Ok(crate::auth::session_ends_at(pool, session_id, user_id)
        .await?
        .map(|ends| {
            let left = (ends - chrono::Utc::now()).to_std().unwrap_or_default();
            // Past the stream's own lifetime it makes no difference (and no far-future instant to overflow);
            // at least a second, so a database clock behind ours cannot make it re-check in a tight loop.
            Instant::now() + left.clamp(Duration::from_secs(1), MAX_LIFETIME)
        }))
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
        if cursor.unread {
            cursor.unread = false;
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
                    // Ends the stream: the client reconnects with Last-Event-ID and misses nothing.
                    tracing::warn!(%error, order_id = %cursor.order_id, "order stream: reading events failed");
                    return None;
                }
            }
        }
        let keep_alive = cursor.last_sent + KEEP_ALIVE;
        tokio::select! {
            changed = cursor.subscription.order.changed() => {
                if changed.is_err() {
                    return None;
                }
                cursor.unread = true;
            }
            changed = cursor.subscription.session.changed() => {
                if changed.is_err() {
                    return None;
                }
                cursor.session_ends = still_signed_in(&cursor).await?;
            }
            _ = tokio::time::sleep_until(cursor.session_ends) => {
                cursor.session_ends = still_signed_in(&cursor).await?;
            }
            _ = tokio::time::sleep_until(keep_alive) => {
                cursor.last_sent = Instant::now();
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), cursor));
            }
            _ = tokio::time::sleep_until(cursor.deadline) => return None,
        }
    }
}

/// When the cursor's session ends by itself, or `None` (end the stream) when it has ended or cannot be checked.
async fn still_signed_in(cursor: &Cursor) -> Option<Instant> {
    match session_ends(&cursor.pool, cursor.session_id, cursor.user_id).await {
        Ok(ends) => ends,
        Err(error) => {
            tracing::warn!(%error, "order stream: checking the session failed; ending the stream");
            None
        }
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
        (status = 404, response = crate::errors::responses::OrderNotFound),
        (status = 429, description = "The account already has the most status streams it may hold open (`too-many-streams`)",
         body = crate::errors::Problem, content_type = "application/problem+json")
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
    let user = &customer.0;
    let subscription = state
        .orders
        .streams()
        .subscribe(user.user_id, user.session_id, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::TooManyStreams)
                .with_detail(format!(
                    "At most {MAX_STREAMS_PER_USER} status streams may be open at once; close one first."
                ))
                .with_retry_after(KEEP_ALIVE.as_secs())
        })?;
    // Checked once the subscription listens: a session that ended between the request's own check and now
    // sent its notification before anyone waited for it.
    let session_ends = session_ends(&state.db, user.session_id, user.user_id)
        .await?
        .ok_or_else(|| ApiError::from(AuthError::Unauthenticated("The session has ended.")))?;
    let now = Instant::now();
    let cursor = Cursor {
        pool: state.db.clone(),
        order_id: id,
        user_id: user.user_id,
        session_id: user.session_id,
        subscription,
        after,
        unread: true,
        finished: false,
        deadline: now + MAX_LIFETIME,
        session_ends,
        last_sent: now,
    };
    let stream = futures::stream::unfold(cursor, next_chunk);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

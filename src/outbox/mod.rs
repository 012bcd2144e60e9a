//! The transactional outbox. A context records an event with [`record`] inside the transaction of the change
//! it describes; the [`Dispatcher`] later delivers it at least once. Rows are claimed with
//! `FOR UPDATE SKIP LOCKED`, so any number of dispatchers (one per replica) deliver each row once, and only an
//! aggregate's oldest undelivered event can be claimed, so an aggregate's events go out in order.
//!
//! An event recorded inside a trace is delivered in a span of that trace, and the delivered message carries
//! the delivery span's `traceparent` (and `tracestate`), so consumers can continue it.

mod dispatcher;
mod sink;

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::telemetry::TraceContext;

pub use dispatcher::{DispatchReport, Dispatcher};
pub use sink::{EventSink, RedisStreamSink};

/// An event to publish, e.g. `order.provisioned` about aggregate `order`/`<id>`.
#[derive(Debug, Clone)]
pub struct NewEvent<P: Serialize> {
    pub topic: &'static str,
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub payload: P,
}

/// A stored event as the dispatcher hands it to a sink.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub topic: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The order of recording; an aggregate's events are delivered in this order.
    pub seq: i64,
    /// The trace the event was recorded in (W3C `traceparent` / `tracestate`), when traces were on.
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl OutboxEvent {
    pub fn trace(&self) -> Option<TraceContext> {
        TraceContext::parse(self.traceparent.as_deref()?, self.tracestate.as_deref())
    }
}

/// Writes the event on the caller's connection; pass the transaction of the business change.
pub async fn record<P: Serialize>(
    conn: &mut PgConnection,
    event: NewEvent<P>,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_value(&event.payload)?;
    let trace = TraceContext::current();
    let (traceparent, tracestate) = match trace {
        Some(trace) => (Some(trace.traceparent), trace.tracestate),
        None => (None, None),
    };
    sqlx::query!(
        "INSERT INTO outbox_events (id, topic, aggregate_type, aggregate_id, payload, traceparent, tracestate)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        event.topic,
        event.aggregate_type,
        event.aggregate_id,
        payload,
        traceparent,
        tracestate,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Erasure: in the events of these aggregates still in the table (waiting, or delivered and not yet pruned),
/// the top-level payload `keys` become `"[erased]"` (the key stays, for consumers that expect it). What was
/// delivered before is the consumers' to erase; this only stops the table from keeping it.
pub async fn redact(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_ids: &[String],
    keys: &[&str],
) -> Result<u64, sqlx::Error> {
    let keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
    let done = sqlx::query!(
        r#"UPDATE outbox_events SET payload = (
               SELECT jsonb_object_agg(e.key, CASE WHEN e.key = ANY($3) THEN '"[erased]"'::jsonb ELSE e.value END)
               FROM jsonb_each(payload) AS e)
           WHERE aggregate_type = $1 AND aggregate_id = ANY($2) AND jsonb_typeof(payload) = 'object'
             AND payload ?| $3
             AND EXISTS (SELECT 1 FROM jsonb_each(payload) AS e
                         WHERE e.key = ANY($3) AND e.value <> '"[erased]"'::jsonb)"#,
        aggregate_type,
        aggregate_ids,
        &keys
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The events waiting for delivery: how many, and how long the oldest has waited (the outbox's lag).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    pub pending: i64,
    /// Zero when nothing waits.
    pub oldest_age_seconds: f64,
}

pub async fn backlog(pool: &sqlx::PgPool) -> anyhow::Result<Backlog> {
    let row = sqlx::query!(
        "SELECT count(*) AS \"count!\", \
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS \"oldest_age_seconds!\" \
         FROM outbox_events WHERE status = 'pending'"
    )
    .fetch_one(pool)
    .await?;
    Ok(Backlog {
        pending: row.count,
        oldest_age_seconds: row.oldest_age_seconds.max(0.0),
    })
}

/// Sets `outbox_pending` and `outbox_oldest_pending_age_seconds` from [`backlog`].
pub async fn record_pending_gauge(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let backlog = backlog(pool).await?;
    metrics::gauge!("outbox_pending").set(backlog.pending as f64);
    metrics::gauge!("outbox_oldest_pending_age_seconds").set(backlog.oldest_age_seconds);
    Ok(())
}

/// Deletes delivered events older than the retention period; dead ones stay for an operator.
pub async fn prune_delivered(pool: &sqlx::PgPool, retention_days: i32) -> anyhow::Result<u64> {
    let result = sqlx::query!(
        "DELETE FROM outbox_events WHERE status = 'delivered' AND delivered_at < now() - make_interval(days => $1)",
        retention_days,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

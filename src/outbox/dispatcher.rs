use std::time::Duration;

use opentelemetry::KeyValue;
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use super::{EventSink, OutboxEvent};
use crate::config::OutboxSettings;
use crate::telemetry;

pub struct Dispatcher<S> {
    pool: PgPool,
    sink: S,
    settings: OutboxSettings,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    pub delivered: usize,
    pub failed: usize,
    pub dead: usize,
}

impl<S: EventSink> Dispatcher<S> {
    pub fn new(pool: PgPool, sink: S, settings: OutboxSettings) -> Self {
        Self {
            pool,
            sink,
            settings,
        }
    }

    /// Delivers until shutdown: back to back while there is a backlog, every poll interval otherwise.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings.poll_interval_ms);
        loop {
            let pause = match self.dispatch_batch().await {
                Ok(report)
                    if report.delivered + report.failed + report.dead
                        == self.settings.batch_size as usize =>
                {
                    Duration::ZERO
                }
                Ok(_) => idle,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "outbox dispatch failed; retrying");
                    idle.max(Duration::from_secs(1))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// Claims one batch of due events, delivers them, and records each outcome, in one transaction.
    ///
    /// An aggregate's events go out strictly in `seq` order, across batches and dispatchers: only an
    /// aggregate's head (its oldest event not yet delivered, `dead` ones included) can be claimed, and the
    /// head's row lock is the claim on the whole aggregate. While one dispatcher holds it, every other sees the
    /// head still pending, so none of the aggregate's later events is a head for them; the holder then
    /// delivers the events that follow the head until one fails, is not due, or the batch is full. A failed
    /// head stays the head (with its back-off), so its aggregate waits while other aggregates go on.
    pub async fn dispatch_batch(&self) -> anyhow::Result<DispatchReport> {
        let mut tx = self.pool.begin().await?;
        let heads = sqlx::query_as!(
            OutboxEvent,
            "SELECT e.id, e.topic, e.aggregate_type, e.aggregate_id, e.payload, e.attempts, e.created_at, e.seq,
                    e.traceparent, e.tracestate
             FROM outbox_events e
             WHERE e.status = 'pending' AND e.next_attempt_at <= now()
               AND NOT EXISTS (
                   SELECT 1 FROM outbox_events earlier
                   WHERE earlier.aggregate_type = e.aggregate_type AND earlier.aggregate_id = e.aggregate_id
                     AND earlier.status IN ('pending', 'dead') AND earlier.seq < e.seq)
             ORDER BY e.seq
             LIMIT $1
             FOR UPDATE OF e SKIP LOCKED",
            self.settings.batch_size,
        )
        .fetch_all(&mut *tx)
        .await?;

        let mut report = DispatchReport::default();
        let mut delivered: Vec<Uuid> = Vec::new();
        let mut owned = Vec::new();
        for head in heads {
            if self.deliver(&mut tx, &head, &mut report).await? {
                delivered.push(head.id);
                owned.push(head);
            }
        }
        // Every head is delivered before any follower, so one long aggregate cannot hold others' heads locked.
        let mut budget = usize::try_from(self.settings.batch_size)
            .unwrap_or(usize::MAX)
            .saturating_sub(report.failed + report.dead + delivered.len());
        for head in owned {
            if budget == 0 {
                break;
            }
            // The head is ours until commit, so what follows it in its aggregate is too.
            let followers = sqlx::query!(
                r#"SELECT id, topic, aggregate_type, aggregate_id, payload, attempts, created_at, seq,
                          traceparent, tracestate, (status = 'pending' AND next_attempt_at <= now()) AS "ready!"
                   FROM outbox_events
                   WHERE aggregate_type = $1 AND aggregate_id = $2 AND status IN ('pending', 'dead') AND seq > $3
                   ORDER BY seq
                   LIMIT $4
                   FOR UPDATE"#,
                head.aggregate_type,
                head.aggregate_id,
                head.seq,
                i64::try_from(budget).unwrap_or(i64::MAX),
            )
            .fetch_all(&mut *tx)
            .await?;
            for row in followers {
                if !row.ready {
                    break;
                }
                budget = budget.saturating_sub(1);
                let event = OutboxEvent {
                    id: row.id,
                    topic: row.topic,
                    aggregate_type: row.aggregate_type,
                    aggregate_id: row.aggregate_id,
                    payload: row.payload,
                    attempts: row.attempts,
                    created_at: row.created_at,
                    seq: row.seq,
                    traceparent: row.traceparent,
                    tracestate: row.tracestate,
                };
                if !self.deliver(&mut tx, &event, &mut report).await? {
                    break;
                }
                delivered.push(event.id);
            }
        }
        if !delivered.is_empty() {
            sqlx::query!(
                "UPDATE outbox_events
                 SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, last_error = NULL
                 WHERE id = ANY($1)",
                &delivered,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        report.delivered = delivered.len();
        metrics::counter!("outbox_deliveries_total", "outcome" => "delivered")
            .increment(report.delivered as u64);
        Ok(report)
    }

    /// Hands `event` to the sink; on failure records the retry (or its death) and answers false, which ends
    /// the aggregate's turn in this batch.
    async fn deliver(
        &self,
        tx: &mut sqlx::PgConnection,
        event: &OutboxEvent,
        report: &mut DispatchReport,
    ) -> anyhow::Result<bool> {
        let span = tracing::info_span!(
            "outbox_delivery",
            otel.kind = "producer",
            otel.name = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            event_id = %event.id,
            topic = %event.topic,
        );
        if telemetry::enabled() {
            if let Some(parent) = event.trace() {
                parent.adopt(&span);
            }
            span.record("otel.name", format!("{} send", event.topic));
            telemetry::set_attributes(&span, || {
                [
                    KeyValue::new("messaging.system", "redis"),
                    KeyValue::new("messaging.operation.type", "send"),
                    KeyValue::new("messaging.destination.name", event.topic.clone()),
                    KeyValue::new("messaging.message.id", event.id.to_string()),
                ]
            });
        }
        let delivered = self.sink.deliver(event).instrument(span.clone()).await;
        let Err(error) = delivered else {
            return Ok(true);
        };
        span.record("otel.status_code", "error");
        let attempts = event.attempts + 1;
        let dead = attempts >= self.settings.max_attempts;
        let delay = self.backoff(attempts);
        let message = crate::telemetry::redact::scrub(&format!("{error:#}"));
        sqlx::query!(
            "UPDATE outbox_events
             SET attempts = $2, last_error = $3,
                 status = CASE WHEN $4 THEN 'dead' ELSE 'pending' END,
                 next_attempt_at = now() + $5 * interval '1 millisecond'
             WHERE id = $1",
            event.id,
            attempts,
            message,
            dead,
            delay.as_millis() as f64,
        )
        .execute(&mut *tx)
        .await?;
        if dead {
            report.dead += 1;
            metrics::counter!("outbox_deliveries_total", "outcome" => "dead").increment(1);
            tracing::error!(event_id = %event.id, topic = %event.topic, error = %message, "outbox event is dead; its aggregate's later events wait");
        } else {
            report.failed += 1;
            metrics::counter!("outbox_deliveries_total", "outcome" => "failed").increment(1);
            tracing::warn!(event_id = %event.id, topic = %event.topic, error = %message, "outbox delivery failed");
        }
        Ok(false)
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let ceiling = self
            .settings
            .backoff_base_ms
            .saturating_mul(1 << exponent)
            .min(self.settings.backoff_max_ms);
        Duration::from_millis(rand::rng().random_range(ceiling / 2..=ceiling.max(1)))
    }
}

use std::collections::HashSet;
use std::time::Duration;

use rand::Rng;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::{EventSink, OutboxEvent};
use crate::config::OutboxSettings;

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

    /// Claims one batch of due events, delivers them, and records each outcome. The rows stay locked until
    /// the outcome is committed, so no other dispatcher can deliver them meanwhile.
    pub async fn dispatch_batch(&self) -> anyhow::Result<DispatchReport> {
        let mut tx = self.pool.begin().await?;
        let events = sqlx::query_as!(
            OutboxEvent,
            "SELECT id, topic, aggregate_type, aggregate_id, payload, attempts, created_at
             FROM outbox_events
             WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
            self.settings.batch_size,
        )
        .fetch_all(&mut *tx)
        .await?;

        let mut report = DispatchReport::default();
        let mut delivered: Vec<Uuid> = Vec::new();
        // Events of one aggregate go out in order: after a failure, its later events wait for the retry.
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        for event in &events {
            let aggregate = (event.aggregate_type.clone(), event.aggregate_id.clone());
            if blocked.contains(&aggregate) {
                continue;
            }
            match self.sink.deliver(event).await {
                Ok(()) => delivered.push(event.id),
                Err(error) => {
                    blocked.insert(aggregate);
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
                        metrics::counter!("outbox_deliveries_total", "outcome" => "dead")
                            .increment(1);
                        tracing::error!(event_id = %event.id, topic = %event.topic, error = %message, "outbox event is dead");
                    } else {
                        report.failed += 1;
                        metrics::counter!("outbox_deliveries_total", "outcome" => "failed")
                            .increment(1);
                        tracing::warn!(event_id = %event.id, topic = %event.topic, error = %message, "outbox delivery failed");
                    }
                }
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

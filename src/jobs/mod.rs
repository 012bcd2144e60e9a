//! The background job runner: apalis workers over PostgreSQL queues, replica-safe cron, and long-running
//! loops such as the outbox dispatcher, all in the same process as the API (or alone in `worker`).
//!
//! Retries are durable: a failed job's next `run_at` is pushed back exponentially in the database, so the
//! back-off survives restarts and any replica may pick the retry up. After `max_attempts` runs a job stays
//! in `apalis.jobs` with status `Failed` — that is what "dead" means here — for an operator to inspect.
//!
//! A job enqueued inside a trace carries that trace's context in its stored metadata; every run of it, on
//! whichever replica and after any restart, is a span of the same trace.

mod cron;
mod poll;
mod runner;
mod status;

use std::time::Duration;

use anyhow::Context;
use apalis::prelude::{MetadataStore, TaskBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, PgPool};

pub use cron::CronSchedule;
pub use runner::{JobContext, Runner};
pub use status::{JobsStatus, RunnerState};

use crate::config::JobSettings;
use crate::telemetry::{TRACEPARENT, TRACESTATE, TraceContext};

/// A job payload bound to its queue. Queue names are stable strings, never Rust type paths, so renaming a
/// type cannot orphan queued jobs. Payload changes must stay backward compatible (`#[serde(default)]`).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const QUEUE: &'static str;
}

/// Creates the job queue's tables (schema `apalis`, with its own migrations history).
pub async fn setup_storage(pool: &PgPool) -> anyhow::Result<()> {
    apalis_postgres::PostgresStorage::<()>::setup(pool)
        .await
        .context("apalis setup")?;
    Ok(())
}

/// Enqueues a job on the caller's connection, typically inside the transaction of the business change
/// that needs it: the job exists if and only if the change committed.
pub async fn enqueue<J: Job>(
    conn: &mut PgConnection,
    settings: &JobSettings,
    job: &J,
    delay: Option<Duration>,
) -> anyhow::Result<()> {
    let payload = serde_json::to_vec(job).context("serialising job")?;
    let mut builder = TaskBuilder::new(payload).max_attempts(settings.max_attempts as usize);
    if let Some(trace) = TraceContext::current() {
        builder = builder.with_metadata(trace_metadata(&trace));
    }
    if let Some(delay) = delay {
        builder = builder.run_after(delay);
    }
    apalis_postgres::queries::push_tasks(conn, J::QUEUE, vec![builder.build()])
        .await
        .with_context(|| format!("enqueueing a job on {}", J::QUEUE))?;
    Ok(())
}

/// Deletes the jobs of `queue` whose payload's `field` is `value` (a person's address in a job that only
/// carried it to a send), whatever their state but running: an erasure must not leave the person in the
/// job table, where finished jobs stay a week and dead ones until an operator looks. How many went.
pub async fn forget_payloads(
    conn: &mut PgConnection,
    queue: &str,
    field: &str,
    value: &str,
) -> Result<u64, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, job FROM apalis.jobs WHERE job_type = $1 AND status <> 'Running' FOR UPDATE",
    )
    .bind(queue)
    .fetch_all(&mut *conn)
    .await?;
    let ids = matching(&rows, field, value);
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query("DELETE FROM apalis.jobs WHERE id = ANY($1)")
        .bind(&ids)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Whether `queue` holds a job still to run — pending, running, or failed with attempts left — whose
/// payload's `field` is `value`.
pub async fn has_live(
    conn: &mut PgConnection,
    queue: &str,
    field: &str,
    value: &str,
) -> Result<bool, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, job FROM apalis.jobs
         WHERE job_type = $1
           AND (status IN ('Pending', 'Queued', 'Running') OR (status = 'Failed' AND attempts < max_attempts))",
    )
    .bind(queue)
    .fetch_all(conn)
    .await?;
    Ok(!matching(&rows, field, value).is_empty())
}

/// The ids of the jobs whose payload is a JSON object with `field` = `value`. Parsed here rather than cast
/// in SQL: a payload PostgreSQL's `jsonb` refuses (a `\u0000` a caller slipped into a field) must not fail
/// the statement for every other job.
fn matching(rows: &[(String, Vec<u8>)], field: &str, value: &str) -> Vec<String> {
    rows.iter()
        .filter(|(_, job)| {
            serde_json::from_slice::<serde_json::Value>(job)
                .ok()
                .is_some_and(|job| {
                    job.get(field).and_then(serde_json::Value::as_str) == Some(value)
                })
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Enqueues many jobs of one queue, due now, in one statement (apalis's multi-row insert) on the caller's
/// connection: a fan-out (every profile that entered a segment, every held enrollment of a resumed journey)
/// costs one round trip per thousand jobs instead of one per job.
pub async fn enqueue_many<J: Job>(
    conn: &mut PgConnection,
    settings: &JobSettings,
    jobs: &[J],
) -> anyhow::Result<()> {
    let trace = TraceContext::current();
    for chunk in jobs.chunks(1000) {
        let mut tasks = Vec::with_capacity(chunk.len());
        for job in chunk {
            let payload = serde_json::to_vec(job).context("serialising job")?;
            let mut builder =
                TaskBuilder::new(payload).max_attempts(settings.max_attempts as usize);
            if let Some(trace) = &trace {
                builder = builder.with_metadata(trace_metadata(trace));
            }
            tasks.push(builder.build());
        }
        apalis_postgres::queries::push_tasks(&mut *conn, J::QUEUE, tasks)
            .await
            .with_context(|| format!("enqueueing jobs on {}", J::QUEUE))?;
    }
    Ok(())
}

/// The enqueuer's trace context in the task's metadata (stored with the row), under the W3C header names.
fn trace_metadata(trace: &TraceContext) -> MetadataStore {
    let mut metadata = MetadataStore::new();
    metadata.extend([(TRACEPARENT, trace.traceparent.clone())]);
    if let Some(state) = &trace.tracestate {
        metadata.extend([(TRACESTATE, state.clone())]);
    }
    metadata
}

/// The trace a stored task belongs to; `None` for tasks enqueued without one (or with a corrupt one).
pub(crate) fn trace_of(metadata: &MetadataStore) -> Option<TraceContext> {
    TraceContext::parse(metadata.get(TRACEPARENT)?, metadata.get(TRACESTATE))
}

/// A job that used up its attempts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadJob {
    pub id: String,
    pub queue: String,
    pub attempts: i32,
    pub last_result: Option<serde_json::Value>,
}

pub async fn dead_jobs(pool: &PgPool, queue: &str) -> anyhow::Result<Vec<DeadJob>> {
    let rows = sqlx::query_as::<_, DeadJob>(
        "SELECT id, job_type AS queue, attempts, last_result FROM apalis.jobs \
         WHERE job_type = $1 AND (status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts)) \
         ORDER BY done_at DESC NULLS LAST",
    )
    .bind(queue)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Sets `jobs_queue_depth{queue,status}` from the queue table; called on each metrics scrape.
pub async fn record_queue_depth(pool: &PgPool) -> anyhow::Result<()> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT job_type, \
                CASE WHEN status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts) THEN 'dead' \
                     WHEN status = 'Failed' THEN 'retrying' \
                     ELSE lower(status) END AS state, \
                count(*) \
         FROM apalis.jobs GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    const STATES: [&str; 5] = ["pending", "queued", "running", "retrying", "dead"];
    let queues: std::collections::BTreeSet<&str> =
        rows.iter().map(|(queue, _, _)| queue.as_str()).collect();
    for queue in queues {
        for state in STATES {
            let count = rows
                .iter()
                .find(|(q, s, _)| q == queue && s == state)
                .map_or(0, |(_, _, count)| *count);
            metrics::gauge!("jobs_queue_depth", "queue" => queue.to_owned(), "status" => state)
                .set(count as f64);
        }
    }
    Ok(())
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{
    Attempt, BackendExt, BoxDynError, Data, MetadataStore, Monitor, TaskId, WorkerBuilder,
};
use apalis_postgres::{Config, PostgresStorage};
use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::Instrument;

use super::cron::{self, CronSchedule};
use super::poll::Ticker;
use super::{Job, JobsStatus};
use crate::config::JobSettings;
use crate::telemetry;

/// What a job handler learns about the run it is in.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub task_id: String,
    /// 1 on the first run.
    pub attempt: usize,
    pub max_attempts: u32,
}

type Handler<J> =
    Arc<dyn Fn(J, JobContext) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

struct Registration<J> {
    handler: Handler<J>,
    pool: PgPool,
    settings: JobSettings,
}

impl<J> Clone for Registration<J> {
    fn clone(&self) -> Self {
        Self {
            handler: Arc::clone(&self.handler),
            pool: self.pool.clone(),
            settings: self.settings.clone(),
        }
    }
}

type Background = Box<dyn FnOnce(watch::Receiver<bool>) -> BoxFuture<'static, ()> + Send>;

/// Collects the workers, schedules and background loops of one process and runs them until shutdown.
pub struct Runner {
    pool: PgPool,
    settings: JobSettings,
    status: JobsStatus,
    /// Distinguishes this process's workers from every other replica's (worker names are unique keys).
    instance: String,
    monitor: Monitor,
    schedules: Vec<CronSchedule>,
    background: Vec<Background>,
}

impl Runner {
    pub fn new(pool: PgPool, settings: JobSettings, status: JobsStatus) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let instance = format!(
            "{host}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            pool,
            settings,
            status,
            instance,
            monitor: Monitor::new(),
            schedules: Vec::new(),
            background: Vec::new(),
        }
    }

    /// Adds a worker for `J::QUEUE` that runs `handler` for each job, with durable retries.
    pub fn register<J, F, Fut>(mut self, handler: F) -> Self
    where
        J: Job,
        F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let handler: Handler<J> = Arc::new(move |job, ctx| Box::pin(handler(job, ctx)));
        let registration = Registration {
            handler,
            pool: self.pool.clone(),
            settings: self.settings.clone(),
        };
        let pool = self.pool.clone();
        let instance = self.instance.clone();
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        let concurrency = self.settings.concurrency;
        let restart_delay = Duration::from_millis(self.settings.restart_delay_ms);
        let heartbeat = Duration::from_millis(self.settings.heartbeat_interval_ms);
        let missed_heartbeats = self.settings.missed_heartbeats as usize;
        self.monitor = self.monitor.register(move |restarts| {
            let storage = PostgresStorage::<J>::new(&pool).with_config(
                Config::default()
                    .queue(J::QUEUE)
                    .heartbeat_interval(heartbeat)
                    .missed_heartbeats(missed_heartbeats),
            );
            // apalis restarts a failed worker at once; pausing first keeps a database outage from
            // turning into a reconnect loop.
            let pause = if restarts > 0 {
                restart_delay
            } else {
                Duration::ZERO
            };
            let backend = storage
                .poll_with_strategy(Ticker::every(poll))
                .before_start(move |_| async move {
                    tokio::time::sleep(pause).await;
                    Ok(())
                });
            WorkerBuilder::new(format!("{instance}-{}-{restarts}", J::QUEUE))
                .backend(backend)
                .data(registration.clone())
                .concurrency(concurrency)
                .build(run_job::<J>)
        });
        self
    }

    /// Enqueues `make(tick)` on `J::QUEUE` at every tick of `schedule`, once per tick across all replicas.
    pub fn schedule<J, F>(
        mut self,
        name: &'static str,
        expression: &str,
        make: F,
    ) -> anyhow::Result<Self>
    where
        J: Job,
        F: Fn(chrono::DateTime<chrono::Utc>) -> J + Send + Sync + 'static,
    {
        self.schedules
            .push(CronSchedule::new::<J, F>(name, expression, make)?);
        Ok(self)
    }

    /// Runs a long-lived loop beside the workers; it must return once the receiver reads `true`.
    pub fn background<F, Fut>(mut self, run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.background
            .push(Box::new(move |shutdown| Box::pin(run(shutdown))));
        self
    }

    pub async fn run(self, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let Runner {
            pool,
            settings,
            status,
            instance,
            monitor,
            schedules,
            background,
        } = self;
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(heartbeat(pool.clone(), status, shutdown.clone()));
        for schedule in schedules {
            tasks.spawn(cron::run(
                pool.clone(),
                schedule,
                instance.clone(),
                settings.clone(),
                shutdown.clone(),
            ));
        }
        for run in background {
            tasks.spawn(run(shutdown.clone()));
        }

        let mut signal = shutdown.clone();
        let monitor = monitor
            .should_restart(move |worker, error| {
                // A database blip ends a worker's poll loop; restart it rather than lose the queue.
                tracing::warn!(worker = worker.name(), %error, "job worker stopped; restarting");
                true
            })
            .shutdown_timeout(Duration::from_secs(30));
        let monitor_result = monitor
            .run_with_signal(async move {
                let _ = signal.wait_for(|stop| *stop).await;
                Ok(())
            })
            .await;
        while tasks.join_next().await.is_some() {}
        monitor_result.map_err(|error| anyhow::anyhow!("job monitor: {error}"))
    }
}

async fn run_job<J: Job>(
    job: J,
    task_id: TaskId,
    attempt: Attempt,
    metadata: MetadataStore,
    registration: Data<Registration<J>>,
) -> Result<(), BoxDynError> {
    let attempt = attempt.current().max(1);
    let max_attempts = registration.settings.max_attempts;
    let context = JobContext {
        task_id: task_id.to_string(),
        attempt,
        max_attempts,
    };
    let span = tracing::info_span!(
        "job",
        otel.kind = "consumer",
        otel.name = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        queue = J::QUEUE,
        task_id = %task_id,
        attempt,
    );
    if telemetry::enabled() {
        if let Some(parent) = super::trace_of(&metadata) {
            parent.adopt(&span);
        }
        span.record("otel.name", format!("{} process", J::QUEUE));
        telemetry::set_attributes(&span, || {
            [
                KeyValue::new("messaging.system", "apalis"),
                KeyValue::new("messaging.operation.type", "process"),
                KeyValue::new("messaging.destination.name", J::QUEUE),
                KeyValue::new("messaging.message.id", task_id.to_string()),
                KeyValue::new("job.attempt", attempt as i64),
            ]
        });
    }
    let started = Instant::now();
    let result = (registration.handler)(job, context)
        .instrument(span.clone())
        .await;
    metrics::histogram!("job_duration_seconds", "queue" => J::QUEUE)
        .record(started.elapsed().as_secs_f64());

    let Err(error) = result else {
        metrics::counter!("jobs_total", "queue" => J::QUEUE, "outcome" => "succeeded").increment(1);
        return Ok(());
    };
    span.record("otel.status_code", "error");
    let _entered = span.enter();
    if attempt >= max_attempts as usize {
        metrics::counter!("jobs_total", "queue" => J::QUEUE, "outcome" => "dead").increment(1);
        tracing::error!(error = %crate::telemetry::redact::scrub(&format!("{error:#}")), "job failed for the last time; it is now dead");
    } else {
        let delay = backoff(&registration.settings, attempt);
        metrics::counter!("jobs_total", "queue" => J::QUEUE, "outcome" => "retrying").increment(1);
        tracing::warn!(error = %crate::telemetry::redact::scrub(&format!("{error:#}")), retry_in_ms = delay.as_millis() as u64, "job failed; will retry");
        defer_retry(&registration.pool, &task_id, delay).await;
    }
    Err(error.into())
}

/// Exponential back-off with full jitter: attempt n waits up to base·2^(n-1), capped.
pub(crate) fn backoff(settings: &JobSettings, attempt: usize) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let ceiling = settings
        .backoff_base_ms
        .saturating_mul(1 << exponent)
        .min(settings.backoff_max_ms);
    let floor = ceiling / 2;
    Duration::from_millis(rand::rng().random_range(floor..=ceiling.max(floor)))
}

/// apalis re-fetches failed jobs as soon as they are due; pushing `run_at` back is what spaces the retries,
/// and because it is stored, the back-off holds across restarts and replicas.
async fn defer_retry(pool: &PgPool, task_id: &TaskId, delay: Duration) {
    let result = sqlx::query(
        "UPDATE apalis.jobs SET run_at = now() + $2 * interval '1 millisecond' WHERE id = $1",
    )
    .bind(task_id.to_string())
    .bind(delay.as_millis() as f64)
    .execute(pool)
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, "could not defer the retry; it will run at the next poll");
    }
}

/// Beats the readiness status while the database answers, so a runner cut off from its queue shows down.
async fn heartbeat(pool: PgPool, status: JobsStatus, mut shutdown: watch::Receiver<bool>) {
    loop {
        let probe = tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(&pool),
        )
        .await;
        if matches!(probe, Ok(Ok(_))) {
            status.beat();
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

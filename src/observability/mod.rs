//! Prometheus metrics. The `metrics` facade is process-wide by design, so the recorder is installed once and
//! every app in the process (tests run several) renders the same registry.

mod listener;

pub use listener::{metrics_server, refresh_gauges};

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder on first use; later calls return the same handle.
pub fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &LATENCY_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    // Losing the race to another thread is fine: its recorder is the one installed, use its handle.
    if HANDLE.set(handle.clone()).is_ok() {
        metrics::set_global_recorder(recorder)
            .map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
        describe();
        spawn_upkeep(handle.clone());
        return Ok(handle);
    }
    HANDLE
        .get()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("metrics recorder missing"))
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by route template, method and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route template, method and status"
    );
    metrics::describe_gauge!(
        "db_pool_connections",
        "PostgreSQL pool connections by state"
    );
    metrics::describe_gauge!("redis_pool_connections", "Redis pool connections by state");
    metrics::describe_counter!(
        "auth_password_verifications_total",
        "Password hashes verified (argon2 work), by purpose (login, password_change)"
    );
    metrics::describe_counter!(
        "auth_login_attempts_throttled_total",
        "Sign-in attempts refused before any password work (locked, or too many in flight)"
    );
    metrics::describe_counter!(
        "cache_requests_total",
        "Cache look-ups by outcome (hit, miss, bypass)"
    );
    metrics::describe_counter!(
        "cache_errors_total",
        "Redis failures the cache absorbed, by operation"
    );
    metrics::describe_counter!(
        "http_panics_total",
        "Handler panics turned into 500s, by route template (each one is a bug)"
    );
    metrics::describe_counter!("jobs_total", "Job executions by queue and outcome");
    metrics::describe_histogram!(
        "job_duration_seconds",
        metrics::Unit::Seconds,
        "Job execution time by queue"
    );
    metrics::describe_gauge!("jobs_queue_depth", "Jobs by queue and status");
    metrics::describe_counter!("outbox_deliveries_total", "Outbox deliveries by outcome");
    metrics::describe_gauge!("outbox_pending", "Outbox rows waiting for delivery");
    metrics::describe_gauge!(
        "outbox_oldest_pending_age_seconds",
        metrics::Unit::Seconds,
        "How long the oldest outbox row waiting for delivery has waited (the outbox's lag; 0 when none waits)"
    );
    metrics::describe_gauge!(
        "redis_up",
        "1 when this process's last Redis ping (on the gauge refresh timer) answered, 0 when it failed"
    );
    metrics::describe_counter!(
        "cron_ticks_total",
        "Cron ticks by schedule and whether this process claimed them"
    );
}

/// Histograms are kept as summaries of recent windows; upkeep keeps memory bounded.
fn spawn_upkeep(handle: PrometheusHandle) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            handle.run_upkeep();
        }
    });
}

pub fn record_http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// A handler panicked; the panic guard answered 500 in its place.
pub fn record_http_panic(route: &str) {
    metrics::counter!("http_panics_total", "route" => route.to_owned()).increment(1);
}

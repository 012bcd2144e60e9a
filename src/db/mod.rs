//! PostgreSQL: the pool, the embedded migrations, and the readiness probe.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use opentelemetry::KeyValue;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseSettings;

/// Our migrations, compiled into the binary. Forward-only: a released migration is never edited.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Builds the pool lazily: the process starts (and can report not-ready) even when PostgreSQL is down.
///
/// An idle connection is pinged before it is handed out only when it sat idle over a second, not always
/// (sqlx's `test_before_acquire`): the ping was a round trip before every statement run on the pool and
/// every `acquire` — two of the five of a profile look-up. A connection busy moments ago was pinged when it
/// went back to the pool (sqlx does that off the request's path, dropping one left broken); one idle longer
/// is what a server restart or an idle-session timeout may have cut.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options = connect_options(settings)?;
    Ok(PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_lazy_with(options))
}

/// See [`pool`].
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

pub fn connect_options(settings: &DatabaseSettings) -> anyhow::Result<PgConnectOptions> {
    let statement_timeout = settings.statement_timeout_ms.to_string();
    Ok(PgConnectOptions::from_str(settings.url.expose_secret())
        .context("`database.url` is not a valid PostgreSQL URL")?
        .application_name("concierge")
        .options([("statement_timeout", statement_timeout.as_str())]))
}

/// The span of a database transaction of note (`summary` such as "orders approve"), after OpenTelemetry's
/// database conventions: instrument the transaction's work with it, from `begin` to `commit`.
pub fn transaction_span(pool: &PgPool, summary: &'static str) -> tracing::Span {
    let span = tracing::info_span!(
        "db_transaction",
        otel.kind = "client",
        otel.name = tracing::field::Empty,
        transaction = summary,
    );
    if crate::telemetry::enabled() {
        span.record("otel.name", summary);
        let options = pool.connect_options();
        crate::telemetry::set_attributes(&span, || {
            [
                KeyValue::new("db.system.name", "postgresql"),
                KeyValue::new("db.query.summary", summary),
                KeyValue::new(
                    "db.namespace",
                    options.get_database().unwrap_or_default().to_owned(),
                ),
                KeyValue::new("server.address", options.get_host().to_owned()),
                KeyValue::new("server.port", i64::from(options.get_port())),
            ]
        });
    }
    span
}

/// Applies our migrations and the job queue's. Safe to run from several replicas at once: sqlx takes a
/// PostgreSQL advisory lock for the duration, so a second replica waits and then finds nothing to do.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying migrations")?;
    crate::jobs::setup_storage(pool)
        .await
        .context("applying job queue migrations")?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    UpToDate,
    /// Some of this binary's migrations are not applied yet (still running elsewhere, or never run).
    Pending {
        missing: usize,
    },
}

/// Tells whether every migration embedded in this binary has been applied successfully.
pub async fn migration_state(pool: &PgPool) -> anyhow::Result<MigrationState> {
    let expected: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    let applied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM _sqlx_migrations WHERE success AND version = ANY($1)",
    )
    .bind(&expected)
    .fetch_one(pool)
    .await
    .or_else(|error| match &error {
        // No migrations table yet: nothing applied.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(0),
        _ => Err(error),
    })?;
    let missing = expected
        .len()
        .saturating_sub(usize::try_from(applied).unwrap_or(0));
    Ok(if missing == 0 {
        MigrationState::UpToDate
    } else {
        MigrationState::Pending { missing }
    })
}

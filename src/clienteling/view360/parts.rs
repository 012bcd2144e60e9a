//! The parts of the 360 view, how `?fields=` names them, and how one part runs: bounded by the part
//! timeout, its failure turned into a `degraded` answer instead of the page's.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::model::{DegradedReason, Outcome};
use crate::config::View360Settings;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::integrations::ProviderError;

/// A part of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Header,
    Kpis,
    Timeline,
    Scores,
    Consent,
    Salesforce,
    Appointments,
    Tasks,
}

impl Part {
    pub const ALL: [Part; 8] = [
        Part::Header,
        Part::Kpis,
        Part::Timeline,
        Part::Scores,
        Part::Consent,
        Part::Salesforce,
        Part::Appointments,
        Part::Tasks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Kpis => "kpis",
            Part::Timeline => "timeline",
            Part::Scores => "scores",
            Part::Consent => "consent",
            Part::Salesforce => "salesforce",
            Part::Appointments => "appointments",
            Part::Tasks => "tasks",
        }
    }

    pub fn parse(name: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|part| part.as_str() == name)
    }
}

/// The parts `?fields=` asks for: absent, every part; a comma-separated list of part names otherwise (order
/// and repeats do not matter). An empty list or an unknown name is a 400 naming it.
pub fn requested(fields: Option<&str>) -> Result<Vec<Part>, ApiError> {
    let Some(fields) = fields else {
        return Ok(Part::ALL.to_vec());
    };
    let names = || {
        Part::ALL
            .iter()
            .map(|part| part.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    for name in fields.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let Some(part) = Part::parse(name) else {
            let shown: String = name.chars().take(40).collect();
            return Err(ApiError::new(ErrorCode::InvalidQueryParameter)
                .with_detail(format!(
                    "`fields` names an unknown part `{shown}`; the parts are {}.",
                    names()
                ))
                .with_field_errors(vec![FieldError::new(
                    "fields",
                    "unknown_part",
                    format!("Unknown part `{shown}`."),
                )]));
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidQueryParameter)
            .with_detail(format!(
                "`fields` is empty; name one or more of {}, or leave it out for all.",
                names()
            ))
            .with_field_errors(vec![FieldError::new(
                "fields",
                "empty",
                "Name at least one part.",
            )]));
    }
    parts.sort();
    Ok(parts)
}

/// Why a part could not answer, kept for the log; the page shows only its [`DegradedReason`].
#[derive(Debug, thiserror::Error)]
pub enum PartError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl PartError {
    fn reason(&self) -> DegradedReason {
        match self {
            PartError::Provider(ProviderError::RateLimited { .. }) => DegradedReason::RateLimited,
            PartError::Provider(ProviderError::Rejected { .. } | ProviderError::Auth { .. }) => {
                DegradedReason::Rejected
            }
            PartError::Provider(ProviderError::Malformed { .. }) => DegradedReason::Malformed,
            PartError::Provider(ProviderError::Unavailable { .. })
            | PartError::Database(_)
            | PartError::Other(_) => DegradedReason::Unavailable,
        }
    }
}

/// The pool as one page's parts share it: a connection each when they need one, at most
/// `connections_per_page` at once.
pub struct PageDb<'a> {
    pool: &'a PgPool,
    permits: Semaphore,
}

/// A connection of the page's, given back (with its permit) when dropped.
pub struct PartConn<'a> {
    pub conn: PoolConnection<sqlx::Postgres>,
    _permit: SemaphorePermit<'a>,
}

impl<'a> PageDb<'a> {
    pub fn new(pool: &'a PgPool, settings: &View360Settings) -> Self {
        Self {
            pool,
            permits: Semaphore::new(settings.connections_per_page),
        }
    }

    /// A connection for one part. Waiting for it counts against the part's timeout.
    pub async fn conn(&self) -> Result<PartConn<'_>, PartError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| anyhow::anyhow!("the page's connection permits are closed"))?;
        let conn = self.pool.acquire().await?;
        Ok(PartConn {
            conn,
            _permit: permit,
        })
    }
}

/// Runs one part within the part timeout (after its simulated latency, in benchmarks).
pub async fn run<T>(
    part: Part,
    settings: &View360Settings,
    work: impl Future<Output = Result<T, PartError>>,
) -> Outcome<T> {
    let simulated = settings
        .simulated_latency_ms
        .get(part.as_str())
        .copied()
        .unwrap_or(0);
    let bounded = async {
        if simulated > 0 {
            tokio::time::sleep(Duration::from_millis(simulated)).await;
        }
        work.await
    };
    let started = std::time::Instant::now();
    let outcome = match tokio::time::timeout(
        Duration::from_millis(settings.part_timeout_ms),
        bounded,
    )
    .await
    {
        Ok(Ok(data)) => Outcome::ok(data),
        Ok(Err(error)) => {
            let reason = error.reason();
            tracing::warn!(part = part.as_str(), reason = reason.as_str(), error = %error, "client 360 part degraded");
            Outcome::degraded(reason)
        }
        Err(_) => {
            tracing::warn!(
                part = part.as_str(),
                timeout_ms = settings.part_timeout_ms,
                "client 360 part timed out"
            );
            Outcome::degraded(DegradedReason::Timeout)
        }
    };
    metrics::histogram!("clienteling_360_part_seconds", "part" => part.as_str(), "status" => outcome.status_str())
        .record(started.elapsed().as_secs_f64());
    outcome
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fields_select_parts_in_a_fixed_order_and_refuse_unknown_or_none() {
        assert_eq!(requested(None).unwrap(), Part::ALL.to_vec());
        assert_eq!(
            requested(Some("kpis, header,kpis")).unwrap(),
            vec![Part::Header, Part::Kpis]
        );
        let unknown = requested(Some("header,wishlist")).unwrap_err();
        assert_eq!(unknown.code(), ErrorCode::InvalidQueryParameter);
        assert!(
            unknown
                .problem()
                .detail
                .unwrap_or_default()
                .contains("`wishlist`")
        );
        assert!(requested(Some("")).is_err());
        assert!(requested(Some(" , ")).is_err());
    }
}

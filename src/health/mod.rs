//! `/health/live` says the process answers; `/health/ready` says whether it can serve traffic, with the
//! state of each dependency. Only PostgreSQL decides readiness: without Redis we serve uncached, and a
//! stopped job runner does not stop the API.

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, MigrationState};
use crate::http::resource;
use crate::jobs::RunnerState;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health/live").route(web::get().to(live)))
        .service(resource("/health/ready").route(web::get().to(ready)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when PostgreSQL is reachable and migrated, `not_ready` otherwise.
    pub status: &'static str,
    pub checks: Checks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub postgres: DependencyCheck,
    pub redis: DependencyCheck,
    pub jobs: DependencyCheck,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DependencyCheck {
    /// `up`, `down`, `pending` (migrations not applied yet) or `disabled`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// A short, non-sensitive reason when not `up`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl DependencyCheck {
    fn up(latency: Duration) -> Self {
        Self {
            status: "up",
            latency_ms: Some(round_ms(latency)),
            detail: None,
        }
    }

    fn down(status: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            latency_ms: None,
            detail: Some(detail.into()),
        }
    }
}

fn round_ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Liveness))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve: PostgreSQL reachable and migrated", body = Readiness),
        (status = 503, description = "Not ready: PostgreSQL unreachable or not migrated", body = Readiness)
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (postgres, redis) = tokio::join!(check_postgres(&state), check_redis(&state));
    let jobs = check_jobs(&state);
    let ready = postgres.status == "up";
    let report = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks: Checks {
            postgres,
            redis,
            jobs,
        },
    };
    if ready {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

async fn check_postgres(state: &AppState) -> DependencyCheck {
    let started = Instant::now();
    let probe = async {
        sqlx::query("SELECT 1").execute(&state.db).await?;
        db::migration_state(&state.db).await
    };
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(MigrationState::UpToDate)) => DependencyCheck::up(started.elapsed()),
        Ok(Ok(MigrationState::Pending { missing })) => {
            DependencyCheck::down("pending", format!("{missing} migration(s) not applied"))
        }
        Ok(Err(error)) => {
            tracing::warn!(error = %format!("{error:#}"), "readiness: PostgreSQL check failed");
            DependencyCheck::down("down", "unreachable")
        }
        Err(_) => DependencyCheck::down("down", "timed out"),
    }
}

async fn check_redis(state: &AppState) -> DependencyCheck {
    match state.cache.ping().await {
        Ok(latency) => DependencyCheck::up(latency),
        Err(error) => {
            tracing::debug!(%error, "readiness: Redis check failed");
            DependencyCheck::down("down", "unreachable; serving without cache")
        }
    }
}

fn check_jobs(state: &AppState) -> DependencyCheck {
    match state.jobs.state() {
        RunnerState::Disabled => {
            DependencyCheck::down("disabled", "this process runs the API only")
        }
        RunnerState::Starting => DependencyCheck::down("pending", "starting"),
        RunnerState::Running => DependencyCheck {
            status: "up",
            latency_ms: None,
            detail: None,
        },
        RunnerState::Stalled(since) => {
            DependencyCheck::down("down", format!("no heartbeat for {}s", since.as_secs()))
        }
    }
}

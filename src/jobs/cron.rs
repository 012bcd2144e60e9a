//! Replica-safe cron. Every process computes the same tick times from the schedule; at each tick they race to
//! insert `(schedule, tick_at)` into `cron_ticks`, and only the winner enqueues the job, in the same
//! transaction. So a tick fires once however many `serve`/`worker` processes are up.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::TaskBuilder;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::watch;

use super::Job;
use crate::config::JobSettings;

type MakePayload = Arc<dyn Fn(DateTime<Utc>) -> anyhow::Result<Vec<u8>> + Send + Sync>;

pub struct CronSchedule {
    name: &'static str,
    queue: &'static str,
    schedule: cron::Schedule,
    make: MakePayload,
}

impl CronSchedule {
    pub fn new<J, F>(name: &'static str, expression: &str, make: F) -> anyhow::Result<Self>
    where
        J: Job,
        F: Fn(DateTime<Utc>) -> J + Send + Sync + 'static,
    {
        let schedule = cron::Schedule::from_str(expression).with_context(|| {
            format!("cron schedule `{name}`: invalid expression `{expression}`")
        })?;
        let make: MakePayload = Arc::new(move |tick| Ok(serde_json::to_vec(&make(tick))?));
        Ok(Self {
            name,
            queue: J::QUEUE,
            schedule,
            make,
        })
    }
}

pub(super) async fn run(
    pool: PgPool,
    schedule: CronSchedule,
    instance: String,
    settings: JobSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        let from = last.map_or(now, |last| last.max(now));
        let Some(tick) = schedule.schedule.after(&from).next() else {
            tracing::info!(
                schedule = schedule.name,
                "cron schedule has no further ticks"
            );
            return;
        };
        let wait = (tick - now).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        last = Some(tick);
        match claim(&pool, &schedule, tick, &instance, &settings).await {
            Ok(true) => {
                metrics::counter!("cron_ticks_total", "schedule" => schedule.name, "claimed" => "true").increment(1);
                tracing::debug!(schedule = schedule.name, %tick, "cron tick claimed; job enqueued");
            }
            Ok(false) => {
                metrics::counter!("cron_ticks_total", "schedule" => schedule.name, "claimed" => "false").increment(1);
            }
            Err(error) => {
                tracing::warn!(schedule = schedule.name, %tick, error = %format!("{error:#}"), "cron tick not enqueued");
            }
        }
    }
}

/// Returns whether this process won the tick.
async fn claim(
    pool: &PgPool,
    schedule: &CronSchedule,
    tick: DateTime<Utc>,
    instance: &str,
    settings: &JobSettings,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let won = sqlx::query!(
        "INSERT INTO cron_ticks (schedule, tick_at, claimed_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        schedule.name,
        tick,
        instance,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if won {
        let task = TaskBuilder::new((schedule.make)(tick)?)
            .max_attempts(settings.max_attempts as usize)
            .build();
        apalis_postgres::queries::push_tasks(&mut *tx, schedule.queue, vec![task]).await?;
    }
    tx.commit().await?;
    Ok(won)
}

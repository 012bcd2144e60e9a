//! The nightly recomputation: every live profile of every brand, in chunks of one transaction each, so
//! engagement decays and churn risk grows for profiles no event touched. Scheduled by a replica-safe cron
//! (`crm.scores.nightly_cron`); a retried run starts over, which is harmless: a recomputation with nothing
//! changed writes no history and emits nothing.
//!
//! Each profile is recomputed in a savepoint of its chunk: one that fails (a profile whose data breaks the
//! computation, a statement cancelled) is rolled back alone, counted and logged, and the run goes on with
//! the others; the job fails only when the run itself cannot go on (the database is gone).
//!
//! A chunk locks its profiles `SKIP LOCKED`: a profile an event is writing right now is skipped (that
//! event's hook recomputes it), so the job never waits on, nor deadlocks with, event ingest.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

use super::rules::{self, Versioned};
use super::{Cause, Clock, recompute};
use crate::crm::Crm;
use crate::jobs::{Job, JobContext, Runner};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NightlyScores {
    pub scheduled_for: DateTime<Utc>,
}

impl Job for NightlyScores {
    const QUEUE: &'static str = "concierge.crm.scores.nightly";
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub profiles: u64,
    pub crossed: u64,
    /// Profiles whose recomputation failed (rolled back alone; the run went on).
    pub failed: u64,
}

/// Registers the job and its schedule.
pub fn jobs(runner: Runner, crm: &Crm) -> anyhow::Result<Runner> {
    let db = crm.db().clone();
    let clock = crm.scores().clock().clone();
    let settings = crm.scores().settings().clone();
    let chunk = settings.nightly_chunk;
    runner
        .register(move |job, ctx| run(db.clone(), clock.clone(), chunk, job, ctx))
        .schedule("crm-scores-nightly", &settings.nightly_cron, |tick| {
            NightlyScores {
                scheduled_for: tick,
            }
        })
}

pub async fn run(
    db: PgPool,
    clock: Clock,
    chunk: i64,
    job: NightlyScores,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let summary = recompute_all(&db, &clock, chunk).await?;
    tracing::info!(
        scheduled_for = %job.scheduled_for,
        profiles = summary.profiles,
        crossed = summary.crossed,
        failed = summary.failed,
        "scores recomputed"
    );
    Ok(())
}

/// Recomputes every live profile, `chunk` profiles per transaction, each chunk as of the clock's now when
/// its profiles are locked.
pub async fn recompute_all(db: &PgPool, clock: &Clock, chunk: i64) -> anyhow::Result<Summary> {
    let mut rules: HashMap<Uuid, Versioned> = HashMap::new();
    let mut summary = Summary::default();
    let mut after = Uuid::nil();
    loop {
        let mut tx = db.begin().await?;
        let profiles = sqlx::query!(
            "SELECT id, brand_id FROM crm_profiles
             WHERE merged_into IS NULL AND id > $1
             ORDER BY id LIMIT $2
             FOR NO KEY UPDATE SKIP LOCKED",
            after,
            chunk.max(1)
        )
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = profiles.last() else {
            break;
        };
        // As of now, taken once the chunk's profiles are locked: an event of one of them committed before
        // was scored at an earlier instant, so the chunk never puts back older scores over it (a run
        // lasts minutes; its start would ignore every activity since).
        let now = clock.now();
        after = last.id;
        for profile in &profiles {
            let brand_rules = match rules.get(&profile.brand_id) {
                Some(found) => found.clone(),
                None => {
                    let found = rules::current(&mut tx, profile.brand_id).await?;
                    rules.insert(profile.brand_id, found.clone());
                    found
                }
            };
            let mut savepoint = Connection::begin(&mut *tx).await?;
            let outcome = recompute(
                &mut savepoint,
                profile.brand_id,
                profile.id,
                &brand_rules,
                now,
                Cause::Nightly,
            )
            .await;
            match outcome {
                Ok(outcome) => {
                    savepoint.commit().await?;
                    if let Some(outcome) = outcome {
                        summary.profiles += 1;
                        summary.crossed += u64::from(outcome.crossed);
                    }
                }
                Err(error) => {
                    // A rollback that fails too means the connection is gone: the run cannot go on.
                    savepoint.rollback().await?;
                    summary.failed += 1;
                    tracing::warn!(profile_id = %profile.id, brand_id = %profile.brand_id,
                        error = %format!("{error:#}"), "a profile's nightly scores failed; the run goes on");
                }
            }
        }
        tx.commit().await?;
    }
    metrics::counter!("crm_scores_nightly_profiles_total").increment(summary.profiles);
    metrics::counter!("crm_scores_nightly_failures_total").increment(summary.failed);
    Ok(summary)
}

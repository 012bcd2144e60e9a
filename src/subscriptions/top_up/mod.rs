//! Paid SIM top-ups. The request records the top-up (its price, the line, the month's cap checked under a
//! per-line lock) and enqueues [`ApplyTopUp`] in one transaction, then waits for the job's outcome. The job
//! (any worker; one run per line at a time) charges the customer in WHMCS and only then adds the data at
//! Freebit, every step recorded in a journal (`steps`) so that a retry or another worker after a crash
//! finishes the top-up exactly once: never a second charge, never data without a paid invoice.

mod repo;
mod steps;

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

pub use repo::{NewTopUp, TopUpRow};
use steps::StepError;

use super::Subscriptions;
use super::domain::SimAction;
use super::repo as audit;
use crate::jobs::{self, Job, JobContext};

/// How often a waiting request looks at its top-up.
const WAIT_POLL: Duration = Duration::from_millis(100);

/// Completes one top-up (enqueued by the request that recorded it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyTopUp {
    pub top_up_id: Uuid,
}

impl Job for ApplyTopUp {
    const QUEUE: &'static str = "concierge.subscriptions.top_up";
}

/// Why a top-up was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The line's monthly cap would be passed; `remaining_mb` is what is left this month.
    #[error("the monthly top-up cap leaves {remaining_mb} MB")]
    CapReached { remaining_mb: i64 },
    /// The key already names a top-up with other parameters.
    #[error("the key names another top-up")]
    KeyReused,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The price of `quota_mb` at `price_per_gb` (currency units per 1024 MB), in hundredths, rounded up.
pub fn price_hundredths(quota_mb: u32, price_per_gb: u32) -> i64 {
    (i64::from(quota_mb) * i64::from(price_per_gb) * 100 + 1023) / 1024
}

/// The top-up this request's key already recorded, if any, before the line is checked again: a repeat of a
/// request whose top-up is running or done answers that top-up's outcome, whatever the line, the card or
/// the month's cap say now.
pub async fn recorded(
    subs: &Subscriptions,
    user_id: Uuid,
    request_key: &str,
    service_id: i64,
    quota_mb: i32,
) -> Result<Option<Uuid>, StartError> {
    let mut conn = subs.db.acquire().await.context("acquire")?;
    match repo::find_by_key(&mut conn, user_id, request_key)
        .await
        .context("find by key")?
    {
        Some(existing) if existing.service_id != service_id || existing.quota_mb != quota_mb => {
            Err(StartError::KeyReused)
        }
        Some(existing) => Ok(Some(existing.id)),
        None => Ok(None),
    }
}

/// Records the top-up and enqueues its job, or finds the one this request's key already recorded.
pub async fn start(subs: &Subscriptions, top_up: &NewTopUp<'_>) -> Result<Uuid, StartError> {
    let mut tx = subs.db.begin().await.context("begin")?;
    repo::lock_line_cap(&mut tx, top_up.service_id)
        .await
        .context("cap lock")?;
    if let Some(existing) = repo::find_by_key(&mut tx, top_up.user_id, top_up.request_key)
        .await
        .context("find by key")?
    {
        if existing.service_id != top_up.service_id || existing.quota_mb != top_up.quota_mb {
            return Err(StartError::KeyReused);
        }
        return Ok(existing.id);
    }
    let month = repo::month_of(chrono::Utc::now());
    let used = repo::month_total_mb(&mut tx, top_up.service_id, month)
        .await
        .context("month total")?;
    let cap = i64::from(subs.settings.top_up_monthly_cap_mb);
    if used + i64::from(top_up.quota_mb) > cap {
        return Err(StartError::CapReached {
            remaining_mb: (cap - used).max(0),
        });
    }
    let id = repo::insert(&mut tx, top_up, month)
        .await
        .context("insert top-up")?;
    jobs::enqueue(&mut tx, &subs.jobs, &ApplyTopUp { top_up_id: id }, None).await?;
    tx.commit().await.context("commit")?;
    Ok(id)
}

/// The top-up once it is final, or `None` when it is still running after `top_up_wait_ms`.
pub async fn wait(subs: &Subscriptions, id: Uuid) -> anyhow::Result<Option<TopUpRow>> {
    let deadline = Instant::now() + Duration::from_millis(subs.settings.top_up_wait_ms);
    loop {
        let row = repo::find(&subs.db, id)
            .await?
            .context("the top-up disappeared")?;
        if row.is_final() {
            return Ok(Some(row));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// The advisory-lock key pair serialising one line's paid changes (top-ups and plan changes).
pub(super) fn line_lock(service_id: i64) -> (i32, i32) {
    (repo::LINE_LOCK, repo::line_key(service_id))
}

/// Runs [`ApplyTopUp`]: one run per line at a time (an advisory lock held on its own connection for the
/// whole run, released by PostgreSQL if the process dies), then the journal's steps.
pub async fn run(subs: Subscriptions, job: ApplyTopUp, ctx: JobContext) -> anyhow::Result<()> {
    let Some(row) = repo::find(&subs.db, job.top_up_id).await? else {
        tracing::warn!(top_up_id = %job.top_up_id, "no such top-up");
        return Ok(());
    };
    if row.is_final() {
        return Ok(());
    }
    let mut lock_conn = subs.db.acquire().await?;
    let key = repo::line_key(row.service_id);
    sqlx::query!("SELECT pg_advisory_lock($1, $2)", repo::LINE_LOCK, key)
        .execute(&mut *lock_conn)
        .await?;
    let outcome = run_locked(&subs, job.top_up_id, &ctx).await;
    let unlocked = sqlx::query_scalar!("SELECT pg_advisory_unlock($1, $2)", repo::LINE_LOCK, key)
        .fetch_one(&mut *lock_conn)
        .await;
    if unlocked.is_err() {
        // Never hand a connection that may still hold the lock back to the pool.
        lock_conn.detach();
    }
    outcome
}

async fn run_locked(subs: &Subscriptions, id: Uuid, ctx: &JobContext) -> anyhow::Result<()> {
    // Read again under the lock: another run may have finished it meanwhile.
    let Some(row) = repo::find(&subs.db, id).await? else {
        return Ok(());
    };
    if row.is_final() {
        return Ok(());
    }
    let result = match steps::charge(subs, &row).await {
        Ok(invoice_id) => steps::add_data(subs, &row).await.map(|()| invoice_id),
        Err(error) => Err(error),
    };
    match result {
        Ok(invoice_id) => {
            finish(subs, &row, Finished::Applied { invoice_id }).await?;
            tracing::info!(top_up_id = %id, invoice_id, "top-up applied");
            Ok(())
        }
        Err(StepError::Declined(reason)) => finish(subs, &row, Finished::Declined(reason)).await,
        Err(StepError::Refused(reason)) => {
            tracing::error!(top_up_id = %id, %reason, "top-up paid but refused by the network; refund it");
            finish(subs, &row, Finished::Failed(reason)).await
        }
        Err(StepError::Failed { step, source }) => {
            let last = ctx.attempt >= ctx.max_attempts as usize;
            tracing::warn!(top_up_id = %id, step, attempt = ctx.attempt, last,
                error = format!("{source:#}"), "top-up step failed");
            if !last {
                return Err(source.context(format!("top-up step {step}")));
            }
            if let Err(error) = steps::abandon_charge(subs, &row).await {
                tracing::error!(top_up_id = %id, %error, "a failed top-up's invoice may stay unpaid; cancel it");
            }
            finish(subs, &row, Finished::Failed(format!("{step} failed"))).await
        }
    }
}

enum Finished {
    Applied { invoice_id: u64 },
    Declined(String),
    Failed(String),
}

/// The outcome, with its audit trail row, together.
async fn finish(subs: &Subscriptions, row: &TopUpRow, finished: Finished) -> anyhow::Result<()> {
    let (status, outcome, failure, reference) = match &finished {
        Finished::Applied { invoice_id } => (
            "applied",
            audit::Outcome::Succeeded,
            None,
            Some(format!("WHMCS invoice {invoice_id}, top-up {}", row.id)),
        ),
        Finished::Declined(reason) => ("declined", audit::Outcome::Rejected, Some(reason), None),
        Finished::Failed(reason) => ("failed", audit::Outcome::Failed, Some(reason), None),
    };
    let parameters = json!({ "quota_mb": row.quota_mb });
    let recorded = audit::record(
        &subs.db,
        &audit::Entry {
            user_id: row.user_id,
            service_id: u64::try_from(row.service_id).unwrap_or_default(),
            action: SimAction::TopUp,
            parameters: &parameters,
            outcome,
            provider_reference: reference.as_deref(),
            error: failure.map(String::as_str),
            request_id: None,
        },
    )
    .await
    .ok();
    let mut conn = subs.db.acquire().await?;
    repo::finish(
        &mut conn,
        row.id,
        status,
        failure.map(String::as_str),
        recorded.map(|r| r.id),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_of_a_gb_costs_its_share_rounded_up() {
        assert_eq!(price_hundredths(1024, 500), 50_000);
        assert_eq!(price_hundredths(512, 500), 25_000);
        assert_eq!(price_hundredths(1, 500), 49);
        assert_eq!(price_hundredths(512_000, 500), 25_000_000);
        assert_eq!(price_hundredths(100, 0), 0);
    }
}

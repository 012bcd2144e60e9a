//! The provisioning job: one run per order at a time (an advisory lock), the steps, and on the last failing
//! attempt the failure (a support case, `failed`, the event).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::salesforce::open_case;
use super::steps::{ProvisionError, provision};
use crate::jobs::{Job, JobContext};
use crate::orders::Orders;
use crate::orders::domain::OrderStatus;
use crate::orders::repo;
use crate::outbox::{self, NewEvent};

/// Provisions one order (enqueued when Salesforce asks for it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionOrder {
    pub order_id: Uuid,
}

impl Job for ProvisionOrder {
    const QUEUE: &'static str = "concierge.orders.provision";
}

/// Runs [`ProvisionOrder`].
pub async fn run(orders: Orders, job: ProvisionOrder, ctx: JobContext) -> anyhow::Result<()> {
    // One run per order at a time, even if a duplicate job exists: the lock is held on its own connection
    // for the whole run. A run that finds it taken leaves the order to the holder (and its retries).
    let mut lock_conn = orders.db.acquire().await?;
    let key = lock_key(job.order_id);
    let locked = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, key)
        .fetch_one(&mut *lock_conn)
        .await?;
    if !locked {
        tracing::info!(order_id = %job.order_id, "provisioning already running elsewhere");
        return Ok(());
    }
    let outcome = run_locked(&orders, &job, &ctx).await;
    let unlocked = sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", key)
        .fetch_one(&mut *lock_conn)
        .await;
    if unlocked.is_err() {
        // Never hand a connection that may still hold the lock back to the pool.
        lock_conn.detach();
    }
    outcome
}

/// The advisory-lock key of an order: both halves of its UUID folded together (UUIDv7s of one millisecond
/// share their first half).
fn lock_key(order_id: Uuid) -> i64 {
    let (high, low) = order_id.as_u64_pair();
    i64::from_ne_bytes((high ^ low.rotate_left(17)).to_ne_bytes())
}

async fn run_locked(orders: &Orders, job: &ProvisionOrder, ctx: &JobContext) -> anyhow::Result<()> {
    match provision(orders, job.order_id).await {
        Ok(()) => Ok(()),
        Err(ProvisionError::Skip(reason)) => {
            tracing::info!(order_id = %job.order_id, %reason, "provisioning skipped");
            Ok(())
        }
        Err(ProvisionError::Step { step, source }) => {
            let last = ctx.attempt >= ctx.max_attempts as usize;
            tracing::warn!(order_id = %job.order_id, step, attempt = ctx.attempt, last,
                error = format!("{source:#}"), "provisioning step failed");
            if !last {
                return Err(source.context(format!("provisioning step {step}")));
            }
            let reason = format!("Provisioning could not complete the step {step}.");
            fail(orders, job.order_id, step, &reason, &source).await
        }
        Err(ProvisionError::Refused { step, reason }) => {
            tracing::warn!(order_id = %job.order_id, step, reason, "provisioning step refused");
            fail(orders, job.order_id, step, reason, &anyhow::anyhow!(reason)).await
        }
    }
}

/// The last attempt failed: a case for support, then `failed` with the reason and the event, together.
async fn fail(
    orders: &Orders,
    order_id: Uuid,
    step: &'static str,
    reason: &str,
    source: &anyhow::Error,
) -> anyhow::Result<()> {
    let mut conn = orders.db.acquire().await?;
    let order = repo::find(&mut conn, order_id)
        .await?
        .context("the order disappeared")?;
    drop(conn);
    let case_id = match open_case(orders, &order, step, source).await {
        Ok(case_id) => Some(case_id),
        Err(error) => {
            tracing::error!(%order_id, error = format!("{error:#}"), "the support case could not be opened");
            None
        }
    };
    let mut tx = orders.db.begin().await?;
    let changed = repo::set_status(&mut tx, order_id, OrderStatus::Failed, Some(reason)).await?;
    if changed {
        outbox::record(
            &mut tx,
            NewEvent {
                topic: "order.provisioning_failed",
                aggregate_type: "order",
                aggregate_id: order_id.to_string(),
                payload: json!({
                    "order_id": order_id,
                    "user_id": order.user_id,
                    "step": step,
                    "reason": reason,
                    "case_id": case_id,
                }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    tracing::error!(%order_id, step, "order provisioning failed");
    Ok(())
}

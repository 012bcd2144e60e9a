//! Profile changes written to both WHMCS and Salesforce, never silently half-applied.
//!
//! `PATCH /me` records the change in `profile_updates` (with a status per system) in the same transaction as
//! a [`SyncProfileUpdate`] job, then tries both systems at once. A system that could not be reached stays
//! `pending` and the job retries it until it is applied; a system that refuses the change is `failed` and
//! reported. A newer change of the same customer takes over what an older one still had pending (the newer
//! values win field by field), so a late retry never overwrites a newer value with an older one. Attempts
//! of one customer's changes run one at a time, so an older change's call still in flight when a newer change
//! is saved has ended before the newer one is written: the newer values are always the last to arrive.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Customers;
use super::domain::{CustomerLinks, ProfileChange};
use super::repo::{self, Stored, StoredUpdate};
use super::{salesforce, whmcs};
use crate::config::JobSettings;
use crate::integrations::ProviderError;
use crate::jobs::{Job, JobContext};

/// How long the job waits before its first run, so that it normally finds the inline attempt's result
/// instead of racing it.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long an attempt may hold its claim on an update: longer than the slowest pair of provider calls with
/// their retries, short enough that a crashed attempt's update is retried soon after.
const ATTEMPT_LEASE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncProfileUpdate {
    pub update_id: Uuid,
}

impl Job for SyncProfileUpdate {
    const QUEUE: &'static str = "concierge.customers.sync_profile";
}

/// Records `change` (merged over the customer's older changes still pending) and its job, in the caller's
/// transaction. Concurrent changes of one customer are serialised here.
pub async fn record(
    conn: &mut PgConnection,
    jobs: &JobSettings,
    links: &CustomerLinks,
    change: ProfileChange,
) -> anyhow::Result<StoredUpdate> {
    repo::lock_customer_updates(&mut *conn, links.user_id).await?;
    let older = repo::supersede_pending(&mut *conn, links.user_id).await?;
    let mut merged = change;
    for earlier in older.into_iter().rev() {
        merged = merged.over(earlier);
    }
    let update = StoredUpdate {
        id: Uuid::now_v7(),
        change: merged,
        whmcs_client_id: links.whmcs_client_id,
        salesforce_contact_id: links.salesforce_contact_id.clone(),
        whmcs: Stored::Pending,
        salesforce: Stored::Pending,
    };
    repo::insert_update(&mut *conn, links.user_id, &update).await?;
    crate::jobs::enqueue(
        conn,
        jobs,
        &SyncProfileUpdate {
            update_id: update.id,
        },
        Some(FIRST_RETRY_DELAY),
    )
    .await?;
    Ok(update)
}

/// What one attempt did in one system.
enum Attempt {
    /// Nothing to do there (already applied, failed or superseded).
    Skipped,
    Applied,
    Rejected(ProviderError),
    Transient(ProviderError),
}

impl Attempt {
    fn of(result: Result<(), ProviderError>) -> Self {
        match result {
            Ok(()) => Attempt::Applied,
            // The system refused this change: retrying would only be refused again.
            Err(error @ ProviderError::Rejected { .. }) => Attempt::Rejected(error),
            // Unreachable, busy, credentials or an unreadable answer: the update is idempotent, so retry.
            Err(error) => Attempt::Transient(error),
        }
    }
}

/// Tries every system where `update` is pending, at once, and records what happened. Returns the update as
/// it now stands. One attempt at a time claims the update (the retry job may come due while the request's
/// own attempt still waits on a slow system) and acts on the statuses stored when it claims it, so a system
/// is written once per attempt that finds it pending; while another attempt holds the claim (on this update
/// or on another change of the same customer) this one does nothing and the update stays as stored, for the
/// job to retry. No database connection is held while the providers are called.
pub async fn attempt(customers: &Customers, update: StoredUpdate) -> anyhow::Result<StoredUpdate> {
    let Some(mut update) = repo::claim_update(&customers.db, update.id, ATTEMPT_LEASE).await?
    else {
        return Ok(update);
    };
    let whmcs = async {
        if update.whmcs != Stored::Pending {
            return Attempt::Skipped;
        }
        Attempt::of(whmcs::apply(&customers.whmcs, update.whmcs_client_id, &update.change).await)
    };
    let salesforce = async {
        if update.salesforce != Stored::Pending {
            return Attempt::Skipped;
        }
        Attempt::of(
            salesforce::apply(
                &customers.salesforce,
                &update.salesforce_contact_id,
                &update.change,
            )
            .await,
        )
    };
    let (whmcs, salesforce) = tokio::join!(whmcs, salesforce);
    let mut errors = Vec::new();
    for (attempt, state) in [
        (whmcs, &mut update.whmcs),
        (salesforce, &mut update.salesforce),
    ] {
        match attempt {
            Attempt::Skipped => {}
            Attempt::Applied => *state = Stored::Applied,
            Attempt::Rejected(error) => {
                *state = Stored::Failed;
                errors.push(error);
            }
            Attempt::Transient(error) => errors.push(error),
        }
    }
    let last_error = (!errors.is_empty()).then(|| {
        let joined: Vec<String> = errors.iter().map(ToString::to_string).collect();
        crate::telemetry::redact::scrub(&joined.join("; "))
    });
    repo::save_update(&customers.db, &update, last_error.as_deref()).await?;
    if let Some(error) = &last_error {
        tracing::warn!(update_id = %update.id, error = %error, "profile update not fully applied");
    }
    Ok(update)
}

/// The [`SyncProfileUpdate`] job: retries what is still pending until it is applied. On the last attempt a
/// system still unreachable is marked `failed`, so the customer is told rather than left waiting.
pub async fn run(
    customers: &Customers,
    job: SyncProfileUpdate,
    ctx: JobContext,
) -> anyhow::Result<()> {
    let mut conn = customers.db.acquire().await?;
    let loaded = repo::load_update(&mut conn, job.update_id).await?;
    drop(conn);
    let Some(update) = loaded else {
        return Ok(());
    };
    if update.whmcs != Stored::Pending && update.salesforce != Stored::Pending {
        return Ok(());
    }
    let update = attempt(customers, update).await?;
    if update.whmcs != Stored::Pending && update.salesforce != Stored::Pending {
        tracing::info!(update_id = %update.id, attempt = ctx.attempt, "profile update settled");
        return Ok(());
    }
    if ctx.attempt >= usize::try_from(ctx.max_attempts).unwrap_or(usize::MAX) {
        repo::fail_pending(&customers.db, update.id).await?;
    }
    anyhow::bail!("profile update {} is still pending", update.id)
}

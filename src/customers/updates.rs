//! Profile changes written to both WHMCS and Salesforce, never silently half-applied.
//!
//! `PATCH /me` records the change in `profile_updates` (with a status per system) in the same transaction as
//! a [`SyncProfileUpdate`] job, then tries both systems at once. A system that could not be reached stays
//! `pending` and the job retries it until it is applied; a system that refuses the change is `failed` and
//! reported. A newer change of the same customer takes over what an older one still had pending (the newer
//! values win field by field), so a late retry never overwrites a newer value with an older one.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::domain::{ProfileChange, ProfileUpdate, SystemStatuses, SystemUpdateStatus};
use super::links::CustomerLinks;
use super::{salesforce, whmcs};
use crate::config::JobSettings;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::SalesforceClient;
use crate::integrations::whmcs::WhmcsClient;
use crate::jobs::{Job, JobContext};

/// How long the job waits before its first run, so that it normally finds the inline attempt's result
/// instead of racing it.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncProfileUpdate {
    pub update_id: Uuid,
}

impl Job for SyncProfileUpdate {
    const QUEUE: &'static str = "concierge.customers.sync_profile";
}

/// A system's state in `profile_updates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Pending,
    Applied,
    Failed,
    Superseded,
}

impl Stored {
    fn parse(value: &str) -> Self {
        match value {
            "applied" => Stored::Applied,
            "failed" => Stored::Failed,
            "superseded" => Stored::Superseded,
            _ => Stored::Pending,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Stored::Pending => "pending",
            Stored::Applied => "applied",
            Stored::Failed => "failed",
            Stored::Superseded => "superseded",
        }
    }

    /// As the customer sees it. A superseded change is carried by a newer one, which is still retrying.
    fn shown(self) -> SystemUpdateStatus {
        match self {
            Stored::Applied => SystemUpdateStatus::Applied,
            Stored::Failed => SystemUpdateStatus::Failed,
            Stored::Pending | Stored::Superseded => SystemUpdateStatus::Retrying,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredUpdate {
    pub id: Uuid,
    pub change: ProfileChange,
    whmcs_client_id: i64,
    salesforce_contact_id: String,
    whmcs: Stored,
    salesforce: Stored,
}

impl StoredUpdate {
    pub fn outcome(&self) -> ProfileUpdate {
        let systems = SystemStatuses {
            whmcs: self.whmcs.shown(),
            salesforce: self.salesforce.shown(),
        };
        ProfileUpdate {
            id: self.id,
            status: systems.overall(),
            systems,
        }
    }
}

/// Records `change` (merged over the customer's older changes still pending) and its job, in the caller's
/// transaction. Concurrent changes of one customer are serialised here.
pub async fn record(
    conn: &mut PgConnection,
    jobs: &JobSettings,
    links: &CustomerLinks,
    change: ProfileChange,
) -> anyhow::Result<StoredUpdate> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('profile_updates:' || $1::text, 0))",
        links.user_id.to_string()
    )
    .execute(&mut *conn)
    .await?;
    let older = sqlx::query!(
        r#"UPDATE profile_updates
           SET whmcs_status = CASE WHEN whmcs_status = 'pending' THEN 'superseded' ELSE whmcs_status END,
               salesforce_status = CASE WHEN salesforce_status = 'pending' THEN 'superseded' ELSE salesforce_status END
           WHERE user_id = $1 AND (whmcs_status = 'pending' OR salesforce_status = 'pending')
           RETURNING created_at, changes"#,
        links.user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut older: Vec<_> = older.into_iter().collect();
    older.sort_by_key(|row| row.created_at);
    let mut merged = change;
    for row in older.into_iter().rev() {
        let earlier: ProfileChange =
            serde_json::from_value(row.changes).context("reading a stored profile change")?;
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
    sqlx::query!(
        "INSERT INTO profile_updates (id, user_id, changes, whmcs_client_id, salesforce_contact_id)
         VALUES ($1, $2, $3, $4, $5)",
        update.id,
        links.user_id,
        serde_json::to_value(&update.change)?,
        update.whmcs_client_id,
        update.salesforce_contact_id,
    )
    .execute(&mut *conn)
    .await?;
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

/// The customer's latest change when it is not fully applied (still retrying, or failed).
pub async fn latest_unfinished(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Option<ProfileUpdate>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, whmcs_status, salesforce_status FROM profile_updates WHERE user_id = $1
         ORDER BY created_at DESC, id DESC LIMIT 1",
        user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|row| {
        let (whmcs, salesforce) = (
            Stored::parse(&row.whmcs_status),
            Stored::parse(&row.salesforce_status),
        );
        (whmcs != Stored::Applied || salesforce != Stored::Applied).then(|| {
            let systems = SystemStatuses {
                whmcs: whmcs.shown(),
                salesforce: salesforce.shown(),
            };
            ProfileUpdate {
                id: row.id,
                status: systems.overall(),
                systems,
            }
        })
    }))
}

async fn load(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<StoredUpdate>> {
    let row = sqlx::query!(
        "SELECT id, changes, whmcs_client_id, salesforce_contact_id, whmcs_status, salesforce_status
         FROM profile_updates WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(StoredUpdate {
            id: row.id,
            change: serde_json::from_value(row.changes)
                .context("reading a stored profile change")?,
            whmcs_client_id: row.whmcs_client_id,
            salesforce_contact_id: row.salesforce_contact_id,
            whmcs: Stored::parse(&row.whmcs_status),
            salesforce: Stored::parse(&row.salesforce_status),
        })
    })
    .transpose()
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

#[derive(Clone)]
pub struct ProfileSync {
    pub pool: PgPool,
    pub whmcs: WhmcsClient,
    pub salesforce: SalesforceClient,
}

impl ProfileSync {
    pub fn from_state(state: &crate::state::AppState) -> Self {
        Self {
            pool: state.db.clone(),
            whmcs: state.whmcs.clone(),
            salesforce: state.salesforce.clone(),
        }
    }

    /// Tries every system where `update` is pending, at once, and records what happened. Returns the
    /// update as it now stands.
    pub async fn attempt(&self, mut update: StoredUpdate) -> anyhow::Result<StoredUpdate> {
        let whmcs = async {
            if update.whmcs != Stored::Pending {
                return Attempt::Skipped;
            }
            Attempt::of(whmcs::apply(&self.whmcs, update.whmcs_client_id, &update.change).await)
        };
        let salesforce = async {
            if update.salesforce != Stored::Pending {
                return Attempt::Skipped;
            }
            Attempt::of(
                salesforce::apply(
                    &self.salesforce,
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
        self.save(&update, last_error.as_deref()).await?;
        if let Some(error) = &last_error {
            tracing::warn!(update_id = %update.id, error = %error, "profile update not fully applied");
        }
        Ok(update)
    }

    /// Moves each system forward only from `pending`, so a stale attempt never undoes a newer state.
    async fn save(&self, update: &StoredUpdate, last_error: Option<&str>) -> sqlx::Result<()> {
        sqlx::query!(
            "UPDATE profile_updates
             SET whmcs_status = CASE WHEN whmcs_status = 'pending' THEN $2 ELSE whmcs_status END,
                 salesforce_status = CASE WHEN salesforce_status = 'pending' THEN $3 ELSE salesforce_status END,
                 last_error = $4
             WHERE id = $1",
            update.id,
            update.whmcs.as_str(),
            update.salesforce.as_str(),
            last_error,
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The [`SyncProfileUpdate`] job: retries what is still pending until it is applied. On the last
    /// attempt a system still unreachable is marked `failed`, so the customer is told rather than left
    /// waiting.
    pub async fn run(&self, job: SyncProfileUpdate, ctx: JobContext) -> anyhow::Result<()> {
        let Some(update) = load(&self.pool, job.update_id).await? else {
            return Ok(());
        };
        if update.whmcs != Stored::Pending && update.salesforce != Stored::Pending {
            return Ok(());
        }
        let update = self.attempt(update).await?;
        if update.whmcs != Stored::Pending && update.salesforce != Stored::Pending {
            tracing::info!(update_id = %update.id, attempt = ctx.attempt, "profile update settled");
            return Ok(());
        }
        if ctx.attempt >= usize::try_from(ctx.max_attempts).unwrap_or(usize::MAX) {
            sqlx::query!(
                "UPDATE profile_updates
                 SET whmcs_status = CASE WHEN whmcs_status = 'pending' THEN 'failed' ELSE whmcs_status END,
                     salesforce_status = CASE WHEN salesforce_status = 'pending' THEN 'failed' ELSE salesforce_status END
                 WHERE id = $1",
                update.id
            )
            .execute(&self.pool)
            .await?;
        }
        anyhow::bail!("profile update {} is still pending", update.id)
    }
}

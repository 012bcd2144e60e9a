//! `profile_updates`: each profile change with a status per system (`pending`, `applied`, `failed`, or
//! `superseded` by a newer change of the same customer).

use anyhow::Context;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::customers::domain::{ProfileChange, ProfileUpdate, SystemStatuses, SystemUpdateStatus};

/// A system's state in `profile_updates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
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
    pub whmcs_client_id: i64,
    pub salesforce_contact_id: String,
    pub whmcs: Stored,
    pub salesforce: Stored,
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

/// Serialises the customer's changes until the transaction ends.
pub async fn lock_customer_updates(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('profile_updates:' || $1::text, 0))",
        user_id.to_string()
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks what the customer's older changes still had pending as superseded, and answers those changes,
/// oldest first.
pub async fn supersede_pending(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> anyhow::Result<Vec<ProfileChange>> {
    let older = sqlx::query!(
        r#"UPDATE profile_updates
           SET whmcs_status = CASE WHEN whmcs_status = 'pending' THEN 'superseded' ELSE whmcs_status END,
               salesforce_status = CASE WHEN salesforce_status = 'pending' THEN 'superseded' ELSE salesforce_status END
           WHERE user_id = $1 AND (whmcs_status = 'pending' OR salesforce_status = 'pending')
           RETURNING created_at, changes"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut older: Vec<_> = older.into_iter().collect();
    older.sort_by_key(|row| row.created_at);
    older
        .into_iter()
        .map(|row| serde_json::from_value(row.changes).context("reading a stored profile change"))
        .collect()
}

pub async fn insert_update(
    conn: &mut PgConnection,
    user_id: Uuid,
    update: &StoredUpdate,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO profile_updates (id, user_id, changes, whmcs_client_id, salesforce_contact_id)
         VALUES ($1, $2, $3, $4, $5)",
        update.id,
        user_id,
        serde_json::to_value(&update.change)?,
        update.whmcs_client_id,
        update.salesforce_contact_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
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

/// Claims the update for one attempt until `lease` has passed, returning it as stored now; `None` while
/// another attempt holds it or any other change of the same customer (or when it is gone). The claim ends with
/// [`save_update`].
///
/// One attempt per customer at a time is what keeps an older change from landing last: an attempt that
/// finds a newer change superseding it may still have its provider calls in flight, and the newer change is
/// written only after those calls have ended, so the newer values are the last a system receives. The lease
/// outlasts a provider call with its retries, so a call cannot still be in flight when its lease runs out.
pub async fn claim_update(
    pool: &PgPool,
    id: Uuid,
    lease: std::time::Duration,
) -> anyhow::Result<Option<StoredUpdate>> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let mut tx = pool.begin().await?;
    let Some(user_id) =
        sqlx::query_scalar!("SELECT user_id FROM profile_updates WHERE id = $1", id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(None);
    };
    // The same lock that orders recording, so two claims of one customer are decided one after the other.
    lock_customer_updates(&mut tx, user_id).await?;
    let row = sqlx::query!(
        "UPDATE profile_updates SET attempt_until = now() + make_interval(secs => $2::bigint / 1000.0)
         WHERE id = $1 AND NOT EXISTS (
             SELECT 1 FROM profile_updates other
             WHERE other.user_id = $3 AND other.attempt_until >= now())
         RETURNING id, changes, whmcs_client_id, salesforce_contact_id, whmcs_status, salesforce_status",
        id,
        lease_ms,
        user_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
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

pub async fn load_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> anyhow::Result<Option<StoredUpdate>> {
    let row = sqlx::query!(
        "SELECT id, changes, whmcs_client_id, salesforce_contact_id, whmcs_status, salesforce_status
         FROM profile_updates WHERE id = $1",
        id
    )
    .fetch_optional(&mut *conn)
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

/// Moves each system forward only from `pending`, so a stale attempt never undoes a newer state, and ends the
/// attempt's claim.
pub async fn save_update(
    pool: &PgPool,
    update: &StoredUpdate,
    last_error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE profile_updates
             SET whmcs_status = CASE WHEN whmcs_status = 'pending' THEN $2 ELSE whmcs_status END,
                 salesforce_status = CASE WHEN salesforce_status = 'pending' THEN $3 ELSE salesforce_status END,
                 last_error = $4,
                 attempt_until = NULL
             WHERE id = $1",
        update.id,
        update.whmcs.as_str(),
        update.salesforce.as_str(),
        last_error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up on what is still pending: those systems become `failed`.
pub async fn fail_pending(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE profile_updates
                 SET whmcs_status = CASE WHEN whmcs_status = 'pending' THEN 'failed' ELSE whmcs_status END,
                     salesforce_status = CASE WHEN salesforce_status = 'pending' THEN 'failed' ELSE salesforce_status END
                 WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

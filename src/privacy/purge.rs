//! The nightly purge: archives past their expiry are deleted (their links answer 410 from then on), and an
//! open request whose job died for good (its attempts used up by something outside a step: the database
//! gone for longer than the retries) gets a new job — an erasure is owed until it is done.

use serde::{Deserialize, Serialize};

use super::Privacy;
use super::erase_job::RunErasure;
use super::export_job::RunExport;
use crate::jobs::{Job, JobContext};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurgeArchives {
    pub scheduled_for: chrono::DateTime<chrono::Utc>,
}

impl Job for PurgeArchives {
    const QUEUE: &'static str = "privacy.purge";
}

pub async fn run(privacy: Privacy, job: PurgeArchives, _ctx: JobContext) -> anyhow::Result<()> {
    let purged = super::repo::purge_expired(&privacy.db).await?;
    let restarted = restart_stalled(&privacy).await?;
    tracing::info!(scheduled_for = %job.scheduled_for, purged, restarted, "expired privacy archives purged");
    Ok(())
}

/// An hour without a change: longer than any retry's back-off, so a request with a live job is never
/// given a second one (two runs would each queue their own retries).
const STALLED_SECS: i64 = 3600;

/// Gives every stalled open request without a live job a new one; how many.
pub async fn restart_stalled(privacy: &Privacy) -> anyhow::Result<u64> {
    let mut restarted = 0;
    for (id, kind) in super::repo::idle_open(&privacy.db, STALLED_SECS).await? {
        match restart(privacy, id, &kind).await {
            Ok(true) => {
                tracing::warn!(request_id = %id, kind, "privacy request had no live job; restarted");
                restarted += 1;
            }
            Ok(false) => {}
            // One request's trouble does not keep the others waiting.
            Err(error) => {
                tracing::warn!(request_id = %id, error = %format!("{error:#}"), "privacy request restart failed");
            }
        }
    }
    Ok(restarted)
}

async fn restart(privacy: &Privacy, id: uuid::Uuid, kind: &str) -> anyhow::Result<bool> {
    let mut tx = privacy.db.begin().await?;
    // Held to the commit: a second sweep (an operator's beside the nightly one) skips the request.
    if !super::repo::claim_idle(&mut tx, id, STALLED_SECS).await? {
        return Ok(false);
    }
    let queue = if kind == "erasure" {
        <RunErasure as Job>::QUEUE
    } else {
        <RunExport as Job>::QUEUE
    };
    if crate::jobs::has_live(&mut tx, queue, "request_id", &id.to_string()).await? {
        return Ok(false);
    }
    if kind == "erasure" {
        crate::jobs::enqueue(&mut tx, &privacy.jobs, &RunErasure { request_id: id }, None).await?;
    } else {
        crate::jobs::enqueue(&mut tx, &privacy.jobs, &RunExport { request_id: id }, None).await?;
    }
    tx.commit().await?;
    Ok(true)
}

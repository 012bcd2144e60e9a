//! The nightly purge: archives past their expiry are deleted (their links answer 410 from then on).

use serde::{Deserialize, Serialize};

use super::Privacy;
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
    tracing::info!(scheduled_for = %job.scheduled_for, purged, "expired privacy archives purged");
    Ok(())
}

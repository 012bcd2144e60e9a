//! The nightly prune of what the auth tables stop needing (see `repo::retention`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::repo;
use super::service::AuthService;
use crate::jobs::{Job, JobContext};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneAuthRecords {
    pub scheduled_for: chrono::DateTime<chrono::Utc>,
}

impl Job for PruneAuthRecords {
    const QUEUE: &'static str = "concierge.auth.retention";
}

pub async fn prune(
    auth: Arc<AuthService>,
    job: PruneAuthRecords,
    ctx: JobContext,
) -> anyhow::Result<()> {
    let pruned = repo::prune(&auth.db, &auth.retention()).await?;
    tracing::info!(
        scheduled_for = %job.scheduled_for,
        attempt = ctx.attempt,
        sessions = pruned.sessions,
        reset_tokens = pruned.reset_tokens,
        verification_tokens = pruned.verification_tokens,
        registration_notices = pruned.registration_notices,
        audit_rows = pruned.audit_rows,
        "auth records pruned"
    );
    Ok(())
}

//! Issuing a password reset, off the request path: `POST /auth/password/forgot` only enqueues this job (the
//! same write for every email, known or not), and the job looks the account up. Its reset row's id is chosen
//! by the request, so a retried job issues one link and sends one email, not two.

use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::repo::{self, AuditEvent};
use super::reset_email::{SendPasswordReset, send_password_reset};
use super::secrets::{self, Purpose};
use super::service::{AuthService, ClientInfo};
use crate::jobs::{Job, JobContext};
use crate::types::Email;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestPasswordReset {
    pub reset_id: Uuid,
    /// Normalised, as typed; it may name no account.
    pub email: String,
    /// When it was asked for: the link lives from then, so a re-run of this job after the link expired (and
    /// was pruned) does not write it again with a new lifetime. Jobs queued before this field existed
    /// count from their run.
    #[serde(default = "Utc::now")]
    pub requested_at: DateTime<Utc>,
}

impl Job for RequestPasswordReset {
    const QUEUE: &'static str = "concierge.auth.password_reset_request";
}

pub async fn issue_password_reset(
    auth: Arc<AuthService>,
    job: RequestPasswordReset,
    ctx: JobContext,
) -> anyhow::Result<()> {
    // No account has an implausible email.
    let Ok(email) = Email::parse(&job.email) else {
        return Ok(());
    };
    let Some(user) = repo::user_by_email(&auth.db, email.as_str()).await? else {
        return Ok(());
    };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let ttl = ChronoDuration::seconds(
        i64::try_from(auth.settings.password_reset_ttl_secs).unwrap_or(1800),
    );
    let expires_at = job.requested_at + ttl;
    if expires_at <= Utc::now() {
        // Its link would be dead already, and its row may have been pruned: writing it now would bring
        // an expired (or used) link back to life.
        return Ok(());
    }
    let token = auth.secrets.token(Purpose::PasswordReset, job.reset_id);
    let mut tx = auth.db.begin().await?;
    let inserted = repo::insert_reset(
        &mut tx,
        job.reset_id,
        user.id,
        &secrets::hash(&token),
        expires_at,
    )
    .await?;
    if inserted {
        repo::audit(
            &mut tx,
            AuditEvent::new("password_reset_issued", &ClientInfo::default())
                .user(user.id)
                .details(json!({ "reset_id": job.reset_id })),
        )
        .await?;
    }
    tx.commit().await?;
    // A retry after the row committed sends now; the messaging idempotency key (the row id) makes it one
    // email however often this runs.
    send_password_reset(
        auth,
        SendPasswordReset {
            reset_id: job.reset_id,
        },
        ctx,
    )
    .await
}
